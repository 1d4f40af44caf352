"""Sip's web layer."""
