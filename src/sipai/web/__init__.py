"""Sip's web layer: the HTTP API, the OpenAI-compatible endpoint, the web chat and the console.

`create_app(sip)` builds the FastAPI app; `sip serve` runs it with uvicorn. Other layers
mount routes and background work with :class:`Plugin` (see :mod:`sipai.web.plugins`).
"""

from sipai.web.app import WebOptions, create_app
from sipai.web.plugins import Plugin, current_sip

__all__ = ["Plugin", "WebOptions", "create_app", "current_sip"]
