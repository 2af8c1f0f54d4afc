"""The shared fan-out gives every subscriber exactly what executing its subscription on its
own (the plain Strawberry way) gives it, access rules included."""

import asyncio
import json
import socket as stdlib_socket

import pytest
import websockets
from websockets.client import ClientProtocol
from websockets.frames import Frame
from websockets.uri import parse_uri

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


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"ws_max_pending_frames": 4})


COMMENTS = 50


class StalledSubscriber:
    """A WebSocket client that stops reading after subscribing, like a phone gone quiet on a bad
    network: a raw socket with a tiny receive window, speaking the protocol through websockets' sans-I/O."""

    def __init__(self, sock: stdlib_socket.socket, protocol: ClientProtocol):
        self.sock = sock
        self.protocol = protocol

    def send(self, message: dict) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        self.sock.sendall(b"".join(self.protocol.data_to_send()))

    async def read_all(self) -> tuple[list[dict], int | None]:
        """Reads everything that was sent, up to the close; returns the messages and the close code."""
        self.sock.setblocking(False)
        loop = asyncio.get_running_loop()
        messages = []
        while True:
            data = await asyncio.wait_for(loop.sock_recv(self.sock, 1 << 20), 20)
            self.protocol.receive_data(data)
            for event in self.protocol.events_received():
                if isinstance(event, Frame) and event.opcode.name == "TEXT":
                    messages.append(json.loads(event.data))
            if not data or self.protocol.close_rcvd is not None:
                self.sock.close()
                return messages, self.protocol.close_rcvd.code if self.protocol.close_rcvd else None


async def stalled_subscriber(herald, token: str, query: str, variables: dict) -> StalledSubscriber:
    port = int(herald.base_url.rsplit(":", 1)[1])
    sock = stdlib_socket.socket()
    sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    protocol = ClientProtocol(parse_uri(herald.ws_url), subprotocols=["graphql-transport-ws"], max_size=None)
    protocol.send_request(protocol.connect())
    sock.sendall(b"".join(protocol.data_to_send()))
    while protocol.handshake_exc is None and not protocol.events_received() and protocol.state.name == "CONNECTING":
        protocol.receive_data(await asyncio.to_thread(sock.recv, 65536))
    client = StalledSubscriber(sock, protocol)
    client.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    client.send({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})
    return client


async def test_a_slow_consumer_is_closed_and_loses_nothing_on_reconnect(herald, tokens):
    request_id = (await create_request(herald, tokens["integration"]))["request"]["id"]
    heavy = """subscription H($id: ID!, $since: Int) { requestUpdated(id: $id, sinceVersion: $since) {
      version request { history { comment } } } }"""
    stalled = await stalled_subscriber(herald, tokens["staff"], heavy, {"id": request_id, "since": 1})
    # The subscriber reads nothing while 50 comments of 5 KB land: each event's payload carries
    # the whole history, so the socket's buffers fill and frames pile up on the server.
    for i in range(COMMENTS):
        added = await herald.data('mutation C($id: ID!, $b: String!) { addComment(input: {id: $id, body: $b}) { '
                                  '__typename } }', {"id": request_id, "b": f"{i}:" + "x" * 4_900}, tokens["staff"])
        assert added["addComment"]["__typename"] == "AddCommentSuccess"
    messages, close_code = await stalled.read_all()
    versions = [m["payload"]["data"]["requestUpdated"]["version"] for m in messages if m["type"] == "next"]
    assert close_code == 1013
    assert versions == list(range(2, 2 + len(versions))) and len(versions) < COMMENTS

    async with websockets.connect(herald.ws_url, subprotocols=["graphql-transport-ws"], max_size=None) as again:
        await again.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {tokens['staff']}"}}))
        await again.recv()
        await again.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": heavy, "variables": {"id": request_id, "since": versions[-1]}}}))
        while versions[-1] < COMMENTS + 1:
            message = json.loads(await asyncio.wait_for(again.recv(), 20))
            versions.append(message["payload"]["data"]["requestUpdated"]["version"])
    assert versions == list(range(2, COMMENTS + 2))
