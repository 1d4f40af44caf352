"""Retrieval quality stays above the bar (figures from bench/eval_kb.py, no timing asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from sipai.knowledge import KnowledgeBase

from .conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def eval_kb() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_kb", ROOT / "bench" / "eval_kb.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_kb"] = module
    spec.loader.exec_module(module)
    return module


def test_fixture_questions(eval_kb: ModuleType, kb: KnowledgeBase) -> None:
    questions = eval_kb.load_questions([FIXTURES / "questions.yaml"])
    figures = eval_kb.evaluate(kb, questions, repeats=1)
    assert figures["questions"] == 27 and figures["negatives"]["questions"] == 2
    assert figures["recall@3"] >= 0.95 and figures["mrr"] >= 0.9
    assert figures["negatives"]["confident"] == 0
    assert set(figures["by_language"]) == {"es", "en"}


def test_bundled_eval_set(eval_kb: ModuleType) -> None:
    paths = sorted((ROOT / "eval").glob("kb_questions*.yaml"))
    kb = KnowledgeBase.load(None)
    if not paths or not kb.articles():
        pytest.skip("the bundled articles or their eval set are not in this tree")
    questions = eval_kb.load_questions([*paths, FIXTURES / "offtopic.yaml"])
    figures = eval_kb.evaluate(kb, questions, repeats=1)
    assert figures["recall@3"] >= 0.90, figures["misses"]
    assert figures["mrr"] >= 0.75, figures["misses"]
    assert figures["negatives"]["confident"] <= 2


def test_scaled_knowledge_base_keeps_ids_unique(eval_kb: ModuleType, kb: KnowledgeBase) -> None:
    articles = eval_kb.scaled_articles(kb.articles(), 3)
    assert len(articles) == 36 and len({a.id for a in articles}) == 36
    big = KnowledgeBase.from_articles(articles)
    assert big.search("me cobraron dos veces", k=1)[0].article_id == "payment-es"


def test_main_exits_non_zero_below_the_bar(eval_kb: ModuleType,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(FIXTURES / "questions.yaml"), "--articles", str(FIXTURES / "articles")]
    assert eval_kb.main(args) == 0
    assert "R@3" in capsys.readouterr().out
    assert eval_kb.main([*args, "--min-mrr", "1.01"]) == 1
