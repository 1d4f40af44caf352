"""Token counting that works offline: a calibrated estimate reconciled with Groq's usage.

gpt-oss uses the o200k vocabulary, which cannot be downloaded here, so Sip estimates: a
word costs about one token per 4.5 characters (at least one), punctuation one each, and
every chat message a few tokens of framing. :class:`TokenCounter` then learns the ratio
between its estimates and the `prompt_tokens` Groq reports, so budgets track reality.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping

_PIECES = re.compile(r"\w+|[^\w\s]", re.UNICODE)
#: Tokens the chat template adds per message, and once per request (assistant priming).
MESSAGE_OVERHEAD = 4
REQUEST_OVERHEAD = 3


@functools.lru_cache(maxsize=4096)
def estimate_text(text: str) -> int:
    """Estimated tokens in `text` (before calibration).

    Cached: the persona, knowledge passages and recent turns are counted again every turn.
    """
    total = 0
    for piece in _PIECES.findall(text):
        total += max(1, math.ceil(len(piece) / 4.5)) if piece[0].isalnum() else 1
    return total


class TokenCounter:
    """Estimates tokens and corrects itself from the usage the provider reports."""

    def __init__(self, ratio: float = 1.0, *, smoothing: float = 0.2) -> None:
        self.ratio = ratio
        self._smoothing = smoothing

    def count(self, text: str) -> int:
        """Calibrated token estimate for a piece of text."""
        return math.ceil(estimate_text(text) * self.ratio)

    def count_messages(self, messages: Iterable[Mapping[str, object]]) -> int:
        """Calibrated estimate of the prompt tokens a chat request will use."""
        raw = REQUEST_OVERHEAD
        for message in messages:
            raw += MESSAGE_OVERHEAD + estimate_text(str(message.get("content", "")))
        return math.ceil(raw * self.ratio)

    def observe(self, messages: Iterable[Mapping[str, object]], reported_prompt_tokens: int
                ) -> None:
        """Move the ratio towards what the provider actually counted for `messages`."""
        raw = REQUEST_OVERHEAD + sum(MESSAGE_OVERHEAD + estimate_text(str(m.get("content", "")))
                                     for m in messages)
        if raw <= 0 or reported_prompt_tokens <= 0:
            return
        observed = min(2.0, max(0.5, reported_prompt_tokens / raw))
        self.ratio += self._smoothing * (observed - self.ratio)
