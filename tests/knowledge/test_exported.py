"""The knowledge layer's public names are pinned (others import them)."""

from __future__ import annotations

import dataclasses
import inspect

import sipai.knowledge
from sipai.knowledge import KnowledgeBase, OfflineAnswer, Passage


def test_public_names() -> None:
    assert sorted(sipai.knowledge.__all__) == [
        "Article", "ArticleError", "KnowledgeBase", "OfflineAnswer", "Passage",
        "ReindexReport", "Section", "compose_offline_answer", "parse_article",
    ]


def test_passage_fields_and_frozen() -> None:
    names = [f.name for f in dataclasses.fields(Passage)]
    assert names[:7] == ["article_id", "title", "section", "text", "score", "language", "url"]
    assert Passage.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert [f.name for f in dataclasses.fields(OfflineAnswer)] == ["text", "sources", "confident"]


def test_knowledge_base_api() -> None:
    assert inspect.iscoroutinefunction(KnowledgeBase.open)
    assert inspect.iscoroutinefunction(KnowledgeBase.reindex)
    assert list(inspect.signature(KnowledgeBase.search).parameters)[:4] == [
        "self", "query", "k", "language"]
    assert isinstance(inspect.getattr_static(KnowledgeBase, "version"), property)
