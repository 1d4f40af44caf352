"""Loading from files: operator overrides, malformed files, the persisted incremental index."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import sipai.knowledge.indexing as indexing
from sipai.knowledge import KnowledgeBase
from sipai.knowledge.base import INDEX_FILE

from .conftest import ARTICLES, ArticleWriter, article_text


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records the source key of every article file that gets parsed."""
    seen: list[str] = []
    real = indexing.parse_article

    def spy(text: str, *, source: str = "", content_hash: str = ""):  # type: ignore[no-untyped-def]
        seen.append(source)
        return real(text, source=source, content_hash=content_hash)

    monkeypatch.setattr(indexing, "parse_article", spy)
    return seen


def test_loads_bundled_articles_and_persists_the_index(tmp_path: Path) -> None:
    kb = KnowledgeBase.load(tmp_path, bundled=ARTICLES)
    assert len(kb.articles()) == 12
    assert kb.article("payment-en") is not None and kb.article("nope") is None
    report = kb.last_report
    assert report is not None and len(report.added) == 12 and report.unchanged == 0
    saved = json.loads((tmp_path / INDEX_FILE).read_text(encoding="utf-8"))
    assert set(saved["files"]) == {r for r in report.added}
    assert all(key.startswith("bundled:") for key in saved["files"])


def test_operator_articles_add_and_override(tmp_path: Path, write_article: ArticleWriter) -> None:
    operator = tmp_path / "operator"
    write_article(operator, "own/refunds.md", article_text(
        "refund-policy-es", "Política de reembolsos de la casa", "es"))
    write_article(operator, "payment.md", article_text(
        "payment-es", "Cómo pagar (versión del operador)", "es", topic="payment"))
    base = KnowledgeBase.load(None, bundled=ARTICLES)
    kb = KnowledgeBase.load(tmp_path / "data", operator, bundled=ARTICLES)
    assert len(kb.articles()) == 13
    override = kb.article("payment-es")
    assert override is not None
    assert override.title == "Cómo pagar (versión del operador)"
    assert override.source == "operator:payment.md"
    assert kb.article("refund-policy-es").source == "operator:own/refunds.md"  # type: ignore[union-attr]
    assert kb.version != base.version
    assert kb.search("política de reembolsos", k=1)[0].article_id == "refund-policy-es"


def test_malformed_files_are_skipped_with_a_warning(
        tmp_path: Path, write_article: ArticleWriter, caplog: pytest.LogCaptureFixture) -> None:
    operator = tmp_path / "operator"
    write_article(operator, "broken.md", "---\nid: [x\n---\nText\n")
    write_article(operator, "no-title.md", "---\nid: x\nlanguage: es\n---\nText\n")
    (operator / "latin1.md").write_bytes("---\nid: y\ntitle: Año\nlanguage: es\n---\nañ\n"
                                         .encode("latin-1"))
    write_article(operator, "good.md", article_text("good-es", "Artículo bueno", "es"))
    write_article(operator, "notes.txt", "not markdown, ignored")
    with caplog.at_level(logging.WARNING, logger="sipai.knowledge"):
        kb = KnowledgeBase.load(tmp_path / "data", operator, bundled=ARTICLES)
    assert kb.article("good-es") is not None and len(kb.articles()) == 13
    skipped = dict(kb.last_report.skipped)  # type: ignore[union-attr]
    assert set(skipped) == {"operator:broken.md", "operator:no-title.md", "operator:latin1.md"}
    assert "YAML" in skipped["operator:broken.md"]
    assert "UTF-8" in skipped["operator:latin1.md"]
    warned = {r.file for r in caplog.records if r.getMessage() == "kb.article_skipped"}  # type: ignore[attr-defined]
    assert warned == set(skipped)
    # still skipped (and warned about) on the next start, without crashing
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sipai.knowledge"):
        again = KnowledgeBase.load(tmp_path / "data", operator, bundled=ARTICLES)
    assert again.last_report.unchanged == 16  # type: ignore[union-attr]
    assert len([r for r in caplog.records if r.getMessage() == "kb.article_skipped"]) == 3


