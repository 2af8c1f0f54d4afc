"""The baseline: a subscription built the way Strawberry's documentation shows it, one
asyncio.Queue and one GraphQL execution per subscriber per event. It is fed like Herald
(one change stream on request_events) and answers the same selection, so the two differ
only in how they fan out.

Run: python bench/textbook_app.py --port 8100 (MONGODB_URI and HERALD_DB_NAME from the environment)
"""

import argparse
import asyncio
import contextlib
import os
from collections import defaultdict
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
import uvicorn
from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL

LABELS = {"received": "Заявка получена", "in_progress": "В обработке", "completing": "Завершение", "closed": "Закрыто"}
queues: dict[str, set[asyncio.Queue]] = defaultdict(set)


@strawberry.type
class Status:
    key: str
    label: str


@strawberry.type
class Request:
    number: str
    version: int
    status: Status


@strawberry.type
class RequestEvent:
    version: int
    type: str
    at: datetime
    to: Status
    request: Request


def event_of(doc: dict) -> RequestEvent:
    snapshot = doc["snapshot"]
    return RequestEvent(version=doc["version"], type=doc["type"], at=doc["at"],
                        to=Status(key=doc["to"], label=LABELS.get(doc["to"], doc["to"])),
                        request=Request(number=snapshot["number"], version=snapshot["version"],
                                        status=Status(key=snapshot["status"], label=LABELS.get(snapshot["status"], ""))))


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hello"


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def request_updated(self, id: strawberry.ID) -> AsyncGenerator[RequestEvent, None]:
        queue: asyncio.Queue = asyncio.Queue()
        queues[id].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            queues[id].discard(queue)


async def watch(collection) -> None:
    async with await collection.watch([{"$match": {"operationType": "insert"}}]) as stream:
        async for change in stream:
            doc = change["fullDocument"]
            event = event_of(doc)
            for queue in queues.get(str(doc["request_id"]), ()):
                queue.put_nowait(event)


def create_app() -> Starlette:
    graphql = GraphQL(strawberry.Schema(query=Query, subscription=Subscription))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        client = AsyncMongoClient(os.environ["MONGODB_URI"], tz_aware=True)
        watcher = asyncio.create_task(watch(client[os.environ["HERALD_DB_NAME"]].request_events))
        yield
        watcher.cancel()
        await client.close()

    async def healthz(request):
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/healthz", healthz), Route("/graphql", graphql), WebSocketRoute("/graphql", graphql)],
                     lifespan=lifespan)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    uvicorn.run(create_app(), host="127.0.0.1", port=parser.parse_args().port, log_level="warning")
