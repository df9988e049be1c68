"""Browser oracles: each library task solved through the vendors' web pages (Chromium through the
proxy) instead of their APIs, with the same row changes as the task's REST oracle."""
