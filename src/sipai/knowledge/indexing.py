"""From article files to a searchable state, re-processing only what changed.

:func:`reindex_files` compares each file's SHA-256 with the previous records: unchanged
files keep their parsed article and analysed terms, new and changed files are parsed and
analysed, missing files are dropped. Malformed files are skipped with a warning naming
the file, every time the index is built, until they are fixed. Then the effective
article set is chosen (an operator article replaces a bundled one with the same id; within
one origin the first file by path wins) and the retriever is built from stored terms.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path

from sipai.knowledge.articles import Article, ArticleError, parse_article
from sipai.knowledge.chunking import Chunk, chunk_article, chunk_terms
from sipai.knowledge.retriever import Retriever
from sipai.knowledge.sources import OPERATOR, SourceFile, discover
from sipai.knowledge.store import FINGERPRINT, FileRecord

__all__ = ["IndexState", "ReindexResult", "build_state", "content_version", "reindex_files"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexState:
    """Everything a search needs, replaced as a whole on reindex."""

    records: dict[str, FileRecord]
    articles: dict[str, Article]
    by_topic: dict[tuple[str, str], Article]
    retriever: Retriever
    version: str

    @classmethod
    def empty(cls) -> IndexState:
        return cls({}, {}, {}, Retriever(()), content_version(()))


@dataclass(frozen=True)
class ReindexResult:
    """The new state and what changed to produce it."""

    state: IndexState
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    skipped: tuple[tuple[str, str], ...] = field(default=())


def content_version(articles: Iterable[Article]) -> str:
    """A short hash of the articles' contents and of how they are analysed."""
    digest = hashlib.sha256(FINGERPRINT.encode())
    for article in sorted(articles, key=lambda a: a.id):
        content = article.content_hash or hashlib.sha256(json.dumps(
            article.to_dict() | {"source": "", "content_hash": ""},
            sort_keys=True).encode()).hexdigest()
        digest.update(f"\n{article.id}\0{content}".encode())
    return digest.hexdigest()[:16]


def reindex_files(previous: dict[str, FileRecord], bundled: Traversable | Path | None,
                  operator: Path | None) -> ReindexResult:
    """Read the article files and build a new state, reusing unchanged files' records."""
    files = discover(bundled, operator)
    records: dict[str, FileRecord] = {}
    added: list[str] = []
    changed: list[str] = []
    skipped: list[tuple[str, str]] = []
    unchanged = 0
    for source in files:
        old = previous.get(source.key)
        if old is not None and old.sha256 == source.sha256:
            record = old
            unchanged += 1
        else:
            record = _process(source)
            (changed if old is not None else added).append(source.key)
        if record.error is not None:
            log.warning("kb.article_skipped", extra={"file": source.key, "reason": record.error})
            skipped.append((source.key, record.error))
        records[source.key] = record
    removed = tuple(sorted(set(previous) - set(records)))
    effective = _effective(records, [f.key for f in files], {f.key: f.origin for f in files})
    return ReindexResult(_state(records, effective), tuple(added), tuple(changed), removed,
                         unchanged, tuple(skipped))


def build_state(articles: Iterable[Article]) -> IndexState:
    """A state over in-memory articles (no files, no records)."""
    chosen = list(articles)
    docs = [(chunk, *chunk_terms(chunk)) for a in chosen for chunk in chunk_article(a)]
    return _assemble({}, chosen, docs)


def _process(source: SourceFile) -> FileRecord:
    try:
        text = source.data.decode("utf-8")
        article = parse_article(text, source=source.key, content_hash=source.sha256)
    except UnicodeDecodeError:
        return FileRecord(source.key, source.sha256, error="file is not UTF-8 text")
    except ArticleError as exc:
        return FileRecord(source.key, source.sha256, error=str(exc))
    terms = [chunk_terms(chunk) for chunk in chunk_article(article)]
    return FileRecord(source.key, source.sha256, article=article, terms=terms)


def _effective(records: dict[str, FileRecord], order: list[str],
               origins: dict[str, str]) -> list[str]:
    """Pick, for each article id, the file that provides it."""
    winner: dict[str, str] = {}
    for key in order:
        article = records[key].article
        if article is None:
            continue
        current = winner.get(article.id)
        if current is None:
            winner[article.id] = key
        elif origins[key] == OPERATOR and origins[current] != OPERATOR:
            log.info("kb.article_overridden", extra={"article_id": article.id, "file": key,
                                                      "replaces": current})
            winner[article.id] = key
        else:
            log.warning("kb.duplicate_id", extra={"article_id": article.id, "file": key,
                                                   "kept": current})
    position = {key: i for i, key in enumerate(order)}
    return sorted(winner.values(), key=position.__getitem__)


def _state(records: dict[str, FileRecord], keys: list[str]) -> IndexState:
    articles: list[Article] = []
    docs: list[tuple[Chunk, dict[str, float], float]] = []
    for key in keys:
        record = records[key]
        assert record.article is not None  # _effective only picks parsed files
        articles.append(record.article)
        chunks = chunk_article(record.article)
        terms = record.terms if len(record.terms) == len(chunks) else [
            chunk_terms(c) for c in chunks]
        docs.extend((chunk, tf, length) for chunk, (tf, length) in zip(chunks, terms,
                                                                         strict=True))
    return _assemble(records, articles, docs)


def _assemble(records: dict[str, FileRecord], articles: list[Article],
              docs: list[tuple[Chunk, dict[str, float], float]]) -> IndexState:
    by_id = {a.id: a for a in sorted(articles, key=lambda a: a.id)}
    by_topic: dict[tuple[str, str], Article] = {}
    for article in by_id.values():
        by_topic.setdefault((article.topic, article.language), article)
    return IndexState(records, by_id, by_topic, Retriever(docs), content_version(by_id.values()))
