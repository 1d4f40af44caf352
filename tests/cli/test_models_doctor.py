"""`sip models` and `sip doctor` through the real console script, in a subprocess, against
the Groq emulator: the acceptance checks of the foundation issue.

Each run gets a clean environment (no inherited GROQ_/SIP_ variables), a temporary
SIP_DATA_DIR and a temporary working directory (so no `.env` is read).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sipai.dev import FakeGroqConfig, FakeGroqHandle, run_fake_groq
from tests.conftest import CANARY_KEY

SIP = Path(sys.prefix) / "bin" / "sip"
GOOD_KEY = CANARY_KEY
WRONG_KEY = "gsk_wrong0key0that0the0server0refuses0Zz"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "cwd"
    work.mkdir()
    return work


async def sip(workdir: Path, *args: str, **env: str) -> Run:
    """Run `sip ARGS` with only the given variables (plus PATH/HOME) in its environment."""
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
               "COLUMNS": "200", "LANG": "C.UTF-8", "NO_COLOR": "1",
               "SIP_DATA_DIR": str(workdir.parent / "data"), **env}
    process = await asyncio.create_subprocess_exec(
        str(SIP), *args, cwd=workdir, env=environ,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


def groq_env(groq: FakeGroqHandle, key: str = GOOD_KEY, **more: str) -> dict[str, str]:
    return {"GROQ_API_KEY": key, "GROQ_BASE_URL": groq.base_url, **more}


def lines_of(run: Run, name: str) -> list[str]:
    return [line for line in run.stdout.splitlines() if line.lstrip("✓✗ ").startswith(name)]


@pytest.fixture
async def groq() -> Any:
    """The emulator with Groq's free-tier limits (so rate-limit headers are sent)."""
    async with run_fake_groq(FakeGroqConfig()) as handle:
        yield handle


async def test_models_json_lists_gpt_oss_120b(groq: FakeGroqHandle, workdir: Path) -> None:
    run = await sip(workdir, "models", "--json", **groq_env(groq))
    assert run.code == 0, run.stderr
    cards = json.loads(run.stdout)
    ids = [card["id"] for card in cards]
    assert "openai/gpt-oss-120b" in ids and "openai/gpt-oss-20b" in ids
    big = next(card for card in cards if card["id"] == "openai/gpt-oss-120b")
    assert big["context_window"] == 131_072 and big["max_completion_tokens"] == 65_536
    assert GOOD_KEY not in run.output
    assert groq.requests(path="/models")[-1]["status"] == 200


async def test_models_table(groq: FakeGroqHandle, workdir: Path) -> None:
    run = await sip(workdir, "models", **groq_env(groq))
    assert run.code == 0, run.stderr
    assert any(line.startswith("openai/gpt-oss-120b") and "131,072" in line
               for line in run.stdout.splitlines())


async def test_doctor_passes_every_check(groq: FakeGroqHandle, workdir: Path) -> None:
    run = await sip(workdir, "doctor", **groq_env(groq))
    assert run.code == 0, run.output
    assert "✗" not in run.stdout
    for name in ("key", "endpoint", "model openai/gpt-oss-120b", "model openai/gpt-oss-20b",
                 "limits", "latency"):
        assert [line.startswith("✓") for line in lines_of(run, name)] == [True], name
    assert GOOD_KEY not in run.output
    # The test completion really went out, with Groq's parameter names.
    body = groq.requests(path="/chat/completions")[-1]["body"]
    assert "max_completion_tokens" in body and "max_tokens" not in body


async def test_doctor_json(groq: FakeGroqHandle, workdir: Path) -> None:
    run = await sip(workdir, "doctor", "--json", **groq_env(groq))
    assert run.code == 0, run.output
    checks = json.loads(run.stdout)
    assert {c["name"] for c in checks} >= {"key", "endpoint", "limits", "latency"}
    assert all(c["ok"] for c in checks)
    limits = next(c for c in checks if c["name"] == "limits")
    assert "requests left today" in limits["detail"] and "/1000" in limits["detail"]
    assert "/8000 tokens left this minute" in limits["detail"]


async def test_doctor_with_a_wrong_key_fails_the_key_check(workdir: Path) -> None:
    async with run_fake_groq(FakeGroqConfig(api_key=GOOD_KEY)) as groq:
        run = await sip(workdir, "doctor", **groq_env(groq, key=WRONG_KEY))
        assert groq.requests()[-1]["status"] == 401
    assert run.code != 0
    key_lines = lines_of(run, "key")
    assert len(key_lines) == 1 and key_lines[0].startswith("✗")
    assert "rejected by the provider: Invalid API Key" in key_lines[0]
    assert "regenerate the key" in run.stdout
    assert "Traceback" not in run.output
    for secret in (WRONG_KEY, WRONG_KEY[4:], GOOD_KEY):
        assert secret not in run.output


async def test_models_with_a_wrong_key_is_one_readable_line(workdir: Path) -> None:
    async with run_fake_groq(FakeGroqConfig(api_key=GOOD_KEY)) as groq:
        run = await sip(workdir, "models", "--json", **groq_env(groq, key=WRONG_KEY))
    assert run.code != 0
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == ["error: Invalid API Key"]
    assert WRONG_KEY not in run.output


