"""Where articles come from: the bundled ones (package data) and the operator's directory.

Each file is a :class:`SourceFile` with a stable key (``bundled:es/x.md``,
``operator:faq/y.md``) and the SHA-256 of its bytes, which the persisted index is keyed on.
Operator articles add to the bundled ones, and replace a bundled article with the same id.
Listing and reading are blocking; callers in async code run them in a thread.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["BUNDLED", "OPERATOR", "SourceFile", "bundled_root", "discover"]

log = logging.getLogger(__name__)

BUNDLED = "bundled"
OPERATOR = "operator"
#: Larger files are not articles (and would slow every start); they are skipped.
MAX_ARTICLE_BYTES = 512 * 1024


@dataclass(frozen=True)
class SourceFile:
    """One article file: its key, origin, bytes and their hash."""

    key: str
    origin: str
    data: bytes
    sha256: str


def bundled_root() -> Traversable:
    """The ``articles/`` folder shipped inside the package."""
    return resources.files("sipai.knowledge").joinpath("articles")


def discover(bundled: Traversable | Path | None, operator: Path | None) -> list[SourceFile]:
    """Read every ``*.md`` file under the bundled root and the operator directory.

    The bundled files come first, then the operator's, each sorted by key. A missing
    directory holds no articles; a missing or non-directory operator path is logged (it is
    most likely a typo in ``SIP_KB_DIR``).
    """
    files: list[SourceFile] = []
    if bundled is not None:
        files.extend(_read_tree(bundled, BUNDLED))
    if operator is not None:
        if not operator.is_dir():
            log.warning("kb.operator_dir_unusable", extra={
                "path": str(operator), "reason": "not a directory" if operator.exists()
                else "does not exist"})
        else:
            files.extend(_read_tree(operator, OPERATOR))
    return files


def _read_tree(root: Traversable | Path, origin: str) -> list[SourceFile]:
    found: list[SourceFile] = []
    for relpath, entry in sorted(_walk(root, ""), key=lambda item: item[0]):
        key = f"{origin}:{relpath}"
        try:
            data = entry.read_bytes()
        except OSError as exc:
            log.warning("kb.file_unreadable", extra={"file": key, "error": type(exc).__name__})
            continue
        if len(data) > MAX_ARTICLE_BYTES:
            log.warning("kb.file_too_large", extra={"file": key, "bytes": len(data)})
            continue
        found.append(SourceFile(key, origin, data, hashlib.sha256(data).hexdigest()))
    return found


def _walk(node: Traversable | Path, prefix: str) -> list[tuple[str, Traversable | Path]]:
    try:
        if not node.is_dir():
            return []
        children = list(node.iterdir())
    except OSError:
        return []
    out: list[tuple[str, Traversable | Path]] = []
    for child in children:
        name = child.name
        if name.startswith((".", "_")):
            continue  # hidden files, editor swap files, __pycache__
        relpath = f"{prefix}{name}"
        if child.is_dir():
            out.extend(_walk(child, relpath + "/"))
        elif name.endswith(".md") and name.lower() != "readme.md":
            out.append((relpath, child))
    return out
