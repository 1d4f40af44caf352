"""Telegram end-to-end harness: the telegram-test-api emulator, a customer client, PTB helpers.

The emulator (``server.js``, the npm package ``telegram-test-api`` 4.2.x plus an adapter for
python-telegram-bot 22) runs once per test session on a free port of 127.0.0.1. Tests play the
customer through :class:`TelegramCustomer` and read what the bot sent to any chat through
:class:`ChatReader`; each test gives its bot a fresh token (:meth:`TelegramTestClient.new_token`),
so tests share the emulator without seeing each other's updates.

    async def test_start(telegram_client: TelegramTestClient) -> None:
        token = telegram_client.new_token()
        app = application_builder(telegram_client.emulator, token).build()
        app.add_handler(CommandHandler("start", on_start))
        async with running_bot(app):
            customer = telegram_client.customer(token, user_id=42)
            await customer.send_command("/start")
            reply = await customer.wait_for_reply(lambda m: "Hola" in m.plain_text)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from telegram.ext import Application, ApplicationBuilder, ContextTypes

EMULATOR_DIR = Path(__file__).resolve().parent
INSTALL_COMMAND = "npm ci --prefix tests/telegram --no-audit --no-fund"
BOT_USERNAME = "SipTestBot"
START_TIMEOUT = 60.0  # node cold start on a loaded 2-core machine takes seconds, not minutes
POLL_INTERVAL = 0.05

JSONDict = dict[str, Any]


class EmulatorUnavailableError(RuntimeError):
    """Node.js or the emulator's node_modules are missing, or the emulator did not start."""


class NoReplyError(AssertionError):
    """The bot did not send the expected message in time."""


# --- the emulator process ---------------------------------------------------------------------


@dataclass(frozen=True)
class TelegramEmulator:
    """Where a running emulator listens, and the URLs python-telegram-bot needs."""

    host: str
    port: int
    bot_username: str = BOT_USERNAME

    @property
    def url(self) -> str:
        """Root URL of the emulator (client and control routes)."""
        return f"http://{self.host}:{self.port}"

    @property
    def bot_api_url(self) -> str:
        """PTB's ``base_url``: the token is appended to it."""
        return f"{self.url}/bot"

    @property
    def bot_file_url(self) -> str:
        """PTB's ``base_file_url`` (the emulator serves no files)."""
        return f"{self.url}/file/bot"


def _check_installed() -> str:
    node = shutil.which("node")
    if node is None:
        raise EmulatorUnavailableError(
            f"node is not on PATH: install Node.js >= 18, then run `{INSTALL_COMMAND}`"
        )
    if not (EMULATOR_DIR / "node_modules" / "telegram-test-api" / "package.json").is_file():
        raise EmulatorUnavailableError(
            f"telegram-test-api is not installed in {EMULATOR_DIR}/node_modules: "
            f"run `{INSTALL_COMMAND}` from the project root"
        )
    return node


def _read_ready_line(
    process: subprocess.Popen[str], found: dict[str, int], ready: threading.Event
) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if isinstance(event, dict) and event.get("event") == "ready":
                found["port"] = int(event["port"])
                ready.set()
    ready.set()  # stdout closed: the process ended


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via HTTP_PROXY


def _healthy(url: str) -> bool:
    try:
        with _DIRECT.open(f"{url}/_sip/health", timeout=2) as response:
            return bool(json.load(response).get("ok"))
    except OSError:
        return False


