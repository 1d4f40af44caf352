"""Excerpts: the part of a text that fits a token allowance, keeping its structure.

A knowledge passage or an earlier answer of Sip's often has to fit fewer tokens than it
has. Cutting its tail would keep the first steps and drop the rest; :func:`excerpt` instead
keeps the first sentence of every line (a step's action, a paragraph's point) and then
gives the lines back, in order, whole or in part, while they fit. When even that outline is
too long, the outline (not the text) is cut at a line, sentence or word end, so more steps
keep their action. A shortened text ends with "…", so the model knows there is more.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["ELLIPSIS", "excerpt", "head"]

#: A shortened text ends with this.
ELLIPSIS = "…"
#: A list marker at the start of a line ("1. ", "2) ", "- "): not a sentence of its own.
_MARKER = re.compile(r"\s*(?:\d{1,3}[.)]|[-*•])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_BOUNDARIES = (re.compile(r"\n"), re.compile(r"(?<=[.!?:;…])\s"), re.compile(r"\s"))


def excerpt(text: str, tokens: int, count: Callable[[str], int]) -> str:
    """`text` if it fits `tokens` (as `count` measures), else its outline or the outline's
    opening (a text of fewer than three lines: its opening)."""
    text = text.strip()
    if count(text) <= tokens:
        return text
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) >= 3:
        firsts = [_first_sentence(line) for line in lines]
        budget = tokens - count(ELLIPSIS)
        if count("\n".join(firsts)) <= budget:
            kept = list(firsts)
            for i, line in enumerate(lines):
                if line == kept[i]:
                    continue
                spare = budget - count("\n".join(kept))
                longer = line if count(line) - count(kept[i]) <= spare else \
                    head(line, count(kept[i]) + spare, count)
                trial = [*kept[:i], longer, *kept[i + 1:]]
                if len(longer) > len(kept[i]) + 1 and count("\n".join(trial)) <= budget:
                    kept = trial
            shortened = "\n".join(kept)
            return shortened if shortened.endswith(ELLIPSIS) else shortened + ELLIPSIS
        # Even the outline is too long: its opening keeps more steps than the text's would.
        return head("\n".join(firsts), tokens, count)
    return head(text, tokens, count)


def head(text: str, tokens: int, count: Callable[[str], int]) -> str:
    """The opening of `text` that fits `tokens`, cut at a line, sentence or word end, + "…".

    A cut at a line or sentence end is preferred when it keeps at least half of what fits;
    "" when not even a word fits.
    """
    text = text.strip()
    total = count(text)
    if total <= tokens:
        return text
    budget = tokens - count(ELLIPSIS)
    length = int(len(text) * budget / total)
    while length > 0:
        cut = length
        for boundary in _BOUNDARIES:
            ends = [m.end() for m in boundary.finditer(text, 0, length + 1)]
            if ends and ends[-1] >= length // 2:
                cut = ends[-1]
                break
        candidate = text[:cut].rstrip()
        if candidate and count(candidate) <= budget:
            return candidate + ELLIPSIS
        length = int(length * 0.85)
    return ""


def _first_sentence(line: str) -> str:
    marker = _MARKER.match(line)
    start = marker.end() if marker else 0
    end = _SENTENCE_END.search(line, start)
    return line[:end.start()] if end else line
