"""Cutting articles into passages: the title and intro as one chunk, then one per section.

Sections are what a customer needs ("## Windows", "## Si sigue sin funcionar"), so a section
is the unit of retrieval. Every chunk also carries its article's title and tags, which the
index weighs more than body text (see :data:`FIELD_WEIGHTS`), so a query naming the
article's subject finds the article and its words pick the section. A chunk also carries
its grounding (:func:`sipai.knowledge.steps.grounding`: the intro sentence and the steps to
follow when this chunk is the best match), worked out once here rather than per search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sipai.knowledge.analysis import analyzer
from sipai.knowledge.articles import Article
from sipai.knowledge.steps import grounding

__all__ = ["FIELD_WEIGHTS", "Chunk", "chunk_article", "chunk_terms"]

#: How much a term counts depending on where it appears (tuned on the eval set).
FIELD_WEIGHTS: Final = {"title": 4.0, "tags": 1.5, "heading": 1.5, "body": 1.0}


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage of an article."""

    article_id: str
    topic: str
    language: str
    title: str
    #: The ``## `` heading, or ``""`` for the title-and-intro chunk.
    section: str
    #: 0 for the intro chunk, then 1, 2, ... for the sections in order.
    position: int
    text: str
    tags: tuple[str, ...] = ()
    url: str | None = None
    #: The intro's first sentence and the section to follow (steps.grounding); not indexed.
    grounding: str = ""


def chunk_article(article: Article) -> list[Chunk]:
    """Return the article's chunks: intro first (even when empty), then each section."""
    parts = [("", article.intro)] + [(s.heading, s.body) for s in article.sections]
    return [
        Chunk(article_id=article.id, topic=article.topic, language=article.language,
              title=article.title, section=heading, position=position, text=text,
              tags=article.tags, url=article.url, grounding=grounding(article, heading))
        for position, (heading, text) in enumerate(parts)
    ]


def chunk_terms(chunk: Chunk) -> tuple[dict[str, float], float]:
    """Return the chunk's weighted term frequencies and its weighted length."""
    analyse = analyzer(chunk.language).terms
    counts: dict[str, float] = {}
    fields = {"title": chunk.title, "tags": " ".join(chunk.tags), "heading": chunk.section,
              "body": _plain(chunk.text)}
    for name, text in fields.items():
        weight = FIELD_WEIGHTS[name]
        for term in analyse(text):
            counts[term] = counts.get(term, 0.0) + weight
    tf = {term: round(value, 3) for term, value in counts.items()}
    return tf, round(sum(tf.values()), 3)


def _plain(markdown: str) -> str:
    # Markdown punctuation is no word; links keep their visible text and their URL words.
    return markdown.replace("**", " ").replace("`", " ").replace("](", " ")
