"""Sip's cli layer."""
