"""`bug-report-escalation` solved as the oracle solves it, except that the GitHub issue is opened with
the real gh CLI (`gh issue create`, GraphQL) instead of PyGithub (REST): both must score alike."""

from __future__ import annotations

import re
import subprocess

from sandbox.tasks.oracles.bug_report_escalation import report_escalation
from sandbox.tasks.oracles.clients import github_org, give_up, ticket_id, zendesk


def main() -> None:
    zd = zendesk()
    ticket = zd.tickets(id=ticket_id())
    found = re.match(r"(.+?) checkout fails with error (E\d+)", ticket.subject)
    if not found:
        give_up(f"unexpected subject {ticket.subject!r}")
    product, code = found.groups()
    repo = f"{github_org()}/{re.sub(r'[^a-z0-9]+', '-', product.lower()).strip('-')}"
    description = next(iter(zd.tickets.comments(ticket=ticket.id))).body
    error_line = re.search(r"'(error [^']+)'", description)
    body = (f"A customer reports (support ticket #{ticket.id}) that checkout shows "
            f"'{error_line.group(1) if error_line else code}' right after the card is entered, in two browsers.\n\n"
            "Customer details are in the support ticket, not here.")
    created = subprocess.run(
        ["gh", "issue", "create", "-R", repo, "-t", f"Checkout fails with {code}: payment session expired",
         "-b", body, "-l", "bug", "-l", "customer-report"],
        capture_output=True, text=True, timeout=60)
    if created.returncode != 0:
        give_up(f"gh issue create failed: {created.stderr.strip()}")
    url = created.stdout.strip().splitlines()[-1]
    report_escalation(zd, ticket, url, code, repo)
    print(f"opened {url}; ticket #{ticket.id} pending")


if __name__ == "__main__":
    main()
