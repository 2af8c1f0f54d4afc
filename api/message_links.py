"""Pages behind the links in messages: the short SMS link and unsubscribing without logging in."""

import html
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from db.client import now
from db.requests import unsubscribe_client
from db.tokens import create_token, hash_token

CHANNEL_NAMES = {"EMAIL": ("письма", "emails"), "SMS": ("SMS", "text messages")}
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
                "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html><html lang="ru"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1f2933}}
button{{font:inherit;padding:.6rem 1rem;border-radius:6px;border:0;background:#2563eb;color:#fff}}</style></head>
<body>{body}</body></html>""",
        status_code=status,
        headers=PAGE_HEADERS,
    )


async def short_link(request: Request):
    """/s/{code}: opens the portal with a fresh token of the link's scope."""
    db = request.state.db
    record = await db.short_links.find_one({"_id": hash_token(request.path_params["code"])})
    if record is None or record["expires_at"] <= now():
        return page("Ссылка недействительна · Link expired",
                    "<h1>Ссылка недействительна</h1><p>Эта ссылка устарела или неверна.</p>"
                    "<h1>Link expired</h1><p>This link is out of date or wrong.</p>", status=404)
    token = await create_token(db, role="client", name=record["name"], client_id=record["client_id"],
                               request_ids=record["request_ids"], locale=record["locale"],
                               expires_at=now() + timedelta(days=30))
    # The token travels in the fragment: browsers never send it to a server.
    return RedirectResponse(f"/portal#token={token}", status_code=303, headers={"Referrer-Policy": "no-referrer"})


async def unsubscribe(request: Request):
    """GET asks to confirm (mail scanners follow links); POST, also RFC 8058 one-click, unsubscribes."""
    named = request.state.links.read_unsubscribe(request.path_params["token"])
    if named is None:
        return page("Ссылка неверна · Invalid link", "<h1>Ссылка неверна</h1><h1>Invalid link</h1>", status=404)
    client_id, channel = named
    ru, en = CHANNEL_NAMES.get(channel, (channel, channel))
    if request.method == "GET":
        return page("Отписаться · Unsubscribe", f"""<form method="post">
<h1>Больше не присылать {html.escape(ru)} о ваших заявках?</h1>
<p lang="en">Stop sending {html.escape(en)} about your requests?</p>
<button type="submit">Отписаться · Unsubscribe</button></form>""")
    await unsubscribe_client(request.state.db, client_id=client_id, channel=channel)
    return page("Вы отписались · Unsubscribed", f"""<h1>Готово: {html.escape(ru)} больше не придут.</h1>
<p lang="en">Done: no more {html.escape(en)} will be sent. You can turn them back on in your request's page.</p>""")
