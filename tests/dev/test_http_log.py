"""The request log (memory, control API, JSON-lines file) and the counters."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from sipai.dev import FakeGroqConfig, FakeGroqHandle
from sipai.dev.recorder import key_fingerprint

from .conftest import KEY, serve

CHAT = "chat/completions"
PASSAGE = "Knowledge: WireGuard uses UDP port 51820 <b>&</b> needs AllowedIPs 0.0.0.0/0."


def _chat(model: str = "openai/gpt-oss-120b", **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "system", "content": PASSAGE},
                                         {"role": "user", "content": "sin internet"}], **extra}


async def test_log_keeps_full_bodies_statuses_and_key_fingerprints(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    await http.post(CHAT, json=_chat(temperature=0.7))
    await http.post(CHAT, json=_chat(model="llama-3.3-70b-versatile"))
    fake_groq.add_fault("503")
    await http.post(CHAT, json=_chat(stream=True))
    await http.get("models")
    entries = fake_groq.requests()
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    ok, retired, failed, models = entries
    assert ok["body"]["messages"][0]["content"] == PASSAGE
    assert ok["body"]["temperature"] == 0.7
    assert (ok["method"], ok["path"], ok["status"], ok["stream"]) == (
        "POST", "/openai/v1/chat/completions", 200, False)
    assert ok["key"] == key_fingerprint(KEY) and ok["key"].startswith("sha256:")
    assert (retired["status"], retired["error_code"]) == (400, "model_decommissioned")
    assert retired["model"] == "llama-3.3-70b-versatile"
    assert (failed["status"], failed["fault"], failed["stream"]) == (503, "over_capacity", True)
    assert (models["path"], models["body"], models["model"]) == ("/openai/v1/models", None, None)
    assert KEY not in json.dumps(entries)


async def test_control_api_serves_the_log_filtered(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    await http.post(CHAT, json=_chat())
    await http.post(CHAT, json=_chat(model="openai/gpt-oss-20b"))
    await http.post("embeddings", json={"model": "nomic-embed-text-v1_5", "input": "x"})
    everything = (await http.get(fake_groq.root_url + "/_fake/requests")).json()
    assert everything["count"] == 3
    only_20b = (await http.get(fake_groq.root_url + "/_fake/requests",
                               params={"model": "openai/gpt-oss-20b"})).json()
    assert [e["model"] for e in only_20b["data"]] == ["openai/gpt-oss-20b"]
    embeddings = fake_groq.requests(path="/embeddings")
    assert len(embeddings) == 1 and embeddings[0]["body"]["input"] == "x"
    assert fake_groq.last_request("openai/gpt-oss-120b")["body"]["messages"][1]["content"] == (
        "sin internet")


async def test_unauthenticated_requests_are_logged_without_key(
    fake_groq: FakeGroqHandle
) -> None:
    async with httpx.AsyncClient(base_url=fake_groq.base_url + "/") as client:
        await client.post(CHAT, json=_chat())
    entry = fake_groq.last_request()
    assert (entry["status"], entry["key"], entry["error_code"]) == (401, None, "invalid_api_key")


async def test_log_file_gets_one_json_line_per_request(tmp_path: Path) -> None:
    log_file = tmp_path / "requests.jsonl"
    async with serve(FakeGroqConfig(log_file=log_file)) as (_, client):
        for _ in range(3):
            await client.post(CHAT, json=_chat())
        await client.post(CHAT, json=_chat(model="gpt-oss-120b"))
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [line["status"] for line in lines] == [200, 200, 200, 404]
    assert lines[0]["body"]["messages"][0]["content"] == PASSAGE
    assert KEY not in log_file.read_text()


async def test_memory_log_is_bounded() -> None:
    async with serve(FakeGroqConfig(log_limit=5)) as (groq, client):
        for _ in range(8):
            await client.get("models")
        assert [e["seq"] for e in groq.requests()] == [4, 5, 6, 7, 8]
        assert groq.stats()["total"] == 8


async def test_stats_count_statuses_models_and_faults(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    fake_groq.add_fault("429")
    for _ in range(3):
        await http.post(CHAT, json=_chat())
    await http.post(CHAT, json=_chat(model="openai/gpt-oss-20b"))
    stats = (await http.get(fake_groq.root_url + "/_fake/stats")).json()
    assert stats["total"] == 4
    assert stats["by_status"] == {"429": 1, "200": 3}
    assert stats["by_model"]["openai/gpt-oss-120b"] == {"total": 3,
                                                         "by_status": {"429": 1, "200": 2}}
    assert stats["admitted_per_window"] == {"openai/gpt-oss-120b": {"0": 2},
                                            "openai/gpt-oss-20b": {"0": 1}}
    assert stats["faults_injected"] == {"rate_limit": 1}
    assert stats["in_flight"] == 0 and stats["max_in_flight"] >= 1
