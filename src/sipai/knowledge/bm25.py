"""Okapi BM25 over documents given as weighted term frequencies.

Documents arrive already analysed (term → weighted frequency, plus a weighted length), so
field boosts are baked into the frequencies (a BM25F simplification). Scoring walks the
postings of the query's terms only; the per-document length norms are precomputed, so a
query costs time proportional to the postings it touches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["BM25", "Scores"]


@dataclass(frozen=True)
class Scores:
    """Per-document BM25 scores and the share of the query each document matched."""

    #: doc index → BM25 score.
    score: dict[int, float]
    #: doc index → sum of weight × idf of the query terms the document contains.
    matched: dict[int, float]


class BM25:
    """A BM25 index over a fixed list of documents (rebuild it to change them)."""

    def __init__(self, docs: Sequence[tuple[Mapping[str, float], float]], *,
                 k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.n = len(docs)
        total = sum(length for _, length in docs)
        avgdl = total / self.n if self.n else 1.0
        self._norm = [k1 * (1.0 - b + b * (length / avgdl if avgdl else 1.0))
                      for _, length in docs]
        postings: dict[str, list[tuple[int, float]]] = {}
        for index, (tf, _) in enumerate(docs):
            for term, freq in tf.items():
                postings.setdefault(term, []).append((index, freq))
        self._postings = postings
        self._idf = {term: self._idf_for(len(plist)) for term, plist in postings.items()}
        self.max_idf = self._idf_for(1)

    def _idf_for(self, df: int) -> float:
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))

    def idf(self, term: str) -> float | None:
        """The term's inverse document frequency, or None when no document has it."""
        return self._idf.get(term)

    def __contains__(self, term: object) -> bool:
        return term in self._postings

    def vocabulary(self) -> list[str]:
        """Every term the index holds."""
        return list(self._postings)

    def score(self, query: Mapping[str, float]) -> Scores:
        """Score every document that contains at least one of the weighted query terms."""
        scores: dict[int, float] = {}
        matched: dict[int, float] = {}
        k1_plus_1 = self.k1 + 1.0
        norm = self._norm
        for term, weight in query.items():
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = self._idf[term] * weight
            for doc, freq in postings:
                scores[doc] = scores.get(doc, 0.0) + idf * freq * k1_plus_1 / (freq + norm[doc])
                matched[doc] = matched.get(doc, 0.0) + idf
        return Scores(scores, matched)