@contextlib.contextmanager
def start_emulator(
    *, host: str = "127.0.0.1", bot_username: str = BOT_USERNAME, timeout: float = START_TIMEOUT
) -> Iterator[TelegramEmulator]:
    """Start ``node server.js`` on a free port, wait until it answers, and stop it on exit."""
    node = _check_installed()
    env = {**os.environ, "TG_EMU_BOT_USERNAME": bot_username}
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(
            [node, "server.js", "--host", host, "--port", "0", "--exit-on-stdin-close"],
            cwd=EMULATOR_DIR,
            env=env,
            stdin=subprocess.PIPE,  # closed when pytest dies: the emulator then exits too
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            emulator = _wait_until_ready(process, host, bot_username, timeout, stderr)
            yield emulator
        finally:
            _stop(process)


def _wait_until_ready(
    process: subprocess.Popen[str],
    host: str,
    bot_username: str,
    timeout: float,
    stderr: Any,
) -> TelegramEmulator:
    found: dict[str, int] = {}
    ready = threading.Event()
    threading.Thread(
        target=_read_ready_line,
        args=(process, found, ready),
        name="tg-emulator-stdout",
        daemon=True,
    ).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "port" in found:
            emulator = TelegramEmulator(host, found["port"], bot_username)
            if _healthy(emulator.url):
                return emulator
        if process.poll() is not None:
            break
        if ready.is_set():
            time.sleep(POLL_INTERVAL)  # port known, not answering yet: poll it
        else:
            ready.wait(POLL_INTERVAL)
    stderr.seek(0)
    tail = stderr.read()[-2000:]
    state = f"exited with {process.returncode}" if process.poll() is not None else "timed out"
    raise EmulatorUnavailableError(
        f"the Telegram emulator (node {EMULATOR_DIR / 'server.js'}) {state} before it was ready; "
        f"stderr:\n{tail}\nIf modules are missing run `{INSTALL_COMMAND}`."
    )


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


# --- what the bot sent ------------------------------------------------------------------------


@dataclass(frozen=True)
class InlineButton:
    """One button of an inline keyboard."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class BotMessage:
    """A message the bot sent, in its current state (edits applied, deleted ones disappear).

    ``text`` and ``params`` are what the bot sent (raw HTML when ``parse_mode`` is HTML);
    ``plain_text`` is what a Telegram client displays; ``telegram`` is the Message object
    Telegram would embed in a callback query or a reply.
    """

    message_id: int
    chat_id: int
    text: str
    plain_text: str
    parse_mode: str | None
    reply_markup: JSONDict | None
    edit_count: int
    params: JSONDict
    telegram: JSONDict

    @classmethod
    def from_emulator(cls, item: JSONDict) -> BotMessage:
        """Build from one entry of the emulator's ``/_sip/chat`` answer."""
        sent: JSONDict = item["sent"]
        message: JSONDict = item["message"]
        markup = sent.get("reply_markup")
        return cls(
            message_id=int(message["message_id"]),
            chat_id=int(message["chat"]["id"]),
            text=str(sent.get("text", "")),
            plain_text=str(item["plain_text"]),
            parse_mode=sent.get("parse_mode"),
            reply_markup=markup if isinstance(markup, dict) else None,
            edit_count=int(item["edit_count"]),
            params=sent,
            telegram=message,
        )

    @property
    def reply_to_message_id(self) -> int | None:
        """The message this one replies to (``reply_parameters``), if any."""
        reply = self.params.get("reply_parameters")
        if isinstance(reply, dict) and "message_id" in reply:
            return int(reply["message_id"])
        legacy = self.params.get("reply_to_message_id")
        return int(legacy) if legacy is not None else None

    @property
    def buttons(self) -> list[InlineButton]:
        """The inline keyboard's buttons, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [
            InlineButton(b["text"], b.get("callback_data"), b.get("url"))
            for row in rows
            for b in row
        ]


@dataclass(frozen=True)
class SentUpdate:
    """Ids the emulator gave a customer's message or button press."""

    update_id: int
    message_id: int
    callback_query_id: str


@dataclass(frozen=True)
class BotCall:
    """One Bot API call the bot made, with its decoded parameters."""

    seq: int
    method: str
    params: JSONDict
    at: float


Predicate = Callable[[BotMessage], bool]


class ChatReader:
    """Reads what the bot sent to one chat (a customer's, a group, an admin chat)."""

    def __init__(self, client: TelegramTestClient, token: str, chat_id: int) -> None:
        self._client = client
        self.token = token
        self.chat_id = chat_id
        self._seen: set[int] = set()

    async def messages(self) -> list[BotMessage]:
        """Every bot message in this chat, oldest first, in its current state."""
        return await self._client.bot_messages(self.token, self.chat_id)

    async def replies(self, timeout: float = 15.0, *, count: int = 1) -> list[BotMessage]:
        """Wait for at least ``count`` unseen bot messages, then return (and see) them all."""
        deadline = time.monotonic() + timeout
        while True:
            unseen = [m for m in await self.messages() if m.message_id not in self._seen]
            if len(unseen) >= count:
                self._seen.update(m.message_id for m in unseen)
                return unseen
            if time.monotonic() >= deadline:
                raise NoReplyError(
                    f"chat {self.chat_id}: {len(unseen)} new bot message(s) after {timeout}s, "
                    f"expected {count}: {[m.text for m in unseen]!r}"
                )
            await asyncio.sleep(POLL_INTERVAL)

    async def wait_for_reply(
        self,
        predicate: Predicate | None = None,
        timeout: float = 15.0,
        *,
        include_seen: bool = False,
    ) -> BotMessage:
        """Wait for a bot message matching ``predicate`` (edits count), mark it seen, return it."""
        deadline = time.monotonic() + timeout
        while True:
            current = await self.messages()
            for message in current:
                if (include_seen or message.message_id not in self._seen) and (
                    predicate is None or predicate(message)
                ):
                    self._seen.add(message.message_id)
                    return message
            if time.monotonic() >= deadline:
                raise NoReplyError(
                    f"chat {self.chat_id}: no matching bot message after {timeout}s; "
                    f"messages: {[(m.message_id, m.text) for m in current]!r}"
                )
            await asyncio.sleep(POLL_INTERVAL)

    async def wait_for_edit(
        self, message_id: int, predicate: Predicate, timeout: float = 15.0
    ) -> BotMessage:
        """Wait until bot message ``message_id`` satisfies ``predicate`` (e.g. after edits)."""
        return await self.wait_for_reply(
            lambda m: m.message_id == message_id and predicate(m), timeout, include_seen=True
        )

    async def assert_silent(self, duration: float = 0.5) -> None:
        """Fail if the bot sends anything new to this chat within ``duration`` seconds."""
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            unseen = [m for m in await self.messages() if m.message_id not in self._seen]
            if unseen:
                raise AssertionError(
                    f"chat {self.chat_id}: unexpected {[m.text for m in unseen]!r}"
                )
            await asyncio.sleep(POLL_INTERVAL)


_user_ids = itertools.count(1001)


class TelegramCustomer(ChatReader):
    """A Telegram user writing to the bot in a private chat or a group, and reading its replies."""

    def __init__(
        self,
        client: TelegramTestClient,
        token: str,
        *,
        user_id: int,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Ana",
        last_name: str | None = None,
        username: str | None = "ana_vpn",
        language_code: str | None = "es",
        chat_title: str = "VPN group",
    ) -> None:
        super().__init__(client, token, user_id if chat_id is None else chat_id)
        self.user_id = user_id
        self.chat_type = chat_type
        self.user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            self.user["last_name"] = last_name
        if username:
            self.user["username"] = username
        if language_code:
            self.user["language_code"] = language_code
        if chat_type == "private":
            self.chat: JSONDict = {"id": self.chat_id, "type": "private", "first_name": first_name}
            if username:
                self.chat["username"] = username
        else:
            self.chat = {"id": self.chat_id, "type": chat_type, "title": chat_title}

    async def send_text(
        self,
        text: str,
        *,
        reply_to: BotMessage | JSONDict | None = None,
        entities: list[JSONDict] | None = None,
    ) -> SentUpdate:
        """Send a text message (optionally replying to a bot message) to the bot."""
        message: JSONDict = {
            "date": int(time.time()),
            "from": self.user,
            "chat": self.chat,
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = (
                reply_to.telegram if isinstance(reply_to, BotMessage) else reply_to
            )
        return await self._client.post_update("/sendMessage", {"botToken": self.token, **message})

    async def send_command(self, command: str, *, address_bot: bool = False) -> SentUpdate:
        """Send ``/command [args]``; ``address_bot`` writes ``/command@BotName`` as in groups."""
        name, _, rest = command.partition(" ")
        if address_bot:
            name = f"{name}@{self._client.emulator.bot_username}"
        text = f"{name} {rest}" if rest else name
        entity = {"type": "bot_command", "offset": 0, "length": len(_utf16(name))}
        return await self.send_text(text, entities=[entity])

    async def mention_bot(self, text: str) -> SentUpdate:
        """Send ``@BotName text`` with a mention entity, as a group member addressing the bot."""
        mention = f"@{self._client.emulator.bot_username}"
        entity = {"type": "mention", "offset": 0, "length": len(_utf16(mention))}
        return await self.send_text(f"{mention} {text}", entities=[entity])

    async def reply_to_bot(self, message: BotMessage, text: str) -> SentUpdate:
        """Reply to one of the bot's messages."""
        return await self.send_text(text, reply_to=message)

    async def press_button(self, callback_data: str, message: BotMessage) -> SentUpdate:
        """Press the inline button with ``callback_data`` under the bot's ``message``."""
        if callback_data not in {b.callback_data for b in message.buttons}:
            raise ValueError(
                f"message {message.message_id} has no button with callback_data "
                f"{callback_data!r}: {message.buttons!r}"
            )
        query = {
            "botToken": self.token,
            "from": self.user,
            "message": message.telegram,
            "chat_instance": f"ci{self.chat_id}",
            "data": callback_data,
        }
        return await self._client.post_update("/sendCallback", query)


def _utf16(text: str) -> bytes:
    # Telegram's entity offsets and lengths count UTF-16 code units.
    return text.encode("utf-16-le")[::2]


_bot_ids = itertools.count(700_000_001)


class TelegramTestClient:
    """Async client of one emulator: customers, chat readers, the bot's calls, fault injection."""

    def __init__(self, emulator: TelegramEmulator, *, timeout: float = 30.0) -> None:
        self.emulator = emulator
        self._http = httpx.AsyncClient(base_url=emulator.url, timeout=timeout, trust_env=False)

    async def __aenter__(self) -> TelegramTestClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    @staticmethod
    def new_token() -> str:
        """A fresh fake bot token (``<bot id>:ABC-…``); the emulator's getMe answers that id."""
        return f"{next(_bot_ids)}:ABC-{secrets.token_urlsafe(24)}"

    def customer(
        self, token: str, *, user_id: int | None = None, **options: Any
    ) -> TelegramCustomer:
        """A customer of the bot ``token``; see :class:`TelegramCustomer` for the options."""
        return TelegramCustomer(
            self, token, user_id=next(_user_ids) if user_id is None else user_id, **options
        )

    def group_member(
        self, token: str, chat_id: int, *, user_id: int | None = None, **options: Any
    ) -> TelegramCustomer:
        """A customer writing in group ``chat_id`` (negative, as Telegram's group ids)."""
        options.setdefault("chat_type", "group" if chat_id > -1_000_000_000_000 else "supergroup")
        return self.customer(token, user_id=user_id, chat_id=chat_id, **options)

    def chat(self, token: str, chat_id: int) -> ChatReader:
        """A reader of what the bot sent to ``chat_id`` (e.g. the operators' admin chat)."""
        return ChatReader(self, token, chat_id)

    async def bot_messages(self, token: str, chat_id: int | None = None) -> list[BotMessage]:
        """Every message bot ``token`` sent (to ``chat_id``, or to any chat), oldest first."""
        body: JSONDict = {"token": token}
        if chat_id is not None:
            body["chat_id"] = chat_id
        result = await self._control("/_sip/chat", body)
        return [BotMessage.from_emulator(item) for item in result]

    async def calls(self, token: str, method: str | None = None) -> list[BotCall]:
        """The Bot API calls bot ``token`` made (all, or only ``method``), in order."""
        result = await self._control("/_sip/calls", {"token": token, "method": method})
        return [BotCall(c["seq"], c["method"], c["params"], c["at"]) for c in result]

    async def accept_methods(self, token: str, *methods: str) -> None:
        """Make calls of ``methods`` (e.g. sendMessageDraft) succeed for this token only."""
        await self._control("/_sip/accept", {"token": token, "methods": list(methods)})

    async def fail_next(
        self,
        token: str,
        method: str,
        *,
        status: int = 500,
        description: str = "Internal Server Error",
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``status`` and ``description``."""
        body: JSONDict = {
            "token": token,
            "method": method,
            "status": status,
            "description": description,
            "times": times,
        }
        if retry_after is not None:
            body["retry_after"] = retry_after
        await self._control("/_sip/fail", body)

    async def bot_api(self, token: str, method: str, **params: Any) -> JSONDict:
        """Call the Bot API as the bot would (for checks such as getWebhookInfo)."""
        response = await self._http.post(f"/bot{token}/{method}", json=params)
        data: JSONDict = response.json()
        return data

    async def post_update(self, path: str, body: JSONDict) -> SentUpdate:
        """Send a customer update through the emulator's client route ``path``."""
        result = await self._control(path, body)
        return SentUpdate(
            int(result["update_id"]), int(result["message_id"]), str(result["callback_query_id"])
        )

    async def _control(self, path: str, body: JSONDict) -> Any:
        response = await self._http.post(path, json=body)
        data = response.json()
        if response.status_code != 200 or not data.get("ok"):
            raise RuntimeError(f"emulator {path} answered {response.status_code}: {data}")
        return data["result"]


# --- python-telegram-bot ------------------------------------------------------------------


def application_builder(emulator: TelegramEmulator, token: str) -> ApplicationBuilder:  # type: ignore[type-arg]
    """A PTB ApplicationBuilder pointed at the emulator, with concurrent updates."""
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(emulator.bot_api_url)
        .base_file_url(emulator.bot_file_url)
        .concurrent_updates(True)
    )


@dataclass
class RunningBot:
    """A started PTB application and the errors its handlers raised."""

    app: Application  # type: ignore[type-arg]
    errors: list[BaseException] = field(default_factory=list)


@contextlib.asynccontextmanager
async def running_bot(
    app: Application,  # type: ignore[type-arg]
    *,
    poll_timeout: float = 2.0,
    poll_interval: float = 0.0,
) -> AsyncIterator[RunningBot]:
    """Initialize, start and long-poll ``app`` against the emulator; stop it all on exit."""
    running = RunningBot(app)

    async def collect(_update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is not None:
            running.errors.append(context.error)

    app.add_error_handler(collect)
    await app.initialize()
    try:
        await app.start()
        try:
            assert app.updater is not None
            await app.updater.start_polling(
                poll_interval=poll_interval, timeout=int(poll_timeout), drop_pending_updates=False
            )
            try:
                yield running
            finally:
                await app.updater.stop()
        finally:
            await app.stop()
    finally:
        await app.shutdown()


# --- pytest fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def telegram_emulator() -> Iterator[TelegramEmulator]:
    """The emulator for the whole session (fails with the install command if it cannot start)."""
    problem = ""
    try:
        with start_emulator() as emulator:
            yield emulator
    except EmulatorUnavailableError as exc:
        problem = str(exc)
    if problem:  # outside the except block: one clear line, no chained traceback
        pytest.fail(problem, pytrace=False)


@pytest_asyncio.fixture
async def telegram_client(telegram_emulator: TelegramEmulator) -> AsyncIterator[TelegramTestClient]:
    """A client of the session's emulator for one test."""
    async with TelegramTestClient(telegram_emulator) as client:
        yield client


__all__ = [
    "BOT_USERNAME",
    "INSTALL_COMMAND",
    "BotCall",
    "BotMessage",
    "ChatReader",
    "EmulatorUnavailableError",
    "InlineButton",
    "NoReplyError",
    "RunningBot",
    "SentUpdate",
    "TelegramCustomer",
    "TelegramEmulator",
    "TelegramTestClient",
    "application_builder",
    "running_bot",
    "start_emulator",
    "telegram_client",
    "telegram_emulator",
]
