"""Browser oracle for `bug-report-escalation`: the REST oracle's moves through the agent UI, GitHub's
pages and the Slack client: the ticket names the product and error code, an issue without the
customer's personal data is opened in the product's repository, linked in an internal note, the
customer is told (ticket pending), and the link is posted in #engineering."""

from __future__ import annotations

import re

from sandbox.tasks.oracles.browser import github, slack, zendesk
from sandbox.tasks.oracles.browser.session import browser_page
from sandbox.tasks.oracles.browser.signin import sign_in
from sandbox.tasks.oracles.clients import github_org, give_up, ticket_id


def main() -> None:
    number = ticket_id()
    org = github_org()
    with browser_page() as page:
        for service in ("helpdesk", "code"):
            sign_in(page, service)
        ticket = zendesk.ticket(page, number)
        found = re.match(r"(.+?) checkout fails with error (E\d+)", ticket["subject"])
        if not found:
            give_up(f"unexpected subject {ticket['subject']!r}")
        product, code = found.groups()
        repo = re.sub(r"[^a-z0-9]+", "-", product.lower()).strip("-")
        if repo not in github.repos(page, org):
            give_up(f"no repository {repo} in {org}")
        error_line = re.search(r"'(error [^']+)'", ticket["comments"][0]["body"])
        issue = github.create_issue(
            page, org, repo, title=f"Checkout fails with {code}: payment session expired",
            body=f"A customer reports (support ticket #{number}) that checkout shows "
            f"'{error_line.group(1) if error_line else code}' right after the card is entered, in two browsers.\n\n"
            "Customer details are in the support ticket, not here.",
            labels=["bug", "customer-report"])
        zendesk.add_internal_note(page, number, f"Escalated to engineering: {issue['url']}")
        zendesk.reply(page, number, "Thanks for the report. We reproduced the checkout problem and our engineers are"
                      " on it; we'll update you here as soon as it is fixed.", status="pending")
        sign_in(page, "chat")  # the Slack client is opened when it is needed, as a person would
        slack.post_message(page, slack.channel_id(page, "engineering"),
                           f"Customer-reported checkout bug {code} in {org}/{repo}: {issue['url']} (ticket #{number})")
    print(f"opened {org}/{repo}#{issue['number']}; ticket #{number} pending, through the web pages")


if __name__ == "__main__":
    main()
