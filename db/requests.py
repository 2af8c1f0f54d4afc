"""Requests: creating them and moving them through their workflow.

Every change to a request is one transaction: the request is updated with a version
check and its event is inserted, or neither happens. The event carries a snapshot of the
request after the change, so subscribers get the committed state from the event alone.
"""

import hashlib
import json
import re
from dataclasses import asdict, dataclass

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, DuplicateKeyError

from db.client import find_or_insert, now
from db.errors import (DatabaseUnavailable, FeedbackRefused, FieldProblem, RequestNotFound, TransitionNotAllowed,
                       ValidationFailed, VersionMismatch)
from db.notifications import queue_jobs
from db.workflows import find_workflow

NUMBER_PREFIX = "REQ-"


@dataclass(frozen=True)
class ClientInfo:
    name: str
    email: str | None
    phone: str | None
    locale: str
    channels: tuple[str, ...]


@dataclass(frozen=True)
class NewRequest:
    title: str
    description: str | None
    service: str | None
    workflow: str
    client: ClientInfo

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who made a change, as history shows it."""

    role: str
    name: str
    token_id: str | None = None

    def to_doc(self) -> dict:
        return {"role": self.role, "name": self.name}


def format_number(seq: int) -> str:
    return f"{NUMBER_PREFIX}{seq:06d}"


def parse_request_id(value: str) -> dict | None:
    """A filter for an id as clients give it: the ObjectId, or the number (REQ-000042)."""
    value = value.strip()
    if match := re.fullmatch(r"(?i)(?:REQ-)?0*(\d{1,12})", value):
        return {"number": format_number(int(match.group(1)))}
    try:
        return {"_id": ObjectId(value)}
    except (InvalidId, TypeError):
        return None


def restricted(query: dict, visible: dict) -> dict:
    """query, limited to what the caller may see. Never merged as dicts: both may constrain _id."""
    return {"$and": [query, visible]} if visible else query


async def find_request(db: AsyncDatabase, *, request_id: str, visible: dict) -> dict | None:
    """The request with this id (or number) among those matching the caller's visibility filter."""
    by_id = parse_request_id(request_id)
    if by_id is None:
        return None
    return await db.requests.find_one(restricted(by_id, visible))


async def _next_number(db: AsyncDatabase) -> str:
    # Outside the creating transaction on purpose: all creates would otherwise conflict on
    # this one document. A failed create leaves a gap in the numbers, never a duplicate.
    while True:
        counter = await db.counters.find_one_and_update(
            {"_id": "requests"}, {"$inc": {"seq": 1}}, return_document=ReturnDocument.AFTER
        )
        if counter is not None:
            return format_number(counter["seq"])
        # The first request ever: create the counter, then increment it like everyone else.
        await find_or_insert(db.counters, {"_id": "requests"}, {"seq": 0})


async def _find_client(db: AsyncDatabase, client: ClientInfo) -> dict:
    """The record that ties together the requests of one person (by email, else by phone)."""
    key = f"email:{client.email.lower()}" if client.email else f"phone:{client.phone}"
    return await find_or_insert(db.clients, {"key": key}, {"key": key, "unsubscribed": [], "created_at": now()})


async def _existing_for_key(db: AsyncDatabase, key_id: dict, fingerprint: str) -> dict | None:
    record = await db.idempotency_keys.find_one({"_id": key_id})
    if record is None:
        return None
    if record["fingerprint"] != fingerprint:
        raise ValidationFailed(
            [FieldProblem("idempotencyKey", "this key was already used for a different request")]
        )
    return await db.requests.find_one({"_id": record["request_id"]})


async def create_request(
    db: AsyncDatabase, *, new: NewRequest, actor: Actor, idempotency_key: str | None = None
) -> tuple[dict, bool]:
    """Creates a request, or returns the one this caller already created with this key.

    Returns the request document and whether it was created by this call.
    """
    workflow = await find_workflow(db, key=new.workflow)
    if workflow is None:
        raise ValidationFailed([FieldProblem("workflow", f"no workflow with key '{new.workflow}'")])
    key_id = {"caller": actor.token_id, "key": idempotency_key} if idempotency_key else None
    if key_id and (existing := await _existing_for_key(db, key_id, new.fingerprint())):
        return existing, False

    moment = now()
    person = await _find_client(db, new.client)
    # Whoever creates the request cannot sign the client up again for what they unsubscribed from.
    channels = [ch for ch in new.client.channels if ch not in person.get("unsubscribed", [])]
    client = asdict(new.client) | {"id": person["_id"], "channels": channels}
    doc = {
        "_id": ObjectId(),
        "number": await _next_number(db),
        "title": new.title,
        "description": new.description,
        "service": new.service,
        "workflow": workflow.key,
        "status": workflow.initial,
        "version": 1,
        "client": client,
        "assignee": None,
        "feedback": None,
        "closures": 0,
        "created_by": actor.token_id,
        "created_at": moment,
        "updated_at": moment,
    }
    event = _event(doc, type_="CREATED", from_status=None, comment=None, actor=actor)

    async def write(session: AsyncClientSession) -> None:
        await db.requests.insert_one(doc, session=session)
        await db.request_events.insert_one(event, session=session)
        await queue_jobs(db, session, event=event, notify_client=True)
        if key_id:
            await db.idempotency_keys.insert_one(
                {"_id": key_id, "request_id": doc["_id"], "fingerprint": new.fingerprint(), "created_at": moment},
                session=session,
            )

    try:
        await _in_transaction(db, write)
    except DuplicateKeyError:
        # The same caller sent the same key concurrently, and the other call won.
        if key_id and (existing := await _existing_for_key(db, key_id, new.fingerprint())):
            return existing, False
        raise
    return doc, True


