"""Pushing each committed event to every subscriber of this process.

The GraphQL work is done once per event and per subscription shape: subscribers with the
same document, variables and access class (role and language: all a payload can depend
on) form a group, the group executes the selection once per event, serialises it once, and
each subscriber's frame differs only by its operation id. What is per subscriber is cheap
and synchronous: its version (no gap, no duplicate), its access and visibility (the Feed),
and a write to its connection's bounded buffer.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bson import ObjectId
from graphql import DocumentNode, Executor, FieldNode, GraphQLError, OperationDefinitionNode, execute_subscription_event
from graphql.execution.values import get_argument_values
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from db.watcher import EventHub
from schema.common import DATABASE_UNAVAILABLE, PublicError, database_unavailable, should_mask
from schema.context import Context
from schema.requests.subscriptions import FEEDS, KEEP, STOP, Feed
from schema.requests.types import RequestEvent

log = logging.getLogger(__name__)

RENDER_CACHE_SIZE = 64  # events a group keeps rendered, for subscribers replaying the same ones


class Outlet(Protocol):
    """Where a subscriber's frames go: its WebSocket connection."""

    def send(self, frame: str) -> None: ...

    def operation_ended(self, operation_id: str) -> None: ...


@dataclass(frozen=True)
class Shape:
    """What makes two subscribers' payloads identical."""

    query: str
    operation_name: str | None
    variables: str  # canonical JSON
    role: str
    locale: str


class Group:
    __slots__ = ("shape", "executor", "subscribers", "_rendered")

    def __init__(self, shape: Shape, executor: Executor):
        self.shape = shape
        self.executor = executor
        self.subscribers: set[Subscriber] = set()
        self._rendered: OrderedDict[ObjectId, str] = OrderedDict()

    async def render(self, event: dict) -> str:
        """The payload JSON of this event for every member of the group."""
        cached = self._rendered.get(event["_id"])
        if cached is not None:
            return cached
        result = execute_subscription_event(self.executor.build_per_event_executor(RequestEvent.from_doc(event)))
        if isinstance(result, Awaitable):
            result = await result
        payload = payload_json(result.data, result.errors)
        self._rendered[event["_id"]] = payload
        if len(self._rendered) > RENDER_CACHE_SIZE:
            self._rendered.popitem(last=False)
        return payload


class Subscriber:
    __slots__ = ("outlet", "operation_id", "prefix", "feed", "group", "last", "pending", "task")

    def __init__(self, outlet: Outlet, operation_id: str, feed: Feed, group: Group):
        self.outlet = outlet
        self.operation_id = operation_id
        self.prefix = '{"id":' + json.dumps(operation_id) + ',"type":"next","payload":'
        self.feed = feed
        self.group = group
        self.last = feed.since
        # Live events that arrive while the subscriber catches up; None once it is live.
        self.pending: list[dict] | None = []
        self.task: asyncio.Task | None = None

    def send(self, payload: str) -> None:
        self.outlet.send(self.prefix + payload + "}")


def payload_json(data, errors: list[GraphQLError] | None) -> str:
    payload: dict = {"data": data}
    if errors:
        payload["errors"] = [masked(error) for error in errors]
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def masked(error: GraphQLError) -> dict:
    """What a subscriber may see of an error (as MaskUnexpectedErrors does for HTTP)."""
    if not should_mask(error):
        return error.formatted
    if database_unavailable(error.original_error):
        return GraphQLError(DATABASE_UNAVAILABLE, nodes=error.nodes, path=error.path,
                            extensions={"code": "UNAVAILABLE"}).formatted
    log.error("unexpected error in a subscription", exc_info=error.original_error)
    return GraphQLError("Unexpected error.", nodes=error.nodes, path=error.path).formatted


class SubscribeRefused(Exception):
    """A subscription that cannot start; `errors` go to the client as the operation's result."""

    def __init__(self, errors: list[dict]):
        super().__init__(errors[0]["message"])
        self.errors = errors


