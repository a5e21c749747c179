"""The POS API's Swagger page works under the site's CSP, with every asset served locally."""

from pathlib import Path

from tests.browser.conftest import SCREENSHOTS


def test_pos_api_docs_render_under_the_csp_without_a_cdn(page):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(page.base_url + "/api/pos/v1/docs")
    page.get_by_text("/api/pos/v1/purchases/batch").wait_for()

    assert page.get_by_text("Kabinet POS API").first.is_visible()
    # Nothing came from anywhere but the app itself, and nothing was blocked.
    assert requested and all(url.startswith(page.base_url) for url in requested), requested
    assert page.console_errors == []
    page.screenshot(path=str(Path(SCREENSHOTS) / "pos-api-docs.png"), full_page=False)
