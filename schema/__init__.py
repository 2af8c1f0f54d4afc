"""Herald's GraphQL schema: the roots of every domain, merged."""

import logging
from collections.abc import Callable, Sequence

import strawberry
from graphql import ExecutionResult, GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.tools import merge_types
from strawberry.types.graphql import OperationType

from schema.assignment import AssignmentMutation
from schema.auth import AuthMutation, AuthQuery
from schema.comments import CommentMutation
from schema.common import MaskUnexpectedErrors, database_unavailable, should_mask
from schema.feedback import FeedbackMutation, FeedbackQuery
from schema.preferences import PreferencesMutation
from schema.requests.mutations import RequestMutation
from schema.requests.queries import RequestQuery
from schema.requests.subscriptions import RequestSubscription
from schema.webhooks import WebhookMutation, WebhookQuery
from schema.workflows import WorkflowMutation, WorkflowQuery

Query = merge_types("Query", (RequestQuery, WorkflowQuery, FeedbackQuery, AuthQuery, WebhookQuery))
Mutation = merge_types(
    "Mutation",
    (RequestMutation, AssignmentMutation, CommentMutation, FeedbackMutation, PreferencesMutation, WebhookMutation,
     WorkflowMutation, AuthMutation),
)
Subscription = merge_types("Subscription", (RequestSubscription,))

# Bounds on what one document may ask for: a request's history holds requests that hold
# history, so depth is what makes a query expensive.
MAX_DEPTH = 8
MAX_ALIASES = 20
MAX_TOKENS = 2000


class SubscriptionsNeedAWebSocket(SchemaExtension):
    """A subscription sent over plain HTTP gets a clear error instead of a null it cannot return."""

    def on_execute(self):
        context = self.execution_context
        if context.operation_type == OperationType.SUBSCRIPTION and not isinstance(context.context.request, WebSocket):
            context.result = ExecutionResult(data=None, errors=[GraphQLError(
                "subscriptions need a WebSocket: connect to /graphql with graphql-transport-ws",
                extensions={"code": "BAD_REQUEST"})])
        yield


log = logging.getLogger("herald.graphql")


class HeraldSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Logs unexpected errors with their traceback; refusals and bad input are the caller's, not ours.
        An unreachable database is one line each: its traceback says nothing /readyz does not."""
        unexpected = [e for e in errors if should_mask(e)]
        for error in unexpected:
            if database_unavailable(error.original_error):
                log.warning("database unavailable at %s: %s", ".".join(map(str, error.path or ())),
                            error.original_error)
        super().process_errors([e for e in unexpected if not database_unavailable(e.original_error)],
                               execution_context)


def build_schema(*, introspection: bool = True,
                 extensions: Sequence[Callable[[], SchemaExtension]] = ()) -> HeraldSchema:
    """The schema, with introspection off in production, plus per-app extensions (metrics).

    Cheap (milliseconds): each app builds its own.
    """
    return HeraldSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            *([] if introspection else [DisableIntrospection]),
            lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            SubscriptionsNeedAWebSocket,
            MaskUnexpectedErrors,
            # Last, so it sees errors before masking hides their kind.
            *extensions,
        ],
    )


schema = build_schema()
