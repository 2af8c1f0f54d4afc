"""Herald's GraphQL schema: the roots of every domain, merged."""

import strawberry
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
        lambda: MaskErrors(should_mask_error=should_mask),
    ],
)
