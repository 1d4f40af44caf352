"""The web chat and the console, driven in Debian's headless Chromium with Playwright.

The chat runs against Sip answering through the Groq emulator, slowed down so the answer
visibly streams; the console against a keyed server. Screenshots of both pages are kept
in artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from sipai.dev.emulator import FakeGroqConfig
from sipai.dev.server import run_fake_groq_in_thread

from .conftest import ADMIN_KEY, API_KEY, LiveServer, live_server, web_settings

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUESTION = "Mi WireGuard conecta pero no tengo internet [[len=900]]"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is missing: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def streaming_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Sip on the emulated model, slow enough (≈400 tokens/s) for the stream to be seen."""
    with run_fake_groq_in_thread(FakeGroqConfig(ttft_ms=150, tps=400)) as groq:
        settings = web_settings(tmp_path_factory.mktemp("browser-llm"), sip_admin_key=ADMIN_KEY,
                                sip_api_keys=API_KEY, groq_api_key="gsk_browser_0123456789",
                                groq_base_url=groq.base_url)
        with live_server(settings) as server:
            yield server


def new_page(browser: Browser, locale: str = "es-ES") -> Page:
    context = browser.new_context(locale=locale, viewport={"width": 1100, "height": 900})
    return context.new_page()


def test_web_chat_streams_shows_sources_takes_feedback_and_keeps_history(
        browser: Browser, streaming_server: LiveServer, screenshots: Path) -> None:
    page = new_page(browser)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(streaming_server.url + "/")
    expect(page.get_by_role("button", name="Enviar")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "es")

    page.get_by_label("Tu mensaje").fill(QUESTION)
    page.keyboard.press("Enter")

    # While streaming: part of the answer is on screen before the reply event ends it.
    answer = page.locator("li.msg.assistant").last
    page.wait_for_function(
        "() => { const m = document.querySelector('li.msg.assistant.streaming .body');"
        " return m && m.textContent.length > 20; }", timeout=20_000)
    partial = len(answer.locator(".body").inner_text())
    expect(answer.locator(".sources li").first).to_be_visible(timeout=20_000)
    expect(answer).not_to_have_class("streaming")
    assert len(answer.locator(".body").inner_text()) > partial
    expect(answer.locator(".sources")).to_contain_text("WireGuard")
    expect(page.get_by_role("log")).to_have_attribute("aria-busy", "false")

    thumbs_up = answer.get_by_role("button", name="Útil", exact=True)
    thumbs_up.click()
    expect(thumbs_up).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("status")).to_have_text("¡Gracias por tu opinión!")
    page.screenshot(path=str(screenshots / "web-chat.png"), full_page=True)

    visitor = page.evaluate("() => localStorage.getItem('sip.visitor')")
    ratings = httpx.get(streaming_server.url + "/api/admin/feedback",
                        headers={"X-Sip-Admin-Key": ADMIN_KEY}).json()
    assert any(r["user_id"] == f"web:{visitor}" and r["rating"] == 1 for r in ratings)

    page.reload()
    items = page.locator("li.msg")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Mi WireGuard conecta")
    expect(items.last.locator(".sources li").first).to_be_visible()
    expect(items.last.get_by_role("button", name="Útil", exact=True)).to_have_attribute(
        "aria-pressed", "true")
    assert not errors, errors


def test_web_chat_answers_a_wireguard_question_offline(browser: Browser,
                                                       offline_server: LiveServer) -> None:
    """`make run` with no keys: the offline brain answers from the knowledge base."""
    page = new_page(browser)
    page.goto(offline_server.url + "/")
    page.get_by_label("Tu mensaje").fill("mi wireguard conecta pero no tengo internet")
    page.get_by_role("button", name="Enviar").click()
    answer = page.locator("li.msg.assistant").last
    expect(answer.locator(".sources")).to_contain_text("WireGuard conecta pero no hay internet",
                                                       timeout=20_000)
    expect(answer.locator(".body ol li").first).to_be_visible()  # the steps, as a list
    expect(answer.get_by_role("group", name="Valora esta respuesta")).to_be_visible()


