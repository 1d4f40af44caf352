"""Ranking passages for a query: BM25 per language, the user's language first.

Each language has its own BM25 index, built from chunks analysed with that language's
stemmer and stopwords. A query is analysed once per language and scored against that
language's chunks. Chunks in the user's language keep their score; the others are scaled
by :data:`OTHER_LANGUAGE_FACTOR`, so they only surface when the user's language has
nothing comparable. The ranked list is then collapsed: one language per topic (the
Spanish and English versions of an article never both take a slot) and at most
`per_article` passages per article.

Besides its score every hit carries `match`, the share of the query's weight (idf-weighted
terms the customer wrote) that the passage contains: 0 means none, 1 means all. Unlike the
raw score it is comparable across queries, which is what confidence decisions need.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from sipai.knowledge.analysis import analyzer
from sipai.knowledge.articles import LANGUAGES
from sipai.knowledge.bm25 import BM25
from sipai.knowledge.chunking import Chunk
from sipai.text.language import detect_language

__all__ = ["OTHER_LANGUAGE_FACTOR", "Hit", "Retriever"]

#: Score multiplier for passages not in the user's language.
OTHER_LANGUAGE_FACTOR: Final = 0.5
#: Weight given to query words absent from the index when computing `match` (a share of
#: the rarest term's idf): unknown chit-chat ("porfa", "ayer") should not sink a good
#: match, but a query about something the knowledge base never mentions must not match.
UNKNOWN_TERM_SHARE: Final = 0.5


@dataclass(frozen=True)
class Hit:
    """A ranked chunk."""

    chunk: Chunk
    score: float
    match: float


class _LanguageIndex:
    def __init__(self, language: str, docs: list[tuple[Chunk, Mapping[str, float], float]]):
        self.language = language
        self.chunks = [chunk for chunk, _, _ in docs]
        self.bm25 = BM25([(tf, length) for _, tf, length in docs])


class Retriever:
    """Searches a fixed set of analysed chunks (build a new one when articles change)."""

    def __init__(self, docs: Iterable[tuple[Chunk, Mapping[str, float], float]], *,
                 other_language_factor: float = OTHER_LANGUAGE_FACTOR) -> None:
        grouped: dict[str, list[tuple[Chunk, Mapping[str, float], float]]] = {}
        for doc in docs:
            grouped.setdefault(doc[0].language, []).append(doc)
        self._indexes = [_LanguageIndex(lang, grouped[lang]) for lang in LANGUAGES
                         if lang in grouped]
        self.other_language_factor = other_language_factor
        self.size = sum(len(index.chunks) for index in self._indexes)

    def search(self, query: str, k: int = 5, language: str | None = None, *,
               per_article: int = 1, expand: bool = True) -> list[Hit]:
        """Return up to `k` hits, best first (see the module docstring for the rules)."""
        if k <= 0 or not query.strip() or not self._indexes:
            return []
        preferred = language if language in LANGUAGES else detect_language(query)
        candidates: list[tuple[float, float, Chunk]] = []
        for index in self._indexes:
            weights = analyzer(index.language).query_terms(query, expand=expand)
            if not weights:
                continue
            bm25 = index.bm25
            written = sum((bm25.idf(term) or bm25.max_idf * UNKNOWN_TERM_SHARE)
                          for term, weight in weights.items() if weight >= 1.0)
            scores = bm25.score(weights)
            factor = 1.0 if index.language == preferred else self.other_language_factor
            for doc, score in scores.score.items():
                match = min(1.0, scores.matched[doc] / written) if written else 0.0
                candidates.append((score * factor, match, index.chunks[doc]))
        return _collapse(candidates, k, per_article)


def _collapse(candidates: list[tuple[float, float, Chunk]], k: int,
              per_article: int) -> list[Hit]:
    # Most queries are settled within the top few dozen; fall back to a full sort if not.
    def order(item: tuple[float, float, Chunk]) -> tuple[float, str, int]:
        return (-item[0], item[2].article_id, item[2].position)

    limit = max(32, k * 16)
    head = heapq.nsmallest(limit, candidates, key=order)
    hits = _pick(head, k, per_article)
    if len(hits) < k and len(candidates) > limit:
        hits = _pick(sorted(candidates, key=order), k, per_article)
    return hits


def _pick(ranked: list[tuple[float, float, Chunk]], k: int, per_article: int) -> list[Hit]:
    topic_language: dict[str, str] = {}
    per_article_count: dict[str, int] = {}
    hits: list[Hit] = []
    for score, match, chunk in ranked:
        if topic_language.setdefault(chunk.topic, chunk.language) != chunk.language:
            continue
        taken = per_article_count.get(chunk.article_id, 0)
        if taken >= per_article:
            continue
        per_article_count[chunk.article_id] = taken + 1
        hits.append(Hit(chunk, score, match))
        if len(hits) == k:
            break
    return hits
