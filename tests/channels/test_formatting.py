"""Answers as Telegram HTML: escaping, the Markdown subset, and splitting into ≤ 4096 parts."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from sipai.channels.telegram.formatting import (
    MAX_MESSAGE,
    escape,
    html_to_plain,
    preview_text,
    render_html,
    render_parts,
    split_blocks,
    truncate,
    utf16_len,
    visible_length,
)
from sipai.dev.replies import paragraphs

TELEGRAM_TAGS = {"b", "i", "s", "u", "code", "pre", "a"}


class _Balance(HTMLParser):
    """Fails on any tag Telegram would reject or on unbalanced tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in TELEGRAM_TAGS, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, tag


def assert_valid(markup: str) -> None:
    """Well-formed Telegram HTML: known tags, balanced, no bare `<` or `&` outside entities."""
    parser = _Balance()
    parser.feed(markup)
    parser.close()
    assert parser.stack == []
    text_only = re.sub(r"<[^>]*>", "", markup)
    assert "<" not in text_only and ">" not in text_only
    assert not re.search(r"&(?!(lt|gt|amp|quot);)", text_only)


def test_reserved_characters_are_escaped() -> None:
    assert escape("<b>1 & 2</b>") == "&lt;b&gt;1 &amp; 2&lt;/b&gt;"
    [part] = render_parts("Echo: ¿Qué es <b>WireGuard</b> & Outline?")
    assert part.html == "Echo: ¿Qué es &lt;b&gt;WireGuard&lt;/b&gt; &amp; Outline?"
    assert part.plain == "Echo: ¿Qué es <b>WireGuard</b> & Outline?"


def test_markdown_subset_becomes_tags() -> None:
    source = ("# Cómo conectar\n"
              "**Paso 1.** Abre la app & pulsa *Añadir* o _Importar_.\n"
              "- Usa `wg-quick up wg0` y ~~no~~ otra cosa\n"
              "* Guía: [WireGuard](https://example.com/wg?a=1&b=2)")
    markup = render_html(source)
    assert markup == (
        "<b>Cómo conectar</b>\n"
        "<b>Paso 1.</b> Abre la app &amp; pulsa <i>Añadir</i> o <i>Importar</i>.\n"
        "• Usa <code>wg-quick up wg0</code> y <s>no</s> otra cosa\n"
        '• Guía: <a href="https://example.com/wg?a=1&amp;b=2">WireGuard</a>')
    assert_valid(markup)


def test_code_is_escaped_but_never_formatted() -> None:
    source = "Config:\n\n```ini\n[Interface]\nAddress = 10.0.0.2/32 # **not bold** <x>\n\n" \
             "DNS = 1.1.1.1\n```\n\nListo `a*b*c` ya."
    markup = render_html(source)
    assert "<pre>[Interface]\nAddress = 10.0.0.2/32 # **not bold** &lt;x&gt;\n\nDNS = 1.1.1.1" \
           "</pre>" in markup
    assert "<code>a*b*c</code>" in markup
    assert_valid(markup)


def test_words_with_underscores_and_lone_stars_stay_as_written() -> None:
    markup = render_html("Edita wg_quick_conf y calcula 2 * 3 * 4 en snake_case_name")
    assert markup == "Edita wg_quick_conf y calcula 2 * 3 * 4 en snake_case_name"


def test_unbalanced_markers_are_left_as_text() -> None:
    assert render_html("**sin cerrar y `tampoco") == "**sin cerrar y `tampoco"


def test_plain_fallback_writes_links_out() -> None:
    [part] = render_parts("Mira [la guía](https://x.example/a) o https://y.example")
    assert part.plain == "Mira la guía (https://x.example/a) o https://y.example"
    assert html_to_plain(part.html) == part.plain


def test_blocks_split_on_blank_lines_but_keep_code_whole() -> None:
    assert split_blocks("uno\ndos\n\n\ntres\n```\na\n\nb\n```\ncuatro") == [
        "uno\ndos", "tres", "```\na\n\nb\n```", "cuatro"]


def test_a_long_answer_is_split_between_paragraphs() -> None:
    text = paragraphs(9500)
    parts = render_parts(text)
    assert len(parts) == 3
    assert all(visible_length(p.html) <= MAX_MESSAGE for p in parts)
    assert all(p.plain.startswith("Part ") for p in parts)
    assert "\n\n".join(p.plain for p in parts) == text.strip()


def test_one_huge_paragraph_is_split_on_sentences_then_words() -> None:
    sentence = "La VPN conecta pero no navega porque el DNS no responde. "
    parts = render_parts(sentence * 200)
    assert len(parts) == 3
    assert all(visible_length(p.html) <= MAX_MESSAGE for p in parts)
    assert all(p.plain.endswith("responde.") for p in parts)
    words = render_parts(" ".join(["palabra"] * 1500))
    assert all(visible_length(p.html) <= MAX_MESSAGE for p in words)
    assert " ".join(p.plain for p in words).split() == ["palabra"] * 1500


def test_an_unbroken_string_is_cut() -> None:
    parts = render_parts("x" * 10_000)
    assert all(visible_length(p.html) <= MAX_MESSAGE for p in parts)
    assert "".join(p.plain for p in parts).replace("\n", "") == "x" * 10_000


def test_a_huge_code_block_stays_preformatted_in_every_part() -> None:
    code = "```\n" + "\n".join(f"line {n} <tag> & more" for n in range(600)) + "\n```"
    parts = render_parts(code)
    assert len(parts) >= 2
    for part in parts:
        assert part.html.startswith("<pre>") and part.html.endswith("</pre>")
        assert visible_length(part.html) <= MAX_MESSAGE
        assert_valid(part.html)


def test_length_counts_utf16_code_units_like_telegram() -> None:
    assert utf16_len("👍") == 2 and utf16_len("ñ") == 1
    parts = render_parts("🔒" * 3000)
    assert len(parts) == 2
    assert all(utf16_len(p.plain) <= MAX_MESSAGE for p in parts)


def test_preview_hides_markers_and_clips() -> None:
    assert preview_text("**Hola**, usa `wg` & listo") == "Hola, usa wg & listo"
    clipped = preview_text("a" * 5000)
    assert utf16_len(clipped) <= MAX_MESSAGE and clipped.endswith("…")
    assert truncate("corto", 10) == "corto"


MARKDOWNISH = st.text(alphabet=st.sampled_from(list("ab ñ👍<>&*_`~[]()#-\n.!:/")), max_size=600)


@settings(max_examples=150, deadline=None)
@given(MARKDOWNISH, st.integers(min_value=40, max_value=400))
def test_any_text_renders_valid_parts_within_the_limit(text: str, limit: int) -> None:
    for part in render_parts(text, limit):
        assert_valid(part.html)
        assert visible_length(part.html) <= limit
        assert utf16_len(part.plain) <= limit
        assert part.plain.strip()


PROSE = st.text(alphabet=st.sampled_from(list("abcdé ñ<>&.\n")), max_size=800)


@settings(max_examples=150, deadline=None)
@given(PROSE, st.integers(min_value=30, max_value=300))
def test_splitting_loses_no_character(text: str, limit: int) -> None:
    parts = render_parts(text, limit)
    joined = "".join(p.plain for p in parts)
    assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", html.unescape(text))
