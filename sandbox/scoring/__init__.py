"""Scores from a ledger alone: the verifier over state changes and reasons (`score`), leaks of the
world's private data (`leaks`) and efficiency figures (`efficiency`)."""
