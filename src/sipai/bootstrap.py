"""The composition root: the one place settings, clients, engines and services are built.

Nothing is built at import time; front ends (CLI, HTTP, bot) call these builders.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from sipai.config import Settings
from sipai.errors import ConfigError
from sipai.knowledge.base import KnowledgeBase
from sipai.llm.catalog import PriceTable
from sipai.llm.client import Gate, LLMClient
from sipai.llm.retry import RetryPolicy
from sipai.llm.tokens import TokenCounter
from sipai.resilience.assembly import Resilience, build_resilience
from sipai.resilience.router import ModelRouter
from sipai.storage.engine import create_engine_for, create_session_factory, migrate
from sipai.storage.unit_of_work import SqlUnitOfWork, UnitOfWork
from sipai.support.budget import ContextBudget
from sipai.support.guard import OutputGuard
from sipai.support.service import SupportDeps
from sipai.support.summary import Summarizer


def retry_policy(settings: Settings) -> RetryPolicy:
    """The retry policy from settings (the only retry owner)."""
    return RetryPolicy(max_retries=settings.groq_max_retries,
                       max_retry_after=settings.groq_max_retry_wait)


def llm_client(settings: Settings, *, require_key: bool = True,
               gate: Gate | None = None) -> LLMClient:
    """The async provider client; ConfigError when a key is required and missing."""
    key = settings.groq_api_key
    if key is None and require_key:
        raise ConfigError("GROQ_API_KEY is not set (put GROQ_API_KEY=gsk_... in .env)")
    return LLMClient(
        api_key=key.get_secret_value() if key else "missing",
        base_url=settings.groq_base_url,
        model=settings.groq_model,
        timeout=settings.groq_timeout,
        defaults={
            "temperature": settings.groq_temperature,
            "top_p": settings.groq_top_p,
            "max_completion_tokens": settings.groq_max_tokens,
            "reasoning_effort": settings.groq_reasoning_effort,
        },
        prices=PriceTable(settings.sip_prices),
        retry=retry_policy(settings),
        gate=gate,
        stall_timeout=settings.groq_stream_stall_timeout,
    )


@dataclass(slots=True)
class Sip:
    """Everything a running Sip holds: settings, storage, knowledge, models, service deps."""

    settings: Settings
    engine: AsyncEngine
    deps: SupportDeps
    client: LLMClient | None
    kb: KnowledgeBase
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    #: Rate limiter, breakers, answer cache, per-user limits, Telegram update de-duplication.
    resilience: Resilience | None = None

    async def aclose(self) -> None:
        """Finish background work and release connections."""
        await self.deps.background.drain()
        for close in reversed(self.closers):
            await close()


async def build_sip(settings: Settings, *, offline: bool = False,
                    kb: KnowledgeBase | None = None) -> Sip:
    """Build a Sip from settings: migrate storage, open the knowledge base, wire the models."""
    settings.sip_data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine_for(settings.database_url)
    await migrate(engine)
    sessions = create_session_factory(engine)
    if kb is None:
        kb = await KnowledgeBase.open(settings.sip_data_dir, settings.sip_kb_dir)
    counter = TokenCounter()
    client: LLMClient | None = None
    router: ModelRouter | None = None
    resilience = build_resilience(settings)
    if settings.is_configured and not offline:
        client = llm_client(settings, require_key=True, gate=resilience.limiter)
        client.counter = counter
        router = ModelRouter(client, settings.models, breakers=resilience.breakers,
                             model_deadline=settings.groq_timeout + settings.groq_max_retry_wait)

    # SQLite has one writer: queue this process's transactions in the event loop.
    writer_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    def uow() -> UnitOfWork:
        return SqlUnitOfWork(sessions, writer_lock=writer_lock)

    budget = ContextBudget(counter, model=settings.groq_model,
                           max_completion_tokens=settings.groq_max_tokens,
                           context_tokens=settings.sip_context_tokens, tpm=settings.groq_tpm)
    summarizer = Summarizer(uow, client, settings.groq_summary_model, window=budget.window)
    deps = SupportDeps(settings=settings, uow=uow, budget=budget, summarizer=summarizer,
                       kb=kb, router=router, guard=OutputGuard(settings.secrets()),
                       cache=resilience.cache, user_limiter=resilience.users)
    sip = Sip(settings, engine, deps, client, kb, resilience=resilience)
    sip.closers.append(engine.dispose)
    sip.closers.append(resilience.aclose)
    if client is not None:
        sip.closers.append(client.aclose)
    return sip


@asynccontextmanager
async def running_sip(settings: Settings, *, offline: bool = False) -> AsyncIterator[Sip]:
    """`build_sip` as a context manager that always closes what it opened."""
    sip = await build_sip(settings, offline=offline)
    try:
        yield sip
    finally:
        await sip.aclose()
