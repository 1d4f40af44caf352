"""The bot token and the customers' words never reach a log line: in process, and `sip bot`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sipai.dev import FakeGroqHandle
from tests.telegram.harness import TelegramTestClient, telegram_client, telegram_emulator
from tests.telegram.sipbot import ADMIN_CHAT, bot_settings, is_final, raw_logs, sip_bot

pytestmark = pytest.mark.telegram
_FIXTURES = (telegram_client, telegram_emulator)

QUESTION = "Mi contraseña del panel es Tr0mp3ta y no entra"


async def test_no_log_line_holds_the_token_or_a_message(
    telegram_client: TelegramTestClient, groq_settings: Callable[..., Any]
) -> None:
    token = telegram_client.new_token()
    settings = bot_settings(groq_settings, telegram_client, token)
    async with raw_logs() as logs, sip_bot(telegram_client, settings) as bot:
        customer = telegram_client.customer(token, user_id=8101)
        operator = telegram_client.group_member(token, ADMIN_CHAT, user_id=8901)
        await telegram_client.fail_next(token, "getUpdates", status=502,
                                        description="Bad Gateway")  # the poller logs this
        await customer.send_text(QUESTION)
        await customer.wait_for_reply(is_final)
        await customer.send_command("/humano")
        await customer.wait_for_reply()
        post = await telegram_client.chat(token, ADMIN_CHAT).wait_for_reply()
        await operator.reply_to_bot(post, "Operador: tu clave es secreta")
        await customer.replies(count=2)
        await telegram_client.fail_next(token, "sendMessage", status=400,
                                        description=f"Bad Request: broken /bot{token}/x")
        await customer.send_command("/start")
        await customer.wait_for_reply()  # the friendly error message
    lines = logs.text()
    assert logs.records, "nothing was logged at all"
    assert token not in lines
    assert token.split(":")[1] not in lines
    sip_lines = "\n".join(line for line, record in zip(logs.lines, logs.records, strict=True)
                          if record.name.startswith("sipai"))
    assert "Tr0mp3ta" not in sip_lines and "clave es secreta" not in sip_lines
    events = {record.getMessage() for record in logs.records}
    assert {"tg.answered", "tg.ticket_posted", "tg.operator_reply",
            "tg.update_failed"} <= events
    assert len(bot.running.errors) == 1


async def test_sip_bot_command_answers_and_never_logs_the_token(
    telegram_client: TelegramTestClient, fake_groq: FakeGroqHandle, tmp_path: Path
) -> None:
    token = telegram_client.new_token()
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        "SIP_DATA_DIR": str(tmp_path / "data"), "SIP_LOG_LEVEL": "INFO",
        "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_BASE_URL": telegram_client.emulator.bot_api_url,
        "SIP_ADMIN_CHAT_ID": str(ADMIN_CHAT),
        "GROQ_API_KEY": "gsk_cli0test0key0never0logged", "GROQ_BASE_URL": fake_groq.base_url,
        "GROQ_RPM": "10000", "GROQ_TPM": "10000000",
    }
    # `sip bot`, whether or not the lead already imports sipai.cli.bot in sipai.cli.main.
    code = "import sipai.cli.bot; from sipai.cli.main import main; main()"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, "bot", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None and process.stdout is not None
    seen: list[str] = []
    try:
        while not any("Sip is answering as @" in line for line in seen):
            line = await asyncio.wait_for(process.stderr.readline(), timeout=60)
            assert line, f"sip bot exited early: {''.join(seen)}"
            seen.append(line.decode())
        customer = telegram_client.customer(token, user_id=8102)
        await customer.send_command("/start")
        assert (await customer.wait_for_reply()).text.startswith("¡Hola, Ana! Soy Sip")
        await customer.send_text(QUESTION)
        answer = await customer.wait_for_reply(is_final, timeout=30)
        assert answer.plain_text.startswith(f"Echo: {QUESTION}")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(process.stderr.read(), timeout=30)
        await asyncio.wait_for(process.wait(), timeout=30)
    output = "".join(seen) + rest.decode()
    assert process.returncode == 0, output
    assert token not in output and token.split(":")[1] not in output
    assert "gsk_cli0test0key0never0logged" not in output
    assert "Tr0mp3ta" not in output
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    answered = [e for e in events if e["event"] == "tg.answered"]
    assert len(answered) == 1 and answered[0]["user_id"] == "tg:8102"
    assert answered[0]["route"] == "primary" and answered[0]["parts"] == 1
    commands = await telegram_client.calls(token, "setMyCommands")
    assert {c.params.get("language_code") for c in commands} == {None, "en"}
