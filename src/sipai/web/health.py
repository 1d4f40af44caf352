"""Liveness, readiness and Prometheus metrics.

- `GET /healthz` — the process answers (no dependency is touched).
- `GET /readyz` — each dependency, checked with a short timeout and cached for a few
  seconds: `database` (SELECT 1), `redis` (PING, when `SIP_REDIS_URL` is set) and
  `provider` (the provider's `GET /models`, when a key is set; cached longer, since it
  spends a request). The status is 503 when the database or Redis fails. A failing
  provider only makes Sip `degraded` (still 200): the offline brain answers meanwhile.
- `GET /metrics` — the `sip_*` registry in Prometheus' text format; admin key required
  outside local mode (Prometheus sends it as a bearer token).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from sipai.bootstrap import Sip
from sipai.observability.metrics import REGISTRY
from sipai.web.auth import admin_caller
from sipai.web.plugins import current_sip
from sipai.web.schemas import error_responses

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 3.0
CACHE_SECONDS = 5.0
PROVIDER_CACHE_SECONDS = 60.0

CheckState = Literal["ok", "fail", "skipped", "offline"]


class Check(BaseModel):
    """One dependency's state."""

    status: CheckState
    ms: float | None = None
    detail: str | None = None


class Readiness(BaseModel):
    """Whether Sip can serve, and why not."""

    status: Literal["ready", "degraded", "unready"]
    checks: dict[str, Check]


@dataclass(slots=True)
class _Cached:
    at: float = 0.0
    check: Check | None = None


@dataclass(slots=True)
class ReadinessProbe:
    """Runs the checks, each cached for its own time, one at a time per dependency."""

    cached: dict[str, _Cached] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def run(self, sip: Sip) -> Readiness:
        """Check every dependency (from cache when fresh)."""
        async with self.lock:
            checks = {
                "database": await self._cached("database", CACHE_SECONDS, self._database, sip),
                "redis": await self._cached("redis", CACHE_SECONDS, self._redis, sip),
                "provider": await self._cached("provider", PROVIDER_CACHE_SECONDS,
                                               self._provider, sip),
            }
        if checks["database"].status == "fail" or checks["redis"].status == "fail":
            state: Literal["ready", "degraded", "unready"] = "unready"
        elif checks["provider"].status == "fail":
            state = "degraded"
        else:
            state = "ready"
        return Readiness(status=state, checks=checks)

    async def _cached(self, name: str, ttl: float, probe: Any, sip: Sip) -> Check:
        entry = self.cached.setdefault(name, _Cached())
        now = time.monotonic()
        if entry.check is None or now - entry.at > ttl:
            started = time.perf_counter()
            try:
                check: Check = await asyncio.wait_for(probe(sip), CHECK_TIMEOUT)
            except TimeoutError:
                check = Check(status="fail", detail="timeout")
            except Exception as error:
                check = Check(status="fail", detail=type(error).__name__)
            if check.status in ("ok", "fail"):
                check.ms = round((time.perf_counter() - started) * 1000, 1)
            if check.status == "fail":
                log.warning("ready.check_failed", extra={"check": name, "detail": check.detail})
            entry.at, entry.check = now, check
        assert entry.check is not None
        return entry.check

    @staticmethod
    async def _database(sip: Sip) -> Check:
        async with sip.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return Check(status="ok")

    @staticmethod
    async def _redis(sip: Sip) -> Check:
        url = sip.settings.sip_redis_url
        if not url:
            return Check(status="skipped", detail="SIP_REDIS_URL not set")
        from redis.asyncio import Redis

        client = Redis.from_url(url, socket_timeout=CHECK_TIMEOUT,
                                socket_connect_timeout=CHECK_TIMEOUT)
        try:
            await client.ping()
        finally:
            await client.aclose()
        return Check(status="ok")

    @staticmethod
    async def _provider(sip: Sip) -> Check:
        if sip.client is None:
            return Check(status="offline", detail="no GROQ_API_KEY: the offline brain answers")
        await sip.client.models()
        return Check(status="ok")


router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, summary="Readiness: database, Redis, provider",
            responses={503: {"model": Readiness, "description": "a dependency is down"}})
async def readyz(request: Request, sip: Annotated[Sip, Depends(current_sip)]) -> JSONResponse:
    """Whether Sip can serve: 200 when ready or degraded, 503 when the database or Redis fail."""
    probe: ReadinessProbe = request.app.state.readiness
    readiness = await probe.run(sip)
    return JSONResponse(readiness.model_dump(exclude_none=True),
                        status_code=503 if readiness.status == "unready" else 200)


@router.get("/metrics", summary="Prometheus metrics", dependencies=[Depends(admin_caller)],
            responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}},
                       **error_responses(401, 403)})
async def prometheus_metrics() -> Response:
    """Every `sip_*` metric in Prometheus' text exposition format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


__all__ = ["Check", "Readiness", "ReadinessProbe", "router"]
