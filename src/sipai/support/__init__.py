"""Sip's support layer."""
