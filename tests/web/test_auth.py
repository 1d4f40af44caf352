"""Who may call what: API keys, the admin key, the web chat's visitor scope, rate limits."""

from __future__ import annotations

import uuid

import httpx
import pytest

from sipai.web import WebOptions
from sipai.web.auth import AccessPolicy, fingerprint, is_loopback
from sipai.web.ratelimit import SlidingWindowLimiter

from .conftest import ADMIN_KEY, API_KEY, LiveServer, live_server, web_settings

QUESTION = "mi wireguard conecta pero no tengo internet"


def visitor() -> str:
    return str(uuid.uuid4())


@pytest.mark.parametrize("path", ["/api/users/u1/history", "/v1/models", "/openai/v1/models"])
def test_api_routes_need_a_key_when_keys_are_set(keyed_server: LiveServer, path: str) -> None:
    missing = httpx.get(keyed_server.url + path)
    wrong = httpx.get(keyed_server.url + path, headers={"Authorization": "Bearer nope"})
    bearer = httpx.get(keyed_server.url + path, headers={"Authorization": f"Bearer {API_KEY}"})
    header = httpx.get(keyed_server.url + path, headers={"X-API-Key": API_KEY})

    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["error"] == {"code": "invalid_api_key", "type": "authentication_error",
                                       "message": missing.json()["error"]["message"]}
    assert missing.headers["www-authenticate"] == "Bearer"
    assert bearer.status_code == header.status_code == 200


def test_admin_routes_need_the_admin_key(keyed_server: LiveServer) -> None:
    url = keyed_server.url + "/api/admin/session"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 401
    ok = httpx.get(url, headers={"X-Sip-Admin-Key": ADMIN_KEY})
    assert ok.status_code == 200 and ok.json() == {"ok": True, "local_mode": False}
    assert httpx.get(keyed_server.url + "/metrics").status_code == 401
    assert httpx.get(keyed_server.url + "/metrics",
                     headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code == 200


def test_local_mode_opens_api_and_console(offline_server: LiveServer) -> None:
    session = httpx.get(offline_server.url + "/api/admin/session")
    assert session.status_code == 200 and session.json()["local_mode"] is True
    assert httpx.get(offline_server.url + "/metrics").status_code == 200


def test_console_is_disabled_with_api_keys_but_no_admin_key(tmp_path) -> None:
    with live_server(web_settings(tmp_path, sip_api_keys=API_KEY)) as server:
        response = httpx.get(server.url + "/api/admin/tickets",
                             headers={"X-Sip-Admin-Key": "anything"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "admin_disabled"


def test_web_chat_needs_no_key_and_stays_in_the_visitors_conversation(
        keyed_server: LiveServer) -> None:
    me, other = visitor(), visitor()
    reply = httpx.post(keyed_server.url + "/web/chat", headers={"X-Sip-Visitor": me},
                       json={"message": QUESTION, "stream": False}, timeout=30)
    assert reply.status_code == 200

    mine = httpx.get(keyed_server.url + "/web/history", headers={"X-Sip-Visitor": me}).json()
    theirs = httpx.get(keyed_server.url + "/web/history",
                       headers={"X-Sip-Visitor": other}).json()
    assert len(mine["messages"]) == 2 and theirs["messages"] == []
    # A visitor is the customer "web:<id>", so it can rate only its own answers.
    stolen = httpx.post(keyed_server.url + "/web/feedback", headers={"X-Sip-Visitor": other},
                        json={"rating": -1, "message_id": reply.json()["message_id"]})
    assert stolen.status_code == 404
    # And the API sees the same conversation under the namespaced id.
    api = httpx.get(f"{keyed_server.url}/api/users/web:{me}/history",
                    headers={"X-API-Key": API_KEY}).json()
    assert api["conversation_id"] == mine["conversation_id"]


@pytest.mark.parametrize("bad", [None, "short", "has spaces in it....", "x" * 65])
def test_web_chat_rejects_bad_visitor_ids(offline_server: LiveServer, bad: str | None) -> None:
    headers = {} if bad is None else {"X-Sip-Visitor": bad}
    response = httpx.get(offline_server.url + "/web/history", headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_rate_limits_answer_429_with_retry_after(tmp_path) -> None:
    options = WebOptions(key_limiter=SlidingWindowLimiter(3),
                         client_limiter=SlidingWindowLimiter(2))
    with live_server(web_settings(tmp_path, sip_api_keys=f"{API_KEY},second-key-0123456789"),
                     options=options) as server:
        first = [httpx.get(server.url + "/v1/models", headers={"X-API-Key": API_KEY})
                 for _ in range(4)]
        other_key = httpx.get(server.url + "/v1/models",
                              headers={"X-API-Key": "second-key-0123456789"})
        web = [httpx.get(server.url + "/web/history", headers={"X-Sip-Visitor": visitor()})
               for _ in range(3)]

    assert [r.status_code for r in first] == [200, 200, 200, 429]
    assert first[-1].json()["error"]["code"] == "rate_limited"
    assert 1 <= int(first[-1].headers["retry-after"]) <= 60
    assert other_key.status_code == 200, "limits are per key"
    assert [r.status_code for r in web] == [200, 200, 429]


def test_access_policy_and_helpers() -> None:
    policy = AccessPolicy(api_keys=("k1-aaaaaaaa", "k2-bbbbbbbb"), admin_key="adm")
    assert policy.match_api_key("k2-bbbbbbbb") == fingerprint("k2-bbbbbbbb")
    assert policy.match_api_key("k2-bbbbbbbbX") is None and policy.match_api_key(None) is None
    assert policy.is_admin_key("adm") and not policy.is_admin_key("k1-aaaaaaaa")
    assert not policy.local_mode and AccessPolicy().local_mode
    assert fingerprint("secret").startswith("sha256:") and "secret" not in fingerprint("secret")
    for host in ("127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com", "10.0.0.1"):
        assert not is_loopback(host), host


async def test_sliding_window_limiter_waits_and_recovers() -> None:
    now = [100.0]
    limiter = SlidingWindowLimiter(2, window=10, clock=lambda: now[0])
    assert await limiter.check("a") == 0 and await limiter.check("a") == 0
    assert await limiter.check("a") == pytest.approx(10)
    assert await limiter.check("b") == 0
    now[0] += 10.01
    assert await limiter.check("a") == 0


async def test_sliding_window_limiter_memory_is_bounded() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(1, window=1, max_callers=10, clock=lambda: now[0])
    for n in range(100):
        now[0] += 0.001
        await limiter.check(f"ip-{n}")
    assert len(limiter._hits) <= 10
