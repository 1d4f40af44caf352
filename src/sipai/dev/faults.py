"""Scripted faults: what the emulator does wrong, on purpose, and to which requests.

A :class:`Fault` names a kind, how many requests it hits (`times`; None means until
cleared), and optionally one model and one mode (`stream` True/False). Faults wait in one
queue in the order they were added; each request consumes the first that matches it, so
`[503 for openai/gpt-oss-120b]` fails the primary while the fallback model answers.

Kinds (aliases in brackets):

- ``rate_limit`` [429]: 429 `rate_limit_exceeded` with `retry-after: retry_after` (1 s).
- ``over_capacity`` [503]: 503 "… is currently over capacity", `retry-after` if set.
- ``flex_capacity`` [498]: 498 `capacity_exceeded` (flex tier).
- ``internal`` [500]: 500 `internal_server_error`.
- ``outage``: 503 over capacity for every request, `GET /models` included; from the CLI
  and the control API it lasts until cleared unless `times` is given (in Python use
  :meth:`Fault.outage` or `times=None`).
- ``timeout``: hold the request `seconds` (30) before answering; with `after_chunks` K a
  stream stalls after its K-th chunk instead.
- ``drop``: streams close the connection after `after_chunks` (2) chunks, no `[DONE]`;
  other responses send their headers and close without a body.
- ``malformed``: streams send an unparsable `data:` line after `after_chunks` chunks and go
  on; other responses send a truncated JSON body.
- ``stream_error``: streams send `data: {"error": {...}}` after `after_chunks` chunks and
  stop; other responses answer 500 with the same error.
- ``reasoning_only``: the reasoning eats the budget: content empty, finish_reason length.

CLI spec: ``KIND[:key=value,...]`` with keys times, model, stream, retry_after, seconds,
after (or after_chunks), message, e.g. ``429:times=2,retry_after=3``,
``503:model=openai/gpt-oss-120b``, ``drop:after=3,stream=true``, ``outage``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast, get_args

FaultKind = Literal[
    "rate_limit",
    "over_capacity",
    "flex_capacity",
    "internal",
    "outage",
    "timeout",
    "drop",
    "malformed",
    "stream_error",
    "reasoning_only",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
_ALIASES: dict[str, FaultKind] = {
    "429": "rate_limit",
    "503": "over_capacity",
    "498": "flex_capacity",
    "500": "internal",
    "flex": "flex_capacity",
    "error": "stream_error",
    "disconnect": "drop",
}
#: Faults answered with an error status before any generation.
STATUS_FAULTS: frozenset[str] = frozenset(
    {"rate_limit", "over_capacity", "flex_capacity", "internal", "outage"}
)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fault_kind(name: str) -> FaultKind:
    """Resolve a kind name or alias (`429`, `503`, `flex`, `error`…); ValueError if unknown."""
    if not isinstance(name, str):
        raise ValueError("fault kind must be a string")
    key = name.strip().lower().replace("-", "_")
    if key in _ALIASES:
        return _ALIASES[key]
    if key in FAULT_KINDS:
        return cast(FaultKind, key)
    raise ValueError(f"unknown fault kind {name!r}; expected one of {', '.join(FAULT_KINDS)}")


@dataclass(slots=True)
class Fault:
    """One scripted misbehaviour and the requests it targets."""

    kind: FaultKind
    times: int | None = 1
    model: str | None = None
    stream: bool | None = None
    retry_after: float | None = None
    seconds: float = 30.0
    after_chunks: int | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        self.kind = fault_kind(self.kind)
        if self.times is not None and (not _is_int(self.times) or self.times < 1):
            raise ValueError("times must be an integer of at least 1 (or null for unlimited)")
        if self.after_chunks is not None and (not _is_int(self.after_chunks)
                                              or self.after_chunks < 0):
            raise ValueError("after_chunks must be a non-negative integer")
        for name in ("seconds", "retry_after"):
            value = getattr(self, name)
            if value is not None and (not _is_number(value) or value < 0):
                raise ValueError(f"{name} must be a non-negative number")
        if self.stream not in (None, True, False):
            raise ValueError("stream must be true, false or null")
        for name in ("model", "message"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")

    def matches(self, model: str | None, stream: bool) -> bool:
        """Whether this fault targets a request for `model` in this mode."""
        if self.model is not None and self.model != model:
            return False
        return self.stream is None or self.stream == stream

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description (the control API's format)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """Build from the control API's JSON; ValueError on unknown keys or bad values."""
        known = {"kind", "times", "model", "stream", "retry_after", "seconds",
                 "after_chunks", "message"}
        data = dict(data)
        if "after" in data:
            data["after_chunks"] = data.pop("after")
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        if "kind" not in data:
            raise ValueError("a fault needs a kind")
        if "times" not in data and fault_kind(data["kind"]) == "outage":
            data["times"] = None
        return cls(**data)

    @classmethod
    def outage(cls, model: str | None = None) -> Fault:
        """An outage (503 for everything, or for one model) that lasts until cleared."""
        return cls("outage", times=None, model=model)


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def parse_fault_spec(spec: str) -> Fault:
    """Parse a CLI spec such as `429:times=2,retry_after=3,model=openai/gpt-oss-120b`."""
    kind, _, rest = spec.partition(":")
    fields: dict[str, Any] = {"kind": kind}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"expected key=value in fault spec, got {item!r}")
        key = key.strip()
        if key in ("times", "after", "after_chunks"):
            fields[key] = None if value in ("", "inf", "none") else int(value)
        elif key in ("retry_after", "seconds"):
            fields[key] = float(value)
        elif key == "stream":
            fields[key] = _parse_bool(value)
        else:
            fields[key] = value
    return Fault.from_json(fields)


class FaultBook:
    """The queue of pending faults and a tally of those injected."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self._queue: list[Fault] = list(faults or [])
        self.injected: Counter[str] = Counter()

    def add(self, fault: Fault) -> None:
        """Queue a fault behind the ones already waiting."""
        self._queue.append(fault)

    def clear(self) -> None:
        """Drop every pending fault."""
        self._queue.clear()

    def pending(self) -> list[Fault]:
        """The faults still waiting, in order."""
        return list(self._queue)

    def take(self, model: str | None, stream: bool, *, outage_only: bool = False) -> Fault | None:
        """Consume and return the first fault targeting this request, if any."""
        for index, fault in enumerate(self._queue):
            if outage_only and fault.kind != "outage":
                continue
            if not fault.matches(model, stream):
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times == 0:
                    del self._queue[index]
            self.injected[fault.kind] += 1
            return fault
        return None
