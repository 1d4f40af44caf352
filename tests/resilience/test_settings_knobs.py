"""The limiter's clock, admission lag and Redis namespace come from settings."""

from __future__ import annotations

from redis.asyncio import Redis

from sipai.config import load_settings
from sipai.resilience.assembly import build_resilience
from sipai.resilience.budget import MemoryBudgetStore
from sipai.resilience.redis_budget import RedisBudgetStore


def test_time_scale_and_lag_reach_the_limiter(tmp_path) -> None:
    settings = load_settings(_env_file=None, sip_data_dir=tmp_path, sip_redis_url=None,
                             sip_limits_time_scale=240, sip_limits_lag=0.25, groq_tpm=8000)
    store = build_resilience(settings).limiter.store
    assert isinstance(store, MemoryBudgetStore)
    limits = store.limits_for("openai/gpt-oss-120b")
    assert (limits.time_scale, limits.lag, limits.tpm) == (240, 0.25, 8000)
    assert limits.minute == 0.25, "a compressed minute lasts 60 / 240 s"


def test_production_defaults(tmp_path) -> None:
    settings = load_settings(_env_file=None, sip_data_dir=tmp_path, sip_redis_url=None)
    limits = build_resilience(settings).limiter.store.limits_for("m")  # type: ignore[attr-defined]
    assert (limits.time_scale, limits.lag) == (1.0, 0.1)


async def test_redis_keys_live_under_the_configured_prefix(tmp_path, redis: Redis,
                                                           prefix: str) -> None:
    settings = load_settings(_env_file=None, sip_data_dir=tmp_path, sip_redis_prefix=prefix)
    resilience = build_resilience(settings, redis=redis)
    store = resilience.limiter.store
    assert isinstance(store, RedisBudgetStore) and store.prefix == prefix
    await resilience.users.check("ana")
    keys = [key.decode() async for key in redis.scan_iter(match=f"{prefix}:*")]
    assert f"{prefix}:user:ana" in keys
