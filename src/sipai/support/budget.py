"""The context budget: every request fits, and prompt tokens stay flat and small as a chat grows.

A request is the system prompt (persona + knowledge passages + the summary of older turns),
the most recent turns, and the user's message, plus the room reserved for the reply
(`max_completion_tokens`, which Groq counts against TPM too). The limit is the smallest of
`SIP_CONTEXT_TOKENS`, the model's context window and the per-minute token limit, each less
the reply's room; `scale` < 1 shrinks it after a 413.

Within the limit each part has a small fixed allowance, because every token is paid on every
turn (docs/benchmarks.md part 3):

- knowledge: at most three passages, only those scoring at least 0.55 of the best one (on
  the eval set the right article, when it is not first, scores 0.56 or more of the first).
  The best article is sent as its grounding (knowledge/steps.py: the intro's sentence and
  the section with the steps to follow, the one the offline brain would show), since the
  passage that matched is often the intro or a list of symptoms; the others as the passage
  that matched, shortened to an outline (the first sentence of each line);
- the summary of older turns, which the cheaper model writes in the background;
- recent turns: every message the summary does not cover yet, newest first, trimmed: the
  customer's words in full, Sip's last answer shortened to an outline, its earlier answers
  to their opening. :func:`recent_fits` says whether they still fit their allowance; when
  they do not, the Summarizer folds all but the last exchange into the summary, so no
  exchange is ever in neither (except while that summary is still being written).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sipai.knowledge.excerpt import excerpt
from sipai.llm.catalog import model_info
from sipai.llm.tokens import MESSAGE_OVERHEAD, REQUEST_OVERHEAD, TokenCounter
from sipai.llm.types import ChatMessage
from sipai.support.prompts import (
    PassageLike,
    article_element,
    knowledge_block,
    summary_block,
    system_prompt,
)

#: Messages a summary leaves out: the last exchange (user + assistant) is always sent as is.
RECENT_WINDOW = 2
#: At most this many unsummarised messages are sent (three exchanges), newest first.
RECENT_MAX = 6
#: Tokens for the unsummarised messages together; past it the older ones are summarised.
RECENT_TOKENS = 140
#: Sip's last answer is kept up to this many tokens (an outline), earlier ones up to
#: OLDER_ANSWER_TOKENS (their opening): the customer's reply is to the last one.
ANSWER_TOKENS = 56
OLDER_ANSWER_TOKENS = 20
#: Knowledge: at most this many passages, each scoring at least RELATIVE_SCORE of the best.
MAX_PASSAGES = 3
RELATIVE_SCORE = 0.55
KNOWLEDGE_TOKENS = 240
#: The best passage (its article's intro and steps) is kept up to this many tokens, the
#: others up to OTHER_PASSAGE_TOKENS.
BEST_PASSAGE_TOKENS = 180
OTHER_PASSAGE_TOKENS = 50
#: A passage leaves the next one room to be named when retrieval nearly tied: the next
#: scores at least this share of the best (on the eval set a right article ranked second
#: scores 0.91 or more of the first; the room is otherwise the best article's steps).
CLOSE_CALL = 0.9
#: Share of the room left after the fixed parts that knowledge may take (small limits).
KNOWLEDGE_SHARE = 0.45
#: The summary (header included); the summariser is asked for at most 40 words.
SUMMARY_TOKENS = 72
#: Safety margin for the estimate's error (it is calibrated, but not exact).
MARGIN = 0.9
#: A message clipped shorter than this says nothing useful; the window stops instead.
MIN_CLIP = 12


@dataclass(frozen=True, slots=True)
class Turn:
    """A past message as the budget sees it."""

    role: str
    text: str


@runtime_checkable
class GroundedPassage(PassageLike, Protocol):
    """A passage that also carries its article's grounding (intro + steps to follow)."""

    @property
    def grounding(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ClippedPassage:
    """A knowledge passage whose text was shortened to fit the budget."""

    article_id: str
    title: str
    section: str
    text: str
    url: str | None
    score: float


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
        #: Messages kept out of the summary (the Summarizer folds everything older).
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

        chosen = self.passages(passages, min(KNOWLEDGE_TOKENS,
                                             int(max(0, left) * KNOWLEDGE_SHARE)))
        block = knowledge_block(language, chosen)
        left -= self.counter.count(block)

        summary_text = ""
        if summary and summary.strip() and left > SUMMARY_TOKENS // 2:
            summary_text = summary_block(language, summary)
            room = min(SUMMARY_TOKENS, left)
            if self.counter.count(summary_text) > room:
                summary_text = excerpt(summary_text, room, self.counter.count)
            left -= self.counter.count(summary_text)

        recent = self.recent(history, min(RECENT_TOKENS, max(0, left)))
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

    def passages(self, passages: Sequence[PassageLike], room: int) -> list[PassageLike]:
        """The passages worth their tokens, best first, clipped to fit `room`.

        The best one is sent as its article's grounding (intro + steps) when it has one.
        On a close call (the next scores CLOSE_CALL of the best) a passage leaves the next
        room for its tags and MIN_CLIP tokens of text, so the right article is still named.
        """
        if not passages:
            return []
        floor = passages[0].score * RELATIVE_SCORE
        close = passages[0].score * CLOSE_CALL
        parts: list[tuple[PassageLike, str, str, int]] = []
        for rank, passage in enumerate(passages[:MAX_PASSAGES]):
            if rank and passage.score < floor:
                break
            text, section = passage.text.strip(), passage.section
            if rank == 0 and isinstance(passage, GroundedPassage) and passage.grounding:
                # The steps section is in the text ("Pasos:"), so the title names the article.
                text, section = passage.grounding.strip(), ""
            framing = self.counter.count(article_element(
                ClippedPassage(passage.article_id, passage.title, section, "", None, 0.0), ""))
            parts.append((passage, text, section, framing))
        chosen: list[PassageLike] = []
        for rank, (passage, text, section, framing) in enumerate(parts):
            allowance = BEST_PASSAGE_TOKENS if rank == 0 else OTHER_PASSAGE_TOKENS
            after = (parts[rank + 1][3] + MIN_CLIP
                     if rank + 1 < len(parts) and parts[rank + 1][0].score >= close else 0)
            cap = min(allowance, room - framing - after)
            if cap < MIN_CLIP:  # no room to share: this one alone, if it fits
                cap = min(allowance, room - framing)
                if cap < MIN_CLIP:
                    break
            if self.counter.count(text) > cap:
                text = excerpt(text, cap, self.counter.count)
            if text != passage.text or section != passage.section:
                passage = ClippedPassage(passage.article_id, passage.title, section, text,
                                         passage.url, passage.score)
            chosen.append(passage)
            room -= self.counter.count(text) + framing
        return chosen

    def recent(self, history: Sequence[Turn], room: int) -> list[ChatMessage]:
        """The latest unsummarised messages that fit `room`, oldest first (see
        :func:`recent_messages`); none when the window is 0."""
        return recent_messages(history, room, self.counter) if self.window else []


def recent_messages(history: Sequence[Turn], room: int,
                    counter: TokenCounter) -> list[ChatMessage]:
    """The latest messages of `history` that fit `room`, trimmed, oldest first.

    Sip's last answer is clipped to ANSWER_TOKENS and its earlier ones to
    OLDER_ANSWER_TOKENS (the summary will keep the rest); the customer's messages are sent
    whole unless they alone overflow what is left of `room`.
    """
    recent, _ = _trimmed(history, room, counter)
    recent.reverse()
    # A conversation must not start with an assistant turn after the system message.
    while recent and recent[0]["role"] == "assistant":
        recent.pop(0)
    return recent


def recent_fits(history: Sequence[Turn], counter: TokenCounter,
                room: int = RECENT_TOKENS) -> bool:
    """Whether every message of `history` is sent, trimmed, within `room` (their allowance)."""
    return _trimmed(history, room, counter)[1]


def _trimmed(history: Sequence[Turn], room: int,
             counter: TokenCounter) -> tuple[list[ChatMessage], bool]:
    """The messages sent, newest first, and whether that is all of `history`, each cut no
    shorter than its own allowance (an answer's) because `room` ran out."""
    recent: list[ChatMessage] = []
    whole = True
    answers = 0
    for turn in reversed(history[-RECENT_MAX:]):
        own = counter.count(turn.text)
        if turn.role == "assistant":
            own = min(own, ANSWER_TOKENS if not answers else OLDER_ANSWER_TOKENS)
            answers += 1
        cap = min(own, room - MESSAGE_OVERHEAD)
        if cap < own:  # the room ran out: a shorter cut, if it still says something
            if cap < MIN_CLIP:
                return recent, False
            whole = False
        content = turn.text
        if counter.count(content) > cap:
            content = excerpt(content, cap, counter.count)
        recent.append(ChatMessage(role="assistant" if turn.role == "assistant" else "user",
                                  content=content))
        room -= counter.count(content) + MESSAGE_OVERHEAD
    return recent, whole and len(recent) == len(history)
