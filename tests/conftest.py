"""Fixtures on real parts: a MongoDB wire server over TCP, Herald under uvicorn, real clients.

SecantusDB is started once per session on a free port; set MONGODB_URI to run the suite
against a real mongod (a replica set) instead. Each test gets a database of its own.
"""

import asyncio
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from gql import Client
from gql.transport.websockets import WebsocketsTransport
from pymongo import AsyncMongoClient

from api.app import create_app
from api.settings import Settings
from db.embedded import EmbeddedDatabase
from db.tokens import create_token


@pytest.fixture(scope="session")
def mongodb_uri(tmp_path_factory) -> str:
    if uri := os.environ.get("MONGODB_URI"):
        yield uri
        return
    database = EmbeddedDatabase(tmp_path_factory.mktemp("secantus"))
    yield database.start()
    database.stop()


@pytest.fixture(scope="session")
async def mongo(mongodb_uri):
    client = AsyncMongoClient(mongodb_uri, tz_aware=True)
    yield client
    await client.close()


@pytest.fixture
def settings(mongodb_uri, tmp_path) -> Settings:
    return Settings(
        mongodb_uri=mongodb_uri,
        db_name=f"herald_test_{uuid.uuid4().hex[:12]}",
        data_dir=tmp_path / "data",
        public_url="http://herald.test",
        ws_init_timeout=2,
    )


@pytest.fixture
async def db(mongo, settings):
    database = mongo[settings.db_name]
    yield database
    await mongo.drop_database(settings.db_name)


@dataclass
class Herald:
    """A Herald server running in this process, reached over real HTTP and WebSocket."""

    settings: Settings
    base_url: str
    http: httpx.AsyncClient

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/graphql"

    async def graphql(self, query: str, variables: dict | None = None, token: str | None = None,
                      headers: dict | None = None) -> dict:
        """The JSON answer of one GraphQL operation over HTTP."""
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        # Escaped JSON (ensure_ascii), as browsers send it: lone surrogates can then travel too.
        body = json.dumps({"query": query, "variables": variables or {}})
        all_headers["Content-Type"] = "application/json"
        response = await self.http.post("/graphql", content=body, headers=all_headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict | None = None, token: str | None = None, **kw) -> dict:
        """The data of an operation that must not fail."""
        body = await self.graphql(query, variables, token, **kw)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def ws_client(self, token: str | None) -> Client:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        transport = WebsocketsTransport(
            url=self.ws_url, init_payload=payload, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL]
        )
        return Client(transport=transport)


async def start_server(app, port: int = 0) -> tuple[uvicorn.Server, asyncio.Task, int]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped at start-up")
        await asyncio.sleep(0.01)
    return server, task, server.servers[0].sockets[0].getsockname()[1]


async def stop_server(server: uvicorn.Server, task: asyncio.Task) -> None:
    server.should_exit = True
    await task


@pytest.fixture
async def herald(settings, db):
    server, task, port = await start_server(create_app(settings))
    base_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as http:
        yield Herald(settings=settings, base_url=base_url, http=http)
    await stop_server(server, task)


@pytest.fixture
async def tokens(herald, db) -> dict[str, str]:
    """One token for each staff-side role, made the way `herald token create` makes them."""
    return {role: await create_token(db, role=role, name=f"{role.title()} Tester")
            for role in ("admin", "staff", "integration")}


CREATE = """
mutation Create($input: CreateRequestInput!) {
  createRequest(input: $input) {
    __typename
    ... on CreateRequestSuccess {
      request { id number title version status { key label } client { name email phone locale channels } }
      clientAccessToken portalUrl
    }
    ... on ValidationError { message fields { field message } }
  }
}
"""

TRANSITION = """
mutation Move($input: TransitionRequestInput!) {
  transitionRequest(input: $input) {
    __typename
    ... on TransitionRequestSuccess {
      request { id version status { key label terminal } allowedTransitions { key } }
      event { version type from { key } to { key } comment }
    }
    ... on InvalidTransition { message from { key } to allowed { key label } }
    ... on VersionConflict { message expectedVersion actualVersion }
    ... on NotFound { message id }
    ... on ValidationError { message fields { field message } }
  }
}
"""


def request_input(**overrides) -> dict:
    base = {"title": "Сайт-визитка", "service": "website",
            "client": {"name": "Анна", "email": "anna@example.ru", "locale": "ru"}}
    return base | overrides


async def create_request(herald: Herald, token: str, **overrides) -> dict:
    """Creates a request that must be valid; returns createRequest's success payload."""
    data = await herald.data(CREATE, {"input": request_input(**overrides)}, token)
    result = data["createRequest"]
    assert result["__typename"] == "CreateRequestSuccess", result
    return result


async def transition(herald: Herald, token: str, request_id: str, to: str, **extra) -> dict:
    data = await herald.data(TRANSITION, {"input": {"id": request_id, "to": to, **extra}}, token)
    return data["transitionRequest"]


SHARED = Path(__file__).resolve().parents[2] / "shared"