def test_reindex_reprocesses_only_changed_files(
        tmp_path: Path, bundled: Path, parses: list[str]) -> None:
    data = tmp_path / "data"
    kb = KnowledgeBase.load(data, bundled=bundled)
    assert len(parses) == 12
    version = kb.version

    parses.clear()
    report = kb.reindex_blocking()
    assert parses == [] and report.reprocessed == () and report.unchanged == 12
    assert report.version == version

    slow = bundled / "es" / "vpn-slow.md"
    slow.write_text(slow.read_text(encoding="utf-8").replace(
        "La VPN va lenta", "La VPN va muy lenta"), encoding="utf-8")
    report = kb.reindex_blocking()
    assert parses == ["bundled:es/vpn-slow.md"]
    assert report.changed == ("bundled:es/vpn-slow.md",) and report.added == ()
    assert report.unchanged == 11
    assert report.version_before == version and report.version == kb.version != version
    assert kb.article("vpn-slow-es").title == "La VPN va muy lenta"  # type: ignore[union-attr]

    parses.clear()
    (bundled / "en" / "outline.md").unlink()
    (bundled / "en" / "faq.md").write_text(article_text("faq-en", "FAQ", "en"), encoding="utf-8")
    report = kb.reindex_blocking()
    assert parses == ["bundled:en/faq.md"]
    assert report.removed == ("bundled:en/outline.md",) and report.added == ("bundled:en/faq.md",)
    assert kb.article("outline-en") is None and kb.article("faq-en") is not None


def test_a_new_process_reuses_the_persisted_index(
        tmp_path: Path, bundled: Path, parses: list[str]) -> None:
    first = KnowledgeBase.load(tmp_path / "data", bundled=bundled)
    parses.clear()
    second = KnowledgeBase.load(tmp_path / "data", bundled=bundled)
    assert parses == []
    assert second.version == first.version
    assert second.search("me cobraron dos veces") == first.search("me cobraron dos veces")


def test_a_corrupt_index_is_rebuilt(tmp_path: Path, bundled: Path, parses: list[str]) -> None:
    KnowledgeBase.load(tmp_path, bundled=bundled)
    (tmp_path / INDEX_FILE).write_text("{not json", encoding="utf-8")
    parses.clear()
    kb = KnowledgeBase.load(tmp_path, bundled=bundled)
    assert len(parses) == 12 and len(kb.articles()) == 12
    json.loads((tmp_path / INDEX_FILE).read_text(encoding="utf-8"))  # rewritten whole


def test_version_depends_on_content_only(tmp_path: Path, bundled: Path) -> None:
    a = KnowledgeBase.load(tmp_path / "a", bundled=bundled)
    b = KnowledgeBase.load(None, bundled=ARTICLES)
    assert a.version == b.version and len(a.version) == 16


def test_an_unwritable_data_dir_still_serves(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    kb = KnowledgeBase.load(blocker, bundled=ARTICLES)  # index cannot be saved under a file
    assert kb.search("como renuevo mi plan", k=1)[0].article_id == "payment-es"


def test_the_packaged_articles_load_without_errors() -> None:
    kb = KnowledgeBase.load(None)
    report = kb.last_report
    assert report is not None and report.skipped == ()
    if not kb.articles():
        pytest.skip("no bundled articles in this tree yet")
    languages = {a.language for a in kb.articles()}
    assert languages == {"es", "en"}
    # every topic has both languages, so the offline brain can always answer in either
    by_topic: dict[str, set[str]] = {}
    for article in kb.articles():
        by_topic.setdefault(article.topic, set()).add(article.language)
    assert {t for t, langs in by_topic.items() if langs != {"es", "en"}} == set()


async def test_open_and_reindex_run_off_the_event_loop(tmp_path: Path, bundled: Path) -> None:
    kb = await KnowledgeBase.open(tmp_path, bundled=bundled)
    assert len(kb.articles()) == 12
    report = await kb.reindex()
    assert report.reprocessed == () and report.version == kb.version


def test_a_missing_operator_directory_is_reported(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="sipai.knowledge"):
        kb = KnowledgeBase.load(None, tmp_path / "typo", bundled=ARTICLES)
    assert len(kb.articles()) == 12
    record = next(r for r in caplog.records if r.getMessage() == "kb.operator_dir_unusable")
    assert record.reason == "does not exist"  # type: ignore[attr-defined]
