"""Two `sip serve` processes sharing Redis stay inside one Groq budget (the emulator referees).

The emulator allows 4 requests per minute, its minute compressed to 2 s; both workers are
told the same (`GROQ_RPM=4`, `SIP_LIMITS_TIME_SCALE=30`). Customers write to both workers
at once. With the limiter in Redis the emulator refuses nothing and every answer is the
model's; with each worker counting only its own calls, the same load meets Groq's 429s —
which is what makes the first result mean something.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sipai.dev.emulator import FakeGroqConfig
from sipai.dev.limits import RateLimits
from sipai.dev.server import FakeGroqHandle, run_fake_groq_in_thread
from tests.conftest import CANARY_KEY

from .conftest import REDIS_URL
from .test_serve import BANNER, SERVE, clean_env

RPM, SCALE = 4, 30.0
MESSAGES_PER_WORKER = 6


@pytest.fixture
def groq() -> Iterator[FakeGroqHandle]:
    config = FakeGroqConfig(limits=RateLimits(rpm=RPM, tpm=0, rpd=0, tpd=0), time_scale=SCALE)
    with run_fake_groq_in_thread(config) as handle:
        yield handle




@contextlib.contextmanager
def workers(tmp_path: Path, groq: FakeGroqHandle, **shared: str) -> Iterator[list[str]]:
    """Two `sip serve --port 0` processes configured only by the environment."""
    processes, urls = [], []
    try:
        for name in ("one", "two"):
            data = tmp_path / name
            data.mkdir()
            env = clean_env(data, GROQ_API_KEY=CANARY_KEY, GROQ_BASE_URL=groq.base_url,
                            GROQ_FALLBACK_MODELS="", GROQ_RPM=str(RPM),
                            SIP_LIMITS_TIME_SCALE=str(SCALE), SIP_CACHE_TTL="0", **shared)
            process = subprocess.Popen([*SERVE, "--port", "0"], cwd=data, env=env,
                                       stderr=subprocess.PIPE, text=True)
            processes.append(process)
            assert process.stderr is not None
            url = next((m.group(1) for line in process.stderr if (m := BANNER.search(line))), None)
            assert url, "the banner names the address"
            urls.append(url)
        for url in urls:
            for _ in range(300):  # the banner comes before the lifespan has built Sip
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                        break
        yield urls
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            assert process.stderr is not None
            rest = process.stderr.read()
            assert CANARY_KEY not in rest and "Traceback" not in rest


async def load(urls: list[str]) -> list[str]:
    """Every customer writes once to each worker, all at the same time; the reply routes."""
    async with httpx.AsyncClient(timeout=60) as http:
        async def turn(url: str, user: str) -> str:
            response = await http.post(url + "/api/chat", json={
                "user_id": user, "message": "wireguard conecta pero no tengo internet"})
            response.raise_for_status()
            return str(response.json()["route"])

        return await asyncio.gather(*(turn(url, f"customer-{n}")
                                      for n in range(MESSAGES_PER_WORKER) for url in urls))


def wire(groq: FakeGroqHandle) -> dict[str, int]:
    model = groq.stats()["by_model"].get("openai/gpt-oss-120b", {"by_status": {}})
    return {str(status): int(count) for status, count in model["by_status"].items()}


def test_two_workers_sharing_redis_keep_to_one_budget(tmp_path: Path, groq: FakeGroqHandle,
                                                      redis_prefix: str) -> None:
    with workers(tmp_path, groq, SIP_REDIS_URL=REDIS_URL, SIP_REDIS_PREFIX=redis_prefix) as urls:
        routes = asyncio.run(load(urls))

    assert routes == ["primary"] * (2 * MESSAGES_PER_WORKER), "every answer is the model's"
    assert wire(groq) == {"200": 2 * MESSAGES_PER_WORKER}, "the emulator refused nothing"


def test_without_redis_the_same_load_meets_429s(tmp_path: Path, groq: FakeGroqHandle) -> None:
    with workers(tmp_path, groq) as urls:
        asyncio.run(load(urls))

    # Each worker believes it has the whole budget: together they overspend it.
    assert wire(groq).get("429", 0) > 0


def test_serve_workers_share_one_port(tmp_path: Path, redis_prefix: str) -> None:
    env = clean_env(tmp_path, SIP_REDIS_URL=REDIS_URL, SIP_REDIS_PREFIX=redis_prefix)
    process = subprocess.Popen([*SERVE, "--port", "0", "--workers", "2"], cwd=tmp_path,
                               env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        banner = next(line for line in process.stderr if BANNER.search(line))
        url = BANNER.search(banner).group(1)  # type: ignore[union-attr]
        answered: set[str] = set()
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
        replies = [httpx.post(url + "/api/chat", timeout=30, json={
            "user_id": f"w{n}", "message": "wireguard no conecta"}) for n in range(6)]
        answered = {r.json()["sources"][0]["id"] for r in replies}
    finally:
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=60)
    assert "2 workers" in banner
    assert all(r.status_code == 200 for r in replies)
    assert answered == {"wg-handshake-fails-es"}
    assert status == 0, "the supervisor stops its workers and exits cleanly"


def test_several_workers_need_redis_and_the_webhook(tmp_path: Path) -> None:
    from sipai.cli.serve import workers_refusal

    from .conftest import web_settings

    result = subprocess.run([*SERVE, "--port", "0", "--workers", "2"], cwd=tmp_path,
                            env=clean_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --workers 2 needs SIP_REDIS_URL: the workers share Groq's budget, the "
        "breakers and the rate limits through Redis"]
    polling = web_settings(tmp_path, sip_redis_url=REDIS_URL, telegram_bot_token="1:abc")
    assert "TELEGRAM_WEBHOOK_URL" in (workers_refusal(3, polling) or "")
    assert workers_refusal(1, web_settings(tmp_path)) is None
