"""Knowledge-base articles: Markdown files with YAML front matter, parsed into sections.

An article file looks like this::

    ---
    id: wg-no-internet-es
    topic: wg-no-internet          # shared by the Spanish and English versions
    title: WireGuard conecta pero no hay internet
    language: es                   # es | en
    tags: [wireguard, internet, dns]
    operator_editable: true
    url: https://example.com/help/wg   # optional
    ---
    A short intro paragraph.

    ## A section
    1. First step.
    2. Second step.

A leading ``# Title`` line in the body is ignored (the front matter names the title), and
so are notes to the operator (lines starting ``> Operator:``): they are never indexed, sent
to the model or shown to customers.
``###`` headings stay inside their ``##`` section; headings inside code fences are text.
Anything that does not fit raises :class:`ArticleError`, whose message names the problem
(never the file's contents).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LANGUAGES", "Article", "ArticleError", "Section", "parse_article"]

#: Languages an article may be written in.
LANGUAGES = ("es", "en")

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_FENCE = re.compile(r"^\s*(```|~~~)")


class ArticleError(ValueError):
    """An article file is malformed; the message says what is wrong with it."""


@dataclass(frozen=True)
class Section:
    """One ``## `` section of an article: its heading and its Markdown body."""

    heading: str
    body: str


@dataclass(frozen=True)
class Article:
    """A parsed knowledge-base article."""

    id: str
    topic: str
    title: str
    language: str
    intro: str
    sections: tuple[Section, ...] = ()
    tags: tuple[str, ...] = ()
    operator_editable: bool = True
    url: str | None = None
    #: Where it came from: ``bundled:es/x.md`` or ``operator:x.md``.
    source: str = ""
    #: SHA-256 of the file's bytes.
    content_hash: str = field(default="", compare=False)

    def section(self, heading: str) -> Section | None:
        """Return the section called `heading`, or None."""
        for section in self.sections:
            if section.heading == heading:
                return section
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, the inverse of :meth:`from_dict`."""
        return {
            "id": self.id, "topic": self.topic, "title": self.title,
            "language": self.language, "intro": self.intro,
            "sections": [[s.heading, s.body] for s in self.sections],
            "tags": list(self.tags), "operator_editable": self.operator_editable,
            "url": self.url, "source": self.source, "content_hash": self.content_hash,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """Rebuild an article saved with :meth:`to_dict`."""
        return cls(
            id=data["id"], topic=data["topic"], title=data["title"],
            language=data["language"], intro=data["intro"],
            sections=tuple(Section(h, b) for h, b in data["sections"]),
            tags=tuple(data["tags"]), operator_editable=bool(data["operator_editable"]),
            url=data.get("url"), source=data.get("source", ""),
            content_hash=data.get("content_hash", ""),
        )


def parse_article(text: str, *, source: str = "", content_hash: str = "") -> Article:
    """Parse one article file's text; raise :class:`ArticleError` when it is malformed."""
    meta, body = _split_front_matter(text)
    article_id = _required_str(meta, "id")
    if not _ID.match(article_id):
        raise ArticleError("front matter 'id' must be letters, digits, '.', '_', ':' or '-'")
    language = _required_str(meta, "language").lower()
    if language not in LANGUAGES:
        raise ArticleError(f"front matter 'language' must be one of {', '.join(LANGUAGES)}")
    title = _required_str(meta, "title")
    topic = _optional_str(meta, "topic") or article_id
    url = _optional_str(meta, "url")
    editable = meta.get("operator_editable", True)
    if not isinstance(editable, bool):
        raise ArticleError("front matter 'operator_editable' must be true or false")
    intro, sections = _split_sections(body)
    if not intro and not sections:
        raise ArticleError("article has no text after the front matter")
    return Article(
        id=article_id, topic=topic, title=title, language=language, intro=intro,
        sections=sections, tags=_tags(meta.get("tags")), operator_editable=editable,
        url=url, source=source, content_hash=content_hash,
    )


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise ArticleError("file does not start with a '---' front matter block")
    end = next((i for i, line in enumerate(lines) if i and line.strip() in ("---", "...")), 0)
    if not end:
        raise ArticleError("front matter block is not closed with '---'")
    import yaml  # deferred: only needed when a file changed, keeps cold start fast

    try:
        meta = yaml.load("\n".join(lines[1:end]), Loader=_yaml_loader())  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise ArticleError(f"front matter is not valid YAML{where}") from None
    if not isinstance(meta, dict):
        raise ArticleError("front matter must be a YAML mapping")
    return meta, "\n".join(lines[end + 1:])


def _yaml_loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _required_str(meta: dict[str, Any], key: str) -> str:
    value = meta.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ArticleError(f"front matter lacks '{key}'")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ArticleError(f"front matter '{key}' must be text")
    return str(value).strip()


def _optional_str(meta: dict[str, Any], key: str) -> str | None:
    if meta.get(key) is None or meta.get(key) == "":
        return None
    return _required_str(meta, key)


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(t, str | int) for t in value):
        raise ArticleError("front matter 'tags' must be a list of words")
    return tuple(dict.fromkeys(str(t).strip() for t in value if str(t).strip()))


_OPERATOR_NOTE = re.compile(r"^\s*>\s*\**operator\**\s*:", re.IGNORECASE)


def _split_sections(body: str) -> tuple[str, tuple[Section, ...]]:
    intro: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    in_fence = False
    seen_text = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _heading(line)
        if heading is not None and heading[0] == 1 and not seen_text and not sections:
            seen_text = True  # a leading "# Title" repeats the front matter's title
            continue
        if heading is not None and heading[0] == 2:
            sections.append((heading[1], []))
            continue
        if not in_fence and _OPERATOR_NOTE.match(line):
            continue
        if line.strip():
            seen_text = True
        (sections[-1][1] if sections else intro).append(line)
    parsed = tuple(Section(h, "\n".join(b).strip()) for h, b in sections if h)
    return "\n".join(intro).strip(), parsed


def _heading(line: str) -> tuple[int, str] | None:
    match = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
    if match is None:
        return None
    return len(match.group(1)), match.group(2).strip()
