"""The history of requests: one event a version, append-only."""

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase


async def list_events(
    db: AsyncDatabase, *, request_id: ObjectId, after_version: int = 0, before_version: int | None = None
) -> list[dict]:
    """Events of one request, oldest first, with after_version < version < before_version."""
    versions: dict = {"$gt": after_version}
    if before_version is not None:
        versions["$lt"] = before_version
    cursor = db.request_events.find({"request_id": request_id, "version": versions}).sort("version", 1)
    return await cursor.to_list()
