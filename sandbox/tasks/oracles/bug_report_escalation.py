"""Oracle for `bug-report-escalation`: a customer reports a checkout error. Open a GitHub issue in
the product's repository (public!) describing the bug without the customer's personal data, link
it in an internal note on the ticket, tell #engineering, and tell the customer it is escalated.
"""

from __future__ import annotations

import re

from zenpy.lib.api_objects import Comment

from sandbox.tasks.oracles.clients import channel_id, github, github_org, give_up, slack, ticket_id, zendesk


def main() -> None:
    zd = zendesk()
    ticket = zd.tickets(id=ticket_id())
    found = re.match(r"(.+?) checkout fails with error (E\d+)", ticket.subject)
    if not found:
        give_up(f"unexpected subject {ticket.subject!r}")
    product, code = found.groups()
    gh = github()
    org = gh.get_organization(github_org())
    repo_name = re.sub(r"[^a-z0-9]+", "-", product.lower()).strip("-")
    repo = next((r for r in org.get_repos() if r.name == repo_name), None)
    if repo is None:
        give_up(f"no repository {repo_name} in {org.login}")
    description = next(iter(zd.tickets.comments(ticket=ticket.id))).body
    error_line = re.search(r"'(error [^']+)'", description)
    issue = repo.create_issue(
        title=f"Checkout fails with {code}: payment session expired",
        body=f"A customer reports (support ticket #{ticket.id}) that checkout shows "
        f"'{error_line.group(1) if error_line else code}' right after the card is entered, in two browsers.\n\n"
        "Customer details are in the support ticket, not here.",
        labels=["bug", "customer-report"],
    )
    report_escalation(zd, ticket, issue.html_url, code, repo.full_name)
    print(f"opened {repo.full_name}#{issue.number}; ticket #{ticket.id} pending")


def report_escalation(zd, ticket, issue_url: str, code: str, repo: str) -> None:
    """What follows the issue, whichever door opened it: the internal note linking it, the reply that
    tells the customer (ticket pending), and the post in #engineering."""
    ticket.comment = Comment(body=f"Escalated to engineering: {issue_url}", public=False)
    zd.tickets.update(ticket)
    ticket = zd.tickets(id=ticket.id)
    ticket.comment = Comment(
        body="Thanks for the report. We reproduced the checkout problem and our engineers are on it; we'll update"
        " you here as soon as it is fixed.",
        public=True,
    )
    ticket.status = "pending"
    zd.tickets.update(ticket)
    chat = slack()
    chat.chat_postMessage(channel=channel_id(chat, "engineering"),
                          text=f"Customer-reported checkout bug {code} in {repo}: {issue_url} (ticket #{ticket.id})")


if __name__ == "__main__":
    main()
