"""Evaluate Sip's knowledge retrieval: recall@1, recall@3, MRR and search latency.

    python bench/eval_kb.py                    # eval/kb_questions*.yaml, bundled articles
    python bench/eval_kb.py --scale 10 --json  # with 9 generated distractors per article

Exits 1 when recall@3 < 0.90 or MRR < 0.75 (``--min-recall``/``--min-mrr`` change that).
Importable: ``evaluate(kb, questions)`` returns the figures as a dict, and
``scaled_articles(articles, factor)`` makes the larger knowledge bases benchmarks use.

A question file is a YAML list (or a mapping with a ``questions`` list) of items such as
``{question: "...", language: es, expected: [wg-no-internet-es]}``; ``expected`` holds
article ids or topics, and an empty ``expected`` marks a question nothing should answer
(counted separately: how often the offline brain would wrongly be confident).
Ranks are over distinct articles (search returns one passage per article), and the query
language is detected, as in production, unless ``--given-language`` is passed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from sipai.knowledge import Article, KnowledgeBase, Section
from sipai.knowledge.offline import MIN_MATCH

ROOT = Path(__file__).resolve().parent.parent
DEPTH = 10  # how deep a hit still earns reciprocal rank
#: Questions nothing should answer, counted apart (how often the offline brain is fooled).
OFFTOPIC = ROOT / "tests" / "knowledge" / "fixtures" / "offtopic.yaml"
_QUESTION_KEYS = ("question", "query", "q", "text")
_EXPECTED_KEYS = ("expected", "expected_ids", "expected_articles", "articles", "article",
                  "article_id", "expected_article", "answer_ids", "topic", "expected_topic")


@dataclass(frozen=True)
class Question:
    """One evaluation question and the articles (ids or topics) that answer it."""

    text: str
    expected: tuple[str, ...]
    language: str | None = None
    source: str = ""


def load_questions(paths: Iterable[Path]) -> list[Question]:
    """Read question files; items that name no question are reported and skipped."""
    out: list[Question] = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = data.get("questions", []) if isinstance(data, dict) else data or []
        for n, item in enumerate(items):
            question = _question(item, f"{path.name}#{n}")
            if question is None:
                print(f"warning: {path.name} item {n} has no question", file=sys.stderr)
            else:
                out.append(question)
    return out


def _question(item: Any, source: str) -> Question | None:
    if not isinstance(item, dict):
        return None
    text = next((str(item[k]) for k in _QUESTION_KEYS if item.get(k)), None)
    if text is None:
        return None
    expected: list[str] = []
    for key in _EXPECTED_KEYS:
        value = item.get(key)
        if isinstance(value, str):
            expected.append(value)
        elif isinstance(value, list):
            expected.extend(str(v) for v in value)
    language = item.get("language") or item.get("lang")
    return Question(text, tuple(dict.fromkeys(expected)), language, source)


def evaluate(kb: KnowledgeBase, questions: Sequence[Question], *, repeats: int = 5,
             given_language: bool = False, expand: bool = True) -> dict[str, Any]:
    """Run every question through ``kb.search`` and return the retrieval figures."""
    topics = {a.id: a.topic for a in kb.articles()}
    per_lang: dict[str, list[float]] = {}
    ranks: list[int | None] = []
    misses: list[dict[str, Any]] = []
    negatives = confident_negatives = 0
    latencies: list[float] = []
    for question in questions:
        language = question.language if given_language else None
        for _ in range(repeats):
            started = time.perf_counter()
            kb.search(question.text, k=5, language=language, expand=expand)
            latencies.append((time.perf_counter() - started) * 1000)
        passages = kb.search(question.text, k=DEPTH, language=language, expand=expand)
        if not question.expected:
            negatives += 1
            confident_negatives += bool(passages and passages[0].match >= MIN_MATCH)
            continue
        wanted = set(question.expected)
        rank = next((i for i, p in enumerate(passages, start=1)
                     if p.article_id in wanted or topics.get(p.article_id) in wanted), None)
        ranks.append(rank)
        per_lang.setdefault(question.language or "?", []).append(rank or 0)
        if rank != 1:
            misses.append({"question": question.text, "expected": list(question.expected),
                           "rank": rank, "got": [p.article_id for p in passages[:3]]})
    figures = _figures(ranks)
    figures["by_language"] = {lang: _figures([r or None for r in rs])
                              for lang, rs in sorted(per_lang.items())}
    figures["negatives"] = {"questions": negatives, "confident": confident_negatives}
    figures["latency_ms"] = _latency(latencies)
    figures["articles"] = len(topics)
    figures["misses"] = misses
    return figures


def _figures(ranks: Sequence[int | None]) -> dict[str, Any]:
    n = len(ranks)
    if not n:
        return {"questions": 0, "recall@1": 0.0, "recall@3": 0.0, "mrr": 0.0}
    return {
        "questions": n,
        "recall@1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "recall@3": round(sum(1 for r in ranks if r is not None and r <= 3) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
    }


def _latency(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50": round(statistics.median(ordered), 3), "p99": round(p99, 3),
            "max": round(ordered[-1], 3)}


def scaled_articles(articles: Sequence[Article], factor: int, *, seed: int = 7) -> list[Article]:
    """The articles plus ``factor - 1`` generated distractors per article.

    A distractor has the shape of a real article in the same language (title, intro,
    sections of the same lengths) but its words are drawn at random from all the articles
    of that language, with their real frequencies: it shares the vocabulary, and so
    dilutes every term's idf, without being about anything.
    """
    rng = random.Random(seed)
    out = list(articles)
    words: dict[str, list[str]] = {}
    for article in articles:
        text = " ".join([article.title, article.intro, *(s.body for s in article.sections)])
        words.setdefault(article.language, []).extend(text.split())

    def babble(n: int, language: str) -> str:
        return " ".join(rng.choices(words[language], k=max(1, n)))

    for copy in range(1, max(1, factor)):
        for article in articles:
            lang = article.language
            sections = tuple(
                Section(babble(len(s.heading.split()), lang), babble(len(s.body.split()), lang))
                for s in article.sections)
            out.append(replace(
                article, id=f"{article.id}~{copy}", topic=f"{article.topic}~{copy}",
                title=babble(len(article.title.split()), lang),
                intro=babble(len(article.intro.split()), lang), sections=sections,
                tags=tuple(rng.sample(words[lang], min(3, len(words[lang])))), content_hash=""))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", nargs="*", type=Path,
                        help="question files (default: eval/kb_questions*.yaml)")
    parser.add_argument("--articles", type=Path, help="use these articles instead of the bundled")
    parser.add_argument("--kb-dir", type=Path, help="operator articles to add")
    parser.add_argument("--scale", type=int, default=1, help="KB size multiplier (distractors)")
    parser.add_argument("--given-language", action="store_true",
                        help="pass each question's language instead of detecting it")
    parser.add_argument("--no-expand", action="store_true", help="turn synonym expansion off")
    parser.add_argument("--min-recall", type=float, default=0.90)
    parser.add_argument("--min-mrr", type=float, default=0.75)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    paths = args.questions or [*sorted((ROOT / "eval").glob("kb_questions*.yaml")),
                               *[p for p in [OFFTOPIC] if p.exists()]]
    if not paths:
        print("no question files found (eval/kb_questions*.yaml)", file=sys.stderr)
        return 2
    questions = load_questions(paths)
    started = time.perf_counter()
    kb = KnowledgeBase.load(None, args.kb_dir, bundled=args.articles)
    load_ms = (time.perf_counter() - started) * 1000
    if args.scale > 1:
        kb = KnowledgeBase.from_articles(scaled_articles(kb.articles(), args.scale))
    figures = evaluate(kb, questions, given_language=args.given_language,
                       expand=not args.no_expand)
    figures["load_ms"] = round(load_ms, 1)
    figures["scale"] = args.scale
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        _print(figures)
    ok = figures["recall@3"] >= args.min_recall and figures["mrr"] >= args.min_mrr
    if not ok:
        print(f"FAIL: recall@3 {figures['recall@3']} (min {args.min_recall}), "
              f"MRR {figures['mrr']} (min {args.min_mrr})", file=sys.stderr)
    return 0 if ok else 1


def _print(figures: dict[str, Any]) -> None:
    print(f"articles {figures['articles']} (scale ×{figures['scale']}), "
          f"questions {figures['questions']}, load {figures['load_ms']} ms")
    rows = [("all", figures), *figures["by_language"].items()]
    print(f"{'':6} {'n':>4} {'R@1':>6} {'R@3':>6} {'MRR':>6}")
    for name, row in rows:
        print(f"{name:6} {row['questions']:>4} {row['recall@1']:>6.3f} {row['recall@3']:>6.3f} "
              f"{row['mrr']:>6.3f}")
    lat = figures["latency_ms"]
    print(f"search latency: p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms")
    neg = figures["negatives"]
    print(f"off-topic questions: {neg['questions']}, answered confidently: {neg['confident']}")
    for miss in figures["misses"]:
        print(f"  rank {miss['rank']}: {miss['question']!r} → {miss['got']} "
              f"(wanted {miss['expected']})")


if __name__ == "__main__":
    sys.exit(main())
