"""The event stream that feeds subscriptions.

One change stream per process on request_events (inserts only) fans every committed event
out to the subscribers of this process. Subscribers hear of an event because it was
written, never because a resolver announced it.
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterator

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure, PyMongoError

log = logging.getLogger(__name__)

CHANGE_STREAM_HISTORY_LOST = 286


class SubscriberOverflow(Exception):
    """The subscriber fell further behind than its buffer allows."""


class Subscription:
    """A bounded buffer of events for one subscriber."""

    __slots__ = ("limit", "overflowed", "_pending", "_waiter")

    def __init__(self, limit: int):
        self.limit = limit
        self.overflowed = False
        self._pending: deque[dict] = deque()
        self._waiter: asyncio.Future | None = None

    def push(self, event: dict) -> None:
        if len(self._pending) >= self.limit:
            self.overflowed = True
        else:
            self._pending.append(event)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> dict:
        """The next event; raises SubscriberOverflow once the buffered ones are consumed after an overflow."""
        while not self._pending:
            if self.overflowed:
                raise SubscriberOverflow
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._pending.popleft()


class EventHub:
    def __init__(self, events: AsyncCollection, *, buffer_limit: int = 1000):
        self._events = events
        self._buffer_limit = buffer_limit
        self._by_request: dict[ObjectId, set[Subscription]] = {}
        self._firehose: set[Subscription] = set()
        # Called with every event, e.g. to wake the notification dispatcher.
        self.listeners: set = set()
        # Events the change stream brought: /metrics reads it.
        self.published = 0
        self._task: asyncio.Task | None = None
        self._resume_token: dict | None = None
        self._retry_delay = 0.1
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def subscribe(self, request_id: ObjectId | None = None) -> Iterator[Subscription]:
        """Events of one request, or of every request when request_id is None, while the block runs."""
        subscription = Subscription(self._buffer_limit)
        group = self._firehose if request_id is None else self._by_request.setdefault(request_id, set())
        group.add(subscription)
        try:
            yield subscription
        finally:
            group.discard(subscription)
            if request_id is not None and not group:
                self._by_request.pop(request_id, None)

    @property
    def subscriber_count(self) -> int:
        return len(self._firehose) + sum(len(group) for group in self._by_request.values())

    def publish(self, event: dict) -> None:
        for subscription in self._by_request.get(event["request_id"], ()):
            subscription.push(event)
        for subscription in self._firehose:
            subscription.push(event)
        self.published += 1
        for listener in self.listeners:
            listener(event)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="herald-event-watcher")
        await asyncio.wait_for(self.ready.wait(), timeout=30)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self._watch()
            except asyncio.CancelledError:
                raise
            except OperationFailure as error:
                if error.code == CHANGE_STREAM_HISTORY_LOST:
                    log.warning("change stream history lost; continuing from now (subscribers fill gaps from history)")
                    self._resume_token = None
                else:
                    log.warning("change stream failed: %s; resuming in %.1fs", error, self._retry_delay)
            except PyMongoError as error:
                log.warning("change stream interrupted: %s; resuming in %.1fs", error, self._retry_delay)
            await asyncio.sleep(self._retry_delay)
            self._retry_delay = min(self._retry_delay * 2, 5.0)

    async def _watch(self) -> None:
        pipeline = [{"$match": {"operationType": "insert"}}]
        async with await self._events.watch(pipeline, resume_after=self._resume_token, max_await_time_ms=1000) as stream:
            self.ready.set()
            self._retry_delay = 0.1
            while stream.alive:
                change = await stream.try_next()
                # The token advances on quiet periods too, so a resume never reaches far back.
                self._resume_token = stream.resume_token
                if change is not None:
                    self.publish(change["fullDocument"])
