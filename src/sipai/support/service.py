"""Sip's support service: one customer turn, end to end, as plain async functions.

A turn: clean the text → per-user limit → store the message (before any provider call) →
escalate if the customer asked for a person → daily budget → retrieve knowledge → answer
cache → build the context within budget → route through the models → guard the output →
store the answer and its usage → summarise older turns in the background. Every message
gets an answer: the model, a fallback model, or the offline brain with an offer of a human.
Front ends call these functions with the :class:`SupportDeps` the composition root built.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sipai.config import Settings
from sipai.errors import ProviderError, StreamInterrupted
from sipai.knowledge.base import KnowledgeBase, Passage
from sipai.knowledge.offline import compose_offline_answer
from sipai.llm.types import ChatMessage, TextDelta, Usage
from sipai.observability import metrics
from sipai.resilience.router import ModelRouter, Routed
from sipai.storage.unit_of_work import UnitOfWork
from sipai.support.budget import ContextBudget, ContextPlan, Turn
from sipai.support.domain import Channel, Conversation, Message, Ticket, UsageRecord
from sipai.support.escalation import EscalationPolicy, strip_handoff
from sipai.support.guard import OutputGuard
from sipai.support.hygiene import clean
from sipai.support.prompts import PassageLike
from sipai.support.reply import Reply, Route, Source
from sipai.support.summary import BackgroundTasks, Summarizer
from sipai.support.texts import text
from sipai.text.language import detect_language

log = logging.getLogger(__name__)

KNOWLEDGE_K = 4


class AnswerCacheLike(Protocol):
    """An answer cache for context-free first questions (resilience/cache.py)."""

    async def get(self, key: str) -> dict[str, Any] | None: ...
    async def put(self, key: str, value: dict[str, Any]) -> None: ...
    def key(self, text: str, language: str, model: str, kb_version: str) -> str | None: ...


class UserLimiterLike(Protocol):
    """Per-user message rate limit (resilience/limits.py); returns seconds to wait or 0."""

    async def check(self, user_id: str) -> float: ...


TicketListener = Callable[[Ticket, str], Awaitable[None]]


@dataclass(slots=True)
class SupportDeps:
    """Everything a turn needs, built once by the composition root."""

    settings: Settings
    uow: Callable[[], UnitOfWork]
    budget: ContextBudget
    summarizer: Summarizer
    kb: KnowledgeBase
    router: ModelRouter | None = None
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)
    guard: OutputGuard = field(default_factory=OutputGuard)
    cache: AnswerCacheLike | None = None
    user_limiter: UserLimiterLike | None = None
    background: BackgroundTasks = field(default_factory=BackgroundTasks)
    ticket_listeners: list[TicketListener] = field(default_factory=list)


@dataclass(slots=True)
class _Turn:
    """State of one turn between its steps."""

    user_id: str
    channel: Channel
    text: str
    language: str
    conversation: Conversation
    message: Message
    history: list[Message]
    started: float = field(default_factory=time.perf_counter)
    passages: list[Passage] = field(default_factory=list)


async def ask(deps: SupportDeps, user_id: str, message: str | bytes, *, channel: Channel = "cli",
              offline: bool = False) -> Reply:
    """Answer one customer message and return the reply object."""
    reply: Reply | None = None
    async for event in _run(deps, user_id, message, channel=channel, offline=offline,
                            streaming=False):
        if isinstance(event, Reply):
            reply = event
    assert reply is not None  # _run always ends with a Reply
    return reply


async def stream(deps: SupportDeps, user_id: str, message: str | bytes, *,
                 channel: Channel = "cli", offline: bool = False
                 ) -> AsyncIterator[TextDelta | Reply]:
    """Answer one customer message as text deltas, then the reply object.

    Answers that do not come from a model stream (offline brain, cache, refusals, tickets)
    arrive as one delta, so a front end can render every answer the same way.
    """
    streamed = False
    async for event in _run(deps, user_id, message, channel=channel, offline=offline,
                            streaming=True):
        if isinstance(event, Reply) and not streamed:
            yield TextDelta(event.answer)
        streamed = streamed or isinstance(event, TextDelta)
        yield event


async def _run(deps: SupportDeps, user_id: str, raw: str | bytes, *, channel: Channel,
               offline: bool, streaming: bool) -> AsyncIterator[TextDelta | Reply]:
    settings = deps.settings
    cleaned = clean(raw, settings.sip_max_input_chars)
    turn = await _open_turn(deps, user_id, cleaned, channel)
    log.info("turn.received", extra={"user_id": user_id, "conversation_id":
                                     turn.conversation.id, "chars": len(cleaned),
                                     "language": turn.language, "channel": channel})

    if deps.user_limiter is not None:
        wait = await deps.user_limiter.check(user_id)
        if wait > 0:
            yield await _finish(deps, turn, text("rate_limited", turn.language,
                                                 seconds=max(1, round(wait))),
                                route="refusal", status="unanswered")
            return

    decision = deps.escalation.on_message(cleaned, turn.conversation.failures)
    if decision.escalate:
        yield await _escalate_turn(deps, turn, decision.reason)
        return

    if settings.sip_user_daily_tokens is not None:
        async with deps.uow() as uow:
            spent = await uow.usage.tokens_today(user_id)
        if spent >= settings.sip_user_daily_tokens:
            yield await _finish(deps, turn, text("budget", turn.language), route="refusal",
                                status="unanswered")
            return

    turn.passages = deps.kb.search(cleaned, k=KNOWLEDGE_K, language=turn.language)

    if deps.router is None or offline or not settings.is_configured:
        yield await _offline(deps, turn, failed=False)
        return

    cache_key = _cache_key(deps, turn)
    if cache_key is not None and deps.cache is not None:
        hit = await deps.cache.get(cache_key)
        if hit is not None:
            yield await _finish(deps, turn, str(hit["answer"]), route="cache",
                                model=hit.get("model"), sources=_sources(turn.passages))
            return

    plan = _plan(deps, turn)
    shrink = _shrinker(deps, turn)
    try:
        if streaming:
            routed: Routed | None = None
            shown: list[str] = []
            try:
                async for event in deps.router.stream(plan.messages, shrink=shrink):
                    if isinstance(event, TextDelta):
                        shown.append(event.text)
                        yield event
                    else:
                        routed = event
            except StreamInterrupted as error:
                if not shown:
                    raise
                # The customer already saw part of the answer: keep it, say it was cut.
                cut = text("stream_cut", turn.language)
                yield TextDelta(cut)
                yield await _finish(deps, turn, "".join(shown) + cut, route="primary",
                                    model=error.model, sources=_sources(plan.passages),
                                    status="answered")
                return
            assert routed is not None
        else:
            routed = await deps.router.complete(plan.messages, shrink=shrink)
    except ProviderError as error:
        log.warning("turn.providers_failed", extra={"conversation_id": turn.conversation.id,
                                                    "code": error.code})
        await _record_failure(deps, turn, error)
        reply = await _offline(deps, turn, failed=True)
        if streaming:
            yield TextDelta(reply.answer)
        yield reply
        return

    yield await _model_answer(deps, turn, plan, routed, cache_key)


async def _open_turn(deps: SupportDeps, user_id: str, cleaned: str, channel: Channel) -> _Turn:
    """Find or start the conversation and store the customer's message (committed)."""
    async with deps.uow() as uow:
        conversation = await uow.conversations.active_for(user_id)
        history: list[Message] = []
        if conversation is None:
            # A new conversation is stored in the customer's language and has no history.
            language = detect_language(cleaned, default=deps.settings.sip_language)
            conversation = Conversation(user_id=user_id, channel=channel, language=language)
            await uow.conversations.add(conversation)
        else:
            history = await uow.messages.after(conversation.id, conversation.summary_upto)
            language = detect_language(cleaned, default=conversation.language)
            if language != conversation.language:
                conversation.language = language
                await uow.conversations.save(conversation)
        message = await uow.messages.add(Message.from_user(conversation.id, user_id, cleaned))
        await uow.commit()
    return _Turn(user_id, channel, cleaned, language, conversation, message, history)


