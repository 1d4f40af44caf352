"""The emulator's control API under `/_fake`, for tests that drive a running server.

- `GET /_fake/health` → `{"ok": true}`
- `POST /_fake/faults` with one fault object, a list of them, or
  `{"faults": [...], "replace": true}` (see :mod:`sipai.dev.faults` for the fields) →
  `{"pending": [...]}`; `GET` lists pending faults and counts injected; `DELETE` clears.
- `POST /_fake/reset` → no faults, full rate-limit buckets, empty log and counters.
- `GET /_fake/requests[?model=M&path=P]` → `{"data": [records], "count": n}`.
- `GET /_fake/stats` → counts per status and model, admitted requests and tokens per
  emulated minute window, faults injected, requests in flight.
- `POST /_fake/limits` `{"model"?: id, "rpm", "tpm", "rpd", "tpd"}` → new limits
  (0 = unlimited; omitted fields keep their value).
- `POST /_fake/config` `{"ttft_ms"?, "tps"?, "chunk_tokens"?}` → latency at runtime.

The control API needs no key: the emulator is a local test double.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sipai.dev.emulator import Emulator
from sipai.dev.faults import Fault


def _bad(message: str) -> Response:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, 400)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    return json.loads(raw)


def routes(emulator: Emulator) -> list[Route]:
    """Starlette routes of the control API bound to `emulator`."""

    def pending() -> dict[str, Any]:
        return {
            "pending": [fault.to_json() for fault in emulator.faults.pending()],
            "injected": dict(emulator.faults.injected),
        }

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def faults(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(pending())
        if request.method == "DELETE":
            emulator.clear_faults()
            return JSONResponse(pending())
        try:
            data = await _json_body(request)
            replace = False
            if isinstance(data, dict) and "faults" in data:
                replace = bool(data.get("replace", False))
                data = data["faults"]
            items = data if isinstance(data, list) else [data]
            if not all(isinstance(item, dict) for item in items):
                return _bad("faults must be JSON objects")
            parsed = [Fault.from_json(item) for item in items]
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        if replace:
            emulator.clear_faults()
        for fault in parsed:
            emulator.add_fault(fault)
        return JSONResponse(pending())

    async def reset(request: Request) -> Response:
        emulator.reset()
        return JSONResponse({"ok": True})

    async def requests_log(request: Request) -> Response:
        data = emulator.requests(request.query_params.get("model"),
                                 request.query_params.get("path"))
        return JSONResponse({"data": data, "count": len(data)})

    async def stats(request: Request) -> Response:
        return JSONResponse(emulator.stats())

    async def limits(request: Request) -> Response:
        try:
            data = await _json_body(request)
            if not isinstance(data, dict):
                return _bad("limits must be a JSON object")
            model = data.pop("model", None)
            current = emulator.limiter(model).limits if model else emulator.config.limits
            unknown = set(data) - {"rpm", "tpm", "rpd", "tpd"}
            if unknown:
                return _bad(f"unknown limit(s): {', '.join(sorted(unknown))}")
            if any(isinstance(v, bool) or not isinstance(v, int) or v < 0
                   for v in data.values()):
                return _bad("limits must be non-negative integers")
            new = dataclasses.replace(current, **data)
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        if model is None:
            emulator.config.limits = new
        emulator.set_limits(new, model)
        return JSONResponse({"model": model, **dataclasses.asdict(new)})

    async def configure(request: Request) -> Response:
        try:
            data = await _json_body(request)
            if not isinstance(data, dict):
                return _bad("config must be a JSON object")
            emulator.configure(data)
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        config = emulator.config
        return JSONResponse({"ttft_ms": config.ttft_ms, "tps": config.tps,
                             "chunk_tokens": config.chunk_tokens})

    return [
        Route("/_fake/health", health, methods=["GET"]),
        Route("/_fake/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_fake/reset", reset, methods=["POST"]),
        Route("/_fake/requests", requests_log, methods=["GET"]),
        Route("/_fake/stats", stats, methods=["GET"]),
        Route("/_fake/limits", limits, methods=["POST"]),
        Route("/_fake/config", configure, methods=["POST"]),
    ]
