"""No sync SDK client and no blocking HTTP or sleep anywhere in the package.

A grep over the package's code (comments and strings removed, so docstrings that say
"requests." do not count), plus an AST walk for blocking calls inside `async def`.
Exemptions must be listed here with a reason; today there are none: the emulator's
thread runner (`sipai.dev.server.run_fake_groq_in_thread`) blocks only on a
`threading.Event` and `Thread.join` in a synchronous context manager for tests, never
inside async code, and matches none of the patterns.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

import sipai

PACKAGE = Path(sipai.__file__).parent

#: Sync SDK clients and blocking HTTP/sleep, as they appear in code.
FORBIDDEN = {
    "sync OpenAI client": re.compile(r"(?<![\w.])(?:openai\.)?OpenAI\("),
    "sync Groq client": re.compile(r"(?<![\w.])(?:groq\.)?Groq\("),
    "requests library": re.compile(r"(?<![\w.])requests\.\w|\bimport requests\b"
                                   r"|\bfrom requests\b"),
    "sync httpx client": re.compile(r"\bhttpx\.Client\(|\bhttpx\.(?:get|post|put|patch|delete"
                                    r"|head|options|request|stream)\("),
    "time.sleep": re.compile(r"\btime\.sleep\(|\bfrom time import [^\n]*\bsleep\b"),
    "urllib.request": re.compile(r"\burllib\.request\b|\bfrom urllib import request\b"),
}

#: Calls that block the event loop when made inside `async def`.
BLOCKING_IN_ASYNC = {
    ("subprocess", "run"), ("subprocess", "call"), ("subprocess", "check_call"),
    ("subprocess", "check_output"), ("socket", "create_connection"), ("os", "system"),
    ("time", "sleep"),
}

#: "path relative to the package: reason" for any line that must stay. Keep it empty.
EXEMPT: dict[str, str] = {}


def code_only(source: str) -> str:
    """The source with comments and string literals blanked, line structure kept."""
    out: list[str] = []
    last_line, last_col = 1, 0
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        (start_line, start_col), (end_line, end_col) = tok.start, tok.end
        if start_line > last_line:
            out.append("\n" * (start_line - last_line))
            last_col = 0
        out.append(" " * max(0, start_col - last_col))
        if tok.type in (tokenize.COMMENT, tokenize.STRING) or \
                tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            text = "\n" * (end_line - start_line) + "S"
        else:
            text = tok.string
        out.append(text)
        last_line, last_col = end_line, end_col
    return "".join(out)


def violations(source: str) -> list[tuple[int, str]]:
    """(line, what) for every forbidden pattern and every blocking call in async code."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(code_only(source).splitlines(), start=1):
        found += [(number, name) for name, pattern in FORBIDDEN.items() if pattern.search(line)]
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and \
                    isinstance(inner.func.value, ast.Name) and \
                    (inner.func.value.id, inner.func.attr) in BLOCKING_IN_ASYNC:
                found.append((inner.lineno,
                              f"{inner.func.value.id}.{inner.func.attr} in async def"))
    return sorted(set(found))


def test_the_package_has_no_sync_clients_or_blocking_http() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    problems = []
    for path in files:
        relative = str(path.relative_to(PACKAGE))
        if relative in EXEMPT:
            continue
        for line, what in violations(path.read_text(encoding="utf-8")):
            problems.append(f"{relative}:{line}: {what}")
    assert problems == []


def test_the_thread_runner_is_not_async_code() -> None:
    """The one place that blocks a thread on purpose is a sync context manager."""
    tree = ast.parse((PACKAGE / "dev" / "server.py").read_text(encoding="utf-8"))
    runner = next(n for n in ast.walk(tree)
                  if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                  and n.name == "run_fake_groq_in_thread")
    assert isinstance(runner, ast.FunctionDef)


@pytest.mark.parametrize(("snippet", "what"), [
    ("from openai import OpenAI\nclient = OpenAI(api_key=k)\n", "sync OpenAI client"),
    ("import groq\nc = groq.Groq()\n", "sync Groq client"),
    ("import requests\n", "requests library"),
    ("r = requests.get(url)\n", "requests library"),
    ("with httpx.Client() as c:\n    pass\n", "sync httpx client"),
    ("httpx.post(url)\n", "sync httpx client"),
    ("import time\ntime.sleep(1)\n", "time.sleep"),
    ("from urllib.request import urlopen\n", "urllib.request"),
    ("async def f():\n    subprocess.run(['ls'])\n", "subprocess.run in async def"),
])
def test_the_checker_catches_each_pattern(snippet: str, what: str) -> None:
    assert what in [name for _, name in violations(snippet)]


@pytest.mark.parametrize("snippet", [
    "client = AsyncOpenAI(api_key=k)\n",
    "client = groq.AsyncGroq()\n",
    'doc = """faults: what happens to which requests. time.sleep( OpenAI("""\n',
    "# requests.get(url) would block\n",
    "async with httpx.AsyncClient() as c:\n    pass\n",
    "await asyncio.sleep(1)\n",
    "log = 'requests.jsonl'\n",
    "def f():\n    subprocess.run(['ls'])\n",
])
def test_the_checker_ignores_async_clients_strings_and_comments(snippet: str) -> None:
    assert violations(snippet) == []
