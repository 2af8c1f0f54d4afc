"""Live events over a real WebSocket (graphql-transport-ws) with the gql client."""

import asyncio

import pytest
from bson import ObjectId
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError

from tests.conftest import create_request, transition

WATCH = """
subscription Watch($id: ID!, $since: Int) {
  requestUpdated(id: $id, sinceVersion: $since) {
    version type from { key } to { key label } comment
    request { id version status { key } }
  }
}
"""
FIREHOSE = "subscription All($status: [String!]) { requestEvents(status: $status) { version request { number status { key } } } }"


def moves(count: int) -> list[str]:
    """count valid moves: received -> in_progress, then rework loops in_progress <-> completing."""
    return (["in_progress"] + ["completing", "in_progress"] * count)[:count]


async def collect(session, query: str, variables: dict, count: int, ready: asyncio.Event | None = None,
                  timeout: float = 20) -> list[dict]:
    """The first `count` payloads of a subscription."""
    received = []

    async def run():
        stream = session.subscribe(GraphQLRequest(query, variable_values=variables))
        if ready:
            # gql sends `subscribe` when iteration starts; a tiny delay lets the server register it.
            asyncio.get_running_loop().call_later(0.3, ready.set)
        async for payload in stream:
            received.append(payload)
            if len(received) == count:
                return

    await asyncio.wait_for(run(), timeout)
    return received


async def test_events_arrive_live_in_order(herald, tokens):
    request = (await create_request(herald, tokens["integration"]))["request"]
    async with herald.ws_client(tokens["staff"]) as session:
        ready = asyncio.Event()
        listener = asyncio.create_task(collect(session, WATCH, {"id": request["id"]}, 3, ready))
        await ready.wait()
        for to in ("in_progress", "completing", "closed"):
            await transition(herald, tokens["staff"], request["id"], to, comment=f"→ {to}")
        events = await listener
    assert [e["requestUpdated"]["version"] for e in events] == [2, 3, 4]
    last = events[-1]["requestUpdated"]
    assert last["from"] == {"key": "completing"}
    assert last["to"] == {"key": "closed", "label": "Закрыто"}
    assert last["comment"] == "→ closed"
    assert last["request"] == {"id": request["id"], "version": 4, "status": {"key": "closed"}}


async def test_the_client_watches_its_own_request_in_its_language(herald, tokens):
    created = await create_request(herald, tokens["integration"],
                                   client={"name": "Kate", "email": "kate@example.com", "locale": "en"})
    async with herald.ws_client(created["clientAccessToken"]) as session:
        ready = asyncio.Event()
        listener = asyncio.create_task(collect(session, WATCH, {"id": created["request"]["id"]}, 1, ready))
        await ready.wait()
        await transition(herald, tokens["staff"], created["request"]["id"], "in_progress")
        [event] = await listener
    assert event["requestUpdated"]["to"] == {"key": "in_progress", "label": "In progress"}


async def test_since_version_replays_without_gap_or_duplicate_while_transitions_land(herald, tokens):
    request_id = (await create_request(herald, tokens["integration"]))["request"]["id"]
    steps = moves(30)
    for to in steps[:5]:  # versions 2..6 happen before the subscriber arrives
        await transition(herald, tokens["staff"], request_id, to)

    async def keep_moving():
        for to in steps[5:]:
            await transition(herald, tokens["staff"], request_id, to)
            await asyncio.sleep(0.005)

    final_version = 1 + len(steps)
    mover = asyncio.create_task(keep_moving())
    await asyncio.sleep(0.05)  # some land before the subscription, some during its replay, the rest live
    async with herald.ws_client(tokens["staff"]) as session:
        events = await collect(session, WATCH, {"id": request_id, "since": 2}, final_version - 2)
    await mover
    assert [e["requestUpdated"]["version"] for e in events] == list(range(3, final_version + 1))


async def test_since_version_zero_replays_the_whole_history(herald, tokens):
    request_id = (await create_request(herald, tokens["integration"]))["request"]["id"]
    await transition(herald, tokens["staff"], request_id, "in_progress")
    async with herald.ws_client(tokens["staff"]) as session:
        events = await collect(session, WATCH, {"id": request_id, "since": 0}, 2)
    assert [(e["requestUpdated"]["version"], e["requestUpdated"]["type"]) for e in events] == [
        (1, "CREATED"), (2, "STATUS_CHANGED")]


async def test_staff_watch_every_request_filtered_by_status(herald, tokens):
    a = (await create_request(herald, tokens["integration"], title="A"))["request"]
    b = (await create_request(herald, tokens["integration"], title="B"))["request"]
    async with herald.ws_client(tokens["staff"]) as session:
        ready = asyncio.Event()
        listener = asyncio.create_task(collect(session, FIREHOSE, {"status": ["closed"]}, 2, ready))
        await ready.wait()
        await transition(herald, tokens["staff"], a["id"], "in_progress")  # filtered out
        await transition(herald, tokens["staff"], b["id"], "closed")
        await create_request(herald, tokens["integration"], title="C")  # filtered out
        await transition(herald, tokens["staff"], a["id"], "completing")  # filtered out
        await transition(herald, tokens["staff"], a["id"], "closed")
        events = await listener
    assert [(e["requestEvents"]["request"]["number"], e["requestEvents"]["version"]) for e in events] == [
        (b["number"], 2), (a["number"], 4)]


async def test_the_context_reaches_resolvers_over_websocket(herald, tokens):
    async with herald.ws_client(tokens["staff"]) as session:
        result = await session.execute(GraphQLRequest("{ viewer { role name } }"))
    assert result == {"viewer": {"role": "staff", "name": "Staff Tester"}}


async def test_unexpected_errors_are_masked_in_subscriptions(herald, tokens, db):
    request_id = (await create_request(herald, tokens["integration"]))["request"]["id"]
    async with herald.ws_client(tokens["staff"]) as session:
        ready = asyncio.Event()
        listener = asyncio.create_task(collect(session, WATCH, {"id": request_id}, 1, ready))
        await ready.wait()
        # A corrupt event (its snapshot lacks fields): resolving it fails inside the server.
        await db.request_events.insert_one({"request_id": ObjectId(request_id), "version": 2, "type": "STATUS_CHANGED",
                                            "at": None, "from": "received", "to": "in_progress",
                                            "snapshot": {"_id": ObjectId(request_id)}})
        with pytest.raises(TransportQueryError) as failure:
            await listener
    message = str(failure.value)
    assert "Unexpected error." in message
    assert "KeyError" not in message and "snapshot" not in message


async def test_unexpected_errors_are_masked_over_http(herald, tokens, db):
    created = await create_request(herald, tokens["integration"])
    await db.requests.update_one({"_id": ObjectId(created["request"]["id"])}, {"$unset": {"title": ""}})
    body = await herald.graphql("{ requests { edges { node { title } } } }", token=tokens["staff"])
    assert body["errors"][0]["message"] == "Unexpected error."
