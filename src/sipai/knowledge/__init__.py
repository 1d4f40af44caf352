"""Sip's knowledge layer."""
