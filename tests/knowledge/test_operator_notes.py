"""Notes to the operator in articles never reach the index, the model or customers."""

from __future__ import annotations

from sipai.knowledge.articles import parse_article
from sipai.knowledge.base import KnowledgeBase

ARTICLE = """---
id: acct-plans-test-es
topic: acct-plans-test
title: "Planes"
language: es
tags: [planes]
operator_editable: true
---
Cuánto cuesta cada plan.

> Operator: pon aquí tus precios reales.

## Precios
> Operator: rellena la tabla.
1. Plan mensual: 5 USD.
"""


def test_operator_notes_are_dropped_when_parsing() -> None:
    article = parse_article(ARTICLE)
    assert "Operator" not in article.intro
    assert all("Operator" not in s.body for s in article.sections)
    assert "Plan mensual" in article.sections[0].body


def test_bundled_articles_never_show_operator_notes() -> None:
    kb = KnowledgeBase.load(None)
    for query in ("cuanto cuesta el plan", "how many devices can I use", "mi clave caduco?"):
        for passage in kb.search(query, k=5):
            assert "Operator:" not in passage.text
