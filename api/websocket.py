"""GraphQL over WebSocket: the graphql-transport-ws protocol (graphql-ws, Apollo, urql, gql).

Queries and mutations sent over the socket run through the Strawberry schema like HTTP
ones; subscriptions go to the fan-out, which shares the per-event work between
subscribers. Each connection writes through a bounded buffer: a subscriber that cannot keep
up is closed (1013) and reconnects with sinceVersion, losing nothing.
"""

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict, deque

from graphql import DocumentNode, GraphQLError, OperationType, get_operation_ast, parse, specified_rules, validate
from graphql.error import GraphQLSyntaxError
from pymongo.errors import PyMongoError
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from api.auth import InvalidToken, header, resolve_viewer
from api.fanout import FanOut, SubscribeRefused, Subscriber
from api.logs import new_request_id, request_id_scope
from db.tokens import valid_token_ids
from schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from schema.context import Context

log = logging.getLogger(__name__)

PROTOCOL = "graphql-transport-ws"
DOCUMENT_CACHE_SIZE = 256


class Close:
    """Close codes of graphql-transport-ws, and ours."""

    BAD_REQUEST = 4400
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    SUBPROTOCOL = 4406
    INIT_TIMEOUT = 4408
    DUPLICATE_ID = 4409
    TOO_MANY_INITS = 4429
    TOO_SLOW = 1013  # "try again later": reconnect and resubscribe with sinceVersion
    GOING_AWAY = 1001


class Documents:
    """Parsed and validated documents by their text: subscribers mostly send the same few."""

    def __init__(self, schema):
        self._schema = schema._schema
        self._rules = [*specified_rules, *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
                       *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules]
        self._cache: OrderedDict[str, DocumentNode | list[GraphQLError]] = OrderedDict()

    def get(self, query: str) -> DocumentNode | list[GraphQLError]:
        found = self._cache.get(query)
        if found is None:
            try:
                document = parse(query, max_tokens=MAX_TOKENS)
                errors = validate(self._schema, document, self._rules)
                found = errors or document
            except GraphQLSyntaxError as error:
                found = [error]
            self._cache[query] = found
            if len(self._cache) > DOCUMENT_CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(query)
        return found


class Connection:
    """One client's socket: its handshake, its operations, and its outgoing frames."""

    def __init__(self, websocket: WebSocket, endpoint: "GraphQLWebSocket"):
        self.websocket = websocket
        self.endpoint = endpoint
        self.context: Context | None = None
        self.initialised = False
        self.acknowledged = False
        self.operations: dict[str, Subscriber | asyncio.Task] = {}
        self._frames: deque[str] = deque()
        self._writer: asyncio.Task | None = None
        self.closed = False
        self.closing: asyncio.Task | None = None

    # Outgoing: a bounded buffer drained by a writer task that exists only while there is work.
    def send(self, frame: str) -> None:
        if self.closed:
            return
        self._frames.append(frame)
        if len(self._frames) > self.endpoint.max_pending_frames:
            self.close(Close.TOO_SLOW, "too slow: reconnect and resubscribe with sinceVersion")
        elif self._writer is None:
            self._writer = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._frames and not self.closed:
                await self.websocket.send({"type": "websocket.send", "text": self._frames.popleft()})
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.closed = True
        finally:
            self._writer = None

    def send_message(self, message: dict) -> None:
        self.send(json.dumps(message, ensure_ascii=False, separators=(",", ":")))

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._frames.clear()
        self.closing = asyncio.create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=reason)

    def operation_ended(self, operation_id: str) -> None:
        self.operations.pop(operation_id, None)

    def end_all(self) -> None:
        for operation in list(self.operations.values()):
            self._stop(operation)
        self.operations.clear()

    def stop(self, operation_id: str) -> None:
        operation = self.operations.pop(operation_id, None)
        if operation is not None:
            self._stop(operation)

    def _stop(self, operation: Subscriber | asyncio.Task) -> None:
        if isinstance(operation, Subscriber):
            self.endpoint.fanout.unsubscribe(operation)
        else:
            operation.cancel()


