"""The history of requests: one event a version, append-only."""

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase


async def list_events(
    db: AsyncDatabase, *, request_id: ObjectId, after_version: int = 0, before_version: int | None = None,
    public_only: bool = False,
) -> list[dict]:
    """Events of one request, oldest first, with after_version < version < before_version;
    without internal comments when public_only."""
    versions: dict = {"$gt": after_version}
    if before_version is not None:
        versions["$lt"] = before_version
    query: dict = {"request_id": request_id, "version": versions}
    if public_only:
        query["public"] = {"$ne": False}
    return await db.request_events.find(query).sort("version", 1).to_list()


def is_public(event: dict) -> bool:
    """Whether clients see this event: everything but internal comments."""
    return event.get("public", True) is not False
