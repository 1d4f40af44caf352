"""The four ways to answer a customer that part 1 compares, behind one small interface.

- :class:`RawSDK` — the official async OpenAI SDK straight at the emulator: the floor.
- :class:`SipPath` — Sip's full turn (`sipai.support.service.ask`/`stream`): store the
  message, retrieve knowledge, budget the context, route, rate-limit, call, store the answer.
- :class:`LiteLLMRouter` — LiteLLM's `Router` to the same emulator (an OpenAI-compatible
  deployment), the tool a user would most likely pick instead.
- :class:`GuideDesign` — the guide's `GroqClient` as written: a synchronous `Groq` client
  called inside `async def`, so each call blocks the event loop for its whole duration.

Each contender answers `turn(user, text, stream)` with `(ttft_s, total_s)`: seconds to the
first answer text (the whole answer when not streaming) and to the end of the answer.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from bench.common import API_KEY, GUIDE_SYSTEM, MODEL

#: Sip's limits set far above anything part 1 sends: the emulator is unlimited there.
UNLIMITED = 10**9
#: Request parameters shared by the non-Sip contenders (the guide's settings).
PARAMS: dict[str, Any] = {"temperature": 0.7, "max_tokens": 1000}


class Contender(Protocol):
    """One way to turn a customer message into an answer."""

    name: str

    async def start(self) -> None: ...
    async def turn(self, user: str, text: str, stream: bool) -> tuple[float, float]: ...
    async def close(self) -> None: ...


def guide_messages(text: str, context: list[dict[str, str]] | None = None
                   ) -> list[dict[str, str]]:
    """The guide's request: its system prompt, the context it was given, the message."""
    return [{"role": "system", "content": GUIDE_SYSTEM}, *(context or []),
            {"role": "user", "content": text}]


class RawSDK:
    """`openai.AsyncOpenAI` called directly: nothing but the SDK and the network."""

    name = "raw SDK"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._client: Any = None

    async def start(self) -> None:
        import openai

        self._client = openai.AsyncOpenAI(api_key=API_KEY, base_url=self.base_url)

    async def turn(self, user: str, text: str, stream: bool) -> tuple[float, float]:
        started = time.perf_counter()
        messages = guide_messages(text)
        if not stream:
            await self._client.chat.completions.create(model=MODEL, messages=messages,
                                                       **PARAMS)
            total = time.perf_counter() - started
            return total, total
        first = None
        response = await self._client.chat.completions.create(
            model=MODEL, messages=messages, stream=True, **PARAMS)
        async for chunk in response:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - started
        total = time.perf_counter() - started
        return (first if first is not None else total), total

    async def close(self) -> None:
        await self._client.close()


class SipPath:
    """Sip's full turn through the composition root, on its default SQLite storage."""

    name = "Sip"

    def __init__(self, base_url: str, *, data_dir: Path | None = None,
                 database_url: str | None = None, name: str | None = None) -> None:
        self.base_url = base_url
        self._own_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="sip-bench-"))
        self.database_url = database_url
        if name:
            self.name = name
        self.sip: Any = None

    async def start(self) -> None:
        from sipai.bootstrap import build_sip
        from sipai.config import load_settings

        settings = load_settings(
            _env_file=None, groq_api_key=API_KEY, groq_base_url=self.base_url,
            sip_data_dir=self.data_dir, sip_database_url=self.database_url,
            # The emulator is unlimited here, so Sip's own limits must not bind either;
            # the answer cache is off so that no turn is served without a model call.
            groq_rpm=UNLIMITED, groq_tpm=UNLIMITED, groq_rpd=UNLIMITED, groq_tpd=UNLIMITED,
            sip_user_rpm=UNLIMITED, sip_cache_ttl=0)
        self.sip = await build_sip(settings)

    async def turn(self, user: str, text: str, stream: bool) -> tuple[float, float]:
        from sipai.llm.types import TextDelta
        from sipai.support import service

        started = time.perf_counter()
        if not stream:
            reply = await service.ask(self.sip.deps, user, text)
            total = time.perf_counter() - started
            _check_route(reply.route)
            return total, total
        first = None
        async for event in service.stream(self.sip.deps, user, text):
            if first is None and isinstance(event, TextDelta) and event.text:
                first = time.perf_counter() - started
            elif not isinstance(event, TextDelta):
                _check_route(event.route)
        total = time.perf_counter() - started
        return (first if first is not None else total), total

    async def close(self) -> None:
        await self.sip.aclose()
        if self._own_dir:
            import shutil

            shutil.rmtree(self.data_dir, ignore_errors=True)


