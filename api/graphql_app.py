"""GraphQL over HTTP, with the caller resolved from its token (WebSockets: api.websocket)."""

import json

import strawberry
from pymongo.errors import PyMongoError

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from cross_web import HTTPException

from api.auth import InvalidToken, resolve_viewer
from schema import schema
from schema.access import ANONYMOUS
from schema.context import Context


def error_response(status: int, message: str, code: str, headers: dict | None = None) -> JSONResponse:
    """An HTTP failure in the shape GraphQL clients read: {"errors": [...]}."""
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status,
                        headers=headers)


class HeraldGraphQL(GraphQL):
    def __init__(self, *, public_url: str, graphiql: bool, graphql_schema: strawberry.Schema = schema):
        super().__init__(
            graphql_schema,
            graphql_ide="graphiql" if graphiql else None,
            subscription_protocols=(),  # WebSockets are served by api.websocket
        )
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            scope["herald.viewer"] = await resolve_viewer(
                request.state.db,
                authorization=request.headers.get("authorization"),
                accept_language=request.headers.get("accept-language"),
            )
            response = await self.run(request)
        except InvalidToken as error:
            response = error_response(401, str(error), "UNAUTHENTICATED", {"WWW-Authenticate": "Bearer"})
        except HTTPException as error:
            response = error_response(error.status_code, error.reason, "BAD_REQUEST")
        except PyMongoError:
            response = error_response(503, "the database is unavailable; try again shortly", "UNAVAILABLE",
                                      {"Retry-After": "5"})
        await response(scope, receive, send)

    def parse_json(self, data: str | bytes) -> object:
        try:
            parsed = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise HTTPException(400, "the body is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise HTTPException(400, 'the body must be a JSON object: {"query": "...", "variables": {...}}')
        return parsed

    async def get_context(self, request: Request | WebSocket, response) -> Context:
        state = request.state
        return Context(
            db=state.db,
            hub=state.hub,
            workflows=state.workflows,
            viewer=request.scope.get("herald.viewer", ANONYMOUS),
            public_url=self.public_url,
            request=request,
            response=response,
        )
