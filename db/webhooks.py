"""Webhooks: URLs that hear of every event, signed with a secret of their own."""

import base64
import secrets

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from db.client import now


async def register_webhook(db: AsyncDatabase, *, url: str, description: str | None, created_by: str) -> tuple[dict, str]:
    """Stores a webhook and returns it with its signing secret.

    The secret is kept as given: Herald needs it to sign every delivery.
    """
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()  # Standard Webhooks format
    doc = {"_id": ObjectId(), "url": url, "description": description, "secret": secret, "active": True,
           "created_by": created_by, "created_at": now()}
    await db.webhooks.insert_one(doc)
    return doc, secret


async def list_webhooks(db: AsyncDatabase) -> list[dict]:
    return await db.webhooks.find({"active": True}).sort("_id", 1).to_list()


async def deactivate_webhook(db: AsyncDatabase, *, webhook_id: ObjectId) -> bool:
    result = await db.webhooks.update_one({"_id": webhook_id, "active": True}, {"$set": {"active": False}})
    return result.modified_count == 1


async def find_webhook(db: AsyncDatabase, *, webhook_id: ObjectId) -> dict | None:
    return await db.webhooks.find_one({"_id": webhook_id})
