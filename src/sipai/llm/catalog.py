"""What Sip knows about Groq's models: limits, prices and retirements, in one table.

Prices are US dollars per million tokens (input, output) from BRIEF; the guide's table is
older. Operators override or add prices with `SIP_PRICES` (JSON), so the table is the only
place a price lives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sipai.llm.types import Usage


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Static facts about one model."""

    id: str
    context_window: int
    max_completion_tokens: int
    input_usd_per_m: float
    output_usd_per_m: float
    reasoning: bool = False
    decommissioned: bool = False
    replacement: str | None = None


MODELS: dict[str, ModelInfo] = {
    m.id: m
    for m in (
        ModelInfo("openai/gpt-oss-120b", 131_072, 65_536, 0.15, 0.60, reasoning=True),
        ModelInfo("openai/gpt-oss-20b", 131_072, 65_536, 0.075, 0.30, reasoning=True),
        ModelInfo("llama-3.3-70b-versatile", 131_072, 32_768, 0.59, 0.79,
                  decommissioned=True, replacement="openai/gpt-oss-120b"),
        ModelInfo("llama-3.1-8b-instant", 131_072, 131_072, 0.05, 0.08,
                  decommissioned=True, replacement="openai/gpt-oss-20b"),
    )
}

#: Used for a model the table does not know: a generous context, no price.
UNKNOWN = ModelInfo("unknown", 131_072, 65_536, 0.0, 0.0)


def model_info(model: str) -> ModelInfo:
    """Facts about `model`, or conservative defaults for an unknown one."""
    return MODELS.get(model, UNKNOWN)


def replacement_for(model: str) -> str | None:
    """The suggested successor of a decommissioned model."""
    info = MODELS.get(model)
    return info.replacement if info else None


class PriceTable:
    """Prices per model, overridable from settings; computes the cost of a call."""

    def __init__(self, overrides: Mapping[str, tuple[float, float]] | None = None) -> None:
        self._prices = {m.id: (m.input_usd_per_m, m.output_usd_per_m) for m in MODELS.values()}
        self._prices.update(overrides or {})

    def price(self, model: str) -> tuple[float, float]:
        """(input, output) dollars per million tokens; (0, 0) for an unknown model."""
        return self._prices.get(model, (0.0, 0.0))

    def cost(self, model: str, usage: Usage) -> float:
        """Dollars spent by `usage` on `model`."""
        input_price, output_price = self.price(model)
        return (usage.prompt_tokens * input_price + usage.completion_tokens * output_price) / 1e6
