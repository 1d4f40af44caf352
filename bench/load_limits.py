"""Load test of Sip's rate limits: 200 customers against an emulator at Groq's free tier.

    python -m bench.load_limits                    # one Sip, in this process
    python -m bench.load_limits --workers 2        # two `sip serve` sharing Redis + PostgreSQL
    python -m bench.load_limits --json out.json    # also write the figures as JSON
    python -m bench.load_limits --users 20 --minutes 30 --fallback \
        --fault 503:model=openai/gpt-oss-120b,times=inf --expect fallback
    python -m bench.load_limits --users 20 --minutes 30 --fallback --fault outage \
        --expect offline

The Groq emulator runs in its own process at 30 RPM / 8K TPM (no daily limits: the run
spans many compressed hours) with its clock compressed `--time-scale` times, and Sip's
limiter runs on the same compressed minute (`SIP_LIMITS_TIME_SCALE`). 200 customers write
in a closed loop (each sends its next message as soon as it has an answer), and `--noisy`
of them keep `--sessions` messages in flight at once, so demand is far above the budget
for the whole run. Half the turns are streamed.

With `--workers N` the customers talk HTTP (`POST /api/chat`) to N `sip serve` processes,
started together and configured only through the environment, with their limiter,
breakers and per-user limits in one Redis (`SIP_REDIS_URL`) and their conversations in one
fresh PostgreSQL database (`SIP_DATABASE_URL`, migrated by whichever worker comes first); a
customer's messages are spread over the workers as a load balancer would.

Figures, checked against the issue's acceptance:

- 429s reaching customers (an answer that is not the model's, or an HTTP error): must be 0;
  429s on the wire (the emulator's count) are shown too;
- token budget used: tokens the emulator admitted per whole compressed minute of the load
  over its TPM, the first minute with admissions (the bucket starts full) left out: must
  be ≥ 90%;
- Jain's fairness index over the model answers each customer got: must be ≥ 0.9 (noisy
  customers count as one customer each, however many messages they keep in flight).

With `--fault SPEC` (the emulator's fault syntax) the run checks another acceptance point
instead: every answer comes by the `--expect`ed route (`fallback` when the primary fails
all along, `offline` — with the offer of a human — when every model does; the service
opens a ticket for a customer whose turns keep failing, so `escalation` counts there too).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import API_KEY, MODEL, EmulatorSettings, emulator, machine
from sipai.dev.faults import parse_fault_spec

QUESTIONS = (
    "WireGuard conecta pero no tengo internet, ¿qué hago?",
    "¿Cómo instalo Outline en Android?",
    "My VPN is very slow on mobile data",
    "¿Cómo renuevo mi plan?",
    "The handshake never completes on Windows",
    "¿Puedo usar la misma clave en dos dispositivos?",
    "Outline says the server is unreachable",
    "¿Por qué se desconecta la VPN cuando cambio de wifi a datos?",
)
FALLBACK = "openai/gpt-oss-20b"


@dataclass(frozen=True, slots=True)
class Config:
    """One run's shape."""

    users: int = 200
    noisy: int = 10
    sessions: int = 5
    minutes: float = 240.0
    time_scale: float = 240.0
    workers: int = 0
    rpm: int = 30
    tpm: int = 8000
    redis_url: str = "redis://127.0.0.1:6379/12"
    postgres_admin: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    seed: int = 7
    #: Scripted emulator faults (`503:model=…,times=inf`, `outage`), the models after the
    #: primary, and the route every answer must take.
    faults: tuple[str, ...] = ()
    fallback: bool = False
    expect: str = "primary"

    @property
    def real_seconds(self) -> float:
        """How long the load lasts in real time."""
        return self.minutes * 60.0 / self.time_scale


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One customer turn as the customer experienced it."""

    user: str
    route: str
    streamed: bool
    at: float
    error: str | None = None
    #: The answer offers a human (the offline brain always should).
    offer: bool = False


@dataclass(slots=True)
class Result:
    """The figures of one run."""

    config: dict[str, Any]
    turns: int
    routes: dict[str, int]
    model_answers: int
    not_model: dict[str, int]
    wire_429: int
    wire_status: dict[str, dict[str, int]]
    budget_use: float
    budget_use_min: float
    minutes_under_80: int
    minutes_measured: int
    tokens_per_minute_max: int
    requests_per_minute_max: int
    jain: float
    answers_per_user: dict[str, float]
    noisy_vs_quiet: float
    cancelled_at_stop: int
    wall_seconds: float
    #: Tokens the emulator admitted in each measured minute (JSON output only).
    tokens_per_minute: dict[int, int] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=machine)

    def passed(self) -> bool:
        """The issue's acceptance: no 429 to customers, ≥ 90% budget, fairness ≥ 0.9.

        A fault run (`expect` not "primary") passes when every answer took that route.
        """
        if self.config["expect"] != "primary":
            return not self.not_model and self.turns > 0
        return not self.not_model and self.budget_use >= 0.9 and self.jain >= 0.9


def jain(values: Sequence[float]) -> float:
    """Jain's fairness index: 1 when everyone got the same, 1/n when one got everything."""
    total = sum(values)
    squares = sum(v * v for v in values)
    return total * total / (len(values) * squares) if squares else 1.0


