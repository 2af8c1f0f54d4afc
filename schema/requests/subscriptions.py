"""Live events. Each subscription checks access, replays what was missed, streams, and
checks access again as each event arrives; leaving the block unsubscribes."""

from collections.abc import AsyncGenerator

import strawberry

from db.events import is_public, list_events
from db.requests import find_request
from db.watcher import SubscriberOverflow, Subscription
from schema.common import PublicError, bad_argument, forbidden, unauthenticated
from schema.context import Info
from schema.requests.types import RequestEvent


def _fell_behind() -> PublicError:
    return PublicError("this subscriber fell too far behind; subscribe again with sinceVersion", "SUBSCRIBER_TOO_SLOW")


async def _next(live: Subscription) -> dict:
    try:
        return await live.get()
    except SubscriberOverflow:
        raise _fell_behind() from None


@strawberry.type
class RequestSubscription:
    @strawberry.subscription(
        description="One request's events. With sinceVersion, first the events after that version, then live: "
        "versions strictly increase by one, with no gap and no duplicate."
    )
    async def request_updated(
        self, info: Info, id: strawberry.ID, since_version: int | None = None
    ) -> AsyncGenerator[RequestEvent, None]:
        context, viewer = info.context, info.context.viewer
        if not viewer.is_authenticated:
            raise unauthenticated()
        if since_version is not None and since_version < 0:
            raise bad_argument("sinceVersion", "must be 0 or more")
        doc = await find_request(context.db, request_id=id, visible=viewer.read_filter())
        if doc is None:
            raise PublicError(f"no request with id '{id}'", "NOT_FOUND")
        if since_version is not None and since_version > doc["version"]:
            raise bad_argument("sinceVersion", f"the request is at version {doc['version']}; "
                                               f"{since_version} has not happened")
        request_id = doc["_id"]
        # Clients never see internal comments: their versions increase with gaps where those are.
        public_only = viewer.role == "client"
        with context.hub.subscribe(request_id) as live:
            # Subscribed before reading history: an event committed meanwhile arrives both
            # ways, and the live copy is dropped as already seen.
            last = doc["version"] if since_version is None else since_version
            for missed in await list_events(context.db, request_id=request_id, after_version=last,
                                            public_only=public_only):
                yield RequestEvent.from_doc(missed)
                last = missed["version"]
            while True:
                event = await _next(live)
                if event["version"] <= last:
                    continue
                if event["version"] > last + 1:
                    # The change stream restarted without its history: fill the gap from the database.
                    for missed in await list_events(context.db, request_id=request_id, after_version=last,
                                                    before_version=event["version"], public_only=public_only):
                        yield RequestEvent.from_doc(missed)
                last = event["version"]
                if not viewer.can_read(event["snapshot"]):
                    return
                if public_only and not is_public(event):
                    continue
                yield RequestEvent.from_doc(event)

    @strawberry.subscription(description="Staff: every request's events, optionally only those now in these statuses.")
    async def request_events(
        self, info: Info, status: list[str] | None = None
    ) -> AsyncGenerator[RequestEvent, None]:
        context, viewer = info.context, info.context.viewer
        if not viewer.is_authenticated:
            raise unauthenticated()
        if not viewer.is_staff:
            raise forbidden("watch every request's events")
        wanted = set(status) if status is not None else None
        with context.hub.subscribe() as live:
            while True:
                event = await _next(live)
                if wanted is None or event["snapshot"]["status"] in wanted:
                    yield RequestEvent.from_doc(event)
