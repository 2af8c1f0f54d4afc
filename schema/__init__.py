"""Herald's GraphQL schema: the roots of every domain, merged."""

import strawberry
from strawberry.extensions import MaskErrors
from strawberry.tools import merge_types

from schema.auth import AuthQuery
from schema.common import should_mask
from schema.feedback import FeedbackMutation
from schema.preferences import PreferencesMutation
from schema.requests.mutations import RequestMutation
from schema.requests.queries import RequestQuery
from schema.requests.subscriptions import RequestSubscription
from schema.webhooks import WebhookMutation, WebhookQuery
from schema.workflows import WorkflowMutation, WorkflowQuery

Query = merge_types("Query", (RequestQuery, WorkflowQuery, AuthQuery, WebhookQuery))
Mutation = merge_types("Mutation", (RequestMutation, FeedbackMutation, PreferencesMutation, WebhookMutation, WorkflowMutation))
Subscription = merge_types("Subscription", (RequestSubscription,))

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[lambda: MaskErrors(should_mask_error=should_mask)],
)
