"""The HTTP edge limits come from settings, and several workers share them through Redis."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid

import httpx
import pytest
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from sipai.config import load_settings
from sipai.errors import ConfigError
from sipai.web import WebOptions
from sipai.web.ratelimit import (
    RedisRequestLimiter,
    SlidingWindowLimiter,
    Unlimited,
    edge_limiter,
)

from .conftest import API_KEY, REDIS_URL, live_server, web_settings


def visitor() -> str:
    return str(uuid.uuid4())


def models(url: str, key: str = API_KEY) -> int:
    return httpx.get(url + "/v1/models", headers={"X-API-Key": key}).status_code


def test_limits_come_from_settings(tmp_path) -> None:
    settings = web_settings(tmp_path, sip_api_keys=API_KEY, sip_http_key_rpm=3,
                            sip_http_client_rpm=2)
    with live_server(settings, options=WebOptions()) as server:
        api = [models(server.url) for _ in range(4)]
        web = [httpx.get(server.url + "/web/history",
                         headers={"X-Sip-Visitor": visitor()}).status_code for _ in range(3)]
    assert api == [200, 200, 200, 429]
    assert web == [200, 200, 429]


def test_zero_turns_a_limit_off(tmp_path) -> None:
    settings = web_settings(tmp_path, sip_api_keys=API_KEY, sip_http_key_rpm=0,
                            sip_http_client_rpm=0)
    with live_server(settings, options=WebOptions()) as server:
        api = [models(server.url) for _ in range(30)]
        web = [httpx.get(server.url + "/web/history",
                         headers={"X-Sip-Visitor": visitor()}).status_code for _ in range(70)]
    assert set(api) == {200} and set(web) == {200}


def test_two_workers_share_one_limit_through_redis(tmp_path, redis_prefix: str) -> None:
    def settings(name: str):  # type: ignore[no-untyped-def]
        return web_settings(tmp_path / name, sip_api_keys=API_KEY, sip_http_key_rpm=4,
                            sip_redis_url=REDIS_URL, sip_redis_prefix=redis_prefix)

    with live_server(settings("a"), options=WebOptions()) as one, \
            live_server(settings("b"), options=WebOptions()) as two:
        seen = [models(url) for url in (one.url, two.url) * 3]
        redis = Redis.from_url(REDIS_URL)
        stored = [key.decode() for key in redis.scan_iter(match=f"{redis_prefix}:http:*")]
        redis.close()

    # Each worker alone would allow 4 a minute; together they allow 4, not 8.
    assert seen == [200, 200, 200, 200, 429, 429]
    assert len(stored) == 1 and stored[0].startswith(f"{redis_prefix}:http:key:")
    assert API_KEY not in stored[0], "the key is stored as its fingerprint"


def test_edge_limiter_kinds() -> None:
    assert isinstance(edge_limiter(0, scope="key"), Unlimited)
    assert isinstance(edge_limiter(5, scope="key"), SlidingWindowLimiter)
    limiter = edge_limiter(5, scope="client", redis=AsyncRedis.from_url(REDIS_URL), prefix="p")
    assert isinstance(limiter, RedisRequestLimiter) and limiter.key == "p:http:client:"


async def test_a_redis_outage_lets_requests_through() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redis = AsyncRedis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5)
    limiter = RedisRequestLimiter(redis, 1, scope="key")
    try:
        assert [await limiter.check("caller") for _ in range(3)] == [0.0, 0.0, 0.0]
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(redis.aclose(), 1)


def test_bad_limit_settings_are_one_line_errors(tmp_path) -> None:
    for name, value in (("sip_http_key_rpm", -1), ("sip_limits_time_scale", 0),
                        ("sip_limits_lag", -0.5), ("sip_redis_prefix", "a b")):
        with pytest.raises(ConfigError) as caught:
            load_settings(_env_file=None, sip_data_dir=tmp_path, **{name: value})
        assert str(caught.value).startswith(f"invalid setting {name.upper()}:")
        assert "\n" not in str(caught.value)
