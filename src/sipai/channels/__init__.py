"""Sip's channels layer."""
