"""Turning text into index terms, the same way for articles and for queries.

For each language: Unicode NFKC normalisation, lowercasing, tokenising, dropping
stopwords, Snowball stemming, then accent folding of the stem, so ``conexión``,
``conexion`` and ``Conexión`` are one term and ``configuración``/``configurar`` share
``configur``. Stemming runs before folding
because the Spanish stemmer knows accented suffixes; folding after it makes typed-without-
accents words land on the same stem. A few derivations the stemmer keeps apart
(``conexión``/``conectar``) are joined by :data:`STEM_ALIASES`.

Hyphenated or dotted words (``wg-quick``, ``1.1.1.1``, the tag ``clave-de-acceso``) give
their parts *and* one compound term, the parts' stems joined by ``-`` (stopwords kept:
``que-es``). Queries add the compounds of every run of 2–4 adjacent words, at
:data:`PHRASE_WEIGHT`, so "clave de acceso" or "qué es" written in a question meet the
article tags that spell the same phrase.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Final

import snowballstemmer

from sipai.knowledge.synonyms import EXPANSION_WEIGHT, expansions
from sipai.text.language import STOPWORDS, fold

__all__ = ["ANALYSIS_VERSION", "PHRASE_WEIGHT", "STEM_ALIASES", "Analyzer", "analyzer"]

#: Bump whenever a change here alters the terms of an unchanged article: the persisted
#: index is rebuilt from scratch when its recorded version differs.
ANALYSIS_VERSION: Final = "a6"
#: Weight of a query's word-run compounds (below 1: they add evidence, not requirements).
PHRASE_WEIGHT: Final = 0.3
_MAX_PHRASE = 4

_STEMMERS: Final = {"es": "spanish", "en": "english"}

#: Stems that mean the same thing but that the stemmer leaves apart (after folding).
STEM_ALIASES: Final[dict[str, dict[str, str]]] = {
    "es": {
        "conexion": "conect", "desconexion": "desconect", "reconexion": "reconect",
        "suscripcion": "suscrib", "suscrit": "suscrib", "lentitud": "lent", "wi-fi": "wifi",
    },
    "en": {"subscript": "subscrib", "wi-fi": "wifi"},
}

_TOKEN = re.compile(r"\w+(?:[.\-/]\w+)*")
_PART = re.compile(r"[^\W_]+")


class Analyzer:
    """Text → terms for one language (``es`` or ``en``)."""

    def __init__(self, language: str) -> None:
        if language not in _STEMMERS:
            raise ValueError(f"no analyzer for language {language!r}")
        self.language = language
        self._stemmer = snowballstemmer.stemmer(_STEMMERS[language])
        self._stopwords = STOPWORDS[language]
        self._aliases = STEM_ALIASES[language]
        self._cache: dict[str, str | None] = {}
        self._stems: dict[str, str] = {}

    def terms(self, text: str) -> list[str]:
        """Return the index terms of `text`, in order, with repeats."""
        out: list[str] = []
        for parts in self._tokens(text):
            if len(parts) > 1:
                out.append(self._compound(parts))
            for part in parts:
                term = self._term(part)
                if term is not None:
                    out.append(term)
        return out

    def query_terms(self, query: str, *, expand: bool = True) -> dict[str, float]:
        """Return the query's terms with their weights (1 as written, less when derived)."""
        weights = dict.fromkeys(self.terms(query), 1.0)
        words = [part for parts in self._tokens(query) for part in parts]
        for size in range(2, _MAX_PHRASE + 1):
            for start in range(len(words) - size + 1):
                weights.setdefault(self._compound(words[start:start + size]), PHRASE_WEIGHT)
        if expand:
            for extra in expansions(query, self.language):
                for term in self.terms(extra):
                    weights.setdefault(term, EXPANSION_WEIGHT)
        return weights

    @staticmethod
    def _tokens(text: str) -> list[list[str]]:
        normalised = unicodedata.normalize("NFKC", text).casefold()
        return [_PART.findall(match.group()) for match in _TOKEN.finditer(normalised)]

    def _compound(self, parts: list[str]) -> str:
        compound = "-".join(self._stem(part) for part in parts)
        return self._aliases.get(compound, compound)

    def _stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = word if word.isdigit() else fold(self._stemmer.stemWord(word))
            if len(self._stems) < 100_000:
                self._stems[word] = stem
        return stem

    def _term(self, word: str) -> str | None:
        cached = self._cache.get(word, "")
        if cached != "":
            return cached
        term: str | None
        folded = fold(word)
        if folded in self._stopwords or len(folded) < 2:
            term = None
        else:
            stem = self._stem(word)
            term = self._aliases.get(stem, stem)
        if len(self._cache) < 100_000:
            self._cache[word] = term
        return term


@cache
def analyzer(language: str) -> Analyzer:
    """The shared analyzer for `language` (built once per process)."""
    return Analyzer(language)
