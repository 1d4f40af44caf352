"""Sip's storage layer."""
