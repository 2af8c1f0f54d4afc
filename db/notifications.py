"""The notification outbox: one job per (event, channel), written in the event's transaction.

A job's `due_at` is when a dispatcher may take it: for PENDING the next attempt, for
SENDING the end of the lease of the dispatcher that claimed it. A claim that outlives its
lease (a crash mid-send) is simply claimed again.
"""

import random
from datetime import datetime, timedelta

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from db.client import now

PENDING, SENDING, SENT, FAILED = "PENDING", "SENDING", "SENT", "FAILED"
CONTACT_OF_CHANNEL = {"EMAIL": "email", "SMS": "phone"}


def _job(event: dict, channel: str, recipient: str, moment: datetime, **extra) -> dict:
    return {
        "_id": ObjectId(),
        "request_id": event["request_id"],
        "event_id": event["_id"],
        "event_version": event["version"],
        "channel": channel,
        "recipient": recipient,
        "state": PENDING,
        "attempts": 0,
        "due_at": moment,
        "last_error": None,
        "created_at": moment,
        "sent_at": None,
        **extra,
    }


async def queue_jobs(db: AsyncDatabase, session: AsyncClientSession, *, event: dict, notify_client: bool) -> None:
    """Queues the messages one committed event causes, inside the event's transaction.

    notify_client: whether the client is told of this event (the domain decides); webhooks
    hear of every event.
    """
    request = event["snapshot"]
    client = request["client"]
    moment = event["at"]
    jobs = []
    if notify_client:
        for channel in client.get("channels", []):
            if contact := client.get(CONTACT_OF_CHANNEL.get(channel, "")):
                jobs.append(_job(event, channel, contact, moment, locale=client["locale"], client_id=client["id"]))
    async for hook in db.webhooks.find({"active": True}, {"url": 1}, session=session):
        jobs.append(_job(event, "WEBHOOK", hook["url"], moment, webhook_id=hook["_id"]))
    if jobs:
        await db.notifications.insert_many(jobs, session=session)


async def claim_jobs(db: AsyncDatabase, *, worker: str, lease_s: float, limit: int) -> list[dict]:
    """Takes up to `limit` due jobs, most overdue first, for this worker.

    Each claim is a conditional update of one job by id (its state and attempt count as
    read): of two workers reading the same job, one claims it. The candidates are taken
    in random order so racing workers mostly start on different jobs; this also keeps
    SecantusDB away from its slow path for contended findAndModify.
    """
    moment = now()
    candidates = await db.notifications.find(
        {"state": {"$in": [PENDING, SENDING]}, "due_at": {"$lte": moment}}
    ).sort("due_at", ASCENDING).limit(limit).to_list()
    random.shuffle(candidates)
    lease_end = moment + timedelta(seconds=lease_s)
    claimed = []
    for job in candidates:
        result = await db.notifications.update_one(
            {"_id": job["_id"], "state": job["state"], "attempts": job["attempts"]},
            {"$set": {"state": SENDING, "due_at": lease_end, "claimed_by": worker}, "$inc": {"attempts": 1}},
        )
        if result.modified_count == 1:
            claimed.append(job | {"state": SENDING, "due_at": lease_end, "claimed_by": worker,
                                  "attempts": job["attempts"] + 1})
    return claimed


async def mark_sent(db: AsyncDatabase, *, job: dict) -> None:
    await db.notifications.update_one(
        {"_id": job["_id"], "state": SENDING},
        {"$set": {"state": SENT, "sent_at": now(), "due_at": None, "last_error": None}},
    )


async def mark_failed_attempt(db: AsyncDatabase, *, job: dict, error: str, retry_in_s: float | None) -> None:
    """Records a failed attempt: due again after retry_in_s, or FAILED for good when None."""
    changes: dict = {"last_error": error[:1000]}
    if retry_in_s is None:
        changes |= {"state": FAILED, "due_at": None}
    else:
        changes |= {"state": PENDING, "due_at": now() + timedelta(seconds=retry_in_s)}
    await db.notifications.update_one({"_id": job["_id"], "state": SENDING}, {"$set": changes})


async def notifications_of(db: AsyncDatabase, *, request_id: ObjectId, channels: list[str] | None = None) -> list[dict]:
    query: dict = {"request_id": request_id}
    if channels is not None:
        query["channel"] = {"$in": channels}
    return await db.notifications.find(query).sort([("event_version", ASCENDING), ("channel", ASCENDING)]).to_list()
