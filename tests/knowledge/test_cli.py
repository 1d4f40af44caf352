"""`sip kb search|reindex|list`, driven through Typer's runner with real settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sipai.cli.kb import kb_app

from .conftest import ArticleWriter, article_text

PASSAGE_KEYS = {"article_id", "title", "section", "text", "score", "language", "url", "match",
                "grounding"}


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           write_article: ArticleWriter) -> CliRunner:
    operator = tmp_path / "kb"
    write_article(operator, "mikrotik.md", article_text(
        "mikrotik-es", "Configurar un router Mikrotik", "es", topic="mikrotik",
        body="## Pasos\n1. Abre Winbox.\n2. Importa el túnel.\n",
        extra="url: https://help.example.com/mikrotik\n"))
    monkeypatch.setenv("SIP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIP_KB_DIR", str(operator))
    monkeypatch.setattr("sipai.cli.main.configure_logging", lambda *a, **k: None)
    return CliRunner()


def test_search_json_shape(runner: CliRunner) -> None:
    result = runner.invoke(kb_app, ["search", "router mikrotik winbox", "-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"query", "language", "version", "results"}
    assert data["query"] == "router mikrotik winbox" and data["language"] in ("es", "en")
    assert isinstance(data["version"], str) and len(data["version"]) == 16
    assert 1 <= len(data["results"]) <= 2
    first = data["results"][0]
    assert set(first) == PASSAGE_KEYS
    assert first["article_id"] == "mikrotik-es" and first["section"] in ("", "Pasos")
    assert first["url"] == "https://help.example.com/mikrotik"
    assert first["grounding"] == "Intro.\nPasos:\n1. Abre Winbox.\n2. Importa el túnel."
    assert isinstance(first["score"], float) and 0 <= first["match"] <= 1


def test_search_text_output_and_language_option(runner: CliRunner) -> None:
    result = runner.invoke(kb_app, ["search", "mikrotik", "--language", "es"])
    assert result.exit_code == 0
    assert "Configurar un router Mikrotik" in result.stdout and "mikrotik-es" in result.stdout
    bad = runner.invoke(kb_app, ["search", "mikrotik", "--language", "fr"])
    assert bad.exit_code != 0
    none = runner.invoke(kb_app, ["search", "zzzqqq"])
    assert none.exit_code == 0 and "no matching article" in none.stdout


def test_reindex_reports_what_changed(runner: CliRunner, tmp_path: Path) -> None:
    first = json.loads(runner.invoke(kb_app, ["reindex", "--json"]).stdout)
    assert "operator:mikrotik.md" in first["added"] and first["skipped"] == []
    (tmp_path / "kb" / "broken.md").write_text("no front matter", encoding="utf-8")
    second = json.loads(runner.invoke(kb_app, ["reindex", "--json"]).stdout)
    assert second["added"] == ["operator:broken.md"] and second["changed"] == []
    assert second["unchanged"] == first["articles"]
    assert second["skipped"] == [{"file": "operator:broken.md",
                                  "reason": "file does not start with a '---' front matter block"}]
    assert second["version"] == first["version"]
    text = runner.invoke(kb_app, ["reindex"])
    assert text.exit_code == 0 and "skipped operator:broken.md" in text.stdout


def test_list_includes_operator_articles(runner: CliRunner) -> None:
    result = runner.invoke(kb_app, ["list", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    mine = next(row for row in rows if row["id"] == "mikrotik-es")
    assert mine["source"] == "operator:mikrotik.md" and mine["sections"] == 1
    only_es = json.loads(runner.invoke(kb_app, ["list", "--json", "-l", "es"]).stdout)
    assert {row["language"] for row in only_es} == {"es"}
