"""`sip kb …`: search, reindex and list the knowledge base.

    sip kb search "wireguard conecta pero no navega" -k 3 --json
    sip kb reindex
    sip kb list --language es

Every command opens the knowledge base the way Sip does (bundled articles plus
``SIP_KB_DIR``, index persisted in ``SIP_DATA_DIR``), which re-processes changed files.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from sipai.cli.main import print_json, run, settings_for_cli
from sipai.knowledge.base import KnowledgeBase, Passage, ReindexReport
from sipai.text.language import detect_language

__all__ = ["kb_app"]

kb_app = typer.Typer(help="The knowledge base: search, reindex, list.", no_args_is_help=True)
out = Console()

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]
LanguageOption = Annotated[str | None, typer.Option(
    "--language", "-l", help="es or en (default: detected from the query)")]


def _open() -> KnowledgeBase:
    settings = settings_for_cli()
    return run(KnowledgeBase.open(settings.sip_data_dir, settings.sip_kb_dir))


def passage_json(passage: Passage) -> dict[str, Any]:
    """A passage as the JSON object `sip kb search --json` prints."""
    return asdict(passage)


@kb_app.command()
def search(query: Annotated[str, typer.Argument(help="what the customer asked")],
           k: Annotated[int, typer.Option("-k", min=1, max=50, help="how many passages")] = 5,
           language: LanguageOption = None,
           as_json: JsonOption = False) -> None:
    """Show the passages Sip would use to answer QUERY."""
    if language is not None and language not in ("es", "en"):
        raise typer.BadParameter("must be es or en", param_hint="--language")
    kb = _open()
    passages = kb.search(query, k=k, language=language)
    if as_json:
        detected = language or detect_language(query)
        print_json({"query": query, "language": detected, "version": kb.version,
                    "results": [passage_json(p) for p in passages]})
        return
    if not passages:
        out.print("no matching article")
        return
    for rank, p in enumerate(passages, start=1):
        where = f" › {escape(p.section)}" if p.section else ""
        out.print(f"[bold]{rank}.[/bold] {escape(p.title)}{where}  "
                  f"[dim]{p.article_id} · {p.language} · score {p.score:.2f} · "
                  f"match {p.match:.0%}[/dim]", highlight=False)
        snippet = " ".join(p.text.split())
        if snippet:
            out.print(f"   {escape(snippet[:200])}{'…' if len(snippet) > 200 else ''}",
                      highlight=False)


@kb_app.command()
def reindex(as_json: JsonOption = False) -> None:
    """Re-read the article files and re-process those that changed."""
    kb = _open()
    report = kb.last_report
    assert report is not None  # open() always indexes
    if as_json:
        print_json(_report_json(report))
        return
    out.print(f"{report.articles} articles, version {report.version} "
              f"({report.seconds * 1000:.0f} ms)", highlight=False)
    out.print(f"added {len(report.added)}, changed {len(report.changed)}, "
              f"removed {len(report.removed)}, unchanged {report.unchanged}", highlight=False)
    for key, reason in report.skipped:
        out.print(f"[yellow]skipped[/yellow] {escape(key)}: {escape(reason)}", highlight=False)


def _report_json(report: ReindexReport) -> dict[str, Any]:
    data = asdict(report)
    data["skipped"] = [{"file": key, "reason": reason} for key, reason in report.skipped]
    data["seconds"] = round(report.seconds, 4)
    return data


@kb_app.command("list")
def list_articles(language: LanguageOption = None, as_json: JsonOption = False) -> None:
    """List the articles Sip knows (operator overrides applied)."""
    kb = _open()
    articles = [a for a in kb.articles() if language is None or a.language == language]
    if as_json:
        print_json([{"id": a.id, "topic": a.topic, "title": a.title, "language": a.language,
                     "tags": list(a.tags), "operator_editable": a.operator_editable,
                     "url": a.url, "source": a.source, "sections": len(a.sections)}
                    for a in articles])
        return
    for a in articles:
        out.print(f"{escape(a.id):<36} {a.language}  {escape(a.title)}  "
                  f"[dim]{escape(a.source)}[/dim]", highlight=False)
    out.print(f"{len(articles)} articles, version {kb.version}", highlight=False)