def _plan(deps: SupportDeps, turn: _Turn, scale: float = 1.0) -> ContextPlan:
    return deps.budget.build(
        language=turn.language, user_text=turn.text,
        history=[Turn(m.role, m.text) for m in turn.history],
        summary=turn.conversation.summary, passages=turn.passages, scale=scale)


def _shrinker(deps: SupportDeps, turn: _Turn) -> Callable[[], Sequence[ChatMessage] | None]:
    scales = iter((0.5, 0.25))

    def shrink() -> Sequence[ChatMessage] | None:
        scale = next(scales, None)
        return None if scale is None else _plan(deps, turn, scale).messages

    return shrink


def _cache_key(deps: SupportDeps, turn: _Turn) -> str | None:
    """A key only for a first question with no personal context."""
    if deps.cache is None or turn.history or turn.conversation.summary:
        return None
    return deps.cache.key(turn.text, turn.language, deps.settings.groq_model, deps.kb.version)


async def _model_answer(deps: SupportDeps, turn: _Turn, plan: ContextPlan, routed: Routed,
                        cache_key: str | None) -> Reply:
    completion = routed.completion
    answer, blocked = deps.guard.check(completion.text.strip(), turn.language)
    wants_human = not blocked and deps.escalation.on_answer(answer).escalate
    answer = strip_handoff(answer)
    usage_record = UsageRecord(
        user_id=turn.user_id, model=routed.model, conversation_id=turn.conversation.id,
        prompt_tokens=completion.usage.prompt_tokens,
        completion_tokens=completion.usage.completion_tokens, cost_usd=completion.cost_usd,
        latency_ms=int(completion.latency_s * 1000),
        outcome="ok" if not routed.failures else "ok_after:" + ",".join(routed.failures))
    ticket: Ticket | None = None
    if wants_human:
        ticket = await open_ticket(deps, turn.user_id, "model", channel=turn.channel,
                                   language=turn.language)
        answer += text("handoff_after_answer", turn.language, ticket=ticket.id)
    elif cache_key is not None and deps.cache is not None and not blocked:
        await deps.cache.put(cache_key, {"answer": answer, "model": routed.model})
    return await _finish(
        deps, turn, answer, route="fallback" if routed.fallback else "primary",
        model=routed.model, sources=_sources(plan.passages), usage=completion.usage,
        cost=completion.cost_usd, record=usage_record, ticket=ticket)


