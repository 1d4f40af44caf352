"""Sip's llm layer."""
