"""Sign a browser oracle in to a vendor's web pages with the episode's credentials, read from the
environment exactly as `sandbox env` gives them to any agent."""

from __future__ import annotations

import os
from typing import Any


def sign_in(page: Any, service: str) -> None:
    if service == "payments":
        from sandbox.tasks.oracles.browser import stripe

        stripe.sign_in(page, os.environ["STRIPE_API_KEY"])
    elif service == "helpdesk":
        from sandbox.tasks.oracles.browser import zendesk

        zendesk.sign_in(page, os.environ["ZENDESK_EMAIL"], os.environ["ZENDESK_API_TOKEN"])
    elif service == "chat":
        from sandbox.tasks.oracles.browser import slack

        slack.sign_in(page, os.environ["SLACK_BOT_TOKEN"])
    elif service == "code":
        from sandbox.tasks.oracles.browser import github

        github.sign_in(page, os.environ["GITHUB_TOKEN"])
    else:
        raise ValueError(f"no web sign-in for service {service!r}")
