"""Sip's HTTP API against a running server: turns, history, new/end, escalate, feedback, forget."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from .conftest import LiveServer
from .sse_client import read_events

WIREGUARD_ES = "mi wireguard conecta pero no tengo internet"


def user() -> str:
    return f"api-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def client(offline_server: LiveServer) -> httpx.Client:
    with httpx.Client(base_url=offline_server.url, timeout=30) as c:
        yield c


def test_chat_returns_the_reply_object_from_the_offline_brain(client: httpx.Client) -> None:
    response = client.post("/api/chat", json={"user_id": user(), "message": WIREGUARD_ES})

    assert response.status_code == 200
    reply = response.json()
    assert reply["mode"] == "offline" and reply["route"] == "offline"
    assert "WireGuard" in reply["answer"]
    assert {"id": "wg-no-internet-es", "title": "WireGuard conecta pero no hay internet"} in \
        reply["sources"]
    assert set(reply) >= {"answer", "mode", "model", "sources", "usage", "cost_usd", "escalated",
                          "ticket_id", "conversation_id", "message_id"}
    assert reply["usage"] == {"prompt_tokens": 0, "completion_tokens": 0}


def test_chat_streams_sse_delta_then_reply(client: httpx.Client) -> None:
    with client.stream("POST", "/api/chat", json={"user_id": user(), "message": WIREGUARD_ES,
                                                  "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        events = read_events(response)

    names = [name for name, _ in events]
    assert names[-1] == "reply" and set(names[:-1]) == {"delta"}
    streamed = "".join(data["text"] for name, data in events if name == "delta")
    reply = events[-1][1]
    assert streamed == reply["answer"]
    assert reply["sources"][0]["id"] == "wg-no-internet-es"


def test_history_new_and_end_follow_the_conversation(client: httpx.Client) -> None:
    uid = user()
    first = client.post("/api/chat", json={"user_id": uid, "message": WIREGUARD_ES}).json()

    history = client.get(f"/api/users/{uid}/history").json()
    assert history["conversation_id"] == first["conversation_id"]
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"]
    assert history["messages"][0]["text"] == WIREGUARD_ES
    assert history["messages"][1]["id"] == first["message_id"]
    assert history["messages"][1]["sources"][0]["title"] == \
        "WireGuard conecta pero no hay internet"

    fresh = client.post(f"/api/users/{uid}/conversation")
    assert fresh.status_code == 201
    assert fresh.json()["conversation_id"] != first["conversation_id"]
    assert client.get(f"/api/users/{uid}/history").json()["messages"] == []

    assert client.delete(f"/api/users/{uid}/conversation").json() == {"ended": True}
    assert client.delete(f"/api/users/{uid}/conversation").json() == {"ended": False}


def test_escalate_opens_one_ticket(client: httpx.Client) -> None:
    uid = user()
    client.post("/api/chat", json={"user_id": uid, "message": WIREGUARD_ES})

    opened = client.post(f"/api/users/{uid}/escalate", json={"reason": "cliente enfadado"})
    again = client.post(f"/api/users/{uid}/escalate")

    assert opened.status_code == 200 and opened.json()["created"] is True
    assert opened.json()["status"] == "open"
    assert again.json() == {**opened.json(), "created": False}


def test_feedback_on_the_latest_and_on_a_named_answer(client: httpx.Client) -> None:
    uid = user()
    reply = client.post("/api/chat", json={"user_id": uid, "message": WIREGUARD_ES}).json()

    latest = client.post(f"/api/users/{uid}/feedback", json={"rating": 1})
    named = client.post(f"/api/users/{uid}/feedback",
                        json={"rating": -1, "message_id": reply["message_id"],
                              "comment": "no funcionó"})

    assert latest.status_code == 200 and latest.json()["message_id"] == reply["message_id"]
    assert named.json()["rating"] == -1
    other = client.post(f"/api/users/{user()}/feedback",
                        json={"rating": 1, "message_id": reply["message_id"]})
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    bad = client.post(f"/api/users/{uid}/feedback", json={"rating": 5})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


def test_forget_erases_the_customer(client: httpx.Client) -> None:
    uid = user()
    client.post("/api/chat", json={"user_id": uid, "message": WIREGUARD_ES})

    forgotten = client.delete(f"/api/users/{uid}")

    assert forgotten.status_code == 200
    assert sum(forgotten.json()["deleted"].values()) >= 3
    assert client.get(f"/api/users/{uid}/history").json() == {"conversation_id": None,
                                                              "messages": []}


@pytest.mark.parametrize(("message", "reason"), [("   ", "vacío"), ("x" * 4001, "4000")])
def test_bad_messages_are_rejected_in_the_customers_language(client: httpx.Client, message: str,
                                                             reason: str) -> None:
    for stream in (False, True):
        response = client.post("/api/chat", json={"user_id": user(), "message": message,
                                                  "stream": stream})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "input_rejected" and reason in error["message"]


def test_errors_are_json_with_a_stable_code(client: httpx.Client) -> None:
    unknown = client.get("/api/nope")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"

    method = client.put("/api/chat", json={})
    assert method.status_code == 405 and method.json()["error"]["code"] == "method_not_allowed"

    broken = client.post("/api/chat", content=b"{not json", headers={
        "content-type": "application/json"})
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "invalid_request"

    extra = client.post("/api/chat", json={"user_id": "a", "message": "hola", "oops": 1})
    assert extra.status_code == 422 and "oops" in extra.json()["error"]["message"]

    bad_user = client.get("/api/users/" + "x" * 200 + "/history")
    assert bad_user.status_code == 422


def test_request_size_is_limited(client: httpx.Client) -> None:
    big = json.dumps({"user_id": "u", "message": "a" * 300_000})
    declared = client.post("/api/chat", content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "request_too_large"

    def chunks():  # no Content-Length: the limit applies while the body is read
        for _ in range(40):
            yield b"a" * 10_000

    chunked = client.post("/api/chat", content=chunks(),
                          headers={"content-type": "application/json"})
    assert chunked.status_code == 413


def test_security_headers_and_no_cors_by_default(client: httpx.Client) -> None:
    page = client.get("/", headers={"Origin": "https://evil.example"})
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in page.headers
    preflight = client.options("/api/chat", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
