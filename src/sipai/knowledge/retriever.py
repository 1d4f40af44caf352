"""Ranking passages for a query: BM25 per language, the user's language first.

Each language has its own BM25 index, built from chunks analysed with that language's
stemmer and stopwords. A query is analysed once per language and scored against that
language's chunks. Chunks in the user's language keep their score; the others are scaled
by :data:`OTHER_LANGUAGE_FACTOR`, so they only surface when the user's language has
nothing comparable. The ranked list is then collapsed: a passage from the other language
is replaced by the same passage of its topic's version in the user's language when one
exists (a topic is relevant whichever version matched: English error messages quoted in
a Spanish question match the English article best), a topic takes one language only,
and at most `per_article` passages come from one article.

A query word no article contains (a typo, most often, or a Spanish word scored against
English articles) is looked up in a :class:`~sipai.knowledge.typos.TypoIndex` built on
first need (:meth:`Retriever.prepare` builds it up front), and its closest index terms
join the query at :data:`TYPO_WEIGHT`; across
languages this catches cognates ("configuro" ≈ "configure", "instalo" ≈ "install").

The VPN apps are products the customer names: a question that names one app and not the
other ("mi WireGuard no conecta") scales the articles about only the other app (tagged
with it and not with the named one) by :data:`OTHER_PRODUCT_FACTOR`, so an Outline article
whose words match well ("no conecta") does not outrank the WireGuard ones.

Besides its score every hit carries `match`, the share of the query's weight (idf-weighted
terms the customer wrote) that the passage contains: 0 means none, 1 means all. Unlike the
raw score it is comparable across queries, which is what confidence decisions need.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from sipai.knowledge.analysis import STEM_ALIASES, analyzer
from sipai.knowledge.articles import LANGUAGES
from sipai.knowledge.bm25 import BM25
from sipai.knowledge.chunking import Chunk
from sipai.knowledge.typos import TypoIndex
from sipai.text.language import detect_language

__all__ = ["OTHER_LANGUAGE_FACTOR", "OTHER_PRODUCT_FACTOR", "Hit", "Retriever",
           "named_products"]

#: Score multiplier for passages not in the user's language.
OTHER_LANGUAGE_FACTOR: Final = 0.5
#: Weight given to query words absent from the index when computing `match`, as a share of
#: the rarest term's idf. A word no article contains is strong evidence that the question
#: is about something else ("receta de paella"); measured on off-topic questions, a full
#: share separates them from answerable ones best (see docs/knowledge.md).
UNKNOWN_TERM_SHARE: Final = 1.0
#: Weight of the terms a misspelt query word is corrected to.
TYPO_WEIGHT: Final = 0.8
#: Score multiplier for articles about only a product the query does not name, when it
#: names another one.
OTHER_PRODUCT_FACTOR: Final = 0.4
#: The products a customer names, by the article tag that marks articles about them.
PRODUCTS: Final = {
    "wireguard": re.compile(r"\b(?:wire\s?guard|wg)\b", re.IGNORECASE),
    "outline": re.compile(r"\boutline\b", re.IGNORECASE),
}


def named_products(query: str) -> frozenset[str]:
    """The product tags whose names the query contains."""
    return frozenset(tag for tag, name in PRODUCTS.items() if name.search(query))


def product_factor(chunk: Chunk, named: frozenset[str]) -> float:
    """:data:`OTHER_PRODUCT_FACTOR` for a chunk about only products the query did not name."""
    if not named:
        return 1.0
    about = PRODUCTS.keys() & set(chunk.tags)
    return OTHER_PRODUCT_FACTOR if about and not about & named else 1.0


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
        self._typos: TypoIndex | None = None

    def prepare(self) -> None:
        """Build the typo table now (tens of ms) rather than inside the first search."""
        if self._typos is None:
            self._typos = TypoIndex(self.bm25.vocabulary(), STEM_ALIASES[self.language])

    def corrections(self, term: str) -> list[str]:
        """Index terms close to `term` (which the index lacks)."""
        self.prepare()
        assert self._typos is not None
        return self._typos.suggest(term)

    def weigh(self, query: str, expand: bool, correct: bool) -> tuple[dict[str, float], float]:
        """The query's weighted terms for this language and the idf mass of what was written.

        `correct` looks words the index lacks up among its terms: typos in the query's
        language, cognates in the other one ("configuro" → ``configur`` of "configure").
        """
        bm25 = self.bm25
        weights = analyzer(self.language).query_terms(query, expand=expand)
        written = 0.0
        for term, weight in list(weights.items()):
            if weight < 1.0:
                continue
            idf = bm25.idf(term)
            if idf is None and correct:
                fixes = self.corrections(term)
                for fix in fixes:
                    weights[fix] = max(weights.get(fix, 0.0), TYPO_WEIGHT)
                idf = max((bm25.idf(fix) or 0.0 for fix in fixes), default=None)
            written += idf if idf is not None else bm25.max_idf * UNKNOWN_TERM_SHARE
        return weights, written


class Retriever:
    """Searches a fixed set of analysed chunks (build a new one when articles change)."""

    def __init__(self, docs: Iterable[tuple[Chunk, Mapping[str, float], float]], *,
                 other_language_factor: float = OTHER_LANGUAGE_FACTOR) -> None:
        grouped: dict[str, list[tuple[Chunk, Mapping[str, float], float]]] = {}
        for doc in docs:
            grouped.setdefault(doc[0].language, []).append(doc)
        self._indexes = [_LanguageIndex(lang, grouped[lang]) for lang in LANGUAGES
                         if lang in grouped]
        # (topic, language, position) → chunk, to swap a hit for its translation.
        self._twins: dict[tuple[str, str, int], Chunk] = {}
        for index in self._indexes:
            for chunk in index.chunks:
                self._twins.setdefault((chunk.topic, chunk.language, chunk.position), chunk)
        self.other_language_factor = other_language_factor
        self.size = sum(len(index.chunks) for index in self._indexes)

    def prepare(self) -> None:
        """Do the lazy work up front (call it off the event loop, e.g. while opening)."""
        for index in self._indexes:
            index.prepare()

    def search(self, query: str, k: int = 5, language: str | None = None, *,
               per_article: int = 1, expand: bool = True) -> list[Hit]:
        """Return up to `k` hits, best first (see the module docstring for the rules)."""
        if k <= 0 or not query.strip() or not self._indexes:
            return []
        preferred = language if language in LANGUAGES else detect_language(query)
        limit = max(32, k * 16)
        candidates: list[tuple[float, Chunk, _LanguageIndex, int]] = []
        queries: dict[str, tuple[dict[str, float], float]] = {}
        named = named_products(query)
        for index in self._indexes:
            weights, written = index.weigh(query, expand, correct=expand)
            if not weights:
                continue
            queries[index.language] = (weights, written)
            factor = 1.0 if index.language == preferred else self.other_language_factor
            for doc, score in index.bm25.top(weights, limit).items():
                chunk = index.chunks[doc]
                candidates.append((score * factor * product_factor(chunk, named), chunk,
                                   index, doc))

        def match(index: _LanguageIndex, doc: int) -> float:
            weights, written = queries[index.language]
            return min(1.0, index.bm25.matched(doc, weights) / written) if written else 0.0

        return self._collapse(candidates, k, per_article, preferred, limit, match)

    def _collapse(self, candidates: list[tuple[float, Chunk, _LanguageIndex, int]], k: int,
                  per_article: int, preferred: str, limit: int,
                  match: Callable[[_LanguageIndex, int], float]) -> list[Hit]:
        # Most queries are settled within the top few dozen; fall back to a full sort if not.
        def order(item: tuple[float, Chunk, _LanguageIndex, int]) -> tuple[float, str, int]:
            return (-item[0], item[1].article_id, item[1].position)

        head = heapq.nsmallest(limit, candidates, key=order)
        hits = self._pick(head, k, per_article, preferred, match)
        if len(hits) < k and len(candidates) > limit:
            hits = self._pick(sorted(candidates, key=order), k, per_article, preferred, match)
        return hits

    def _pick(self, ranked: list[tuple[float, Chunk, _LanguageIndex, int]], k: int,
              per_article: int, preferred: str,
              match: Callable[[_LanguageIndex, int], float]) -> list[Hit]:
        topic_language: dict[str, str] = {}
        per_article_count: dict[str, int] = {}
        seen: set[tuple[str, int]] = set()
        hits: list[Hit] = []
        for score, found, index, doc in ranked:
            chunk = found
            if chunk.language != preferred:
                chunk = (self._twins.get((chunk.topic, preferred, chunk.position))
                         or self._twins.get((chunk.topic, preferred, 0)) or chunk)
            if (chunk.article_id, chunk.position) in seen:
                continue
            if topic_language.setdefault(chunk.topic, chunk.language) != chunk.language:
                continue
            taken = per_article_count.get(chunk.article_id, 0)
            if taken >= per_article:
                continue
            per_article_count[chunk.article_id] = taken + 1
            seen.add((chunk.article_id, chunk.position))
            hits.append(Hit(chunk, score, match(index, doc)))
            if len(hits) == k:
                break
        return hits
