"""The knowledge base: bundled plus operator articles, indexed, searchable, kept up to date.

    kb = await KnowledgeBase.open(settings.sip_data_dir, settings.sip_kb_dir)
    passages = kb.search("wireguard conecta pero no navega", k=3)

Opening reads every article file (bundled and operator), re-processes only those whose
bytes changed since the index persisted in ``<data_dir>/knowledge/index.json``, saves the
index, and builds the in-memory BM25 indexes. :meth:`KnowledgeBase.search` is pure CPU
and fast (well under a millisecond on the bundled set), so async code calls it directly.
:meth:`KnowledgeBase.open` and :meth:`KnowledgeBase.reindex` do file I/O in a worker
thread; :meth:`KnowledgeBase.load` and :meth:`KnowledgeBase.reindex_blocking` are the same
for synchronous callers (scripts, benchmarks). A reindex swaps the whole state at once, so
concurrent searches see either the old or the new knowledge base, never a mix.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from sipai.knowledge.articles import Article
from sipai.knowledge.indexing import IndexState, build_state, reindex_files
from sipai.knowledge.sources import bundled_root
from sipai.knowledge.store import load_records, save_records

__all__ = ["INDEX_FILE", "KnowledgeBase", "Passage", "ReindexReport"]

log = logging.getLogger(__name__)

#: Where the persisted index lives, relative to the data directory.
INDEX_FILE = Path("knowledge") / "index.json"


@dataclass(frozen=True)
class Passage:
    """A search result: one section (or the intro) of an article."""

    article_id: str
    title: str
    #: The ``## `` heading, or ``""`` for the article's intro.
    section: str
    text: str
    score: float
    language: str
    url: str | None = None
    #: Share of the query's weight this passage contains, 0–1 (comparable across queries).
    match: float = 0.0
    #: The article's intro sentence and the section a customer follows, picked as the
    #: offline brain picks it (knowledge/steps.py); the prompt sends this for the best
    #: article, since an intro or a list of symptoms alone gives nothing to do.
    grounding: str = ""


@dataclass(frozen=True)
class ReindexReport:
    """What a reindex did, by file key (``bundled:es/x.md``, ``operator:y.md``)."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    #: Files skipped as malformed, with the reason.
    skipped: tuple[tuple[str, str], ...]
    articles: int
    version_before: str
    version: str
    seconds: float

    @property
    def reprocessed(self) -> tuple[str, ...]:
        """The files that were parsed and analysed (new or changed)."""
        return self.added + self.changed


class KnowledgeBase:
    """Searchable articles; build one with :meth:`open`, :meth:`load` or :meth:`from_articles`."""

    def __init__(self, state: IndexState, *, index_path: Path | None,
                 bundled: Traversable | Path | None, extra_dir: Path | None) -> None:
        self._state = state
        self._index_path = index_path
        self._bundled = bundled
        self._extra_dir = extra_dir
        self._lock = threading.Lock()
        self.last_report: ReindexReport | None = None

    # -- construction ---------------------------------------------------------------
    @classmethod
    async def open(cls, data_dir: Path, extra_dir: Path | None = None, *,
                   bundled: Traversable | Path | None = None) -> KnowledgeBase:
        """Open the knowledge base, reindexing changed files, without blocking the loop."""
        return await asyncio.to_thread(cls.load, data_dir, extra_dir, bundled=bundled)

    @classmethod
    def load(cls, data_dir: Path | None, extra_dir: Path | None = None, *,
             bundled: Traversable | Path | None = None) -> KnowledgeBase:
        """Blocking :meth:`open`; `data_dir` None keeps the index in memory only.

        `bundled` replaces the articles shipped in the package (tests, benchmarks).
        """
        kb = cls(IndexState.empty(), index_path=data_dir / INDEX_FILE if data_dir else None,
                 bundled=bundled if bundled is not None else bundled_root(),
                 extra_dir=extra_dir)
        kb.reindex_blocking()
        return kb

    @classmethod
    def from_articles(cls, articles: Iterable[Article]) -> KnowledgeBase:
        """An in-memory knowledge base over `articles` (later ones win on equal ids)."""
        state = build_state({a.id: a for a in articles}.values())
        return cls(state, index_path=None, bundled=None, extra_dir=None)

    # -- reading --------------------------------------------------------------------
    @property
    def version(self) -> str:
        """A stable hash of the effective articles' contents (caches key on it)."""
        return self._state.version

    def articles(self) -> list[Article]:
        """Every effective article (operator overrides applied), sorted by id."""
        return list(self._state.articles.values())

    def article(self, article_id: str) -> Article | None:
        """The article with this id, or None."""
        return self._state.articles.get(article_id)

    def twin(self, article: Article, language: str) -> Article | None:
        """The article on the same topic in `language` (the article itself if it matches)."""
        if article.language == language:
            return article
        return self._state.by_topic.get((article.topic, language))

    def search(self, query: str, k: int = 5, language: str | None = None, *,
               per_article: int = 1, expand: bool = True) -> list[Passage]:
        """Return up to `k` passages for `query`, best first, preferring `language`.

        `language` None detects it from the query. At most `per_article` passages come
        from one article, and an article's other-language version never takes a slot.
        `expand` False turns off the slang/synonym expansion (for measurements).
        """
        hits = self._state.retriever.search(query, k, language, per_article=per_article,
                                            expand=expand)
        return [Passage(article_id=h.chunk.article_id, title=h.chunk.title,
                        section=h.chunk.section, text=h.chunk.text, score=round(h.score, 4),
                        language=h.chunk.language, url=h.chunk.url, match=round(h.match, 4),
                        grounding=h.chunk.grounding)
                for h in hits]

    # -- updating -------------------------------------------------------------------
    async def reindex(self) -> ReindexReport:
        """Re-read the article files and re-process those that changed, in a thread."""
        return await asyncio.to_thread(self.reindex_blocking)

    def reindex_blocking(self) -> ReindexReport:
        """Blocking :meth:`reindex` (a knowledge base made by :meth:`from_articles` has no
        files to re-read and raises RuntimeError)."""
        with self._lock:
            started = time.perf_counter()
            before = self._state
            previous = before.records
            if not previous and self._index_path is not None:
                previous = load_records(self._index_path)
            if self._bundled is None and self._extra_dir is None:
                raise RuntimeError("this knowledge base was built from articles, not files")
            result = reindex_files(previous, self._bundled, self._extra_dir)
            result.state.retriever.prepare()  # here, in the opening thread, not in a search
            dirty = bool(result.added or result.changed or result.removed)
            if self._index_path is not None and (dirty or not self._index_path.exists()):
                save_records(self._index_path, result.state.records)
            self._state = result.state
            report = ReindexReport(
                added=result.added, changed=result.changed, removed=result.removed,
                unchanged=result.unchanged, skipped=result.skipped,
                articles=len(result.state.articles), version_before=before.version,
                version=result.state.version, seconds=time.perf_counter() - started)
            self.last_report = report
        log.info("kb.indexed", extra={
            "articles": report.articles, "chunks": result.state.retriever.size,
            "added": len(report.added), "changed": len(report.changed),
            "removed": len(report.removed), "skipped": len(report.skipped),
            "version": report.version, "ms": round(report.seconds * 1000, 1)})
        return report