async def _offline(deps: SupportDeps, turn: _Turn, *, failed: bool) -> Reply:
    """The offline brain's answer; after a provider failure, said so up front."""
    offline = compose_offline_answer(turn.text, turn.passages, turn.language, deps.kb)
    answer = (text("provider_down", turn.language) if failed else "") + offline.text
    sources = tuple(Source(id=sid, title=title) for sid, title in offline.sources)
    return await _finish(deps, turn, answer, route="offline", sources=sources,
                         status="unanswered" if failed else "answered")


async def _escalate_turn(deps: SupportDeps, turn: _Turn, reason: str) -> Reply:
    async with deps.uow() as uow:
        existing = await uow.tickets.active_for_user(turn.user_id)
    if existing is not None:
        return await _finish(deps, turn, text("ticket_exists", turn.language,
                                              ticket=existing.id),
                             route="escalation", ticket=existing)
    ticket = await open_ticket(deps, turn.user_id, reason, channel=turn.channel,
                               language=turn.language)
    return await _finish(deps, turn, text("ticket_opened", turn.language, ticket=ticket.id),
                         route="escalation", ticket=ticket)


async def _record_failure(deps: SupportDeps, turn: _Turn, error: ProviderError) -> None:
    async with deps.uow() as uow:
        await uow.usage.add(UsageRecord(user_id=turn.user_id, model=error.model or "?",
                                        conversation_id=turn.conversation.id,
                                        outcome=f"error:{error.code}"))
        await uow.commit()


