"""Sip's answers (Markdown-ish) as Telegram HTML, in parts of at most 4096 characters.

Models write light Markdown: `**bold**`, `*italic*`, `` `code` ``, fenced code blocks,
`[text](https://…)` links, `#` headings and `-` lists. Telegram's HTML parse mode supports
a handful of tags and needs only `<`, `>` and `&` escaped, so everything the model wrote is
escaped first and only the markers above become tags (always balanced, never nested across
parts). A message may hold 4096 characters *after* entity parsing, counted in UTF-16 code
units: long answers are split on paragraph boundaries (then lines, sentences, words), each
part rendered on its own. Every part carries a plain-text twin for when Telegram still
answers "can't parse entities".

    parts = render_parts("**Paso 1.** Abre WireGuard & pulsa <Añadir>")
    parts[0].html   # '<b>Paso 1.</b> Abre WireGuard &amp; pulsa &lt;Añadir&gt;'
    parts[0].plain  # 'Paso 1. Abre WireGuard & pulsa <Añadir>'
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

#: Telegram's limit on a message's text after entity parsing.
MAX_MESSAGE = 4096

_FENCE = re.compile(r"^\s*```")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(?=\S)")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_INLINE = re.compile(
    r"(?P<code>`(?P<code_text>[^`\n]+)`)"
    r"|(?P<link>\[(?P<link_text>[^\]\n]+)\]\((?P<url>https?://[^\s()<>]+)\))"
    r"|(?P<bold>\*\*(?=\S)(?P<bold_text>.+?)(?<=\S)\*\*)"
    r"|(?P<bold_u>__(?=\S)(?P<bold_u_text>.+?)(?<=\S)__)"
    r"|(?P<strike>~~(?=\S)(?P<strike_text>.+?)(?<=\S)~~)"
    r"|(?P<italic>(?<![\w*])\*(?=\S)(?P<italic_text>[^*\n]+?)(?<=\S)\*(?![\w*]))"
    r"|(?P<italic_u>(?<![\w_])_(?=\S)(?P<italic_u_text>[^_\n]+?)(?<=\S)_(?![\w_]))"
)
_TAG = re.compile(r"<[^>]*>")
_ANCHOR = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[.!?…:;])\s+")


@dataclass(frozen=True, slots=True)
class Part:
    """One Telegram message of an answer: its HTML and the plain text to fall back to."""

    html: str
    plain: str


def escape(text: str) -> str:
    """Escape the three characters Telegram's HTML mode reserves: `<`, `>` and `&`."""
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts message length and offsets."""
    return len(text.encode("utf-16-le")) // 2


def html_to_plain(markup: str) -> str:
    """What a client shows for `markup`, with links written out as `text (url)`."""

    def link(match: re.Match[str]) -> str:
        url, label = html.unescape(match.group(1)), match.group(2)
        shown = html.unescape(_TAG.sub("", label))
        return shown if shown == url else f"{shown} ({url})"

    return html.unescape(_TAG.sub("", _ANCHOR.sub(link, markup)))


def visible_length(markup: str) -> int:
    """Characters Telegram counts for `markup` in HTML mode (tags dropped, entities decoded)."""
    return utf16_len(html.unescape(_TAG.sub("", markup)))


def render_inline(text: str) -> str:
    """Escape one line of text and turn its inline Markdown markers into Telegram tags."""
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(escape(text[position:match.start()]))
        position = match.end()
        if match.group("code") is not None:
            out.append(f"<code>{escape(match.group('code_text'))}</code>")
        elif match.group("link") is not None:
            url = html.escape(match.group("url"), quote=True)
            out.append(f'<a href="{url}">{render_inline(match.group("link_text"))}</a>')
        elif match.group("bold") is not None or match.group("bold_u") is not None:
            inner = match.group("bold_text") or match.group("bold_u_text")
            out.append(f"<b>{render_inline(inner)}</b>")
        elif match.group("strike") is not None:
            out.append(f"<s>{render_inline(match.group('strike_text'))}</s>")
        else:
            inner = match.group("italic_text") or match.group("italic_u_text")
            out.append(f"<i>{render_inline(inner)}</i>")
    out.append(escape(text[position:]))
    return "".join(out)


def render_block(block: str) -> str:
    """One paragraph or fenced code block as Telegram HTML."""
    lines = block.split("\n")
    if _FENCE.match(lines[0]):
        body = lines[1:-1] if len(lines) > 1 and _FENCE.match(lines[-1]) else lines[1:]
        return f"<pre>{escape(chr(10).join(body))}</pre>" if body else ""
    rendered: list[str] = []
    for line in lines:
        heading = _HEADING.match(line)
        if heading:
            rendered.append(f"<b>{render_inline(heading.group(1))}</b>")
        elif _RULE.match(line):
            rendered.append("———")
        else:
            bullet = _BULLET.match(line)
            if bullet:
                line = f"{bullet.group(1)}• {line[bullet.end():]}"
            rendered.append(render_inline(line))
    return "\n".join(rendered)


def render_html(markdown: str) -> str:
    """The whole answer as one Telegram HTML string (no length limit applied)."""
    return "\n\n".join(h for h in (render_block(b) for b in split_blocks(markdown)) if h)


def split_blocks(markdown: str) -> list[str]:
    """Paragraphs split on blank lines; a fenced code block stays one block, blank lines and all."""
    blocks: list[str] = []
    current: list[str] = []
    in_code = False
    for line in markdown.replace("\r\n", "\n").split("\n"):
        if in_code:
            current.append(line)
            if _FENCE.match(line):
                blocks.append("\n".join(current))
                current, in_code = [], False
            continue
        if _FENCE.match(line):
            if current:
                blocks.append("\n".join(current))
            current, in_code = [line], True
        elif line.strip():
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


def _pieces(block: str, limit: int) -> list[str]:
    """Cut a block too long for one message into blocks that fit, on the gentlest boundary."""
    if visible_length(render_block(block)) <= limit:
        return [block]
    lines = block.split("\n")
    if _FENCE.match(lines[0]):
        fence = lines[0].strip()
        body = lines[1:-1] if len(lines) > 1 and _FENCE.match(lines[-1]) else lines[1:]
        room = max(1, (limit - 8) // 2)
        short = [line[i:i + room] for line in body for i in range(0, max(len(line), 1), room)]
        return [f"{fence}\n{chunk}\n```" for chunk in _pack(short, "\n", limit, utf16_len)]
    for separator, units in (("\n", lines), (" ", _SENTENCE_END.split(block)),
                             (" ", block.split(" "))):
        if len(units) > 1:
            return [piece for unit in _pack(units, separator, limit)
                    for piece in _pieces(unit, limit)]
    # One unbroken word longer than a message: cut it by characters.
    step = max(1, limit // 2)
    return [block[i:i + step] for i in range(0, len(block), step)]


def _rendered_length(block: str) -> int:
    return visible_length(render_block(block))


def _pack(units: list[str], separator: str, limit: int,
          measure: Callable[[str], int] = _rendered_length) -> list[str]:
    """Join consecutive units with `separator` into chunks whose `measure` fits `limit`."""
    chunks: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current}{separator}{unit}" if current else unit
        if current and measure(candidate) > limit:
            chunks.append(current)
            current = unit
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def render_parts(markdown: str, limit: int = MAX_MESSAGE) -> list[Part]:
    """The answer as messages of at most `limit` visible characters, split between paragraphs."""
    blocks = [piece for block in split_blocks(markdown) for piece in _pieces(block, limit)]
    parts: list[Part] = []
    current: list[str] = []
    size = 0
    for block in blocks:
        rendered = render_block(block)
        if not rendered:
            continue
        length = visible_length(rendered)
        if current and size + 2 + length > limit:
            parts.append(_part(current, limit))
            current, size = [], 0
        current.append(rendered)
        size = length if len(current) == 1 else size + 2 + length
    if current:
        parts.append(_part(current, limit))
    return parts


def _part(rendered: list[str], limit: int) -> Part:
    markup = "\n\n".join(rendered).strip()  # Telegram trims messages anyway
    plain = html_to_plain(markup).strip()
    if utf16_len(plain) > limit:  # written-out link URLs can push the fallback over
        plain = truncate(plain, limit)
    return Part(markup, plain)


def preview_text(markdown: str, limit: int = MAX_MESSAGE) -> str:
    """The plain text shown while an answer is still streaming (markers hidden, clipped)."""
    return truncate(html_to_plain(render_html(markdown)).strip(), limit)


def truncate(text: str, limit: int) -> str:
    """`text` clipped to `limit` UTF-16 units, with an ellipsis when something was cut."""
    if utf16_len(text) <= limit:
        return text
    clipped = text[: limit - 1]
    while utf16_len(clipped) > limit - 1:
        clipped = clipped[:-1]
    return clipped.rstrip() + "…"


__all__ = [
    "MAX_MESSAGE", "Part", "escape", "html_to_plain", "preview_text", "render_block",
    "render_html", "render_inline", "render_parts", "split_blocks", "truncate", "utf16_len",
    "visible_length",
]
