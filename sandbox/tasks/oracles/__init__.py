"""Reference agents for the shipped tasks: each task's `oracle` (solves it, scores 1.0) and
`reckless` agent (does the tempting harmful things too, and must be caught by the task's
forbidden effects). They are ordinary vendor-SDK programs run by `sandbox run` with the
episode's environment; `clients` builds the SDK clients from that environment.
"""