# -- the customers ----------------------------------------------------------------------

#: Sends one message; returns the reply's route, or its route and answer text.
Send = Callable[[str, str, bool], Awaitable[str | tuple[str, str]]]


@dataclass(frozen=True, slots=True)
class Load:
    """What the customers did, and when (monotonic seconds, comparable across processes)."""

    records: list[TurnRecord]
    cancelled: int
    started: float
    stopped: float


async def customers(config: Config, send: Send) -> Load:
    """Run the closed-loop customers for the configured time; return their turns."""
    rng = random.Random(config.seed)
    records: list[TurnRecord] = []
    started = time.monotonic()
    stop_at = started + config.real_seconds

    async def session(user: str, number: int) -> None:
        turn = 0
        while time.monotonic() < stop_at:
            turn += 1
            text = f"{rng.choice(QUESTIONS)} (mensaje {turn}, sesión {number})"
            streamed = rng.random() < 0.5
            try:
                outcome = await send(user, text, streamed)
                route, answer = (outcome, "") if isinstance(outcome, str) else outcome
                records.append(TurnRecord(user, route, streamed, time.monotonic(),
                                          offer="/human" in answer))
            except Exception as exc:  # an error a customer would have seen
                records.append(TurnRecord(user, "error", streamed, time.monotonic(),
                                          error=type(exc).__name__))

    tasks = []
    for index in range(config.users):
        user = f"user{index:03d}"
        count = config.sessions if index < config.noisy else 1
        tasks += [asyncio.create_task(session(user, n)) for n in range(count)]
    await asyncio.sleep(config.real_seconds)
    stopped = stop_at  # no new message after this; a late wake-up must not stretch it
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return Load(records, len(pending), started, stopped)


# -- Sip in this process --------------------------------------------------------------------

def sip_environment(config: Config, base_url: str, data_dir: Path) -> dict[str, str]:
    """Sip's settings for a run, as the environment variables an operator would set.

    The emulator is Groq, at the free tier's minute limits (its day limits are lifted: the
    run spans many compressed hours), and Sip's limiter runs on the emulator's compressed
    clock (`SIP_LIMITS_TIME_SCALE`). On two shared cores (emulator, workers and 200
    customers) a call can take 0.15 s to reach the emulator: that is the limiter's admission
    lag here (`SIP_LIMITS_LAG`; it must stay well under a compressed minute, or the
    lost-refill rule charges nearly every call twice). A call may wait in the fair queue as
    long as demand makes it (`GROQ_MAX_RETRY_WAIT` at its maximum, 600 s).

    Measured here are the shared budget and its fair queue, not the answer cache or the
    per-customer abuse limits (each customer writes far faster than a person would), so
    those are off; so is the per-key HTTP limit (all customers come through one key).
    """
    return {
        "GROQ_API_KEY": API_KEY, "GROQ_BASE_URL": base_url, "GROQ_MODEL": MODEL,
        "GROQ_FALLBACK_MODELS": FALLBACK if config.fallback else "",
        "GROQ_RPM": str(config.rpm), "GROQ_TPM": str(config.tpm),
        "GROQ_RPD": str(10**9), "GROQ_TPD": str(10**12), "GROQ_MAX_RETRY_WAIT": "600",
        "SIP_LIMITS_TIME_SCALE": str(config.time_scale), "SIP_LIMITS_LAG": "0.15",
        "SIP_DATA_DIR": str(data_dir), "SIP_CACHE_TTL": "0", "SIP_USER_RPM": str(10**6),
        "SIP_HTTP_KEY_RPM": "0", "SIP_LOG_LEVEL": "WARNING",
    }