async def transition_request(
    db: AsyncDatabase,
    *,
    request_id: str,
    to: str,
    actor: Actor,
    comment: str | None = None,
    expected_version: int | None = None,
    notify_client: bool = True,
) -> tuple[dict, dict]:
    """Moves a request to another status of its workflow. Returns the request and its new event."""

    async def write(session: AsyncClientSession) -> tuple[dict, dict]:
        doc = await _current(db, session, request_id, expected_version)
        workflow = await find_workflow(db, key=doc["workflow"], session=session)
        if not workflow.can_move(doc["status"], to, actor.role):
            raise TransitionNotAllowed(workflow, doc["status"], to, actor.role)
        changes = {"status": to, "version": doc["version"] + 1, "updated_at": now()}
        if workflow.status(to).terminal:
            changes["closures"] = doc.get("closures", 0) + 1
        return await _apply(db, session, doc, changes, type_="STATUS_CHANGED", actor=actor, comment=comment,
                            notify_client=notify_client and workflow.notifies_client(doc["status"], to))

    return await _in_transaction(db, write)


async def leave_feedback(
    db: AsyncDatabase, *, request_id: str, rating: int, comment: str | None, actor: Actor, visible: dict
) -> dict:
    """Records the client's rating of a closed request: once for each time it was closed."""

    async def write(session: AsyncClientSession) -> dict:
        doc = await db.requests.find_one(restricted(_by_id(request_id), visible), session=session)
        if doc is None:
            raise RequestNotFound(request_id)
        workflow = await find_workflow(db, key=doc["workflow"], session=session)
        if not workflow.status(doc["status"]).terminal:
            raise FeedbackRefused("feedback can be left once the request is closed")
        cycle = doc.get("closures", 0)
        if doc.get("feedback") and doc["feedback"].get("cycle") == cycle:
            raise FeedbackRefused("feedback was already left for this request")
        moment = now()
        feedback = {"rating": rating, "comment": comment, "at": moment, "cycle": cycle}
        changes = {"feedback": feedback, "version": doc["version"] + 1, "updated_at": moment}
        updated, _ = await _apply(db, session, doc, changes, type_="FEEDBACK_LEFT", actor=actor, comment=comment,
                                  extra={"rating": rating}, notify_client=False)
        return updated

    return await _in_transaction(db, write)


async def _apply(db, session, doc: dict, changes: dict, *, type_: str, actor: Actor, comment: str | None,
                 notify_client: bool, extra: dict | None = None) -> tuple[dict, dict]:
    """Writes a change with its event and the messages it causes; the caller's transaction holds them together."""
    result = await db.requests.update_one({"_id": doc["_id"], "version": doc["version"]}, {"$set": changes},
                                          session=session)
    if result.matched_count != 1:  # cannot happen inside a transaction; kept as a guard
        raise VersionMismatch(doc["version"], doc["version"] + 1)
    updated = doc | changes
    event = _event(updated, type_=type_, from_status=doc["status"], comment=comment, actor=actor,
                   extra={"notify_client": notify_client, **(extra or {})})
    await db.request_events.insert_one(event, session=session)
    await queue_jobs(db, session, event=event, notify_client=notify_client)
    return updated, event


def _event(doc: dict, *, type_: str, from_status: str | None, comment: str | None, actor: Actor,
           extra: dict | None = None) -> dict:
    return {
        "_id": ObjectId(),
        "request_id": doc["_id"],
        "version": doc["version"],
        "type": type_,
        "from": from_status,
        "to": doc["status"],
        "comment": comment,
        "actor": actor.to_doc(),
        "at": doc["updated_at"],
        "snapshot": doc,
        **(extra or {}),
    }


async def assign_request(
    db: AsyncDatabase, *, request_id: str, assignee: dict | None, actor: Actor, expected_version: int | None = None
) -> tuple[dict, dict]:
    """Names the staff member handling a request (None: nobody); the client is told who it is."""

    async def write(session: AsyncClientSession) -> tuple[dict, dict]:
        doc = await _current(db, session, request_id, expected_version)
        changes = {"assignee": assignee, "version": doc["version"] + 1, "updated_at": now()}
        return await _apply(db, session, doc, changes, type_="ASSIGNED" if assignee else "UNASSIGNED", actor=actor,
                            comment=None, notify_client=assignee is not None)

    return await _in_transaction(db, write)


