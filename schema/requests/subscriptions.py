"""Live events. Every subscription has the same shape: check access, replay what was missed,
stream, check access again as each event arrives, clean up when it ends.

A Feed holds those rules for one subscriber. The WebSocket layer (api.fanout) drives feeds
for many subscribers at once, executing the selection once per event and shape; the
resolvers below drive one feed each, the plain Strawberry way, and serve as the reference
the shared path is tested against.
"""

from collections.abc import AsyncGenerator
from dataclasses import dataclass

import strawberry
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from db.events import is_public, list_events
from db.requests import find_request
from db.watcher import SubscriberOverflow
from schema.access import STAFF_ROLES, Viewer
from schema.common import PublicError, bad_argument, require
from schema.context import Context, Info
from schema.requests.types import RequestEvent

KEEP, SKIP, STOP = "keep", "skip", "stop"


def fell_behind() -> PublicError:
    return PublicError("this subscriber fell too far behind; subscribe again with sinceVersion", "SUBSCRIBER_TOO_SLOW")


@dataclass
class Feed:
    """What one subscriber hears: which events, from which version on, and which it may see."""

    viewer: Viewer
    request_id: ObjectId | None  # None: every request's events
    since: int | None = None  # the last version the subscriber has; None: no replay, no version order
    statuses: frozenset[str] | None = None

    @property
    def public_only(self) -> bool:
        # Clients never see internal comments: their versions increase with gaps where those are.
        return self.viewer.role == "client"

    @property
    def ordered(self) -> bool:
        return self.since is not None

    async def missed(self, db: AsyncDatabase, after: int, before: int | None = None) -> list[dict]:
        """Committed events after version `after` (and before `before`) that this subscriber may see."""
        return await list_events(db, request_id=self.request_id, after_version=after, before_version=before,
                                 public_only=self.public_only)

    def verdict(self, event: dict) -> str:
        """KEEP to deliver the event, SKIP to pass over it, STOP when the subscriber lost access."""
        if not self.viewer.can_read(event["snapshot"]):
            return STOP
        if self.public_only and not is_public(event):
            return SKIP
        if self.statuses is not None and event["snapshot"]["status"] not in self.statuses:
            return SKIP
        return KEEP


async def request_feed(context: Context, request_id: str, since_version: int | None) -> Feed:
    """requestUpdated: one request the caller may read, replayed after since_version."""
    viewer = context.viewer
    require(viewer)
    if since_version is not None and since_version < 0:
        raise bad_argument("sinceVersion", "must be 0 or more")
    doc = await find_request(context.db, request_id=request_id, visible=viewer.read_filter())
    if doc is None:
        raise PublicError(f"no request with id '{request_id}'", "NOT_FOUND")
    if since_version is not None and since_version > doc["version"]:
        raise bad_argument("sinceVersion", f"the request is at version {doc['version']}; "
                                           f"{since_version} has not happened")
    return Feed(viewer=viewer, request_id=doc["_id"], since=doc["version"] if since_version is None else since_version)


async def firehose_feed(context: Context, statuses: list[str] | None) -> Feed:
    """requestEvents: every request's events, for staff."""
    viewer = context.viewer
    require(viewer, STAFF_ROLES, "watch every request's events")
    return Feed(viewer=viewer, request_id=None, statuses=frozenset(statuses) if statuses is not None else None)


async def follow(context: Context, feed: Feed) -> AsyncGenerator[dict, None]:
    """One subscriber's events, one by one: replay, then live, without gap or duplicate."""
    with context.hub.subscribe(feed.request_id) as live:
        # Subscribed before reading history: an event committed meanwhile arrives both
        # ways, and the live copy is dropped as already seen.
        last = feed.since
        if feed.ordered:
            for missed in await feed.missed(context.db, after=last):
                yield missed
                last = missed["version"]
        while True:
            try:
                event = await live.get()
            except SubscriberOverflow:
                raise fell_behind() from None
            if feed.ordered:
                if event["version"] <= last:
                    continue
                if event["version"] > last + 1:  # the change stream restarted without its history
                    for missed in await feed.missed(context.db, after=last, before=event["version"]):
                        yield missed
                last = event["version"]
            verdict = feed.verdict(event)
            if verdict == STOP:
                return
            if verdict == KEEP:
                yield event


@strawberry.type
class RequestSubscription:
    @strawberry.subscription(
        description="One request's events. With sinceVersion, first the events after that version, then live: "
        "versions strictly increase by one, with no gap and no duplicate (clients skip internal comments)."
    )
    async def request_updated(
        self, info: Info, id: strawberry.ID, since_version: int | None = None
    ) -> AsyncGenerator[RequestEvent, None]:
        feed = await request_feed(info.context, id, since_version)
        async for event in follow(info.context, feed):
            yield RequestEvent.from_doc(event)

    @strawberry.subscription(description="Staff: every request's events, optionally only those now in these statuses.")
    async def request_events(
        self, info: Info, status: list[str] | None = None
    ) -> AsyncGenerator[RequestEvent, None]:
        feed = await firehose_feed(info.context, status)
        async for event in follow(info.context, feed):
            yield RequestEvent.from_doc(event)


# The feed each subscription field opens, for the WebSocket layer: (context, arguments) -> Feed.
FEEDS = {
    "requestUpdated": lambda context, args: request_feed(context, args["id"], args.get("sinceVersion")),
    "requestEvents": lambda context, args: firehose_feed(context, args.get("status")),
}