async def _finish(deps: SupportDeps, turn: _Turn, answer: str, *, route: Route,
                  model: str | None = None, sources: tuple[Source, ...] = (),
                  usage: Usage | None = None, cost: float = 0.0,
                  record: UsageRecord | None = None, ticket: Ticket | None = None,
                  status: str = "answered") -> Reply:
    """Store the answer (and the turn's status, usage, failure count); build the reply."""
    latency_ms = int((time.perf_counter() - turn.started) * 1000)
    usage = usage or Usage()
    mode = {"primary": "llm", "fallback": "fallback", "cache": "cache", "offline": "offline",
            "escalation": "human", "refusal": "refusal", "human": "human"}[route]
    # The failure streak: a model (or cached) answer ends it, an unanswered turn extends it.
    succeeded = (False if status != "answered"
                 else True if route in ("primary", "fallback", "cache") else None)
    async with deps.uow() as uow:
        stored = Message.from_assistant(
            turn.conversation.id, turn.user_id, answer, mode=mode,  # type: ignore[arg-type]
            model=model, prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens, cost_usd=cost, latency_ms=latency_ms,
            sources=[s.id for s in sources])
        turn.message.status = "answered" if status == "answered" else "unanswered"
        conversation = await uow.messages.add_answer(turn.message, stored, succeeded=succeeded)
        if record is not None:
            await uow.usage.add(record)
        await uow.commit()
    count = stored.seq  # the answer is the conversation's latest message
    if deps.router is not None and deps.summarizer.due(count, conversation.summary_upto):
        deps.background.spawn(deps.summarizer.refresh(conversation.id))
    metrics.turns.labels(turn.channel, route).inc()
    metrics.turn_latency.labels(route).observe(latency_ms / 1000)
    if model and usage.total_tokens:
        metrics.tokens.labels(model, "prompt").inc(usage.prompt_tokens)
        metrics.tokens.labels(model, "completion").inc(usage.completion_tokens)
        metrics.cost.labels(model).inc(cost)
    log.info("turn.answered", extra={
        "user_id": turn.user_id, "conversation_id": turn.conversation.id, "route": route,
        "model": model, "chars": len(answer), "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens, "latency_ms": latency_ms,
        "sources": len(sources), "ticket_id": ticket.id if ticket else None})
    return Reply(
        answer=answer, mode="llm" if route in ("primary", "fallback", "cache") else "offline",
        conversation_id=turn.conversation.id, route=route, model=model, sources=sources,
        usage=usage, cost_usd=cost, escalated=ticket is not None,
        ticket_id=ticket.id if ticket else None, language=turn.language,
        message_id=stored.id, latency_ms=latency_ms)


def _sources(passages: Sequence[PassageLike]) -> tuple[Source, ...]:
    seen: dict[str, Source] = {}
    for passage in passages:
        if passage.article_id not in seen:
            seen[passage.article_id] = Source(passage.article_id, passage.title, passage.url)
    return tuple(seen.values())


async def open_ticket(deps: SupportDeps, user_id: str, reason: str, *,
                      channel: Channel = "cli", language: str | None = None,
                      chat_id: int | None = None) -> Ticket:
    """Open a ticket with a summary for the operator, and tell the listeners (admin chat)."""
    async with deps.uow() as uow:
        conversation = await uow.conversations.active_for(user_id)
        recent = await uow.messages.recent(conversation.id, 6) if conversation else []
        summary_lines = []
        if conversation and conversation.summary:
            summary_lines.append(conversation.summary)
        summary_lines += [f"{m.role}: {m.text[:300]}" for m in recent]
        ticket = await uow.tickets.add(Ticket(
            user_id=user_id, conversation_id=conversation.id if conversation else None,
            reason=reason, summary="\n".join(summary_lines)[-2000:], channel=channel,
            chat_id=chat_id))
        await uow.commit()
    metrics.tickets.labels(reason).inc()
    log.info("ticket.opened", extra={"ticket_id": ticket.id, "user_id": user_id,
                                     "reason": reason})
    for listener in deps.ticket_listeners:
        try:
            await listener(ticket, language or deps.settings.sip_language)
        except Exception as exc:  # a broken notifier must not lose the ticket
            log.warning("ticket.notify_failed", extra={"ticket_id": ticket.id,
                                                       "error": type(exc).__name__})
    return ticket