async def add_comment(
    db: AsyncDatabase, *, request_id: str, body: str, public: bool, actor: Actor, visible: dict
) -> tuple[dict, dict]:
    """Adds a comment to a request's history. Internal ones (public=False) clients never see;
    a public one from staff is sent to the client."""

    async def write(session: AsyncClientSession) -> tuple[dict, dict]:
        doc = await db.requests.find_one(restricted(_by_id(request_id), visible), session=session)
        if doc is None:
            raise RequestNotFound(request_id)
        changes = {"version": doc["version"] + 1, "updated_at": now()}
        return await _apply(db, session, doc, changes, type_="COMMENT_ADDED", actor=actor, comment=body,
                            notify_client=public and actor.role != "client", extra={"public": public})

    return await _in_transaction(db, write)


def _by_id(request_id: str) -> dict:
    by_id = parse_request_id(request_id)
    if by_id is None:
        raise RequestNotFound(request_id)
    return by_id


async def _current(db: AsyncDatabase, session: AsyncClientSession, request_id: str,
                   expected_version: int | None) -> dict:
    """The request as this transaction sees it, at the version the caller expects."""
    doc = await db.requests.find_one(_by_id(request_id), session=session)
    if doc is None:
        raise RequestNotFound(request_id)
    if expected_version is not None and doc["version"] != expected_version:
        raise VersionMismatch(expected_version, doc["version"])
    return doc


async def _in_transaction(db: AsyncDatabase, write):
    # with_transaction retries the whole callback on a write conflict, so a concurrent
    # change is seen on the retry and checked like any other (VersionMismatch, rules).
    # It would also retry for two minutes against a database that is down: that failure
    # leaves the loop at once, and the caller hears "unavailable, try again" in seconds.
    async def attempt(session: AsyncClientSession):
        try:
            return await write(session)
        except ConnectionFailure as error:
            raise DatabaseUnavailable(str(error)) from error

    async with db.client.start_session() as session:
        return await session.with_transaction(attempt)


async def list_requests(
    db: AsyncDatabase, *, visible: dict, statuses: list[str] | None, search: str | None, first: int,
    after: ObjectId | None
) -> tuple[list[dict], bool]:
    """A page of requests, newest first, and whether more follow."""
    clauses: list[dict] = [visible] if visible else []
    if statuses is not None:
        clauses.append({"status": {"$in": statuses}})
    if search and search.strip():
        clauses.append(_search_filter(search.strip()))
    if after is not None:
        clauses.append({"_id": {"$lt": after}})
    query = {"$and": clauses} if clauses else {}
    docs = await db.requests.find(query).sort("_id", DESCENDING).limit(first + 1).to_list()
    return docs[:first], len(docs) > first


def _search_filter(text: str) -> dict:
    pattern = {"$regex": re.escape(text), "$options": "i"}
    clauses: list[dict] = [{"title": pattern}, {"client.email": pattern}, {"number": pattern}]
    if (by_number := parse_request_id(text)) and "number" in by_number:
        clauses.append(by_number)
    return {"$or": clauses}


async def set_client_preferences(
    db: AsyncDatabase, *, visible: dict, channels: list[str] | None, locale: str | None
) -> list[dict]:
    """Sets how the client is told (channels) and in which language, on every request they can see.

    Not a change of the request: no new version, no event. Messages already queued keep
    their channel; only new ones follow the new choice.
    """
    changes: dict = {}
    if channels is not None:
        changes["client.channels"] = channels
    if locale is not None:
        changes["client.locale"] = locale
    if changes:
        await db.requests.update_many(visible, {"$set": changes})
    docs = await db.requests.find(visible).sort("_id", DESCENDING).to_list()
    client_ids = list({doc["client"]["id"] for doc in docs})
    if channels:  # choosing a channel again undoes an unsubscribe from it
        await db.clients.update_many({"_id": {"$in": client_ids}}, {"$pullAll": {"unsubscribed": channels}})
    if locale is not None:  # the client's tokens carry the language labels are shown in
        await db.tokens.update_many({"client_id": {"$in": client_ids}}, {"$set": {"locale": locale}})
    return docs


async def unsubscribe_client(db: AsyncDatabase, *, client_id: ObjectId, channel: str) -> int:
    """Stops messages on one channel to one person, on every request of theirs, now and later.

    Returns how many requests it changed.
    """
    await db.clients.update_one({"_id": client_id}, {"$addToSet": {"unsubscribed": channel}})
    result = await db.requests.update_many({"client.id": client_id}, {"$pull": {"client.channels": channel}})
    return result.modified_count
