"""The ASGI application: its routes, and the lifespan that owns the database and event watcher."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import RedirectResponse
from starlette.routing import Route, WebSocketRoute

from api.fanout import FanOut
from api.graphql_app import HeraldGraphQL
from api.health import healthz, readyz
from api.limits import BodySizeLimit
from api.logs import RequestLog
from api.message_links import short_link, unsubscribe
from api.metrics import HttpMetrics, Metrics, metrics_endpoint, operation_metrics
from api.notifications.dispatcher import Dispatcher
from api.notifications.links import make_links
from api.portal import portal_routes
from api.ratelimit import RateLimit
from api.settings import Settings, secret_value
from api.websocket import GraphQLWebSocket
from db.client import open_database
from db.tokens import bootstrap_admin_token
from db.watcher import EventHub
from db.workflows import WorkflowCache, ensure_default_workflow
from schema import build_schema

log = logging.getLogger("herald")


def create_app(settings: Settings | None = None) -> "WebSocketShortcut":
    settings = settings or Settings()
    metrics = Metrics()
    # One schema per app: introspection off in production, operations counted in this app's metrics.
    schema = build_schema(introspection=not settings.production, extensions=[operation_metrics(metrics)])
    graphql = HeraldGraphQL(public_url=settings.public_url, graphiql=settings.graphiql_enabled, graphql_schema=schema)
    websocket = GraphQLWebSocket(schema=schema, public_url=settings.public_url, init_timeout_s=settings.ws_init_timeout,
                                 max_pending_frames=settings.ws_max_pending_frames,
                                 max_operations=settings.ws_max_subscriptions)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict]:
        async with open_database(
            mongodb_uri=settings.mongodb_uri, db_name=settings.db_name, data_dir=settings.data_dir,
            timeout_ms=settings.db_timeout_ms,
        ) as db:
            await ensure_default_workflow(db)
            if path := await bootstrap_admin_token(db, data_dir=settings.data_dir):
                log.warning("first start: an admin token was written to %s (readable by this user only)", path)
            hub = EventHub(db.request_events)
            await hub.start()
            websocket.fanout = FanOut(db=db, hub=hub, schema=schema, on_delivered=metrics.observe_fanout)
            websocket.fanout.start()
            websocket.start_token_checks(db, settings.ws_token_check_s)
            metrics.attach(db=db, hub=hub, subscribers=lambda: websocket.fanout.subscriber_count,
                           connections=lambda: len(websocket.connections))
            links = await make_links(db, secret_key=secret_value(settings.secret_key), public_url=settings.public_url)
            dispatcher = Dispatcher(db, settings, links=links, hub=hub, metrics=metrics) if settings.dispatcher \
                else None
            if dispatcher:
                await dispatcher.start()
            try:
                # Starlette hands this state to every request and WebSocket (request.state).
                yield {"db": db, "hub": hub, "workflows": WorkflowCache(db), "links": links, "metrics": metrics}
            finally:
                websocket.close_all()  # 1001: clients reconnect, to another instance if there is one
                if dispatcher:
                    await dispatcher.stop(grace_s=settings.shutdown_grace_s)
                await websocket.stop_token_checks()
                await websocket.fanout.stop()
                await hub.stop()

    async def home(request):
        return RedirectResponse("/graphql")

    routes = [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/s/{code}", short_link),
        Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", websocket),
        *portal_routes(),
    ]
    if settings.metrics:
        routes.append(Route("/metrics", metrics_endpoint(metrics)))
    middleware = [
        Middleware(RequestLog, routes=routes),  # outermost: every line below carries the request id
        Middleware(HttpMetrics, metrics=metrics, routes=routes),
        Middleware(RateLimit, per_minute=settings.rate_limit_per_minute,
                   anonymous_per_minute=settings.rate_limit_anonymous_per_minute),
        Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    return WebSocketShortcut(app, websocket)


class WebSocketShortcut:
    """Hands GraphQL WebSockets straight to their endpoint, outside Starlette's middleware.

    An idle subscriber's socket keeps its whole call chain alive for as long as it is open:
    every middleware layer costs memory per connection, and none of them has work to do there.
    """

    def __init__(self, app: Starlette, websocket: GraphQLWebSocket):
        self.app = app
        self.websocket = websocket

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "websocket" and scope["path"] == "/graphql":
            await self.websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)