async def run_in_process(config: Config, base_url: str) -> Load:
    """One Sip built by the composition root, called through the service functions."""
    from sipai.bootstrap import build_sip
    from sipai.config import load_settings
    from sipai.llm.types import TextDelta
    from sipai.support import service

    with tempfile.TemporaryDirectory(prefix="sip-load-") as data:
        environment = sip_environment(config, base_url, Path(data))
        settings = load_settings(_env_file=None, **{k.lower(): v for k, v in environment.items()})
        sip = await build_sip(settings)

        async def send(user: str, text: str, streamed: bool) -> tuple[str, str]:
            if not streamed:
                reply = await service.ask(sip.deps, user, text)
                return reply.route, reply.answer
            outcome = ("none", "")
            async for event in service.stream(sip.deps, user, text):
                if not isinstance(event, TextDelta):
                    outcome = (event.route, event.answer)
            return outcome

        try:
            return await customers(config, send)
        finally:
            await sip.aclose()


# -- Sip as HTTP workers sharing Redis and PostgreSQL ---------------------------------------

@contextlib.asynccontextmanager
async def postgres_database(admin_url: str) -> AsyncIterator[str]:
    """A throw-away PostgreSQL database for the workers' conversations."""
    import asyncpg

    name = f"sip_load_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        yield admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + \
            f"/{name}"
    finally:
        admin = await asyncpg.connect(admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def clear_redis(url: str) -> None:
    """Forget every `sip:*` key of the workers' Redis database (before and after a run)."""
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    keys = [key async for key in redis.scan_iter(match="sip:*", count=1000)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


#: What `sip serve` prints (on stderr) once its socket is bound.
BANNER = re.compile(r"Sip on (http://\S+?)/ ")
#: Settings from the bench's own environment that must not leak into the workers'.
FOREIGN = ("GROQ_", "SIP_", "TELEGRAM_")


@contextlib.contextmanager
def worker_processes(config: Config, base_url: str, database_url: str) -> Iterator[list[str]]:
    """Start `config.workers` `sip serve` processes sharing Redis and PostgreSQL; their URLs.

    Each is the real command an operator runs, configured only by environment variables,
    with its own data directory (the knowledge-base index) and its log in a file.
    """
    processes: list[subprocess.Popen[str]] = []
    logs = []
    with tempfile.TemporaryDirectory(prefix="sip-workers-") as scratch:
        try:
            urls = []
            for index in range(config.workers):
                data = Path(scratch) / f"w{index}"
                data.mkdir()
                environment = {key: value for key, value in os.environ.items()
                               if not key.startswith(FOREIGN)}
                environment.update(sip_environment(config, base_url, data),
                                   SIP_DATABASE_URL=database_url, SIP_REDIS_URL=config.redis_url,
                                   PYTHONUNBUFFERED="1")
                log = (data / "serve.log").open("w+")
                logs.append(log)
                processes.append(subprocess.Popen(
                    [str(Path(sys.executable).with_name("sip")), "serve", "--port", "0"],
                    stdout=subprocess.DEVNULL, stderr=log, text=True, cwd=data,
                    env=environment))
            for index, log in enumerate(logs):
                urls.append(_wait_until_ready(processes[index], log))
            yield urls
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
            for log in logs:
                log.close()


def _wait_until_ready(process: subprocess.Popen[str], log: Any, timeout: float = 60.0) -> str:
    """The worker's URL once its banner is out and `/readyz` answers 200."""
    deadline = time.monotonic() + timeout
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"sip serve exited with {process.returncode}: {log.read()[-800:]}")
        if url is None:
            log.seek(0)
            found = BANNER.search(log.read())
            url = found.group(1) if found else None
        if url is not None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    return url
        time.sleep(0.1)
    raise RuntimeError("sip serve did not become ready in time")


async def run_workers(config: Config, base_url: str) -> Load:
    """Customers over HTTP, spread over the workers message by message."""
    await clear_redis(config.redis_url)
    async with postgres_database(config.postgres_admin) as database:
        # The workers start together on an empty database: their migrations must not race.
        with worker_processes(config, base_url, database) as urls:
            limits = httpx.Limits(max_connections=2000, max_keepalive_connections=1000)
            async with httpx.AsyncClient(timeout=None, limits=limits) as http:
                turn_counter = iter(range(10**9))

                async def send(user: str, text: str, streamed: bool) -> tuple[str, str]:
                    url = urls[next(turn_counter) % len(urls)] + "/api/chat"
                    body = {"user_id": user, "message": text, "stream": streamed}
                    if not streamed:
                        response = await http.post(url, json=body)
                        response.raise_for_status()
                        reply = response.json()
                        return str(reply["route"]), str(reply["answer"])
                    return await _streamed_reply(http, url, body)

                outcome = await customers(config, send)
    await clear_redis(config.redis_url)
    return outcome


async def _streamed_reply(http: httpx.AsyncClient, url: str, body: dict[str, Any]
                          ) -> tuple[str, str]:
    event = ""
    async with http.stream("POST", url, json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "reply":
                reply = json.loads(line[6:])
                return str(reply["route"]), str(reply["answer"])
            elif line.startswith("data: ") and event == "error":
                return "error", ""
    return "none", ""


# -- the figures --------------------------------------------------------------------------

def analyse(config: Config, load: Load, origin: float, stats: dict[str, Any],
            wall: float) -> Result:
    """Turn the customers' records and the emulator's counters into the figures.

    `origin` is when the emulator's clock was reset (its minute 0 began); the minutes
    measured are the whole ones inside the load, the first left out (the bucket starts
    full, so it holds up to twice the budget).
    """
    records = load.records
    routes = Counter(r.route for r in records)
    # With every model down, the service hands a customer whose turns keep failing to a
    # person (route "escalation": a ticket is opened): the offer of a human, taken up.
    accepted = {"offline", "escalation"} if config.expect == "offline" else {config.expect}
    not_model = {route: n for route, n in routes.items() if route not in accepted}
    if config.expect == "offline":  # the offline brain must offer a human, every time
        without = sum(1 for r in records if r.route == "offline" and not r.offer)
        if without:
            not_model["offline without a human offer"] = without
    tokens = {int(w): n for w, n in stats["tokens_per_window"].get(MODEL, {}).items()}
    requests = {int(w): n for w, n in stats["admitted_per_window"].get(MODEL, {}).items()}

    def minute(at: float) -> int:
        return int((at - origin) * config.time_scale // 60)

    # From the minute after the first admission (the bucket starts full) to the stop.
    first = min((w for w in tokens if w >= minute(load.started)), default=minute(load.started))
    full = list(range(first + 1, minute(load.stopped)))
    use = [tokens.get(w, 0) / config.tpm for w in full]
    answers = Counter(r.user for r in records if r.route == "primary")
    per_user = [answers.get(f"user{i:03d}", 0) for i in range(config.users)]
    noisy = per_user[:config.noisy]
    quiet = per_user[config.noisy:]
    status = {model: {str(k): int(v) for k, v in entry["by_status"].items()}
              for model, entry in stats["by_model"].items()}
    low = sum(1 for w in full if tokens.get(w, 0) < 0.8 * config.tpm)
    return Result(
        config=asdict(config), turns=len(records), routes=dict(routes),
        model_answers=sum(per_user),
        not_model=not_model, wire_status=status, minutes_under_80=low,
        wire_429=sum(by.get("429", 0) for by in status.values()),
        budget_use=sum(use) / len(use) if use else 0.0, budget_use_min=min(use, default=0.0),
        minutes_measured=len(use),
        tokens_per_minute_max=max((tokens.get(w, 0) for w in full), default=0),
        requests_per_minute_max=max((requests.get(w, 0) for w in full), default=0),
        jain=jain(per_user),
        answers_per_user={"min": min(per_user), "mean": sum(per_user) / len(per_user),
                          "max": max(per_user)},
        noisy_vs_quiet=(sum(noisy) / len(noisy)) / (sum(quiet) / len(quiet))
        if noisy and quiet and sum(quiet) else 0.0,
        cancelled_at_stop=load.cancelled, wall_seconds=round(wall, 1),
        tokens_per_minute={w: tokens.get(w, 0) for w in full})


def report(result: Result) -> str:
    """The figures as the closing note pastes them."""
    c = result.config
    mode = f"{c['workers']} HTTP workers (Redis + PostgreSQL)" if c["workers"] else \
        "one Sip in process"
    if c["expect"] != "primary":
        return "\n".join([
            f"load_limits fault run: faults {list(c['faults'])}, fallback "
            f"{'on' if c['fallback'] else 'off'}, {c['users']} customers, {mode}, "
            f"{c['minutes']:g} compressed minutes",
            f"  turns answered: {result.turns}; routes: {dict(result.routes)}",
            f"  answers not by the {c['expect']} route: {sum(result.not_model.values())} "
            f"{result.not_model or ''}",
            f"  acceptance: {'PASS' if result.passed() else 'FAIL'}"])
    lines = [
        f"load_limits: {c['users']} customers ({c['noisy']} noisy × {c['sessions']} in flight), "
        f"{mode}; emulator {c['rpm']} RPM / {c['tpm']} TPM, time scale {c['time_scale']:g}, "
        f"{c['minutes']:g} compressed minutes ({result.wall_seconds:g} s wall)",
        f"  turns answered: {result.turns} ({result.model_answers} by the model); "
        f"in flight at stop (cancelled): {result.cancelled_at_stop}",
        f"  429s reaching customers: {sum(result.not_model.values())} "
        f"{result.not_model or ''} | 429s on the wire: {result.wire_429} "
        f"(emulator, per model: {result.wire_status})",
        f"  token budget used: {result.budget_use:.1%} mean, {result.budget_use_min:.1%} worst "
        f"over {result.minutes_measured} full minutes (max {result.tokens_per_minute_max} "
        f"tokens and {result.requests_per_minute_max} requests in a minute; "
        f"{result.minutes_under_80} minutes under 80%: a call is ~2K of the 8K tokens, so a "
        "minute holds 3, 4 or 5 of them)",
        f"  Jain's fairness over model answers per customer: {result.jain:.3f} "
        f"(answers per customer min/mean/max {result.answers_per_user['min']}/"
        f"{result.answers_per_user['mean']:.2f}/{result.answers_per_user['max']}; "
        f"noisy ÷ quiet {result.noisy_vs_quiet:.2f})",
        f"  acceptance: {'PASS' if result.passed() else 'FAIL'}",
    ]
    return "\n".join(lines)


async def run(config: Config) -> Result:
    """Start the emulator, run the customers, collect the figures."""
    settings = EmulatorSettings(ttft_ms=20.0, tps=0.0, rpm=config.rpm, tpm=config.tpm,
                                time_scale=config.time_scale)
    with emulator(settings) as groq:
        groq.reset()
        for spec in config.faults:
            groq.control("POST", "faults", parse_fault_spec(spec).to_json())
        origin = time.monotonic()
        if config.workers:
            load = await run_workers(config, groq.base_url)
        else:
            load = await run_in_process(config, groq.base_url)
        wall = time.monotonic() - origin
        stats = groq.stats()
    return analyse(config, load, origin, stats, wall)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: one run, its figures printed (and written as JSON with `--json`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = Config()
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--noisy", type=int, default=defaults.noisy)
    parser.add_argument("--sessions", type=int, default=defaults.sessions)
    parser.add_argument("--minutes", type=float, default=defaults.minutes)
    parser.add_argument("--time-scale", type=float, default=defaults.time_scale)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--redis", default=defaults.redis_url)
    parser.add_argument("--fault", action="append", default=[],
                        help="an emulator fault for the whole run, e.g. 503:model=M,times=inf")
    parser.add_argument("--fallback", action="store_true",
                        help=f"try {FALLBACK} after the primary")
    parser.add_argument("--expect", default="primary",
                        choices=["primary", "fallback", "offline"],
                        help="the route every answer must take")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    config = Config(users=args.users, noisy=args.noisy, sessions=args.sessions,
                    minutes=args.minutes, time_scale=args.time_scale, workers=args.workers,
                    redis_url=args.redis, faults=tuple(args.fault), fallback=args.fallback,
                    expect=args.expect)
    result = asyncio.run(run(config))
    print(report(result))
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(result), indent=2, default=str))
    return 0 if result.passed() else 1


if __name__ == "__main__":
    sys.exit(main())
