"""Prometheus metrics of one Herald app, served on GET /metrics.

Every app has a registry of its own, so several apps can live in one process (the tests
make many) without sharing or re-registering metrics. What other parts already know (open
WebSockets, subscribers, events from the change stream, the outbox) is read when
Prometheus scrapes, not tracked on the side where it could drift.

Hook for the fan-out: `metrics.observe_fanout(seconds)`, the time from an event's arrival
to its delivery to this process's subscribers (`metrics_of(websocket)` finds the app's).
"""

import asyncio
import re
import time
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType
from strawberry.utils.operation import get_first_operation

from db.client import now
from db.notifications import PENDING, SENDING
from db.watcher import EventHub
from schema.common import error_code

# Operation names come from callers: only this many distinct ones get a label of their own.
MAX_OPERATION_NAMES = 200
OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_+]{0,99}")
SCRAPE_DB_TIMEOUT_S = 2.0
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter("herald_http_requests", "HTTP requests answered.",
                                     ["method", "route", "status"], registry=r)
        self.http_duration = Histogram("herald_http_request_duration_seconds", "Time to answer an HTTP request.",
                                       ["route"], buckets=FAST_BUCKETS, registry=r)
        self.operations = Counter("herald_graphql_operations", "GraphQL operations by name, type and outcome "
                                  "(ok, or the error code of the first error).", ["operation", "type", "outcome"],
                                  registry=r)
        self.operation_duration = Histogram("herald_graphql_operation_duration_seconds",
                                            "Time to execute a query or mutation.", ["operation", "type"],
                                            buckets=FAST_BUCKETS, registry=r)
        self.notifications = Counter("herald_notifications", "Notification send attempts by channel and what "
                                     "became of the message: SENT, RETRY (will be tried again) or FAILED.",
                                     ["channel", "state"], registry=r)
        self.fanout_latency = Histogram("herald_fanout_latency_seconds", "From an event's arrival from the change "
                                        "stream to its delivery to this process's subscribers.",
                                        buckets=FAST_BUCKETS, registry=r)
        self.outbox_lag = Gauge("herald_outbox_lag_seconds", "Age of the oldest notification due to be sent "
                                "(0 when none waits).", registry=r)
        self.database_up = Gauge("herald_database_up", "1 when the database answered the last scrape.", registry=r)
        self._db: AsyncDatabase | None = None
        self._live = _LiveCollector()
        self._operation_names: set[str] = set()
        r.register(self._live)

    def attach(self, *, db: AsyncDatabase, hub: EventHub, subscribers: Callable[[], int],
               connections: Callable[[], int]) -> None:
        """What the lifespan opened: read on every scrape."""
        self._db = db
        self._live.hub, self._live.subscribers, self._live.connections = hub, subscribers, connections

    def observe_fanout(self, seconds: float) -> None:
        self.fanout_latency.observe(seconds)

    def notification(self, *, channel: str, state: str) -> None:
        self.notifications.labels(channel=channel, state=state).inc()

    def operation_label(self, name: str | None) -> str:
        """A caller-chosen operation name as a label, without letting callers grow the label set forever."""
        if not name or not OPERATION_NAME.fullmatch(name):
            return "other" if name else "anonymous"
        if name not in self._operation_names:
            if len(self._operation_names) >= MAX_OPERATION_NAMES:
                return "other"
            self._operation_names.add(name)
        return name

    async def scrape(self) -> bytes:
        await self._measure_outbox()
        return generate_latest(self.registry)

    async def _measure_outbox(self) -> None:
        if self._db is None:
            return
        try:
            oldest = await asyncio.wait_for(self._db.notifications.find_one(
                {"state": {"$in": [PENDING, SENDING]}, "due_at": {"$lte": now()}}, {"due_at": 1},
                sort=[("due_at", 1)]), SCRAPE_DB_TIMEOUT_S)
        except (PyMongoError, TimeoutError):
            self.database_up.set(0)
            return
        self.database_up.set(1)
        self.outbox_lag.set((now() - oldest["due_at"]).total_seconds() if oldest else 0.0)


class _LiveCollector:
    """Reads, when scraped, what the running app knows: sockets, subscribers, events fanned out."""

    def __init__(self) -> None:
        self.hub: EventHub | None = None
        self.subscribers: Callable[[], int] = lambda: 0
        self.connections: Callable[[], int] = lambda: 0

    def collect(self) -> Iterator:
        connections = GaugeMetricFamily("herald_websocket_connections", "Open GraphQL WebSocket connections.")
        subscribers = GaugeMetricFamily("herald_active_subscriptions", "Subscriptions this process serves.")
        published = CounterMetricFamily("herald_events_fanned_out", "Events the change stream brought to this "
                                        "process, each fanned out to its subscribers.")
        connections.add_metric([], self.connections())
        subscribers.add_metric([], self.subscribers())
        published.add_metric([], self.hub.published if self.hub else 0)
        yield from (connections, subscribers, published)


def metrics_of(connection: HTTPConnection) -> Metrics:
    """The Metrics of the app serving a request or a WebSocket (the lifespan hands it to both)."""
    return connection.state.metrics


def metrics_endpoint(metrics: Metrics):
    async def serve_metrics(request: Request) -> Response:
        return Response(await metrics.scrape(), media_type=CONTENT_TYPE_LATEST)

    return serve_metrics


class HttpMetrics:
    """Counts and times every HTTP request by route template (never the raw path: it holds tokens)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, routes: list[BaseRoute]):
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before responding

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = route_of(scope, self.routes)
            self.metrics.http_requests.labels(method=scope["method"], route=route, status=str(status)).inc()
            self.metrics.http_duration.labels(route=route).observe(time.perf_counter() - started)


def route_of(scope: Scope, routes: list[BaseRoute]) -> str:
    """The template of the route a request matches ("/s/{code}"), or "unmatched"."""
    for route in routes:
        if route.matches(scope)[0] == Match.FULL:
            return getattr(route, "path", "unmatched")
    return "unmatched"


def operation_metrics(metrics: Metrics) -> type[SchemaExtension]:
    """A schema extension counting operations by name and outcome, timing queries and mutations."""

    class OperationMetrics(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            started = time.perf_counter()
            yield
            context = self.execution_context
            try:
                kind = context.operation_type.value
            except RuntimeError:  # the document did not parse
                kind = "unknown"
            name = metrics.operation_label(context.operation_name or _root_fields(context))
            errors = (context.result.errors if context.result else None) or context.pre_execution_errors
            outcome = error_code(errors[0]).lower() if errors else "ok"
            metrics.operations.labels(operation=name, type=kind, outcome=outcome).inc()
            if kind != OperationType.SUBSCRIPTION.value:  # a subscription lasts as long as the client likes
                metrics.operation_duration.labels(operation=name, type=kind).observe(time.perf_counter() - started)

    return OperationMetrics


def _root_fields(context) -> str | None:
    """An anonymous operation's root fields ("viewer", "createRequest"), to name it by."""
    operation = get_first_operation(context.graphql_document) if context.graphql_document else None
    if operation is None:
        return None
    names = sorted({getattr(selection, "name", None) and selection.name.value
                    for selection in operation.selection_set.selections} - {None})
    return "+".join(names) or None
