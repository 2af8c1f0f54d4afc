"""The one MongoDB client of a process, its database and its indexes."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from db.embedded import embedded_database


@asynccontextmanager
async def open_database(
    *, mongodb_uri: str | None, db_name: str, data_dir: Path, timeout_ms: int = 5000, owner: str = "server"
) -> AsyncIterator[AsyncDatabase]:
    """Connects to MONGODB_URI, or to the embedded database when it is unset, and ensures indexes.

    owner says who uses the embedded database: a "server", a "worker" or a "cli" command.
    """
    with ExitStack() as stack:
        uri = mongodb_uri or stack.enter_context(embedded_database(data_dir, owner=owner))
        client: AsyncMongoClient = AsyncMongoClient(
            uri,
            tz_aware=True,
            appname="herald",
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
        )
        try:
            db = client[db_name]
            await ensure_indexes(db)
            yield db
        finally:
            await client.close()


INDEXES: dict[str, list[IndexModel]] = {
    "requests": [
        IndexModel([("number", ASCENDING)], unique=True),
        IndexModel([("client.id", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("created_by", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("status", ASCENDING), ("_id", DESCENDING)]),
    ],
    "request_events": [IndexModel([("request_id", ASCENDING), ("version", ASCENDING)], unique=True)],
    "clients": [IndexModel([("key", ASCENDING)], unique=True)],
    "tokens": [IndexModel([("role", ASCENDING)])],
    "notifications": [
        # state alone: SecantusDB scans the whole collection for the compound (state, due_at).
        IndexModel([("state", ASCENDING)]),
        IndexModel([("request_id", ASCENDING), ("event_version", ASCENDING)]),
    ],
    # Idempotency keys are kept a day, as payment APIs do.
    "idempotency_keys": [IndexModel([("created_at", ASCENDING)], expireAfterSeconds=24 * 3600)],
}


async def ensure_indexes(db: AsyncDatabase) -> None:
    await asyncio.gather(*(db[name].create_indexes(models) for name, models in INDEXES.items()))


def now() -> datetime:
    """The current UTC time at MongoDB's precision (milliseconds), so stored and returned values agree."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


async def find_or_insert(collection: AsyncCollection, query: dict, on_insert: dict) -> dict:
    """The document matching query, inserted with on_insert when there is none.

    Safe when several callers race to insert: MongoDB may answer the loser with a
    DuplicateKeyError, and SecantusDB (0.7) sometimes with no document; either way the
    winner's document is read back.
    """
    for _ in range(5):
        try:
            doc = await collection.find_one_and_update(
                query, {"$setOnInsert": on_insert}, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            doc = None
        if doc is None:
            doc = await collection.find_one(query)
        if doc is not None:
            return doc
    raise RuntimeError(f"could not find or insert {query} in {collection.name}")
