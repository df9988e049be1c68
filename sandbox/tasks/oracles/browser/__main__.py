"""`python -m sandbox.tasks.oracles.browser`: the browser oracle of the episode's task, whichever
task it is (SANDBOX_TASK_ID, as `sandbox run` sets it), so one agent command sweeps every task:

    sandbox sweep --tasks all --faults none,ui-consent -- python -m sandbox.tasks.oracles.browser
"""

from __future__ import annotations

from sandbox.tasks.oracles.browser.dispatch import run_browser_oracle

if __name__ == "__main__":
    run_browser_oracle()
