"""Any text is a valid query; searches keep working while a reindex swaps the state."""

from __future__ import annotations

import threading
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sipai.knowledge import KnowledgeBase, compose_offline_answer
from sipai.text import detect_language

from .conftest import ARTICLES, article_text

FIXTURE_KB = KnowledgeBase.load(None, bundled=ARTICLES)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_query(text: str) -> None:
    assert detect_language(text) in ("es", "en")
    passages = FIXTURE_KB.search(text, k=3)
    assert len(passages) <= 3
    assert all(0.0 <= p.match <= 1.0 for p in passages)
    reply = compose_offline_answer(text, passages, detect_language(text), FIXTURE_KB)
    assert "/human" in reply.text


def test_searches_during_reindex_see_a_whole_state(tmp_path: Path, bundled: Path) -> None:
    kb = KnowledgeBase.load(tmp_path / "data", bundled=bundled)
    errors: list[BaseException] = []
    done = threading.Event()

    def search_loop() -> None:
        try:
            while not done.is_set():
                results = kb.search("me cobraron dos veces", k=3)
                assert results and results[0].article_id == "payment-es"
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    worker = threading.Thread(target=search_loop)
    worker.start()
    try:
        for n in range(5):
            (bundled / "es" / f"extra-{n}.md").write_text(
                article_text(f"extra-{n}-es", f"Artículo extra {n}", "es"), encoding="utf-8")
            kb.reindex_blocking()
    finally:
        done.set()
        worker.join()
    assert errors == []
    assert kb.article("extra-4-es") is not None
