"""The API docs work on a machine with no internet: Swagger UI is served by Sip itself."""

from __future__ import annotations

import httpx

from tests.web.conftest import LiveServer


def test_docs_page_uses_local_assets_only(offline_server: LiveServer) -> None:
    page = httpx.get(f"{offline_server.url}/docs", timeout=10)
    assert page.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "cdn.jsdelivr.net" not in page.text and "unpkg.com" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        response = httpx.get(f"{offline_server.url}/docs-assets/{asset}", timeout=10)
        assert response.status_code == 200 and len(response.content) > 10_000
    schema = httpx.get(f"{offline_server.url}/openapi.json", timeout=10).json()
    assert "/api/chat" in schema["paths"]
