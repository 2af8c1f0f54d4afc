"""Herald's GraphQL schema: the roots of every domain, merged."""

import strawberry
from graphql import ExecutionResult, GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types

from schema.assignment import AssignmentMutation
from schema.auth import AuthQuery
from schema.comments import CommentMutation
from schema.common import should_mask
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
     WorkflowMutation),
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


class HeraldSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Logs unexpected errors with their traceback; refusals and bad input are the caller's, not ours."""
        super().process_errors([e for e in errors if should_mask(e)], execution_context)


schema = HeraldSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        SubscriptionsNeedAWebSocket,
        lambda: MaskErrors(should_mask_error=should_mask),
    ],
)
