"""Schemathesis over `/openapi.json` against the running server: no 5xx, and the schema holds.

Runs the `st` CLI (schemathesis 4) as a subprocess against a keyed offline server, with
every check except `positive_data_acceptance`: Sip answers 400 `input_rejected` to a
schema-valid message that is blank or control characters only (a documented business
rule, with a reason in the customer's language), which that check would count as a failure.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ADMIN_KEY, API_KEY, LiveServer, live_server, web_settings

ST = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = web_settings(tmp_path_factory.mktemp("schemathesis"), sip_api_keys=API_KEY,
                            sip_admin_key=ADMIN_KEY)
    with live_server(settings) as server:
        yield server


@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_errors(target: LiveServer, tmp_path: Path) -> None:
    command = [
        ST, "run", f"{target.url}/openapi.json",
        "--header", f"Authorization: Bearer {API_KEY}",
        "--header", f"X-Sip-Admin-Key: {ADMIN_KEY}",
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "--max-examples", "20", "--workers", "1", "--seed", "20261125",
        "--request-timeout", "30", "--wait-for-schema", "10",
        "--no-color",
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=880)
    report = result.stdout[-6000:] + result.stderr[-2000:]

    assert "Server error" not in report and "ST101" not in report, report
    assert result.returncode == 0, report
    assert "Operations:" in report and "0 selected" not in report
