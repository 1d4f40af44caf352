"""Parsing article files: front matter, intro, sections, and what makes a file malformed."""

from __future__ import annotations

import pytest

from sipai.knowledge import Article, ArticleError, parse_article

GOOD = """---
id: wg-dns-es
topic: wg-dns
title: "WireGuard: el DNS"
language: es
tags: [wireguard, dns]
operator_editable: false
url: https://help.example.com/wg-dns
---
# WireGuard: el DNS

Cuando no resuelve nombres, cambia el DNS.
Sigue en la misma frase.

## Pasos
1. Edita el túnel.
2. Pon `DNS = 1.1.1.1`.

### Detalle
Texto del detalle.

```ini
## esto no es una sección
DNS = 1.1.1.1
```

## Si sigue sin funcionar
Escribe a soporte.
"""


def test_parses_front_matter_intro_and_sections() -> None:
    article = parse_article(GOOD, source="bundled:es/wg-dns.md", content_hash="abc")
    assert (article.id, article.topic, article.language) == ("wg-dns-es", "wg-dns", "es")
    assert article.title == "WireGuard: el DNS"
    assert article.tags == ("wireguard", "dns")
    assert article.operator_editable is False
    assert article.url == "https://help.example.com/wg-dns"
    assert article.intro.startswith("Cuando no resuelve nombres")  # the "# Title" line is dropped
    assert [s.heading for s in article.sections] == ["Pasos", "Si sigue sin funcionar"]
    steps = article.sections[0].body
    assert "### Detalle" in steps and "## esto no es una sección" in steps
    assert article.section("Si sigue sin funcionar") is not None
    assert article.section("Nada") is None


def test_round_trips_through_a_dict() -> None:
    article = parse_article(GOOD, source="x", content_hash="h")
    assert Article.from_dict(article.to_dict()) == article


def test_defaults_topic_to_id_and_editable_to_true() -> None:
    article = parse_article("---\nid: a\ntitle: T\nlanguage: EN\n---\nJust an intro.\n")
    assert (article.topic, article.language, article.operator_editable) == ("a", "en", True)
    assert article.sections == () and article.tags == () and article.url is None


def test_accepts_comma_separated_tags_and_crlf() -> None:
    text = "---\r\nid: a\r\ntitle: T\r\nlanguage: es\r\ntags: vpn, dns\r\n---\r\nHola.\r\n"
    assert parse_article(text).tags == ("vpn", "dns")


@pytest.mark.parametrize(("text", "problem"), [
    ("id: a\ntitle: T\n", "does not start"),
    ("---\nid: a\ntitle: T\nlanguage: es\nNo text.\n", "not closed"),
    ("---\nid: [a\n---\nText\n", "not valid YAML"),
    ("---\n- a\n- b\n---\nText\n", "mapping"),
    ("---\ntitle: T\nlanguage: es\n---\nText\n", "lacks 'id'"),
    ("---\nid: a\nlanguage: es\n---\nText\n", "lacks 'title'"),
    ("---\nid: a\ntitle: T\n---\nText\n", "lacks 'language'"),
    ("---\nid: a\ntitle: T\nlanguage: fr\n---\nTexte\n", "'language' must be"),
    ("---\nid: a b\ntitle: T\nlanguage: es\n---\nText\n", "'id' must be"),
    ("---\nid: a\ntitle: T\nlanguage: es\noperator_editable: maybe\n---\nText\n", "true or false"),
    ("---\nid: a\ntitle: T\nlanguage: es\ntags: {a: 1}\n---\nText\n", "'tags'"),
    ("---\nid: a\ntitle: {x: 1}\nlanguage: es\n---\nText\n", "'title' must be text"),
    ("---\nid: a\ntitle: T\nlanguage: es\n---\n\n\n", "no text"),
])
def test_malformed_files_raise_a_named_problem(text: str, problem: str) -> None:
    with pytest.raises(ArticleError, match=problem):
        parse_article(text)
