"""Fixtures: the fixture articles (6 topics × es/en) and a helper to write article files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from sipai.knowledge import KnowledgeBase

FIXTURES = Path(__file__).parent / "fixtures"
ARTICLES = FIXTURES / "articles"

ArticleWriter = Callable[..., Path]


def article_text(id: str, title: str, language: str, *, topic: str | None = None,
                 intro: str = "Intro.", body: str = "## Pasos\n1. Uno.\n2. Dos.\n",
                 extra: str = "") -> str:
    """The text of a well-formed article file."""
    topic_line = f"topic: {topic}\n" if topic else ""
    return (f"---\nid: {id}\n{topic_line}title: {title}\nlanguage: {language}\n"
            f"tags: [prueba]\noperator_editable: true\n{extra}---\n{intro}\n\n{body}")


@pytest.fixture
def write_article() -> ArticleWriter:
    """Write an article file (UTF-8) at `directory / name`, creating folders."""

    def write(directory: Path, name: str, text: str) -> Path:
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    """A writable copy of the fixture articles, standing in for the bundled set."""
    target = tmp_path / "bundled"
    shutil.copytree(ARTICLES, target)
    return target


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    """An in-memory knowledge base over the fixture articles."""
    return KnowledgeBase.load(None, bundled=ARTICLES)