class GraphQLWebSocket:
    """The WebSocket endpoint on /graphql."""

    def __init__(self, *, schema, public_url: str, init_timeout_s: float, max_operations: int = 100,
                 max_pending_frames: int = 1000):
        self.schema = schema
        self.documents = Documents(schema)
        self.public_url = public_url
        self.init_timeout_s = init_timeout_s
        self.max_operations = max_operations
        self.max_pending_frames = max_pending_frames
        self.fanout: FanOut | None = None  # set by the app's lifespan
        self.connections: set[Connection] = set()
        self._token_checks: asyncio.Task | None = None

    def start_token_checks(self, db, interval_s: float) -> None:
        """Closes (4403) the sockets whose token was revoked or expired since they connected."""
        self._token_checks = asyncio.create_task(self._check_tokens(db, interval_s), name="herald-ws-token-checks")

    async def stop_token_checks(self) -> None:
        if self._token_checks:
            self._token_checks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._token_checks

    async def _check_tokens(self, db, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            by_token: dict[str, list[Connection]] = {}
            for connection in self.connections:
                if connection.context and connection.context.viewer.token_id:
                    by_token.setdefault(connection.context.viewer.token_id, []).append(connection)
            if not by_token:
                continue
            try:
                valid = await valid_token_ids(db, token_ids=list(by_token))
            except PyMongoError:
                continue  # the database is away: judge the tokens when it is back
            for token_id, connections in by_token.items():
                if token_id not in valid:
                    for connection in connections:
                        connection.close(Close.FORBIDDEN, "the token was revoked or has expired")

    async def __call__(self, scope, receive, send) -> None:
        websocket = WebSocket(scope, receive, send)
        if PROTOCOL not in scope.get("subprotocols", []):
            await websocket.close(code=Close.SUBPROTOCOL, reason=f"Subprotocol not acceptable: use {PROTOCOL}")
            return
        await websocket.accept(subprotocol=PROTOCOL)
        connection = Connection(websocket, self)
        self.connections.add(connection)
        timer = asyncio.get_running_loop().call_later(self.init_timeout_s, self._init_timed_out, connection)
        try:
            await self._serve(connection)
        finally:
            timer.cancel()
            connection.closed = True
            connection.end_all()
            self.connections.discard(connection)
            if connection.closing:
                await connection.closing

    def close_all(self, code: int = Close.GOING_AWAY, reason: str = "server shutting down") -> None:
        for connection in list(self.connections):
            connection.close(code, reason)

    @staticmethod
    def _init_timed_out(connection: Connection) -> None:
        if not connection.initialised:
            connection.close(Close.INIT_TIMEOUT, "Connection initialisation timeout")

    async def _serve(self, connection: Connection) -> None:
        while not connection.closed:
            message = await connection.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                connection.close(Close.BAD_REQUEST, "WebSocket message type must be text")
                return
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
                connection.close(Close.BAD_REQUEST, "WebSocket message must be a JSON object with a type")
                return
            await self._handle(connection, parsed)

    async def _handle(self, connection: Connection, message: dict) -> None:
        kind = message["type"]
        if kind == "connection_init":
            await self._init(connection, message.get("payload"))
        elif kind == "ping":
            connection.send_message({"type": "pong"})
        elif kind == "pong":
            pass
        elif kind == "subscribe":
            await self._subscribe(connection, message)
        elif kind == "complete":
            connection.stop(str(message.get("id")))
        else:
            connection.close(Close.BAD_REQUEST, f"Unknown message type: {kind}")

    async def _init(self, connection: Connection, payload) -> None:
        if connection.initialised:
            connection.close(Close.TOO_MANY_INITS, "Too many initialisation requests")
            return
        connection.initialised = True
        if payload is not None and not isinstance(payload, dict):
            connection.close(Close.BAD_REQUEST, "Invalid connection init payload")
            return
        state = connection.websocket.state
        try:
            viewer = await resolve_viewer(
                state.db, authorization=header(payload, "authorization"),
                accept_language=header(payload, "accept-language")
                or connection.websocket.headers.get("accept-language"))
        except InvalidToken:
            connection.close(Close.FORBIDDEN, "Forbidden")
            return
        except PyMongoError:
            connection.close(Close.TOO_SLOW, "the database is unavailable; try again shortly")
            return
        connection.context = Context(db=state.db, hub=state.hub, workflows=state.workflows,
                                     viewer=viewer, public_url=self.public_url,
                                     request=connection.websocket, response=connection.websocket,
                                     connection_params=payload or {})
        connection.acknowledged = True
        connection.send_message({"type": "connection_ack", "payload": {"role": viewer.role}})

    async def _subscribe(self, connection: Connection, message: dict) -> None:
        if not connection.acknowledged:
            connection.close(Close.UNAUTHORIZED, "Unauthorized")
            return
        operation_id, payload = message.get("id"), message.get("payload")
        if not isinstance(operation_id, str) or not operation_id or not isinstance(payload, dict) \
                or not isinstance(payload.get("query"), str):
            connection.close(Close.BAD_REQUEST, "subscribe needs an id and a payload with a query")
            return
        if operation_id in connection.operations:
            connection.close(Close.DUPLICATE_ID, f"Subscriber for {operation_id} already exists")
            return
        if len(connection.operations) >= self.max_operations:
            self._error(connection, operation_id, [{"message": f"at most {self.max_operations} operations at once "
                                                               "on one connection"}])
            return
        query, variables = payload["query"], payload.get("variables")
        operation_name = payload.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            self._error(connection, operation_id, [{"message": "variables must be an object"}])
            return
        document = self.documents.get(query)
        if isinstance(document, list):
            self._error(connection, operation_id, [error.formatted for error in document])
            return
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            self._error(connection, operation_id, [{"message": "name the operation to run (operationName)"}])
            return
        # Log lines about this operation (and the tasks it starts) carry a request id of their own.
        with request_id_scope(new_request_id()):
            if operation.operation == OperationType.SUBSCRIPTION:
                await self._start_subscription(connection, operation_id, document, query, variables, operation_name)
            else:
                task = asyncio.create_task(self._execute(connection, operation_id, query, variables, operation_name))
                connection.operations[operation_id] = task

    async def _start_subscription(self, connection, operation_id, document, query, variables, operation_name):
        placeholder = asyncio.current_task()  # holds the id while access is checked
        connection.operations[operation_id] = placeholder
        try:
            subscriber = await self.fanout.subscribe(
                outlet=connection, operation_id=operation_id, document=document, query=query, variables=variables,
                operation_name=operation_name, context=connection.context)
        except SubscribeRefused as refused:
            connection.operations.pop(operation_id, None)
            connection.send_message({"id": operation_id, "type": "next", "payload": {"errors": refused.errors,
                                                                                    "data": None}})
            connection.send_message({"id": operation_id, "type": "complete"})
            return
        if connection.operations.get(operation_id) is placeholder and not connection.closed:
            connection.operations[operation_id] = subscriber
        else:  # completed or disconnected while it was starting
            self.fanout.unsubscribe(subscriber)

    async def _execute(self, connection: Connection, operation_id: str, query: str, variables, operation_name):
        try:
            result = await self.schema.execute(query, variable_values=variables, context_value=connection.context,
                                               operation_name=operation_name)
            payload: dict = {"data": result.data}
            if result.errors:
                payload["errors"] = [error.formatted for error in result.errors]
            connection.send_message({"id": operation_id, "type": "next", "payload": payload})
            connection.send_message({"id": operation_id, "type": "complete"})
        finally:
            connection.operations.pop(operation_id, None)

    @staticmethod
    def _error(connection: Connection, operation_id: str, errors: list[dict]) -> None:
        connection.send_message({"id": operation_id, "type": "error", "payload": errors})
