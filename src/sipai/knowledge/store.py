"""The persisted index: one JSON file in the data directory, keyed by each file's hash.

For every article file it records the SHA-256 of the bytes, the parsed article (or why
the file was skipped) and each chunk's analysed term frequencies, so a start with
unchanged files neither parses YAML nor stems a word. The file also records the
analysis fingerprint; when the analyser or the field weights change, every record is
stale and gets re-processed. A missing, unreadable or corrupt file is an empty index.
Writes go to a temporary file renamed into place, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sipai.knowledge.analysis import ANALYSIS_VERSION
from sipai.knowledge.articles import Article
from sipai.knowledge.chunking import FIELD_WEIGHTS

__all__ = ["FINGERPRINT", "FileRecord", "load_records", "save_records"]

log = logging.getLogger(__name__)

_FORMAT: Final = 2  # 2: operator notes are dropped when parsing
#: What the stored term frequencies depend on besides the file's bytes.
FINGERPRINT: Final = f"{ANALYSIS_VERSION};" + ",".join(
    f"{name}={weight}" for name, weight in sorted(FIELD_WEIGHTS.items()))


@dataclass
class FileRecord:
    """What indexing one file produced."""

    key: str
    sha256: str
    article: Article | None = None
    #: Why the file was skipped (None when it parsed).
    error: str | None = None
    #: Per chunk, in chunk order: (term → weighted frequency, weighted length).
    terms: list[tuple[dict[str, float], float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "error": self.error,
                "article": self.article.to_dict() if self.article else None,
                "terms": [[tf, length] for tf, length in self.terms]}

    @classmethod
    def from_json(cls, key: str, data: dict[str, Any]) -> FileRecord:
        article = Article.from_dict(data["article"]) if data.get("article") else None
        terms = [(dict(tf), float(length)) for tf, length in data.get("terms", [])]
        return cls(key, str(data["sha256"]), article, data.get("error"), terms)


def load_records(path: Path) -> dict[str, FileRecord]:
    """Read the persisted index; stale or unreadable files give an empty one."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        log.warning("kb.index_unreadable", extra={"path": str(path), "error": type(exc).__name__})
        return {}
    try:
        data = json.loads(raw)
        if data.get("format") != _FORMAT or data.get("fingerprint") != FINGERPRINT:
            log.info("kb.index_stale", extra={"path": str(path)})
            return {}
        return {key: FileRecord.from_json(key, value) for key, value in data["files"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("kb.index_corrupt", extra={"path": str(path), "error": type(exc).__name__})
        return {}


def save_records(path: Path, records: dict[str, FileRecord]) -> bool:
    """Write the index atomically; return False (and log) when it cannot be written."""
    payload = {"format": _FORMAT, "fingerprint": FINGERPRINT,
               "files": {key: records[key].to_json() for key in sorted(records)}}
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".index-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("kb.index_not_saved", extra={"path": str(path), "error": type(exc).__name__})
        return False
    log.debug("kb.index_saved", extra={"path": str(path), "bytes": len(text),
                                       "files": len(records)})
    return True
