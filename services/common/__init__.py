"""What every fake shares: per-episode databases with change capture, and the request context."""