async def test_doctor_flags_a_decommissioned_model_and_suggests_its_replacement(
    groq: FakeGroqHandle, workdir: Path,
) -> None:
    run = await sip(workdir, "doctor", **groq_env(
        groq, GROQ_MODEL="llama-3.3-70b-versatile", GROQ_FALLBACK_MODELS="openai/gpt-oss-20b"))
    assert run.code != 0
    (line,) = lines_of(run, "model llama-3.3-70b-versatile")
    assert line.startswith("✗") and "decommissioned" in line
    assert "fix: set GROQ_MODEL=openai/gpt-oss-120b" in run.stdout
    assert [line.startswith("✓") for line in lines_of(run, "model openai/gpt-oss-20b")] == [True]
    assert GOOD_KEY not in run.output


async def test_doctor_without_a_key_says_how_to_set_one(workdir: Path) -> None:
    run = await sip(workdir, "doctor")
    assert run.code != 0
    assert "GROQ_API_KEY is not set" in run.stdout and "fix:" in run.stdout


async def test_doctor_with_a_malformed_key(groq: FakeGroqHandle, workdir: Path) -> None:
    run = await sip(workdir, "doctor", **groq_env(groq, key="sk-proj-abcdefghijklmnop"))
    assert run.code != 0
    (line,) = lines_of(run, "key")
    assert line.startswith("✗") and "does not look like a Groq key" in line
    assert "sk-proj-abcdefghijklmnop" not in run.output


async def test_doctor_with_an_unreachable_endpoint(workdir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = await sip(workdir, "doctor", GROQ_API_KEY=GOOD_KEY,
                    GROQ_BASE_URL=f"http://127.0.0.1:{port}/openai/v1")
    assert run.code != 0
    (line,) = lines_of(run, "endpoint")
    assert line.startswith("✗") and f"127.0.0.1:{port}" in line
    assert "fix: check GROQ_BASE_URL" in run.stdout
    assert GOOD_KEY not in run.output


async def test_doctor_reports_a_slow_provider_against_the_timeout(
    groq: FakeGroqHandle, workdir: Path,
) -> None:
    groq.configure(ttft_ms=900)
    run = await sip(workdir, "doctor", **groq_env(groq, GROQ_TIMEOUT="1"))
    (line,) = lines_of(run, "latency")
    assert line.startswith("✗") and "timeout 1 s" in line
    assert "raise GROQ_TIMEOUT" in run.stdout
    assert run.code != 0


async def test_bad_setting_is_one_line_on_stderr(workdir: Path) -> None:
    run = await sip(workdir, "models", GROQ_API_KEY=GOOD_KEY, GROQ_TEMPERATURE="3")
    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        "error: invalid setting GROQ_TEMPERATURE: Input should be less than or equal to 2"]


async def test_no_dotenv_outside_the_working_directory_is_read(
    groq: FakeGroqHandle, workdir: Path,
) -> None:
    """A `.env` in the working directory is read; the test's own cwd has none."""
    (workdir / ".env").write_text(f"GROQ_API_KEY={GOOD_KEY}\nGROQ_BASE_URL={groq.base_url}\n",
                                  encoding="utf-8")
    run = await sip(workdir, "models", "--json")
    assert run.code == 0, run.stderr
    assert "openai/gpt-oss-120b" in run.stdout


async def test_acceptance_with_the_emulator_from_the_cli(workdir: Path) -> None:
    """The issue's acceptance run: `sip dev fake-groq` in one process, `sip` in others."""
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)}
    server = await asyncio.create_subprocess_exec(
        str(SIP), "dev", "fake-groq", "--port", "0", "--api-key", GOOD_KEY, cwd=workdir,
        env=environ, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert server.stdout is not None
        line = (await asyncio.wait_for(server.stdout.readline(), timeout=30)).decode()
        assert line.startswith("fake-groq listening on http://127.0.0.1:"), line
        base_url = line.split(" on ", 1)[1].strip()
        assert base_url.endswith("/openai/v1")
        env = {"GROQ_API_KEY": GOOD_KEY, "GROQ_BASE_URL": base_url}

        listing = await sip(workdir, "models", "--json", **env)
        assert listing.code == 0, listing.stderr
        assert "openai/gpt-oss-120b" in [c["id"] for c in json.loads(listing.stdout)]

        good = await sip(workdir, "doctor", **env)
        assert good.code == 0, good.output
        assert "✗" not in good.stdout

        wrong = await sip(workdir, "doctor", **{**env, "GROQ_API_KEY": WRONG_KEY})
        assert wrong.code != 0
        assert lines_of(wrong, "key")[0].startswith("✗ key")
        assert "Invalid API Key" in wrong.stdout
        for run in (listing, good, wrong):
            assert GOOD_KEY not in run.output and WRONG_KEY not in run.output
    finally:
        if server.returncode is None:
            server.terminate()
        _, server_err = await asyncio.wait_for(server.communicate(), timeout=30)
    assert GOOD_KEY not in server_err.decode()


async def test_models_without_a_key_is_one_readable_line(workdir: Path) -> None:
    run = await sip(workdir, "models", "--json")
    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        "error: GROQ_API_KEY is not set (put GROQ_API_KEY=gsk_... in .env)"]
