"""The offline brain: a short, honest answer built from the knowledge base alone.

When no model can answer (no API key, no network, every provider failing), Sip still
replies: the best matching article's title, its intro sentence, the first steps of the
section a customer follows (:func:`sipai.knowledge.steps.pick_section`, the same section
the model's prompt gets), a line saying this is Sip's automatic assistant, and the offer
of a human. The article is shown in the customer's language when a version exists (articles
of one topic share ``topic``). When nothing matches well enough the answer says so, names
the closest article if there is a weak one, and offers a human.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from sipai.knowledge.articles import Article
from sipai.knowledge.base import KnowledgeBase, Passage
from sipai.knowledge.steps import first_sentence, list_steps, pick_section

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
    section = pick_section(article, shown, best.section)
    lines = [f"**{shown.title}**", ""]  # a blank line: Markdown would join title and intro
    intro = first_sentence(shown.intro)
    if intro:
        lines.append(intro)
    if section is not None:
        steps, more = list_steps(section.body, MAX_STEPS)
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
