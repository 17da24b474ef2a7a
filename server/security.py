"""Security headers on every response."""

from __future__ import annotations

from flask import Flask, abort, request

# No page carries inline script (the map's script is /map/<lang>.js), so script-src has no
# 'unsafe-inline': an injected <script> would not run even if escaping failed somewhere.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; font-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'"
)


# /static/ serves the page assets only: the folder also holds its Python package marker,
# npm manifests and the vendoring script, which are not for the web.
STATIC_SUFFIXES = (".js", ".css", ".png", ".svg", ".gif", ".jpg", ".ico", ".woff", ".woff2")
STATIC_NAMES = ("LICENSE",)  # vendored libraries' licences stay readable


def static_allowed(filename: str) -> bool:
    """Whether ``/static/<filename>`` is a page asset that may be served."""
    name = filename.rsplit("/", 1)[-1]
    return name.lower().endswith(STATIC_SUFFIXES) or name in STATIC_NAMES


def register(app: Flask) -> None:
    @app.before_request
    def _static_assets_only():
        if request.endpoint == "static" and not static_allowed(
                (request.view_args or {}).get("filename", "")):
            abort(404)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return response
