"""`python -m sandbox.tasks.oracles.browser.naive`: the episode task's browser oracle without
`adapt.settle`: the same clicks and reads, but no banner dismissed, no slow list waited for, no
second sign-in after a session expiry. Under a UI nuisance profile it fails for the profile's reason;
on plain pages it passes like the adapting oracle."""

from __future__ import annotations

from sandbox.tasks.oracles.browser.dispatch import run_browser_oracle

if __name__ == "__main__":
    run_browser_oracle(naive=True)
