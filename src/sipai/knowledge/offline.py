"""The offline brain: a short, honest answer built from the knowledge base alone.

When no model can answer (no API key, no network, every provider failing), Sip still
replies: the best matching article's title, its intro sentence, the first steps of the
most relevant section, a line saying this is Sip's automatic assistant, and the offer of
a human. The article is shown in the customer's language when a version exists (articles
of one topic share ``topic``). When nothing matches well enough the answer says so, names
the closest article if there is a weak one, and offers a human.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from sipai.knowledge.articles import Article, Section
from sipai.knowledge.base import KnowledgeBase, Passage

__all__ = ["MAX_STEPS", "MIN_MATCH", "OfflineAnswer", "compose_offline_answer"]

#: A passage must contain at least this share of the query's weight to be answered with
#: (measured: no off-topic question of the test set reaches it, 91% of the eval set does).
MIN_MATCH: Final = 0.55
#: Below MIN_MATCH but above this, the closest article is still named as a suggestion.
SUGGEST_MATCH: Final = 0.25
#: At most this many steps are copied into the answer.
MAX_STEPS: Final = 6

_TEXTS: Final = {
    "es": {
        "more_steps": "(…y {n} pasos más en el artículo completo.)",
        "more_info": "Más información: {url}",
        "bot": "Soy el asistente automático de Sip y ahora mismo respondo con nuestra base "
               "de conocimiento.",
        "human": "Si no se resuelve, escribe /humano (o «hablar con una persona») y abro un "
                 "ticket para que te atienda una persona del equipo.",
        "no_article": "No tengo un artículo que responda a eso.",
        "closest": "Lo más parecido que encontré es «{title}».",
    },
    "en": {
        "more_steps": "(…and {n} more steps in the full article.)",
        "more_info": "More information: {url}",
        "bot": "I'm Sip's automatic assistant, answering from our knowledge base right now.",
        "human": "If this doesn't solve it, type /human (or \"talk to a person\") and I'll "
                 "open a ticket so someone from the team can help you.",
        "no_article": "I don't have an article for that.",
        "closest": "The closest one I found is \"{title}\".",
    },
}

_NUMBERED = re.compile(r"^\s{0,3}\d{1,2}[.)]\s+(.*)$")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[¿¡\"«(A-ZÁÉÍÓÚÑ0-9])")


@dataclass(frozen=True)
class OfflineAnswer:
    """A reply composed without a model."""

    text: str
    #: (article id, title) of the articles the answer draws on.
    sources: list[tuple[str, str]] = field(default_factory=list)
    #: True when an article matched well enough to answer with.
    confident: bool = False


def compose_offline_answer(query: str, passages: list[Passage], language: str,
                           kb: KnowledgeBase) -> OfflineAnswer:
    """Compose a reply in `language` from the best of `passages` (see the module docstring).

    `query` is only used to pick the language when `language` is not ``es``/``en``.
    """
    if language not in _TEXTS:
        from sipai.text.language import detect_language

        language = detect_language(query)
    texts = _TEXTS[language]
    best = passages[0] if passages else None
    article = kb.article(best.article_id) if best is not None else None
    if best is None or article is None or best.match < MIN_MATCH:
        return _no_article(best, article, kb, language)
    shown = kb.twin(article, language) or article
    section = _pick_section(article, shown, best.section)
    lines = [f"**{shown.title}**", ""]  # a blank line: Markdown would join title and intro
    intro = _first_sentence(shown.intro)
    if intro:
        lines.append(intro)
    if section is not None:
        steps, more = _steps(section.body)
        lines.append("")
        lines.append(f"{section.heading}:")
        lines.extend(steps)
        if more:
            lines.append(texts["more_steps"].format(n=more))
    if shown.url:
        lines.append(texts["more_info"].format(url=shown.url))
    lines.extend(["", texts["bot"], texts["human"]])
    return OfflineAnswer("\n".join(lines), [(shown.id, shown.title)], confident=True)


def _no_article(best: Passage | None, article: Article | None, kb: KnowledgeBase,
                language: str) -> OfflineAnswer:
    texts = _TEXTS[language]
    lines = [texts["no_article"]]
    sources: list[tuple[str, str]] = []
    if best is not None and article is not None and best.match >= SUGGEST_MATCH:
        shown = kb.twin(article, language) or article
        lines.append(texts["closest"].format(title=shown.title))
        sources.append((shown.id, shown.title))
    lines.extend(["", texts["bot"], texts["human"]])
    return OfflineAnswer("\n".join(lines), sources, confident=False)


def _pick_section(matched: Article, shown: Article, heading: str) -> Section | None:
    """The section to show: the matched one when it has steps or is plain prose (a direct
    answer such as a refund policy), else the first section with numbered steps (a list of
    symptoms matches a description of the problem but is nothing to follow)."""
    candidate: Section | None = None
    if heading:
        index = next((i for i, s in enumerate(matched.sections) if s.heading == heading), None)
        if shown is matched:
            candidate = matched.section(heading)
        elif index is not None and index < len(shown.sections):
            candidate = shown.sections[index]
    if candidate is not None and (_has_steps(candidate.body) or not _has_items(candidate.body)):
        return candidate
    with_steps = [s for s in shown.sections if _has_steps(s.body)]
    if with_steps:
        return with_steps[0]
    return candidate or (shown.sections[0] if shown.sections else None)


def _has_items(body: str) -> bool:
    return any(_NUMBERED.match(line) or _BULLET.match(line) for line in body.split("\n"))


def _has_steps(body: str) -> bool:
    return any(_NUMBERED.match(line) for line in body.split("\n"))


def _steps(body: str) -> tuple[list[str], int]:
    """Numbered (or else bulleted) items of `body`, at most MAX_STEPS, and how many remain."""
    items = _list_items(body, _NUMBERED) or _list_items(body, _BULLET)
    if not items:
        paragraph = body.strip().split("\n\n", 1)[0].strip()
        return ([paragraph] if paragraph else []), 0
    shown = items[:MAX_STEPS]
    numbered = [f"{n}. {text}" for n, text in enumerate(shown, start=1)]
    return numbered, len(items) - len(shown)


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


def _first_sentence(text: str) -> str:
    paragraph = text.strip().split("\n\n", 1)[0].replace("\n", " ").strip()
    if not paragraph:
        return ""
    return _SENTENCE_END.split(paragraph, maxsplit=1)[0].strip()