class FanOut:
    def __init__(self, *, db: AsyncDatabase, hub: EventHub, schema,
                 on_delivered: Callable[[float], None] | None = None):
        self._db = db
        self._hub = hub
        self._graphql_schema = schema._schema
        self._groups: dict[ObjectId | None, dict[Shape, Group]] = {}
        self._events: deque[tuple[float, dict]] = deque()
        self._on_delivered = on_delivered  # seconds from an event's arrival to its last frame queued
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.subscriber_count = 0

    def start(self) -> None:
        self._hub.listeners.add(self._on_event)
        self._task = asyncio.create_task(self._run(), name="herald-fanout")

    async def stop(self) -> None:
        self._hub.listeners.discard(self._on_event)
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_event(self, event: dict) -> None:
        if event["request_id"] in self._groups or None in self._groups:
            self._events.append((time.perf_counter(), event))
            self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._events:
                arrived, event = self._events.popleft()
                try:
                    await self._deliver(event)
                except Exception:  # one bad event must not stop every subscription
                    log.exception("fan-out of event %s failed", event.get("_id"))
                if self._on_delivered:
                    self._on_delivered(time.perf_counter() - arrived)

    async def _deliver(self, event: dict) -> None:
        for key in (event["request_id"], None):
            for group in list(self._groups.get(key, {}).values()):
                ready = [s for s in list(group.subscribers) if self._admit(s, event)]
                if ready:
                    payload = await group.render(event)
                    for subscriber in ready:
                        subscriber.send(payload)

    def _admit(self, subscriber: Subscriber, event: dict) -> bool:
        """Whether this live event goes to this subscriber now (synchronous: the hot path)."""
        if subscriber.pending is not None:
            subscriber.pending.append(event)
            return False
        feed = subscriber.feed
        if feed.ordered:
            version = event["version"]
            if version <= subscriber.last:
                return False
            if version > subscriber.last + 1:  # the change stream lost some: fill from the database
                subscriber.pending = [event]
                subscriber.task = asyncio.create_task(self._catch_up(subscriber))
                return False
            subscriber.last = version
        verdict = feed.verdict(event)
        if verdict == STOP:
            self._end(subscriber)
        return verdict == KEEP

    async def subscribe(self, *, outlet: Outlet, operation_id: str, document: DocumentNode, query: str,
                        variables: dict | None, operation_name: str | None, context: Context) -> Subscriber:
        """Opens a subscription: checks access, replays what was missed, then lets it go live.

        Raises SubscribeRefused with the errors to send when it cannot start.
        """
        executor = Executor.build(self._graphql_schema, document, context_value=context,
                                  raw_variable_values=variables or {}, operation_name=operation_name)
        if isinstance(executor, list):
            raise SubscribeRefused([error.formatted for error in executor])
        field_name, arguments = self._root_field(executor)
        try:
            feed = await FEEDS[field_name](context, arguments)
        except PublicError as error:
            raise SubscribeRefused([GraphQLError(str(error), extensions=error.extensions).formatted]) from None
        except PyMongoError as error:
            if not database_unavailable(error):
                raise
            raise SubscribeRefused([{"message": DATABASE_UNAVAILABLE, "extensions": {"code": "UNAVAILABLE"}}]) from None
        group = self._group(feed, Shape(query=query, operation_name=operation_name,
                                        variables=json.dumps(variables or {}, sort_keys=True),
                                        role=feed.viewer.role, locale=feed.viewer.locale), executor)
        subscriber = Subscriber(outlet, operation_id, feed, group)
        group.subscribers.add(subscriber)
        self.subscriber_count += 1
        subscriber.task = asyncio.create_task(self._catch_up(subscriber))
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        group = subscriber.group
        if subscriber not in group.subscribers:
            return
        group.subscribers.discard(subscriber)
        self.subscriber_count -= 1
        if subscriber.task and subscriber.task is not asyncio.current_task():
            subscriber.task.cancel()
        if not group.subscribers:
            groups = self._groups.get(subscriber.feed.request_id, {})
            groups.pop(group.shape, None)
            if not groups:
                self._groups.pop(subscriber.feed.request_id, None)

    def _end(self, subscriber: Subscriber) -> None:
        """The subscriber lost access: its operation completes."""
        self.unsubscribe(subscriber)
        subscriber.outlet.send(json.dumps({"id": subscriber.operation_id, "type": "complete"}))
        subscriber.outlet.operation_ended(subscriber.operation_id)

    def _root_field(self, executor: Executor) -> tuple[str, dict]:
        operation: OperationDefinitionNode = executor.operation
        [node] = operation.selection_set.selections  # validation keeps subscriptions to one root field
        if not isinstance(node, FieldNode):
            raise SubscribeRefused([{"message": "select the subscription field directly, not through a fragment"}])
        field = self._graphql_schema.subscription_type.fields[node.name.value]
        return node.name.value, get_argument_values(field, node, executor.variable_values)

    def _group(self, feed: Feed, shape: Shape, executor: Executor) -> Group:
        groups = self._groups.setdefault(feed.request_id, {})
        group = groups.get(shape)
        if group is None:
            group = groups[shape] = Group(shape, executor)
        return group

    async def _catch_up(self, subscriber: Subscriber) -> None:
        """Sends what the subscriber missed, then what arrived meanwhile, then lets it go live."""
        feed = subscriber.feed
        try:
            while True:
                if feed.ordered:
                    for event in await feed.missed(self._db, after=subscriber.last):
                        if not await self._pass(subscriber, event):
                            return
                if not subscriber.pending:
                    subscriber.pending = None  # live from here: no await since the check
                    return
                backlog, subscriber.pending = subscriber.pending, []
                for event in backlog:
                    if feed.ordered and event["version"] <= subscriber.last:
                        continue
                    if feed.ordered and event["version"] > subscriber.last + 1:
                        break  # a gap: read the database again
                    if not await self._pass(subscriber, event):
                        return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("catching up subscriber %s failed", subscriber.operation_id)
            self._end(subscriber)

    async def _pass(self, subscriber: Subscriber, event: dict) -> bool:
        """Sends one caught-up event if the subscriber may see it; False once it may see nothing more."""
        if subscriber.feed.ordered:
            subscriber.last = event["version"]
        verdict = subscriber.feed.verdict(event)
        if verdict == STOP:
            self._end(subscriber)
            return False
        if verdict == KEEP:
            subscriber.send(await subscriber.group.render(event))
        return True
