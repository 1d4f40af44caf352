"""The blocking `OpenAI` and `Groq` clients against the emulator running in a thread."""

from __future__ import annotations

from typing import Any

import groq
import openai
import pytest

from sipai.dev import FakeGroqHandle

KEY = "gsk_conformance_sync_0123"
MODEL = "openai/gpt-oss-20b"
MESSAGES: Any = [{"role": "user", "content": "hola & <adiós>"}]
SDKS = ["openai", "groq"]


def _client(sdk: str, handle: FakeGroqHandle, key: str = KEY) -> Any:
    if sdk == "openai":
        return openai.OpenAI(base_url=handle.base_url, api_key=key, max_retries=0)
    return groq.Groq(base_url=handle.root_url, api_key=key, max_retries=0)


@pytest.mark.parametrize("sdk", SDKS)
def test_sync_models_completion_and_stream(sdk: str, sync_groq: FakeGroqHandle) -> None:
    with _client(sdk, sync_groq) as client:
        assert MODEL in [model.id for model in client.models.list().data]
        assert client.models.retrieve(MODEL).id == MODEL
        completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert completion.choices[0].message.content == "Echo: hola & <adiós>"
        option = {"stream_options": {"include_usage": True}}
        stream = client.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True,
            **(option if sdk == "openai" else {"extra_body": option}),
        )
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: hola & <adiós>"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert [e["status"] for e in sync_groq.requests()] == [200, 200, 200, 200]


@pytest.mark.parametrize("sdk", SDKS)
def test_sync_typed_exceptions(sdk: str, sync_groq: FakeGroqHandle) -> None:
    errors: Any = openai if sdk == "openai" else groq
    with _client(sdk, sync_groq, key="wrong") as bad, pytest.raises(errors.AuthenticationError):
        bad.models.list()
    with _client(sdk, sync_groq) as client:
        with pytest.raises(errors.NotFoundError):
            client.models.retrieve("gpt-oss-20b")
        sync_groq.add_fault("429", model=MODEL)
        with pytest.raises(errors.RateLimitError):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
        sync_groq.add_fault("error:after=1")
        with pytest.raises(errors.APIError, match="error while processing"):
            for _chunk in client.chat.completions.create(model=MODEL, messages=MESSAGES,
                                                         stream=True):
                pass
