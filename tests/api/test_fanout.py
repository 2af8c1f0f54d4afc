"""The shared fan-out gives every subscriber exactly what executing its subscription on its
own (the plain Strawberry way) gives it, access rules included."""

import asyncio
import json

import pytest
import websockets

from api.auth import resolve_viewer
from db.watcher import EventHub
from db.workflows import WorkflowCache
from schema import schema
from schema.context import Context
from tests.conftest import create_request, transition

RICH = """subscription Rich($id: ID!, $since: Int) {
  requestUpdated(id: $id, sinceVersion: $since) {
    version type comment public at actor { role name }
    from { key label } to { key label terminal description }
    request { number title version status { label } nextStatus { label } allowedTransitions { key label }
              assignee { name email } client { name email locale channels }
              history { version type comment to { label } } workflow { name statuses { label } } }
  }
}"""
SMALL = "subscription Small($id: ID!) { requestUpdated(id: $id) { version to { label } } }"
FIREHOSE = "subscription All($status: [String!]) { requestEvents(status: $status) { version request { number status { label } } } }"


async def over_websocket(herald, token: str, locale: str, query: str, variables: dict, count: int,
                         ready: asyncio.Event) -> list[dict]:
    """Payloads as a real client receives them from Herald's WebSocket endpoint."""
    async with websockets.connect(herald.ws_url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": f"Bearer {token}", "Accept-Language": locale}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(json.dumps({"id": "op", "type": "subscribe",
                                      "payload": {"query": query, "variables": variables}}))
        ready.set()
        payloads = []
        while len(payloads) < count:
            message = json.loads(await asyncio.wait_for(socket.recv(), 20))
            assert message["type"] == "next", message
            payloads.append(message["payload"])
        return payloads


async def one_by_one(db, hub, token: str, locale: str, query: str, variables: dict, count: int,
                     ready: asyncio.Event) -> list[dict]:
    """Payloads from Strawberry executing this subscriber's subscription on its own."""
    viewer = await resolve_viewer(db, authorization=f"Bearer {token}", accept_language=locale)
    context = Context(db=db, hub=hub, workflows=WorkflowCache(db), viewer=viewer, public_url="http://herald.test")
    stream = await schema.subscribe(query, variable_values=variables, context_value=context)
    payloads = []
    ready.set()
    async for result in stream:
        payload = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        payloads.append(payload)
        if len(payloads) == count:
            break
    await stream.aclose()
    return payloads


@pytest.fixture
async def reference_hub(db, herald):
    hub = EventHub(db.request_events)
    await hub.start()
    yield hub
    await hub.stop()


async def test_shared_execution_matches_one_by_one(herald, tokens, db, reference_hub):
    a = await create_request(herald, tokens["integration"], title="<b>Site A</b>",
                             client={"name": "Anna", "email": "anna@example.ru", "locale": "en"})
    b = await create_request(herald, tokens["staff"], title="Site B", client={"name": "Boris", "phone": "+79123456789"})
    a_id, b_id = a["request"]["id"], b["request"]["id"]
    await transition(herald, tokens["staff"], a_id, "in_progress")  # version 2, before anyone subscribes

    # (token, language, document, variables, how many payloads it will get)
    subscribers = []
    for _ in range(3):  # several identical subscribers: one group, one execution per event
        subscribers.append((tokens["staff"], "ru", RICH, {"id": a_id, "since": 1}, 6))
    subscribers += [
        (tokens["staff"], "en", RICH, {"id": a_id, "since": 1}, 6),
        (tokens["admin"], "ru", RICH, {"id": a_id, "since": 1}, 6),
        (tokens["integration"], "ru", RICH, {"id": a_id, "since": 1}, 6),
        (a["clientAccessToken"], "ru", RICH, {"id": a_id, "since": 1}, 5),  # not the internal comment
        (a["clientAccessToken"], "en", SMALL, {"id": a_id}, 4),
        (tokens["staff"], "ru", SMALL, {"id": b_id}, 1),
        (tokens["staff"], "en", FIREHOSE, {"status": ["completing", "closed"]}, 2),
    ]
    live, reference = [], []
    for token, locale, query, variables, count in subscribers:
        for runner, results in ((over_websocket, live), (None, reference)):
            ready = asyncio.Event()
            if runner is None:
                task = asyncio.create_task(one_by_one(db, reference_hub, token, locale, query, variables, count, ready))
            else:
                task = asyncio.create_task(runner(herald, token, locale, query, variables, count, ready))
            results.append(task)
            await asyncio.wait_for(ready.wait(), 10)
    await asyncio.sleep(0.5)  # every subscription registered

    await herald.data('mutation C($id: ID!) { addComment(input: {id: $id, body: "check the discount"}) { __typename } }',
                      {"id": a_id}, tokens["staff"])
    await herald.data('mutation C($id: ID!) { addComment(input: {id: $id, body: "Макет готов", public: true}) { __typename } }',
                      {"id": a_id}, tokens["staff"])
    await herald.data('mutation A($id: ID!) { assignRequest(input: {id: $id, assignee: {name: "Olga", email: "olga@example.com"}}) { __typename } }',
                      {"id": a_id}, tokens["staff"])
    await transition(herald, tokens["staff"], b_id, "in_progress")
    await transition(herald, tokens["staff"], a_id, "completing")
    await transition(herald, tokens["staff"], a_id, "closed", comment="Готово")

    live_payloads = await asyncio.gather(*live)
    reference_payloads = await asyncio.gather(*reference)
    for spec, got, expected in zip(subscribers, live_payloads, reference_payloads):
        assert got == expected, spec[2:4]
    client_versions = [p["data"]["requestUpdated"]["version"] for p in live_payloads[6]]
    assert client_versions == [2, 4, 5, 6, 7]  # version 3 is the internal comment
    assert "check the discount" not in json.dumps(live_payloads[6])
