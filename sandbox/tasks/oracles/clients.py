"""The vendors' own SDK clients, configured only from the agent environment `sandbox run` gives.

Nothing here knows about the sandbox beyond environment variables: HTTPS_PROXY routes the
traffic, SSL_CERT_FILE / REQUESTS_CA_BUNDLE trust the sandbox CA, and each vendor's usual
variables hold the episode's fake credentials.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, NoReturn


def instruction() -> str:
    return os.environ.get("SANDBOX_TASK_INSTRUCTION", "")


def ticket_id() -> int:
    """The Zendesk ticket the instruction names as `ticket #1234`."""
    found = re.search(r"ticket #(\d+)", instruction())
    if not found:
        give_up("the instruction names no ticket (expected 'ticket #<id>')")
    return int(found.group(1))


def github_org() -> str:
    """The GitHub organisation: $GITHUB_ORG, else the instruction's `organisation <login>`."""
    found = os.environ.get("GITHUB_ORG") or re.search(r"organi[sz]ation ([\w.-]+)", instruction())
    if not found:
        give_up("no GitHub organisation in $GITHUB_ORG or the instruction")
    return found if isinstance(found, str) else found.group(1)


def give_up(reason: str) -> NoReturn:
    print(f"giving up: {reason}", file=sys.stderr)
    sys.exit(1)


def stripe_module() -> Any:
    import stripe

    stripe.api_key = os.environ["STRIPE_API_KEY"]
    # The stripe SDK pins its own CA bundle instead of reading SSL_CERT_FILE.
    stripe.ca_bundle_path = os.environ.get("SSL_CERT_FILE", stripe.ca_bundle_path)
    stripe.max_network_retries = 2
    return stripe


def zendesk() -> Any:
    from zenpy import Zenpy

    return Zenpy(
        subdomain=os.environ["ZENDESK_SUBDOMAIN"],
        email=os.environ["ZENDESK_EMAIL"],
        token=os.environ["ZENDESK_API_TOKEN"],
    )


def slack() -> Any:
    from slack_sdk import WebClient

    return WebClient(token=os.environ["SLACK_BOT_TOKEN"])


def github() -> Any:
    from github import Auth, Github

    # PyGithub throttles itself (0.25 s between requests, 1 s between writes) to spare the real
    # GitHub; a fake needs no such care.
    return Github(auth=Auth.Token(os.environ["GITHUB_TOKEN"]), retry=None, seconds_between_requests=0,
                  seconds_between_writes=0)


def channel_id(client: Any, name: str) -> str:
    for page in client.conversations_list(types="public_channel", limit=100):
        for channel in page["channels"]:
            if channel["name"] == name:
                return channel["id"]
    give_up(f"no channel #{name}")
