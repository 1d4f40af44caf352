"""Deterministic replies, token counts and embeddings: what the emulator "generates".

Token estimate (documented so tests can compute expectations): a text costs
`ceil(len(text) / 4)` tokens; a chat prompt costs, for each message, the tokens of its text
(string content, or the `text` of its content parts) plus 4 tokens of overhead, plus the
JSON of `tools` when given. A legacy prompt costs its text's tokens. Completion tokens are
the reasoning's tokens plus the content's tokens.

Reply rules, in order:

1. The *request text* is the last `user` message (text parts joined), or the legacy prompt.
2. Content is `Echo: <request text>`, verbatim (`<b>`, `&` and accents untouched).
3. A marker `[[len=N]]` in the request text replaces the content with exactly N characters
   of deterministic English paragraphs separated by blank lines.
4. `response_format` `json_object`/`json_schema` makes the content `{"echo": "<text>"}`.
5. Reasoning models (gpt-oss) also produce `message.reasoning`: a fixed text, once for
   `reasoning_effort` low (the default), twice for medium, four times for high. A marker
   `[[reasoning=N]]` makes it exactly N characters (0: none). `include_reasoning: false`
   or `reasoning_format: "hidden"` keeps it out of the reply (its tokens still count).
6. A `stop` string cuts the content before its first occurrence (`finish_reason` stop).
7. The budget (`max_completion_tokens`, else `max_tokens`) is spent on reasoning first,
   as gpt-oss does: a budget no larger than the reasoning leaves `content` empty with
   `finish_reason` "length"; otherwise content beyond the remaining budget is cut
   (4 characters per token) with `finish_reason` "length".
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from dataclasses import dataclass, replace
from typing import Any

REASONING_TEXT = (
    "The customer asked a question. I should read the context passages, keep only what "
    "applies, and answer briefly in the customer's language."
)
_EFFORT_REPEATS = {"low": 1, "medium": 2, "high": 4}
_LEN_MARKER = re.compile(r"\[\[len=(\d{1,7})\]\]")
_REASONING_MARKER = re.compile(r"\[\[reasoning=(\d{1,7})\]\]")
_SENTENCES = (
    "WireGuard keeps a small, fixed set of keys for every peer.",
    "Restarting the tunnel often clears a stale handshake.",
    "Check that the allowed IPs include the whole address range.",
    "A blocked UDP port looks like a connection without internet.",
    "Changing the DNS server fixes most name resolution problems.",
    "Mobile networks sometimes need a lower MTU, such as 1280.",
    "Keep the app updated to receive the latest protocol fixes.",
)
_WORD = re.compile(r"\w+")


def estimate_tokens(text: str) -> int:
    """Tokens of a text under the emulator's estimate: one per 4 characters, rounded up."""
    return math.ceil(len(text) / 4)


def content_text(content: Any) -> str:
    """The text of a message's `content`: a string, or the `text` of its parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def prompt_tokens(messages: list[dict[str, Any]], tools: Any = None) -> int:
    """Prompt tokens of a chat request: per message its text's tokens plus 4."""
    total = sum(estimate_tokens(content_text(m.get("content"))) + 4 for m in messages)
    if tools:
        total += estimate_tokens(json.dumps(tools, separators=(",", ":")))
    return total


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last `user` message (empty when there is none)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def paragraphs(length: int) -> str:
    """Exactly `length` characters of deterministic paragraphs separated by blank lines."""
    parts: list[str] = []
    size = 0
    index = 0
    while size < length:
        sentences = [_SENTENCES[(index + k) % len(_SENTENCES)] for k in range(5)]
        paragraph = f"Part {index + 1}. " + " ".join(sentences)
        parts.append(paragraph)
        size += len(paragraph) + 2
        index += 1
    return "\n\n".join(parts)[:length]


@dataclass(frozen=True, slots=True)
class Reply:
    """A generated answer and its token accounting."""

    content: str
    reasoning: str
    finish_reason: str
    prompt_tokens: int
    #: Whether `reasoning` is shown to the client (its tokens count either way).
    show_reasoning: bool = True

    @property
    def reasoning_tokens(self) -> int:
        """Tokens spent thinking."""
        return estimate_tokens(self.reasoning)

    @property
    def completion_tokens(self) -> int:
        """Tokens generated: reasoning plus content."""
        return self.reasoning_tokens + estimate_tokens(self.content)


