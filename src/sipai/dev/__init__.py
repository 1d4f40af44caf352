"""Sip's dev layer."""
