"""The console's data, CSV exports, `/metrics`, `/healthz` and `/readyz`."""

from __future__ import annotations

import csv
import io
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from sipai.observability import metrics
from sipai.web.exports import safe_cell

from .conftest import ADMIN_KEY, API_KEY, LiveServer, live_server, web_settings

QUESTION = "mi wireguard conecta pero no tengo internet"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A keyed server with a few turns, a ticket and two ratings already in it."""
    settings = web_settings(tmp_path_factory.mktemp("console"), sip_api_keys=API_KEY,
                            sip_admin_key=ADMIN_KEY)
    with live_server(settings) as server:
        api = httpx.Client(base_url=server.url, headers={"X-API-Key": API_KEY}, timeout=30)
        angry, happy = f"angry-{uuid.uuid4().hex[:6]}", f"happy-{uuid.uuid4().hex[:6]}"
        api.post("/api/chat", json={"user_id": angry, "message": QUESTION})
        api.post("/api/chat", json={"user_id": angry, "message": "sigue sin funcionar el DNS"})
        api.post(f"/api/users/{angry}/escalate", json={"reason": "requested"})
        api.post(f"/api/users/{angry}/feedback",
                 json={"rating": -1, "comment": "=cmd|' /C calc'!A0"})
        api.post("/api/chat",
                 json={"user_id": happy, "message": "how do I install WireGuard on iPhone?"})
        api.post(f"/api/users/{happy}/feedback", json={"rating": 1})
        yield server, {"angry": angry, "happy": happy}


def admin(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"X-Sip-Admin-Key": ADMIN_KEY}, timeout=30)


def test_tickets_with_summary_and_conversation(console: tuple[LiveServer, dict[str, str]]) -> None:
    server, users = console
    queue = admin(server).get("/api/admin/tickets").json()
    ticket = next(t for t in queue if t["user_id"] == users["angry"])
    assert ticket["status"] == "open" and ticket["channel"] == "api"
    assert "sigue sin funcionar el DNS" in ticket["summary"]

    detail = admin(server).get(f"/api/admin/tickets/{ticket['id']}").json()
    assert [m["role"] for m in detail["messages"]][:4] == ["user", "assistant", "user", "assistant"]
    assert detail["messages"][0]["text"] == QUESTION
    assert admin(server).get("/api/admin/tickets/999999").status_code == 404


def test_feedback_lists_ratings_with_the_rated_answer(
        console: tuple[LiveServer, dict[str, str]]) -> None:
    server, users = console
    items = admin(server).get("/api/admin/feedback").json()
    by_user = {i["user_id"]: i for i in items}
    assert by_user[users["angry"]]["rating"] == -1
    assert by_user[users["happy"]]["rating"] == 1
    assert by_user[users["happy"]]["answer"], "the start of the rated answer is shown"


def test_stats_feed_the_charts(console: tuple[LiveServer, dict[str, str]]) -> None:
    server, _ = console
    before = admin(server).get("/api/admin/stats?days=7").json()
    metrics.rate_limits_avoided.inc(5)  # as the resilience layer's limiter would
    data = admin(server).get("/api/admin/stats?days=7").json()

    today = datetime.now(UTC).date().isoformat()
    assert [d["day"] for d in data["daily"]][-1] == today and len(data["daily"]) == 7
    row = data["daily"][-1]
    assert row["turns"] >= 3 and row["conversations"] >= 2
    assert row["modes"].get("offline", 0) >= 3 and row["latency_p50_ms"] is not None
    assert data["summary"]["feedback_up"] >= 1 and data["summary"]["feedback_down"] >= 1
    assert data["summary"]["tickets"]["open"] >= 1
    assert data["live"]["rate_limits_avoided"] == before["live"]["rate_limits_avoided"] + 5
    assert sum(p["avoided"] for p in data["rate_limits"]) >= 5
    assert data["mode"] == "offline"
    assert admin(server).get("/api/admin/stats?days=0").status_code == 422


def test_csv_exports(console: tuple[LiveServer, dict[str, str]]) -> None:
    server, users = console
    daily = admin(server).get("/api/admin/export/daily.csv?days=3")
    assert daily.headers["content-type"].startswith("text/csv")
    assert "attachment" in daily.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(daily.text)))
    assert len(rows) == 3 and int(rows[-1]["mode_offline"]) >= 3

    tickets = list(csv.DictReader(io.StringIO(
        admin(server).get("/api/admin/export/tickets.csv").text)))
    assert any(r["user_id"] == users["angry"] for r in tickets)

    feedback = list(csv.DictReader(io.StringIO(
        admin(server).get("/api/admin/export/feedback.csv").text)))
    angry = next(r for r in feedback if r["user_id"] == users["angry"])
    assert angry["comment"].startswith("'="), "formulas are defused"
    assert angry["rating"] == "-1", "numbers stay numbers"
    assert admin(server).get("/api/admin/export/secrets.csv").status_code == 404


def test_safe_cell() -> None:
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("-3") == "-3" and safe_cell(-1) == "-1" and safe_cell(None) == ""
    assert safe_cell(0.00012) == "0.00012" and safe_cell("plain") == "plain"


def test_metrics_use_route_templates(console: tuple[LiveServer, dict[str, str]]) -> None:
    server, users = console
    text = admin(server).get("/metrics").text
    assert 'sip_http_requests_total{method="POST",route="/api/chat",status="200"}' in text
    assert 'route="/api/users/{user_id}/escalate"' in text
    assert users["angry"] not in text, "user ids never become label values"
    assert "sip_turns_total" in text and "sip_http_request_seconds_bucket" in text


def test_healthz_and_readyz_offline(console: tuple[LiveServer, dict[str, str]]) -> None:
    server, _ = console
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(server.url + "/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "skipped"
    assert body["checks"]["provider"]["status"] == "offline"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_readyz_fails_when_redis_is_down(tmp_path) -> None:
    settings = web_settings(tmp_path, sip_redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    with live_server(settings) as server:
        response = httpx.get(server.url + "/readyz", timeout=10)
    assert response.status_code == 503
    assert response.json()["status"] == "unready"
    assert response.json()["checks"]["redis"]["status"] == "fail"


@pytest.mark.redis
def test_readyz_with_redis(tmp_path) -> None:
    settings = web_settings(tmp_path, sip_redis_url="redis://127.0.0.1:6379/0")
    with live_server(settings) as server:
        body = httpx.get(server.url + "/readyz", timeout=10).json()
    assert body["checks"]["redis"]["status"] == "ok", body


def test_readyz_checks_the_provider(llm_server: LiveServer) -> None:
    body = httpx.get(llm_server.url + "/readyz", timeout=10).json()
    assert body["status"] == "ready" and body["checks"]["provider"]["status"] == "ok"
