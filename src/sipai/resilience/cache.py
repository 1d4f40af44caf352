"""The answer cache: a first question with no personal context is answered once per TTL.

Many customers open with the same question ("¿cómo instalo WireGuard en Android?"). When a
conversation has no history and no summary, the answer depends only on the question, its
language, the model and the knowledge base, so the service may reuse it. The key is a hash
of those four, with the question normalised (Unicode NFKC, case-folded, accents and
punctuation dropped, spaces collapsed): "¿Cómo instalo WireGuard?" and "como instalo
wireguard" share an answer; a new knowledge-base version or model starts afresh.

The service asks for a key only for first questions; :meth:`AnswerCache.key` refuses (None)
questions that carry personal data anyway — e-mail addresses, links, IP addresses, numbers
of four digits or more (orders, phones), long key-like strings — or that are too long to
repeat, so nothing personal is ever served to another user.

Stores: :class:`MemoryCacheStore` (bounded, LRU) and :class:`RedisCacheStore` (`SET … EX`,
shared by workers). A store failure is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections import OrderedDict
from typing import Any, Protocol

from redis.asyncio import Redis

from sipai.observability import metrics
from sipai.resilience.clock import Clock, MonotonicClock

log = logging.getLogger(__name__)

KEY_VERSION = "v1"
MAX_QUESTION_CHARS = 300

_PERSONAL = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.-]+"  # e-mail
    r"|\b(?:https?|vless|vmess|ss|trojan|wireguard)://\S+"  # links and access keys
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b"  # IPv4
    r"|\d(?:[\s-]?\d){3,}"  # numbers of four digits or more (orders, phones, cards)
    r"|[A-Za-z0-9+/=_-]{24,}",  # long key-like tokens (WireGuard keys, tokens)
)
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalise_question(text: str) -> str:
    """The question as the cache compares it: folded, without accents or punctuation."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    bare = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", bare).split())


def is_personal(text: str) -> bool:
    """Whether `text` carries data that must never be answered from a shared cache."""
    return bool(_PERSONAL.search(text))


class CacheStore(Protocol):
    """Where cached answers live."""

    async def get(self, key: str) -> str | None:
        """The stored value, or None."""
        ...

    async def set(self, key: str, value: str, ttl: float) -> None:
        """Store `value` for `ttl` seconds."""
        ...


class MemoryCacheStore:
    """A bounded in-process store: least recently used entries go first."""

    def __init__(self, max_entries: int = 10_000, *, clock: Clock | None = None) -> None:
        self.max_entries = max_entries
        self.clock: Clock = clock or MonotonicClock()
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()

    async def get(self, key: str) -> str | None:
        """See :meth:`CacheStore.get`."""
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires <= self.clock.now():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    async def set(self, key: str, value: str, ttl: float) -> None:
        """See :meth:`CacheStore.set`."""
        self._items[key] = (self.clock.now() + ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class RedisCacheStore:
    """Answers in Redis under `{prefix}:answer:<hash>`, expiring on their own."""

    def __init__(self, redis: Redis, *, prefix: str = "sip") -> None:
        self.redis = redis
        self.prefix = prefix

    async def get(self, key: str) -> str | None:
        """See :meth:`CacheStore.get`."""
        raw = await self.redis.get(f"{self.prefix}:answer:{key}")
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def set(self, key: str, value: str, ttl: float) -> None:
        """See :meth:`CacheStore.set`."""
        await self.redis.set(f"{self.prefix}:answer:{key}", value, px=max(1, int(ttl * 1000)))


class AnswerCache:
    """Keys, reads and writes cached answers (the service's `AnswerCacheLike`)."""

    def __init__(self, store: CacheStore, *, ttl: float = 3600.0,
                 max_question_chars: int = MAX_QUESTION_CHARS) -> None:
        self.store = store
        self.ttl = ttl
        self.max_question_chars = max_question_chars

    def key(self, text: str, language: str, model: str, kb_version: str) -> str | None:
        """The cache key of a context-free first question, or None if it must not be cached."""
        if len(text) > self.max_question_chars or is_personal(text):
            metrics.cache_lookups.labels("skip").inc()
            return None
        question = normalise_question(text)
        if not question:
            metrics.cache_lookups.labels("skip").inc()
            return None
        material = "\x1f".join((KEY_VERSION, language, model, kb_version, question))
        return hashlib.sha256(material.encode()).hexdigest()

    async def get(self, key: str) -> dict[str, Any] | None:
        """The cached answer for `key`, or None (a store failure is a miss)."""
        try:
            raw = await self.store.get(key)
            value = json.loads(raw) if raw is not None else None
        except Exception as exc:
            log.warning("cache.failed", extra={"op": "get", "error": type(exc).__name__})
            metrics.cache_lookups.labels("error").inc()
            return None
        if not isinstance(value, dict) or "answer" not in value:
            metrics.cache_lookups.labels("miss").inc()
            return None
        metrics.cache_lookups.labels("hit").inc()
        return value

    async def put(self, key: str, value: dict[str, Any]) -> None:
        """Remember an answer for the TTL (a store failure is logged and ignored)."""
        if self.ttl <= 0:
            return
        try:
            await self.store.set(key, json.dumps(value, ensure_ascii=False), self.ttl)
        except Exception as exc:
            log.warning("cache.failed", extra={"op": "put", "error": type(exc).__name__})
