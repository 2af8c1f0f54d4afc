"""The database goes away under a serving Herald and comes back on the same data and port.

During the outage /readyz says so, and mutations answer "database unavailable" within a
few seconds, over HTTP and over an open WebSocket. Afterwards Herald serves again without a
restart, the change stream resumes, and a subscriber that stayed connected ends with every
version, in order.
"""

import asyncio
import time

import pytest
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from pymongo import AsyncMongoClient

from db.embedded import EmbeddedDatabase
from db.tokens import create_token
from tests.conftest import TRANSITION, create_request, transition

DB_TIMEOUT_MS = 1000
PROMPT_S = 5.0  # "within a few seconds"
WATCH = "subscription W($id: ID!, $since: Int) { requestUpdated(id: $id, sinceVersion: $since) { version } }"


@pytest.fixture
async def database(tmp_path):
    """A SecantusDB of this test's own, which the test stops and starts."""
    embedded = EmbeddedDatabase(tmp_path / "secantus")
    await asyncio.to_thread(embedded.start)
    yield embedded
    await asyncio.to_thread(embedded.stop)


@pytest.fixture
def settings(settings, database):
    return settings.model_copy(update={"mongodb_uri": database.uri, "db_timeout_ms": DB_TIMEOUT_MS})


@pytest.fixture
async def staff_token(herald, database):
    client = AsyncMongoClient(database.uri, tz_aware=True)
    yield await create_token(client[herald.settings.db_name], role="staff", name="Olga")
    await client.close()


async def timed(awaitable) -> tuple[object, float]:
    started = time.monotonic()
    result = await awaitable
    return result, time.monotonic() - started


class Subscriber:
    """Watches one request over its own WebSocket and reconnects with sinceVersion when the stream ends."""

    def __init__(self, herald, token: str, request_id: str):
        self.herald, self.token, self.request_id = herald, token, request_id
        self.versions: list[int] = []
        self.reconnects = 0
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        since = None
        while True:
            try:
                async with self.herald.ws_client(self.token) as session:
                    request = GraphQLRequest(WATCH, variable_values={"id": self.request_id, "since": since})
                    async for event in session.subscribe(request):
                        self.versions.append(event["requestUpdated"]["version"])
            except (TransportQueryError, OSError, ConnectionError):
                pass
            self.reconnects += 1
            since = self.versions[-1] if self.versions else 1
            await asyncio.sleep(0.5)

    async def wait_for(self, version: int, timeout: float = 30) -> list[int]:
        async def seen():
            while not self.versions or self.versions[-1] < version:
                await asyncio.sleep(0.05)
        await asyncio.wait_for(seen(), timeout)
        return self.versions

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def ready(herald) -> int:
    return (await herald.http.get("/readyz")).status_code


async def test_herald_rides_out_a_database_restart(herald, database, staff_token, caplog):
    request_id = (await create_request(herald, staff_token))["request"]["id"]
    subscriber = Subscriber(herald, staff_token, request_id)
    await asyncio.sleep(0.5)
    for to in ("in_progress", "completing"):
        await transition(herald, staff_token, request_id, to)
    assert await subscriber.wait_for(3) == [2, 3]

    async with herald.ws_client(staff_token) as open_socket:  # its viewer was resolved before the outage
        # Stopped, not killed: SecantusDB, like mongod with its default write concern (j: false), may lose
        # what was committed in the last few milliseconds before a SIGKILL.
        await asyncio.to_thread(database.stop)

        status, took = await timed(ready(herald))
        assert status == 503 and took < PROMPT_S
        scraped, took = await timed(herald.http.get("/metrics"))
        assert took < PROMPT_S and "herald_database_up 0.0" in scraped.text

        # Over HTTP the token cannot be checked: the whole call is refused, as JSON a GraphQL client reads.
        response, took = await timed(herald.http.post(
            "/graphql", json={"query": TRANSITION, "variables": {"input": {"id": request_id, "to": "in_progress"}}},
            headers={"Authorization": f"Bearer {staff_token}"}))
        assert took < PROMPT_S
        assert response.status_code == 503 and response.headers["retry-after"]
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"

        # A resolver that meets the outage says so, rather than "Unexpected error." or a hang.
        body, took = await timed(herald.graphql('{ workflow(key: "not_cached") { key } }'))
        assert took < PROMPT_S
        assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
        assert body["errors"][0]["message"] == "the database is unavailable; try again shortly"

        with pytest.raises(TransportQueryError) as refused:
            await asyncio.wait_for(open_socket.execute(GraphQLRequest(
                TRANSITION, variable_values={"input": {"id": request_id, "to": "in_progress"}})), PROMPT_S)
        assert refused.value.errors[0]["extensions"]["code"] == "UNAVAILABLE"

        await asyncio.to_thread(database.start)  # same data directory, same port

        async def recovered():
            while await ready(herald) != 200:
                await asyncio.sleep(0.2)
        await asyncio.wait_for(recovered(), 30)

        moved = await open_socket.execute(GraphQLRequest(
            TRANSITION, variable_values={"input": {"id": request_id, "to": "in_progress"}}))
        assert moved["transitionRequest"]["request"]["version"] == 4

    # The change stream is back: a newcomer hears of a transition live, not from history.
    newcomer = Subscriber(herald, staff_token, request_id)
    await asyncio.sleep(1.0)
    assert (await transition(herald, staff_token, request_id, "completing"))["request"]["version"] == 5
    assert await newcomer.wait_for(5) == [5]
    assert await subscriber.wait_for(5) == [2, 3, 4, 5]
    await newcomer.stop()
    await subscriber.stop()
    assert newcomer.reconnects == 0
    assert "history lost" not in caplog.text  # resumed from its resume token, not from "now"
