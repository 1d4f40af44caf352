"""The emulator's model catalogue: what `GET /models` lists and which ids are gone.

Ids are Groq's: `openai/gpt-oss-120b` (the bare alias `gpt-oss-120b` is unknown, as on Groq)
and `openai/gpt-oss-20b` are reasoning models; `qwen/qwen3-32b` and
`meta-llama/llama-4-scout-17b-16e-instruct` are plain chat models; `nomic-embed-text-v1_5`
serves `/embeddings` only. `llama-3.3-70b-versatile` and `llama-3.1-8b-instant` were
decommissioned and answer 400 `model_decommissioned` naming their replacement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ModelKind = Literal["chat", "embedding"]


@dataclass(frozen=True, slots=True)
class ModelCard:
    """One model as `GET /models` describes it, plus how the emulator treats it."""

    id: str
    owned_by: str
    created: int
    context_window: int
    max_completion_tokens: int
    kind: ModelKind = "chat"
    reasoning: bool = False
    #: Embedding width, for embedding models.
    dimensions: int = 0

    def to_json(self) -> dict[str, Any]:
        """The model object exactly as Groq serialises it."""
        return {
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.owned_by,
            "active": True,
            "context_window": self.context_window,
            "public_apps": None,
            "max_completion_tokens": self.max_completion_tokens,
        }

    @property
    def fingerprint(self) -> str:
        """A stable `system_fingerprint` for this model."""
        return "fp_" + format(sum(map(ord, self.id)) * 2_654_435_761 % 16**10, "010x")


DEFAULT_MODELS: tuple[ModelCard, ...] = (
    ModelCard("openai/gpt-oss-120b", "OpenAI", 1_754_408_224, 131_072, 65_536, reasoning=True),
    ModelCard("openai/gpt-oss-20b", "OpenAI", 1_754_407_957, 131_072, 65_536, reasoning=True),
    ModelCard("qwen/qwen3-32b", "Alibaba Cloud", 1_748_396_646, 131_072, 40_960),
    ModelCard(
        "meta-llama/llama-4-scout-17b-16e-instruct", "Meta", 1_743_874_824, 131_072, 8_192
    ),
    ModelCard(
        "nomic-embed-text-v1_5", "Nomic AI", 1_723_420_800, 8_192, 8_192,
        kind="embedding", dimensions=768,
    ),
)

#: Retired model id -> the model Groq suggests instead.
DECOMMISSIONED: dict[str, str] = {
    "llama-3.3-70b-versatile": "openai/gpt-oss-120b",
    "llama-3.1-8b-instant": "openai/gpt-oss-20b",
}


class ModelCatalog:
    """Lookup over the configured cards and the decommissioned ids."""

    def __init__(
        self,
        models: tuple[ModelCard, ...] = DEFAULT_MODELS,
        decommissioned: dict[str, str] | None = None,
    ) -> None:
        self.models = models
        self.decommissioned = dict(DECOMMISSIONED if decommissioned is None else decommissioned)
        self._by_id = {card.id: card for card in models}

    def get(self, model_id: str) -> ModelCard | None:
        """The card of an active model, or None."""
        return self._by_id.get(model_id)

    def replacement(self, model_id: str) -> str | None:
        """The suggested successor when `model_id` was decommissioned."""
        return self.decommissioned.get(model_id)

    @property
    def primary(self) -> ModelCard:
        """The first chat model: the one whose limits describe model-less responses."""
        return next((c for c in self.models if c.kind == "chat"), self.models[0])

    def listing(self) -> dict[str, Any]:
        """The body of `GET /models`."""
        return {"object": "list", "data": [card.to_json() for card in self.models]}