def test_web_chat_language_toggle_human_handoff_and_new_conversation(
        browser: Browser, streaming_server: LiveServer, screenshots: Path) -> None:
    page = new_page(browser, locale="en-US")
    page.goto(streaming_server.url + "/")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    page.get_by_role("button", name="Español").click()
    expect(page.get_by_role("button", name="Enviar")).to_be_visible()
    page.get_by_role("button", name="English").click()

    page.get_by_role("button", name="Talk to a person").click()
    expect(page.locator("li.msg.note")).to_contain_text("ticket #")
    expect(page.get_by_text("Hi, I'm Sip.")).to_be_hidden()
    page.screenshot(path=str(screenshots / "web-chat-handoff.png"))

    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("li.msg")).to_have_count(0)
    page.reload()
    expect(page.locator("li.msg")).to_have_count(0)
    # Keyboard only: focus the box, type, Enter sends.
    page.get_by_label("Your message").focus()
    page.keyboard.type("How do I install WireGuard on Windows?")
    page.keyboard.press("Enter")
    expect(page.locator("li.msg.assistant .sources li").first).to_be_visible(timeout=20_000)


def test_markdown_is_rendered_safely(browser: Browser, streaming_server: LiveServer) -> None:
    page = new_page(browser)
    page.goto(streaming_server.url + "/")
    html = page.evaluate("""() => window.sipRenderMarkdown(
        '<img src=x onerror=alert(1)> **bold** *it* `code`\\n\\n- one\\n- two\\n\\n'
        + '1. uno\\n2. dos\\n\\n[bad](javascript:alert(1)) [ok](https://example.com/a?b=1&c=2) '
        + '[q](https://x.test/"onmouseover="alert(1))')""")
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html
    assert "<code>code</code>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html and "<ol><li>uno</li>" in html
    assert "javascript:" not in html.split("[bad]")[0] and 'href="javascript' not in html
    assert 'href="https://example.com/a?b=1&amp;c=2"' in html
    assert "onmouseover=\"" not in html


def test_console_tickets_feedback_charts_and_csv(
        browser: Browser, streaming_server: LiveServer, screenshots: Path) -> None:
    api = httpx.Client(base_url=streaming_server.url, headers={"X-API-Key": API_KEY}, timeout=30)
    reply = api.post("/api/chat", json={"user_id": "console-user",
                                        "message": "la VPN va lenta en el wifi del hotel"}).json()
    api.post("/api/users/console-user/escalate", json={"reason": "requested"})
    api.post("/api/users/console-user/feedback", json={"rating": -1, "message_id":
                                                        reply["message_id"], "comment": "lento"})

    page = new_page(browser, locale="en-US")
    page.goto(streaming_server.url + "/admin")
    page.get_by_label("Admin key (SIP_ADMIN_KEY)").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong")

    page.get_by_label("Admin key (SIP_ADMIN_KEY)").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Open tickets")).to_be_visible()
    expect(page.locator("figure.chart")).to_have_count(6)
    for title in ("Conversations per day", "Answer modes per day", "Tokens per day",
                  "Cost per day (USD)", "Latency per day", "429s avoided"):
        expect(page.locator("figure.chart", has_text=title)).to_have_count(1)
    expect(page.locator("figure.chart", has_text="Answer modes per day").locator("rect")
           ).not_to_have_count(0)
    expect(page.locator(".card", has_text="Customer turns")).to_be_visible()

    row = page.locator("#ticket-rows tr", has_text="console-user").first
    expect(row).to_contain_text("la VPN va lenta")
    row.get_by_role("button").click()
    detail = page.locator("#ticket-detail")
    expect(detail).to_contain_text("Ticket #")
    expect(detail.locator("li.msg.user")).to_contain_text("la VPN va lenta en el wifi del hotel")
    expect(page.locator("#feedback-rows tr", has_text="lento")).to_contain_text("👎")
    page.screenshot(path=str(screenshots / "console.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Feedback", exact=True).click()
    path = download_info.value.path()
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text())))
    assert any(r["comment"] == "lento" and r["rating"] == "-1" for r in rows)

    # The key lives in sessionStorage: a reload stays signed in, signing out forgets it.
    page.reload()
    expect(page.get_by_role("heading", name="Open tickets")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin key (SIP_ADMIN_KEY)")).to_be_visible()
