"""`sip serve` as a real process, and the plugin hook the Telegram webhook uses."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Request

from sipai.bootstrap import Sip
from sipai.cli.serve import load_plugins, refusal
from sipai.web import Plugin, current_sip

from .conftest import API_KEY, live_server, web_settings

# The console script's entry point, with `serve` registered even before main.py imports it.
SERVE = [sys.executable, "-c",
         "import sipai.cli.serve; from sipai.cli.main import main; main()", "serve"]
BANNER = re.compile(r"Sip on (http://127\.0\.0\.1:\d+)/")


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SIP_", "GROQ_", "TELEGRAM_"))}
    return {**env, "SIP_DATA_DIR": str(data_dir), "SIP_LOG_LEVEL": "WARNING", **extra}


def test_refuses_a_public_address_without_api_keys(tmp_path: Path) -> None:
    result = subprocess.run([*SERVE, "--host", "0.0.0.0", "--port", "0"], cwd=tmp_path,
                            env=clean_env(tmp_path), capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SIP_API_KEYS" in lines[0] and "Traceback" not in result.stderr
    assert refusal("0.0.0.0", web_settings(tmp_path, sip_api_keys=API_KEY)) is None
    assert refusal("127.0.0.1", web_settings(tmp_path)) is None
    assert refusal("::", web_settings(tmp_path)) is not None


@contextlib.contextmanager
def serve_process(tmp_path: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen([*SERVE, "--port", "0", *args], cwd=tmp_path,
                               env=clean_env(tmp_path), stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        url = None
        for line in process.stderr:
            if found := BANNER.search(line):
                url = found.group(1)
                break
        assert url, "the banner names the address"
        yield process, url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def test_serve_answers_from_the_offline_brain_and_stops_cleanly(tmp_path: Path) -> None:
    with serve_process(tmp_path) as (process, url):
        for _ in range(200):  # the banner comes before the lifespan has built Sip
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
        page = httpx.get(url + "/")
        reply = httpx.post(url + "/api/chat", timeout=30, json={
            "user_id": "serve-test", "message": "mi wireguard conecta pero no tengo internet"})
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130  # Ctrl-C's exit status, after a clean shutdown
        assert process.stderr is not None
        rest = process.stderr.read()

    assert page.status_code == 200 and "<title>Sip" in page.text
    assert reply.status_code == 200 and reply.json()["mode"] == "offline"
    assert reply.json()["sources"][0]["id"] == "wg-no-internet-es"
    assert (tmp_path / "sip.db").exists()
    assert "Traceback" not in rest


def test_busy_port_is_one_readable_line(tmp_path: Path) -> None:
    with serve_process(tmp_path) as (_, url):
        port = url.rsplit(":", 1)[1]
        result = subprocess.run([*SERVE, "--port", port], cwd=tmp_path, env=clean_env(tmp_path),
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot listen on 127.0.0.1:") and \
        "Traceback" not in result.stderr


# ---- the plugin hook -------------------------------------------------------------------

EVENTS: list[str] = []


def demo_plugin(settings: object) -> Plugin:
    """What the Telegram webhook does: its own route (own auth) and a lifespan."""
    router = APIRouter()

    @router.post("/telegram/webhook")
    async def webhook(request: Request,
                      sip: Annotated[Sip, Depends(current_sip)]) -> dict[str, object]:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != "s3cret":
            return {"ok": False}
        return {"ok": True, "language": sip.settings.sip_language}

    @contextlib.asynccontextmanager
    async def lifespan(sip: Sip) -> AsyncIterator[None]:
        EVENTS.append(f"start:{type(sip).__name__}")
        yield
        EVENTS.append("stop")

    return Plugin("demo", router=router, lifespan=lifespan)


def no_plugin(settings: object) -> None:
    """A channel that is not configured adds nothing."""
    return None


def test_plugins_mount_routes_outside_api_auth_and_share_the_lifespan(tmp_path: Path) -> None:
    plugins = load_plugins(web_settings(tmp_path), (
        f"{__name__}:demo_plugin", f"{__name__}:no_plugin", "sipai.not_a_module:web_plugin"))
    assert [p.name for p in plugins] == ["demo"]

    EVENTS.clear()
    with live_server(web_settings(tmp_path, sip_api_keys=API_KEY),
                     plugins=tuple(plugins)) as server:
        assert EVENTS == ["start:Sip"]
        hooked = httpx.post(server.url + "/telegram/webhook",
                            headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"})
        assert hooked.json() == {"ok": True, "language": "es"}
        assert httpx.get(server.url + "/api/users/x/history").status_code == 401
    assert EVENTS == ["start:Sip", "stop"]
