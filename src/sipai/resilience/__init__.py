"""Sip's resilience layer."""
