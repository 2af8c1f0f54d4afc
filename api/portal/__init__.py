"""The client's cabinet: a static page (HTML, CSS, ES modules) that talks to /graphql.

Nothing is rendered on the server: the page reads the token from its URL fragment, so
the token never reaches this process's access log, and fetches everything over GraphQL.
"""

import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

STATIC = Path(__file__).parent / "static"
# A Host header that can go into the policy as a WebSocket source (host, optional port).
_SAFE_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def content_security_policy(host: str | None) -> str:
    """Only Herald's own origin: no inline script or style, no frames, nothing from elsewhere."""
    connect = "'self'"
    # 'self' covers same-host ws:/wss: in CSP Level 3; older browsers need them named.
    if host and _SAFE_HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        f"connect-src {connect}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


class PortalHeaders:
    """Adds the portal's security headers to every response of the wrapped app."""

    def __init__(self, app: ASGIApp, *, cache_control: str):
        self.app = app
        self.cache_control = cache_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Request(scope).headers.get("host")
        extra = [
            (b"content-security-policy", content_security_policy(host).encode()),
            (b"referrer-policy", b"no-referrer"),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cache-control", self.cache_control.encode()),
        ]

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in extra}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = message | {"headers": kept + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _page(scope: Scope, receive: Receive, send: Send) -> None:
    await FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")(scope, receive, send)


def portal_routes() -> list:
    """/portal and its static files. Files are revalidated on every load (no-cache), so a
    deploy shows at once; the page holds no secrets, the token lives in the fragment."""
    return [
        Route("/portal", PortalHeaders(_page, cache_control="no-cache"), methods=["GET", "HEAD"]),
        Mount("/portal/static", PortalHeaders(StaticFiles(directory=STATIC), cache_control="no-cache"),
              name="portal-static"),
    ]
