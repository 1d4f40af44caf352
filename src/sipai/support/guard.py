"""The output guard: a reply never carries the system prompt or a secret to a customer.

Checked on every answer before it is stored or sent in full: any configured secret, any
string shaped like a key or token, and any long run of words copied from the system prompt
(the usual result of a successful "print your instructions" attack).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sipai.logs import GROQ_KEY_SHAPE, TELEGRAM_TOKEN_SHAPE
from sipai.support.prompts import SYSTEM

# The key shapes the logs mask, plus OpenAI-style `sk-` keys.
_KEY_SHAPES = re.compile("|".join((GROQ_KEY_SHAPE, TELEGRAM_TOKEN_SHAPE, r"sk-[A-Za-z0-9]{20,}")))
_NGRAM = 8

BLOCKED = {
    "es": "Lo siento, no puedo compartir esa información. ¿Te ayudo con tu VPN?",
    "en": "Sorry, I can't share that information. Can I help you with your VPN?",
}


def _ngrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + _NGRAM]) for i in range(len(words) - _NGRAM + 1)}


class OutputGuard:
    """Stops replies that would leak the system prompt or a secret."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = [s for s in secrets if s and len(s) >= 6]
        self._prompt_grams: set[tuple[str, ...]] = set()
        for template in SYSTEM.values():
            self._prompt_grams |= _ngrams(template)

    def leaks(self, text: str) -> bool:
        """True when `text` contains a secret or copies the system prompt."""
        if any(secret in text for secret in self._secrets) or _KEY_SHAPES.search(text):
            return True
        grams = _ngrams(text)
        return len(grams & self._prompt_grams) >= 3

    def check(self, text: str, language: str) -> tuple[str, bool]:
        """(text to send, blocked?) — the refusal replaces a leaking answer."""
        if self.leaks(text):
            return BLOCKED.get(language, BLOCKED["es"]), True
        return text, False
