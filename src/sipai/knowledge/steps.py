"""What a customer follows in an article: the section with its steps, and the article's point.

An article answers a problem with a one-sentence intro ("Qué hacer cuando…"), often a list
of symptoms, and a section of numbered steps. Retrieval often finds the intro or the
symptoms, because they describe the problem in the customer's words, and neither gives a
reader anything to do. So the offline brain and the model's prompt both use the section
:func:`pick_section` chooses: the matched one when it has numbered steps or is plain prose
(a direct answer such as a refund policy), else the article's first section with numbered
steps. :func:`grounding` is that section with the intro's first sentence before it: what the
prompt sends for the best article.
"""

from __future__ import annotations

import re
from typing import Final

from sipai.knowledge.articles import Article, Section

__all__ = ["first_sentence", "grounding", "has_steps", "list_steps", "pick_section"]

_NUMBERED: Final = re.compile(r"^\s{0,3}\d{1,2}[.)]\s+(.*)$")
_BULLET: Final = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_SENTENCE_END: Final = re.compile(r"(?<=[.!?…])\s+(?=[¿¡\"«(A-ZÁÉÍÓÚÑ0-9])")


def pick_section(matched: Article, shown: Article, heading: str) -> Section | None:
    """The section of `shown` to follow when the passage `heading` of `matched` was found.

    `shown` is `matched` or its version in another language (sections correspond by
    position). The matched section wins when it has numbered steps or is plain prose; a
    list of symptoms or the intro (`heading` "") gives way to the first section with
    numbered steps; without any, the matched section or else the first one.
    """
    candidate: Section | None = None
    if heading:
        index = next((i for i, s in enumerate(matched.sections) if s.heading == heading), None)
        if shown is matched:
            candidate = matched.section(heading)
        elif index is not None and index < len(shown.sections):
            candidate = shown.sections[index]
    if candidate is not None and (has_steps(candidate.body) or not _has_items(candidate.body)):
        return candidate
    with_steps = [s for s in shown.sections if has_steps(s.body)]
    if with_steps:
        return with_steps[0]
    return candidate or (shown.sections[0] if shown.sections else None)


def grounding(article: Article, heading: str) -> str:
    """The intro's first sentence, then the picked section as "Heading:" and its body.

    "" when the article has no section to add (the passage itself is all there is).
    """
    section = pick_section(article, article, heading)
    if section is None or not section.body.strip():
        return ""
    intro = first_sentence(article.intro)
    return "\n".join(part for part in (intro, f"{section.heading}:", section.body.strip())
                     if part)


def has_steps(body: str) -> bool:
    """Whether `body` has a numbered list."""
    return any(_NUMBERED.match(line) for line in body.split("\n"))


def list_steps(body: str, limit: int) -> tuple[list[str], int]:
    """Numbered (or else bulleted) items of `body`, renumbered, at most `limit`, and how many
    more there are; a body with no list gives its first paragraph."""
    items = _list_items(body, _NUMBERED) or _list_items(body, _BULLET)
    if not items:
        paragraph = body.strip().split("\n\n", 1)[0].strip()
        return ([paragraph] if paragraph else []), 0
    shown = items[:limit]
    numbered = [f"{n}. {text}" for n, text in enumerate(shown, start=1)]
    return numbered, len(items) - len(shown)


def first_sentence(text: str) -> str:
    """The first sentence of the first paragraph of `text` ("" for an empty text)."""
    paragraph = text.strip().split("\n\n", 1)[0].replace("\n", " ").strip()
    if not paragraph:
        return ""
    return _SENTENCE_END.split(paragraph, maxsplit=1)[0].strip()


def _has_items(body: str) -> bool:
    return any(_NUMBERED.match(line) or _BULLET.match(line) for line in body.split("\n"))


def _list_items(body: str, pattern: re.Pattern[str]) -> list[str]:
    items: list[str] = []
    in_item = False
    for line in body.split("\n"):
        match = pattern.match(line)
        stripped = line.strip()
        if match:
            items.append(match.group(1).strip())
            in_item = True
        elif not stripped:
            continue  # loose lists separate items with blank lines
        elif not line.startswith((" ", "\t")):
            in_item = False  # a paragraph after the list ends it
        elif in_item and not (_BULLET.match(stripped) or _NUMBERED.match(stripped)):
            items[-1] = f"{items[-1]} {stripped}"  # a wrapped continuation line
    return items