def reasoning_for(text: str, effort: str | None) -> str:
    """The reasoning of a gpt-oss reply to `text` (see rule 5)."""
    marker = _REASONING_MARKER.search(text)
    if marker is not None:
        wanted = int(marker.group(1))
        return " ".join([REASONING_TEXT] * (wanted // len(REASONING_TEXT) + 1))[:wanted]
    return " ".join([REASONING_TEXT] * _EFFORT_REPEATS.get(effort or "low", 1))


def content_for(text: str, response_format: Any = None) -> str:
    """The content of a reply to `text` (rules 2–4)."""
    if isinstance(response_format, dict) and response_format.get("type") in (
        "json_object",
        "json_schema",
    ):
        return json.dumps({"echo": text}, ensure_ascii=False)
    marker = _LEN_MARKER.search(text)
    if marker is not None:
        return paragraphs(int(marker.group(1)))
    return f"Echo: {text}"


def apply_stop(content: str, stop: str | list[str] | None) -> str:
    """Cut `content` before the first occurrence of any stop string (rule 6)."""
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    cut = min((i for s in stops if s and (i := content.find(s)) >= 0), default=-1)
    return content if cut < 0 else content[:cut]


def apply_budget(reply: Reply, budget: int | None) -> Reply:
    """Spend `budget` tokens on reasoning first, then content (rule 7)."""
    if budget is None or reply.completion_tokens <= budget:
        return reply
    if reply.reasoning_tokens >= budget:
        return replace(reply, reasoning=reply.reasoning[: budget * 4], content="",
                       finish_reason="length")
    room = budget - reply.reasoning_tokens
    return replace(reply, content=reply.content[: room * 4], finish_reason="length")


def reasoning_only(reply: Reply, budget: int | None) -> Reply:
    """The gpt-oss failure where reasoning eats the budget: empty content, `length`."""
    reasoning = reply.reasoning or REASONING_TEXT
    if budget is not None:
        repeats = budget * 4 // len(REASONING_TEXT) + 1
        reasoning = " ".join([REASONING_TEXT] * repeats)[: budget * 4]
    return replace(reply, reasoning=reasoning, content="", finish_reason="length")


def chat_reply(body: dict[str, Any], reasoning_model: bool) -> Reply:
    """The full reply to a validated chat request body."""
    messages: list[dict[str, Any]] = body["messages"]
    text = last_user_text(messages)
    reasoning = reasoning_for(text, body.get("reasoning_effort")) if reasoning_model else ""
    show = body.get("include_reasoning", True) is not False and (
        body.get("reasoning_format") != "hidden"
    )
    content = apply_stop(content_for(text, body.get("response_format")), body.get("stop"))
    reply = Reply(content, reasoning, "stop", prompt_tokens(messages, body.get("tools")), show)
    return apply_budget(reply, completion_budget(body))


def text_reply(body: dict[str, Any]) -> Reply:
    """The reply to a legacy `/completions` request (no reasoning)."""
    prompt = body.get("prompt", "")
    text = prompt if isinstance(prompt, str) else "".join(map(str, prompt))
    content = apply_stop(content_for(text), body.get("stop"))
    reply = Reply(content, "", "stop", estimate_tokens(text))
    return apply_budget(reply, completion_budget(body))


def completion_budget(body: dict[str, Any]) -> int | None:
    """The request's completion budget: `max_completion_tokens`, else `max_tokens`."""
    budget = body.get("max_completion_tokens")
    if budget is None:
        budget = body.get("max_tokens")
    return budget if isinstance(budget, int) else None


def embed(text: str, dimensions: int) -> list[float]:
    """A unit vector from hashed words, so texts sharing words have a positive cosine."""
    vector = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
        vector[digest % dimensions] += 1.0 if digest >> 63 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return [round(v / norm, 6) for v in vector]


def encode_base64(vector: list[float]) -> str:
    """The `encoding_format: base64` form: little-endian float32s, base64-encoded."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
