"""/docs on an intranet: Swagger UI renders with every request beyond 127.0.0.1 refused, its
files served by Stabilog itself, under a CSP that allows no inline script."""

from urllib.parse import urlsplit

from tests.web.browser import Shots, watch_console


def test_the_api_docs_render_with_the_network_blocked(browser, live_server, database_url) -> None:
    context = browser.new_context()
    refused: list[str] = []

    def only_loopback(route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    watch_console(page, problems)
    answer = page.goto(f"{live_server}/docs")
    assert answer is not None
    # As strict as the other pages': a script on the page would be refused (console errors).
    assert "script-src 'self';" in answer.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Stabilog" in page.locator(".swagger-ui .info .title").inner_text()
    # The operations are drawn from /openapi.json: the API is browsable, not only its title.
    page.wait_for_selector(".opblock-summary-path[data-path='/api/v1/incidents']")
    Shots("sqlite" if database_url.startswith("sqlite") else "postgresql").take(page, "docs")
    assert refused == []
    assert problems == []
