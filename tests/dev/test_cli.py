"""`sip dev fake-groq` as a real process: flags, the ready line, faults, log file, exit."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from sipai.dev.server import bind_socket

RUN = [sys.executable, "-c", "from sipai.cli.dev import dev_app; dev_app()", "fake-groq"]
CHAT = {"model": "openai/gpt-oss-120b", "messages": [{"role": "user", "content": "hola"}]}


@contextmanager
def _serve(*flags: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen([*RUN, "--port", "0", *flags], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("fake-groq listening on http://127.0.0.1:"), line
        yield proc, line.split()[-1]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)


def test_cli_serves_with_limits_faults_latency_and_a_log_file(tmp_path: Path) -> None:
    log_file = tmp_path / "log.jsonl"
    flags = ("--rpm", "2", "--time-scale", "1", "--fault", "503:times=1", "--ttft-ms", "50",
             "--log-file", str(log_file), "--api-key", "gsk_cli")
    with _serve(*flags) as (proc, base_url), httpx.Client(
        base_url=base_url + "/", headers={"authorization": "Bearer gsk_cli"}, timeout=10
    ) as client:
        statuses = [client.post("chat/completions", json=CHAT).status_code for _ in range(4)]
        assert statuses == [503, 200, 200, 429]
        assert client.get("models", headers={"authorization": "Bearer gsk_other"}
                          ).status_code == 401
        reply = client.post("chat/completions", json={**CHAT, "model": "openai/gpt-oss-20b"})
        assert reply.json()["choices"][0]["message"]["content"] == "Echo: hola"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [line["status"] for line in lines] == [503, 200, 200, 429, 401, 200]
    assert "gsk_cli" not in log_file.read_text()


def test_cli_unlimited_and_per_model_limits() -> None:
    flags = ("--unlimited", "--model-limits", "openai/gpt-oss-20b=1,0,0,0")
    with _serve(*flags) as (_, base_url), httpx.Client(
        base_url=base_url + "/", headers={"authorization": "Bearer gsk_x"}, timeout=10
    ) as client:
        assert all(client.post("chat/completions", json=CHAT).status_code == 200
                   for _ in range(40))
        small = {**CHAT, "model": "openai/gpt-oss-20b"}
        assert [client.post("chat/completions", json=small).status_code
                for _ in range(2)] == [200, 429]


def test_cli_rejects_a_bad_fault_spec_in_one_line() -> None:
    done = subprocess.run([*RUN, "--port", "0", "--fault", "teapot"], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 2
    assert "unknown fault kind 'teapot'" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_reports_a_busy_port_without_traceback() -> None:
    sock = bind_socket("127.0.0.1", 0)
    sock.listen()
    try:
        port = str(sock.getsockname()[1])
        done = subprocess.run([*RUN, "--port", port], capture_output=True, text=True,
                              timeout=30)
    finally:
        sock.close()
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in done.stderr