def _check_route(route: str) -> None:
    """A benchmark turn must come from the model; anything else would flatter Sip."""
    if route not in ("primary", "fallback"):
        raise RuntimeError(f"Sip answered from {route!r}, not from the model")


def quiet_litellm() -> Any:
    """Import LiteLLM offline: local price map, no telemetry, no debug banners."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_TELEMETRY", "False")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


def litellm_deployment(base_url: str, **limits: int) -> dict[str, Any]:
    """A Router deployment for the emulator, as an OpenAI-compatible endpoint."""
    return {"model_name": "gpt-oss-120b",
            "litellm_params": {"model": f"openai/{MODEL}", "api_base": base_url,
                               "api_key": API_KEY, **limits}}


class LiteLLMRouter:
    """LiteLLM's Router with one deployment: the emulator."""

    name = "LiteLLM Router"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._router: Any = None

    async def start(self) -> None:
        quiet_litellm()
        from litellm.router import Router

        self._router = Router(model_list=[litellm_deployment(self.base_url)])

    async def turn(self, user: str, text: str, stream: bool) -> tuple[float, float]:
        started = time.perf_counter()
        messages = guide_messages(text)
        if not stream:
            await self._router.acompletion(model="gpt-oss-120b", messages=messages, **PARAMS)
            total = time.perf_counter() - started
            return total, total
        first = None
        response = await self._router.acompletion(model="gpt-oss-120b", messages=messages,
                                                  stream=True, **PARAMS)
        async for chunk in response:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - started
        total = time.perf_counter() - started
        return (first if first is not None else total), total

    async def close(self) -> None:
        return None


class GuideGroqClient:
    """The guide's `GroqClient`, as written (with Groq's real model id instead of the alias)."""

    def __init__(self, root_url: str) -> None:
        from groq import Groq

        self.client = Groq(api_key=API_KEY, base_url=root_url)
        self.default_model = MODEL

    async def get_chat_response(self, messages: list[dict[str, str]], model: str | None = None,
                                temperature: float = 0.7, max_tokens: int = 1000) -> str:
        """The guide's call: a blocking SDK call inside `async def`."""
        chat_completion = self.client.chat.completions.create(
            messages=messages,  # type: ignore[arg-type]
            model=model or self.default_model, temperature=temperature,
            max_tokens=max_tokens)
        return chat_completion.choices[0].message.content or ""

    async def stream_response(self, messages: list[dict[str, str]], model: str | None = None
                              ) -> AsyncIterator[str]:
        """The guide's streaming: a blocking iterator inside an async generator."""
        stream: Any = self.client.chat.completions.create(
            messages=messages,  # type: ignore[arg-type]
            model=model or self.default_model, stream=True)
        for chunk in stream:
            if chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content


class GuideDesign:
    """The guide's service: one shared `GroqClient`, a fresh request per message."""

    name = "guide's design"
    #: Its calls block the event loop: the harness gives it a wall-time budget.
    blocks_loop = True

    def __init__(self, root_url: str) -> None:
        self.root_url = root_url
        self.client: GuideGroqClient | None = None

    async def start(self) -> None:
        self.client = GuideGroqClient(self.root_url)

    async def turn(self, user: str, text: str, stream: bool) -> tuple[float, float]:
        assert self.client is not None
        started = time.perf_counter()
        messages = guide_messages(text)
        if not stream:
            await self.client.get_chat_response(messages, model=MODEL, **PARAMS)
            total = time.perf_counter() - started
            return total, total
        first = None
        async for piece in self.client.stream_response(messages, model=MODEL):
            if first is None and piece:
                first = time.perf_counter() - started
        total = time.perf_counter() - started
        return (first if first is not None else total), total

    async def close(self) -> None:
        if self.client is not None:
            self.client.client.close()
