"""The context budget: every request fits, and prompt tokens stay flat as a chat grows.

A request is the system prompt (persona + knowledge passages + the summary of older turns),
the most recent turns, and the user's message, plus the room reserved for the reply
(`max_completion_tokens`, which Groq counts against TPM too). The budget is the smallest of
`SIP_CONTEXT_TOKENS`, the model's context window and the per-minute token limit, each less
the reply's room. Knowledge gets at most a share of it, the summary a fixed slice, and recent
turns fill what is left, newest first, up to a window; older turns live on only in the
summary, which the cheaper model rewrites in the background.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sipai.llm.catalog import model_info
from sipai.llm.tokens import MESSAGE_OVERHEAD, REQUEST_OVERHEAD, TokenCounter
from sipai.llm.types import ChatMessage
from sipai.support.prompts import PassageLike, knowledge_block, summary_block, system_prompt

#: Recent messages kept verbatim (user + assistant); older ones are summarised.
RECENT_WINDOW = 6
KNOWLEDGE_SHARE = 0.45
SUMMARY_TOKENS = 300
#: Safety margin for the estimate's error (it is calibrated, but not exact).
MARGIN = 0.9


@dataclass(frozen=True, slots=True)
class Turn:
    """A past message as the budget sees it."""

    role: str
    text: str


@dataclass(slots=True)
class ContextPlan:
    """The messages to send and what went into them."""

    messages: list[ChatMessage]
    prompt_tokens: int
    passages: list[PassageLike] = field(default_factory=list)
    turns_included: int = 0
    turns_dropped: int = 0
    summary_used: bool = False


class ContextBudget:
    """Builds requests that fit the model, the TPM limit and Sip's own token budget."""

    def __init__(self, counter: TokenCounter, *, model: str, max_completion_tokens: int,
                 context_tokens: int, tpm: int, window: int = RECENT_WINDOW) -> None:
        self.counter = counter
        self.window = window
        context = model_info(model).context_window
        self.limit = int(min(context_tokens, context - max_completion_tokens,
                             tpm - max_completion_tokens) * MARGIN)
        self.limit = max(self.limit, 256)

    def build(self, *, language: str, user_text: str, history: Sequence[Turn] = (),
              summary: str | None = None, passages: Sequence[PassageLike] = (),
              scale: float = 1.0) -> ContextPlan:
        """The request for this turn; `scale` < 1 shrinks it (after a 413)."""
        limit = int(self.limit * scale)
        persona = system_prompt(language)
        fixed = (REQUEST_OVERHEAD + 2 * MESSAGE_OVERHEAD + self.counter.count(persona)
                 + self.counter.count(user_text))
        left = limit - fixed

        chosen: list[PassageLike] = []
        knowledge_room = int(max(0, left) * KNOWLEDGE_SHARE)
        for passage in passages:
            cost = self.counter.count(passage.text) + 24
            if cost <= knowledge_room:
                chosen.append(passage)
                knowledge_room -= cost
        block = knowledge_block(language, chosen)
        left -= self.counter.count(block)

        summary_text = ""
        if summary and left > SUMMARY_TOKENS // 2:
            summary_text = summary_block(language, summary)
            if self.counter.count(summary_text) > min(SUMMARY_TOKENS, left):
                summary_text = _trim_to(summary_text, min(SUMMARY_TOKENS, left), self.counter)
            left -= self.counter.count(summary_text)

        recent: list[ChatMessage] = []
        for turn in reversed(history[-self.window:] if self.window else []):
            cost = self.counter.count(turn.text) + MESSAGE_OVERHEAD
            if cost > left:
                break
            if turn.role == "assistant":
                recent.append(ChatMessage(role="assistant", content=turn.text))
            else:
                recent.append(ChatMessage(role="user", content=turn.text))
            left -= cost
        recent.reverse()
        # A conversation must not start with an assistant turn after the system message.
        while recent and recent[0]["role"] == "assistant":
            recent.pop(0)

        system = "\n\n".join(part for part in (persona, block, summary_text) if part)
        messages = [ChatMessage(role="system", content=system), *recent,
                    ChatMessage(role="user", content=user_text)]
        return ContextPlan(
            messages=messages,
            prompt_tokens=self.counter.count_messages(messages),
            passages=chosen,
            turns_included=len(recent),
            turns_dropped=len(history) - len(recent),
            summary_used=bool(summary_text),
        )


def _trim_to(text: str, tokens: int, counter: TokenCounter) -> str:
    """Cut `text` at a word boundary so it fits `tokens`."""
    words = text.split()
    while words and counter.count(" ".join(words)) > tokens:
        words = words[: max(1, int(len(words) * 0.8))] if len(words) > 1 else []
    return " ".join(words)
