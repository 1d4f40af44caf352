"""Sip: the AI support assistant of a VPN service, on Groq's OpenAI-compatible API."""

__version__ = "0.1.0"
