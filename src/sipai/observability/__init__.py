"""Sip's observability: Prometheus metrics (logs live in sipai.logs)."""
