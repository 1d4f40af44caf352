"""Issue 3's acceptance checks, driving the real `sip` CLI in fresh processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sipai.config import Settings
from sipai.dev import FakeGroqHandle, run_fake_groq_in_thread
from sipai.dev.emulator import FakeGroqConfig
from sipai.support import conversations
from sipai.support.service import ask
from tests.conftest import CANARY_KEY, captured_logs
from tests.support.conftest import SipFactory

PRIMARY = "openai/gpt-oss-120b"
SIP = [sys.executable, "-m", "sipai"]


@pytest.fixture
def groq_thread() -> Iterator[FakeGroqHandle]:
    """The emulator in a thread, so CLI subprocesses can reach it while tests block."""
    with run_fake_groq_in_thread(FakeGroqConfig.unlimited()) as handle:
        yield handle


def cli_env(tmp_path: Path, groq: FakeGroqHandle | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROQ_", "SIP_"))}
    env["SIP_DATA_DIR"] = str(tmp_path / "data")
    if groq is not None:
        env["GROQ_API_KEY"] = CANARY_KEY
        env["GROQ_BASE_URL"] = groq.base_url
    return env


def sip(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SIP, *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_a_new_process_remembers_the_user_and_only_that_user(
        tmp_path: Path, groq_thread: FakeGroqHandle) -> None:
    env = cli_env(tmp_path, groq_thread)
    first = sip(tmp_path, env, "ask", "--user", "ana", "me llamo Ana")
    second = sip(tmp_path, env, "ask", "--user", "ana", "¿cómo me llamo?")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    ana_request = groq_thread.last_request(PRIMARY)["body"]["messages"]
    other = sip(tmp_path, env, "ask", "--user", "luis", "¿cómo me llamo?", "--json")
    other_request = groq_thread.last_request(PRIMARY)["body"]["messages"]
    assert {"role": "user", "content": "me llamo Ana"} in ana_request
    assert json.loads(other.stdout)["mode"] == "llm"
    assert not any("Ana" in m["content"] for m in other_request)
    for run in (first, second, other):
        assert CANARY_KEY not in run.stdout + run.stderr


def test_asking_for_a_human_from_the_cli_opens_a_counted_ticket(tmp_path: Path) -> None:
    env = cli_env(tmp_path, None)
    done = sip(tmp_path, env, "ask", "--user", "bob", "quiero hablar con un humano", "--json")
    reply = json.loads(done.stdout)
    stats = json.loads(sip(tmp_path, env, "stats", "--json").stdout)
    assert reply["escalated"] is True and isinstance(reply["ticket_id"], int)
    assert stats["tickets"]["open"] == 1


def test_killing_the_process_mid_call_loses_no_user_message(tmp_path: Path) -> None:
    # The emulator holds the answer for 30 s; the CLI is killed while it waits.
    with run_fake_groq_in_thread(FakeGroqConfig.unlimited(ttft_ms=30_000)) as groq:
        env = cli_env(tmp_path, groq)
        process = subprocess.Popen([*SIP, "ask", "--user", "kai", "wireguard no conecta"],
                                   cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not groq.stats().get("in_flight") and not groq.requests():
            assert time.monotonic() < deadline and process.poll() is None, "no provider call"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    env.pop("GROQ_API_KEY")
    history = sip(tmp_path, env, "stats", "--json")
    stats = json.loads(history.stdout)
    assert stats["turns"] >= 1 or stats.get("unanswered", 0) >= 0
    import sqlite3

    with sqlite3.connect(tmp_path / "data" / "sip.db") as db:
        rows = db.execute("SELECT role, text, status FROM sip_messages").fetchall()
    assert rows == [("user", "wireguard no conecta", "pending")]


async def test_prompt_tokens_stay_flat_over_sixty_turns(
        groq_settings: Callable[..., Settings], sip_factory: SipFactory,
        fake_groq: FakeGroqHandle) -> None:
    prompt_tokens: list[int] = []
    # One customer writing 60 times in a row: lift the per-user anti-abuse limit.
    async with sip_factory(groq_settings(sip_user_rpm=1000)) as sip:
        for turn in range(1, 61):
            reply = await ask(sip.deps, "maria",
                              f"turno {turn}: sigo con problemas de wireguard en mi android, "
                              "el túnel conecta pero las páginas no cargan")
            assert reply.route == "primary", f"turn {turn} answered by {reply.route}"
            prompt_tokens.append(reply.usage.prompt_tokens)
            await sip.deps.background.drain()
        summaries = [r for r in fake_groq.requests("openai/gpt-oss-20b")]
    assert min(prompt_tokens) > 0
    ratio = prompt_tokens[59] / prompt_tokens[9]
    print(f"prompt tokens: turn 10 = {prompt_tokens[9]}, turn 60 = {prompt_tokens[59]}, "
          f"ratio = {ratio:.2f}, summaries written = {len(summaries)}")
    assert ratio <= 1.2
    assert summaries, "older turns were never summarised by the cheaper model"


async def test_no_log_line_carries_the_key_or_a_message_text(
        groq_settings: Callable[..., Settings], sip_factory: SipFactory,
        fake_groq: FakeGroqHandle) -> None:
    secret_text = "zebracanary-payment-question-47"
    fake_groq.add_fault("503:times=1", model=PRIMARY)
    async with sip_factory(groq_settings()) as sip:
        replies = [await ask(sip.deps, "olga", f"{secret_text} one"),
                   await ask(sip.deps, "olga", f"{secret_text} quiero hablar con un humano")]
        await conversations.feedback(sip.deps, "olga", -1, comment=f"{secret_text} bad")
    async with sip_factory(groq_settings(groq_api_key="gsk_wrong_key_but_well_formed0")) as sip:
        fake_groq.config.api_key = CANARY_KEY
        failed = await ask(sip.deps, "olga2", f"{secret_text} with a rejected key")
        fake_groq.config.api_key = None
    logs = captured_logs()
    assert "turn.answered" in logs and "ticket.opened" in logs
    assert CANARY_KEY not in logs and "gsk_wrong_key_but_well_formed0" not in logs
    assert secret_text not in logs
    for reply in [*replies, failed]:
        assert CANARY_KEY not in json.dumps(reply.to_dict())
    assert failed.mode == "offline"
