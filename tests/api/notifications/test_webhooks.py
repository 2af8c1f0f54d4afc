"""Webhooks: registered by an admin, signed as Standard Webhooks, verified by the receiver."""

import base64
import hashlib
import hmac

from tests.conftest import create_request, transition

REGISTER = """mutation R($url: String!) { registerWebhook(input: {url: $url, description: "CRM"}) {
  __typename ... on RegisterWebhookSuccess { webhook { id url } secret } ... on ValidationError { fields { field } } } }"""


def verify(secret: str, received) -> bool:
    """What an integration does with the three webhook-* headers (written apart from Herald's code)."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, sig.split(",", 1)[1])
               for sig in received.headers["webhook-signature"].split(" "))


async def test_every_event_is_posted_signed(herald, tokens, receiver):
    registered = (await herald.data(REGISTER, {"url": receiver.url}, tokens["admin"]))["registerWebhook"]
    secret = registered["secret"]
    created = await create_request(herald, tokens["integration"], client={"name": "A", "email": "a@example.com"})
    await transition(herald, tokens["staff"], created["request"]["id"], "in_progress", comment="started")
    first, second = sorted(await receiver.wait_for(2), key=lambda r: r.json["event"]["version"])
    assert all(verify(secret, r) for r in (first, second))
    assert first.json["type"] == "CREATED"
    assert second.json["event"] | {"at": None} == {"version": 2, "type": "STATUS_CHANGED", "from": "received",
                                                   "to": "in_progress", "comment": "started", "public": True, "at": None,
                                                   "actor": {"role": "staff", "name": "Staff Tester"}}
    assert second.json["request"]["number"] == "REQ-000001"
    assert second.json["id"] == second.headers["webhook-id"]

    tampered = type(second)(headers=second.headers, body=second.body.replace(b"in_progress", b"closed"))
    assert not verify(secret, tampered)
    assert not verify("whsec_" + base64.b64encode(b"x" * 32).decode(), second)


async def test_only_admins_manage_webhooks_and_urls_are_checked(herald, tokens, receiver):
    body = await herald.graphql(REGISTER, {"url": receiver.url}, tokens["staff"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = (await herald.data(REGISTER, {"url": "ftp://example.com/x"}, tokens["admin"]))["registerWebhook"]
    assert bad == {"__typename": "ValidationError", "fields": [{"field": "url"}]}


async def test_a_removed_webhook_hears_nothing_more(herald, tokens, receiver):
    hook = (await herald.data(REGISTER, {"url": receiver.url}, tokens["admin"]))["registerWebhook"]["webhook"]
    removed = await herald.data('mutation R($id: ID!) { removeWebhook(id: $id) { __typename } }', {"id": hook["id"]},
                                tokens["admin"])
    assert removed["removeWebhook"]["__typename"] == "RemoveWebhookSuccess"
    assert (await herald.data("{ webhooks { id } }", token=tokens["admin"]))["webhooks"] == []
    await create_request(herald, tokens["integration"], client={"name": "A", "email": "a@example.com"})
    assert receiver.received == []
