"""Typo tolerance: find the index terms a misspelt query term was meant to be.

Customers write "wiregard", "oulite", "conecion". A query term that no article contains is
compared with the index vocabulary by edit distance (optimal string alignment: insertions,
deletions, substitutions and swaps of neighbours), using a SymSpell-style table of
deletion variants so a lookup touches a handful of candidates instead of the whole
vocabulary. Precision matters more than recall here, because a wrong correction can make
an off-topic question look answerable: stems shorter than 6 letters are never corrected
("receta" is one letter from "reset"), 6–7 letters allow one edit, longer ones two, the
first letter must agree (it is rarely the one mistyped), and only the closest candidates
are returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["TypoIndex", "edit_distance", "max_distance_for"]

_MIN_LENGTH = 6
_TWO_EDITS_LENGTH = 8


def max_distance_for(term: str) -> int:
    """How many edits a term of this length may be away from the word it stands for."""
    if len(term) < _MIN_LENGTH:
        return 0
    return 1 if len(term) < _TWO_EDITS_LENGTH else 2


def _deletions(term: str, distance: int) -> set[str]:
    variants = {term}
    frontier = {term}
    for _ in range(distance):
        frontier = {w[:i] + w[i + 1:] for w in frontier if len(w) > 2 for i in range(len(w))}
        variants |= frontier
    return variants


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Optimal string alignment distance between `a` and `b` (capped at `limit` + 1)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


class TypoIndex:
    """Deletion-variant table over a vocabulary of index terms."""

    def __init__(self, vocabulary: Iterable[str], aliases: Mapping[str, str] | None = None,
                 *, max_distance: int = 2) -> None:
        self.max_distance = max_distance
        self._targets: dict[str, str] = dict(aliases or {})
        self._variants: dict[str, list[str]] = {}
        for term in {*vocabulary, *self._targets}:
            if len(term) < _MIN_LENGTH - 1 or not term.isalpha():
                continue  # compounds, numbers and short stems are left alone
            # Two deletions only for long terms: the table stays small enough to build
            # on first need (short terms are only ever matched at distance 1 anyway).
            depth = max_distance if len(term) >= _TWO_EDITS_LENGTH - 1 else 1
            for variant in _deletions(term, depth):
                self._variants.setdefault(variant, []).append(term)

    def suggest(self, term: str, limit: int = 3) -> list[str]:
        """Return up to `limit` vocabulary terms closest to `term` (none if it is too far)."""
        distance = min(self.max_distance, max_distance_for(term))
        if distance == 0 or not term.isalpha():
            return []
        candidates: set[str] = set()
        for variant in _deletions(term, distance):
            candidates.update(self._variants.get(variant, ()))
        best = distance + 1
        closest: list[str] = []
        for candidate in sorted(candidates):
            if candidate[0] != term[0]:
                continue
            d = edit_distance(term, candidate, distance)
            if 0 < d < best:
                best, closest = d, [candidate]
            elif d == best and d <= distance:
                closest.append(candidate)
        resolved = [self._targets.get(c, c) for c in closest]
        return list(dict.fromkeys(resolved))[:limit]
