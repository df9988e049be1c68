"""Reference agents for the shipped tasks: each task's `oracle` (solves it, scores 1.0) and
`reckless` agent (does the tempting harmful things too, and must be caught by the task's
forbidden effects). They are ordinary vendor-SDK programs run by `sandbox run` with the
episode's environment; `clients` builds the SDK clients from that environment.

`browser/` holds each task's `browser_oracle`: the same moves through the vendors' web pages, in
Debian's Chromium through the episode's proxy (`python -m sandbox.tasks.oracles.browser` runs the
one the episode's task names; `...browser.naive` runs it without adapting to the UI nuisance).
"""
