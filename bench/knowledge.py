"""Part 4: retrieval quality and latency as the knowledge base grows to 10× and 100×.

    python -m bench.run --only knowledge

The eval questions (`eval/kb_questions*.yaml`, scored by `bench/eval_kb.py`) are asked of
the bundled knowledge base and of two kinds of larger ones, built by adding generated
articles with new ids that are never a right answer, so recall measures ranking under
dilution:

- *babble* (`eval_kb.scaled_articles`): articles shaped like the real ones whose words are
  drawn at random from the real vocabulary — they dilute every term's weight;
- *perturbed copies*: every real article re-issued under new ids with a third of its words
  (title, intro, sections, tags) replaced by random words of the same language and its
  sections shuffled — on-topic near-duplicates of the same length, each a little less
  relevant than the original, competing for the same queries: the harder case (an
  operator's overlapping documents).

Per size: recall@1, recall@3, MRR, search latency p50/p99 (5 runs of every question, k=5)
and the time to build the index.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bench.eval_kb import ROOT, evaluate, load_questions, scaled_articles

SCALES = (1, 10, 100)
DROP = 1 / 3


def perturbed_articles(articles: Sequence[Any], factor: int, *, seed: int = 11) -> list[Any]:
    """The articles plus `factor - 1` perturbed copies of each, under new ids and topics."""
    from sipai.knowledge import Section

    rng = random.Random(seed)
    vocabulary: dict[str, list[str]] = {}
    for article in articles:
        text = " ".join([article.title, article.intro, *(s.body for s in article.sections)])
        vocabulary.setdefault(article.language, []).extend(text.split())
    language = ""

    def damage(text: str) -> str:
        # Same length (so BM25's length normalisation treats copy and original alike),
        # a third of the words swapped for random ones: a little less on topic.
        words = vocabulary[language]
        return " ".join(rng.choice(words) if rng.random() < DROP else w for w in text.split())

    out = list(articles)
    for copy in range(1, max(1, factor)):
        for article in articles:
            language = article.language
            sections = [Section(damage(s.heading), damage(s.body)) for s in article.sections]
            rng.shuffle(sections)
            out.append(replace(
                article, id=f"{article.id}~p{copy}", topic=f"{article.topic}~p{copy}",
                title=damage(article.title), intro=damage(article.intro),
                sections=tuple(sections), tags=tuple(damage(t) for t in article.tags),
                content_hash=""))
    return out


def _questions() -> list[Any]:
    return load_questions(sorted((ROOT / "eval").glob("kb_questions*.yaml")))


def run(*, scales: Sequence[int] = SCALES, repeats: int = 5) -> dict[str, Any]:
    """Evaluate retrieval at each size and kind of knowledge base; return the figures."""
    from sipai.knowledge import KnowledgeBase

    questions = _questions()
    bundled = KnowledgeBase.load(None).articles()
    rows: list[dict[str, Any]] = []
    kinds = {"babble": scaled_articles, "perturbed copies": perturbed_articles}
    for kind, grow in kinds.items():
        for scale in scales:
            if scale == 1 and kind != "babble":
                rows.append({**next(r for r in rows if r["scale"] == 1), "kind": kind})
                continue
            started = time.perf_counter()
            kb = KnowledgeBase.from_articles(grow(bundled, scale))
            build_s = time.perf_counter() - started
            figures = evaluate(kb, questions, repeats=repeats)
            rows.append({"kind": kind, "scale": scale, "articles": figures["articles"],
                         "questions": figures["questions"], "recall@1": figures["recall@1"],
                         "recall@3": figures["recall@3"], "mrr": figures["mrr"],
                         "latency_p50_ms": figures["latency_ms"]["p50"],
                         "latency_p99_ms": figures["latency_ms"]["p99"],
                         "build_s": build_s})
    return {"questions": len(questions), "repeats": repeats, "rows": rows,
            "command": "python bench/eval_kb.py --scale N  (babble);  "
                       "python -m bench.run --only knowledge (both kinds)"}
