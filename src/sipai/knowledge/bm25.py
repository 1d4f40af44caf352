"""Okapi BM25 over documents given as weighted term frequencies, with exact top-n pruning.

Documents arrive already analysed (term → weighted frequency, plus a weighted length), so
field boosts are baked into the frequencies (a BM25F simplification). Each posting stores
its precomputed impact, ``tf·(k1+1)/(tf + k1·(1-b+b·len/avgdl))``, so scoring is one
multiply-add per posting.

:meth:`BM25.top` scores term by term, rarest first (MaxScore). Once `n` documents score
more than every remaining term could still add, a document that has only those common
terms cannot reach the top `n`; from then on the remaining terms only update the
documents already found, looked up in their own term table, instead of walking long
postings lists ("vpn" appears in most articles). The top `n` and their scores are exact.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence

__all__ = ["BM25"]


class BM25:
    """A BM25 index over a fixed list of documents (rebuild it to change them)."""

    def __init__(self, docs: Sequence[tuple[Mapping[str, float], float]], *,
                 k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.n = len(docs)
        avgdl = (sum(length for _, length in docs) / self.n) if self.n else 1.0
        self._tfs = [tf for tf, _ in docs]
        self._norm = [k1 * (1.0 - b + b * (length / avgdl if avgdl else 1.0))
                      for _, length in docs]
        docs_of: dict[str, list[int]] = {}
        impacts_of: dict[str, list[float]] = {}
        k1_plus_1 = k1 + 1.0
        for index, (tf, _) in enumerate(docs):
            norm = self._norm[index]
            for term, freq in tf.items():
                docs_of.setdefault(term, []).append(index)
                impacts_of.setdefault(term, []).append(freq * k1_plus_1 / (freq + norm))
        self._postings = {term: (docs_of[term], impacts_of[term]) for term in docs_of}
        self._idf = {term: self._idf_for(len(ids)) for term, ids in docs_of.items()}
        self._max_impact = {term: max(values) for term, values in impacts_of.items()}
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

    def score(self, query: Mapping[str, float]) -> dict[int, float]:
        """Score every document that contains at least one of the weighted query terms."""
        return self.top(query, self.n) if self.n else {}

    def top(self, query: Mapping[str, float], n: int) -> dict[int, float]:
        """The `n` best documents for the weighted query terms, with their exact scores."""
        terms = sorted(((self._idf[t] * w, t) for t, w in query.items() if t in self._postings),
                       reverse=True)
        bounds = [weight * self._max_impact[term] for weight, term in terms]
        remaining = sum(bounds)
        scores: dict[int, float] = {}
        for position, (weight, term) in enumerate(terms):
            ids, impacts = self._postings[term]
            if len(scores) >= n and len(ids) > n:
                threshold = heapq.nlargest(n, scores.values())[-1]
                if threshold > remaining:
                    # Only documents that can still reach the threshold are worth finishing.
                    alive = {d: s for d, s in scores.items() if s + remaining >= threshold}
                    scores = self._finish(alive, terms[position:])
                    break
            get = scores.get
            for doc, impact in zip(ids, impacts, strict=True):
                scores[doc] = get(doc, 0.0) + weight * impact
            remaining -= bounds[position]
        if len(scores) <= n:
            return scores
        return dict(heapq.nlargest(n, scores.items(), key=lambda item: item[1]))

    def _finish(self, scores: dict[int, float],
                terms: list[tuple[float, str]]) -> dict[int, float]:
        k1_plus_1 = self.k1 + 1.0
        for doc in scores:
            tf = self._tfs[doc]
            norm = self._norm[doc]
            for weight, term in terms:
                freq = tf.get(term)
                if freq is not None:
                    scores[doc] += weight * (freq * k1_plus_1 / (freq + norm))
        return scores

    def matched(self, doc: int, query: Mapping[str, float]) -> float:
        """Sum of weight × idf over the query terms document `doc` contains."""
        tf = self._tfs[doc]
        return sum(w * self._idf[t] for t, w in query.items() if t in tf)
