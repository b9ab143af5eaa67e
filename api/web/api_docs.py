"""/docs: Swagger UI from files shipped in api/web/static (swagger-ui-dist 5, Apache-2.0, see
swagger-ui.LICENSE there), not from a public CDN, which an intranet cannot reach.

FastAPI's own page writes its set-up as an inline script; this one loads it from
swagger-init.js, so the page keeps a CSP as strict as the other pages' (Swagger UI sets style
attributes, hence 'unsafe-inline' for styles only).
"""

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from api.web.rendering import SECURITY_HEADERS, static_url

DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def install_api_docs(app: FastAPI) -> None:
    """Serve /docs; the app must be made with `docs_url=None`."""

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(app.title)} API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{static_url("swagger-ui.css")}">
<script src="{static_url("swagger-ui-bundle.js")}" defer></script>
<script src="{static_url("swagger-init.js")}" defer></script>
</head>
<body>
<div id="swagger-ui" data-openapi="{escape(app.openapi_url or "/openapi.json")}"></div>
</body>
</html>
"""
        return HTMLResponse(html, headers=SECURITY_HEADERS | {"Content-Security-Policy": DOCS_CSP})
