#!/usr/bin/env bash
# The browser oracles against the UI nuisance, paired with the no-fault baseline: the adapting oracle
# (adapt.settle after every page) keeps its score under every ui-* profile; the naive one (no settle)
# loses it where the nuisance stops a selector-driven agent (consent banner, confirm dialog, session
# expiry, a slow list read at once). The sweep prints the paired deltas per profile (also in
# OUT/results.json's "deltas" and OUT/report.html).
#
#   examples/sweep_browser_oracles.sh [TASKS] [OUT]
set -euo pipefail
tasks="${1:-refund-duplicate-charge,double-charge-ticket}"
out="${2:-sweep-browser-oracles}"
python="${PYTHON:-python}"  # the interpreter with this project (and Playwright) installed
faults="none,$(cd "$(dirname "$0")/../sandbox/faults/library" && ls ui-*.yaml | sed 's/\.yaml$//' | paste -sd,)"
sandbox sweep --tasks "$tasks" --faults "$faults" --parallel 3 --out "$out" \
    --agent browser="$python -m sandbox.tasks.oracles.browser" \
    --agent naive="$python -m sandbox.tasks.oracles.browser.naive"
