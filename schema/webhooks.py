"""Webhooks: admins register URLs that receive every event, signed (Standard Webhooks)."""

from datetime import datetime
from typing import Annotated
from urllib.parse import urlparse

import strawberry
from bson import ObjectId
from bson.errors import InvalidId

from db.webhooks import deactivate_webhook, list_webhooks, register_webhook
from schema import validation
from schema.common import NotFound, ValidationError, require
from schema.context import Info


@strawberry.type(description="A URL that receives every event as a signed JSON POST.")
class Webhook:
    id: strawberry.ID
    url: str
    description: str | None
    created_at: datetime

    @classmethod
    def from_doc(cls, doc: dict) -> "Webhook":
        return cls(id=strawberry.ID(str(doc["_id"])), url=doc["url"], description=doc.get("description"),
                   created_at=doc["created_at"])


@strawberry.input
class RegisterWebhookInput:
    url: str
    description: str | None = None


@strawberry.type
class RegisterWebhookSuccess:
    webhook: Webhook
    secret: str = strawberry.field(description="Verifies the webhook-signature header; shown only now.")


@strawberry.type
class RemoveWebhookSuccess:
    id: strawberry.ID


RegisterWebhookResult = Annotated[RegisterWebhookSuccess | ValidationError, strawberry.union("RegisterWebhookResult")]
RemoveWebhookResult = Annotated[RemoveWebhookSuccess | NotFound, strawberry.union("RemoveWebhookResult")]


def _require_admin(info: Info) -> None:
    viewer = info.context.viewer
    require(viewer, ("admin",), "manage webhooks")


def _checked_url(problems: validation.Problems, value: str) -> str | None:
    url = validation.text(problems, "url", value, required=True, limit=2000)
    if url and (urlparse(url).scheme not in ("http", "https") or not urlparse(url).hostname):
        problems.add("url", "must be an http:// or https:// URL")
    return url


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Admin: the registered webhooks.")
    async def webhooks(self, info: Info) -> list[Webhook]:
        _require_admin(info)
        return [Webhook.from_doc(doc) for doc in await list_webhooks(info.context.db)]


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Admin: every event from now on is POSTed to this URL.")
    async def register_webhook(self, info: Info, input: RegisterWebhookInput) -> RegisterWebhookResult:
        _require_admin(info)
        problems = validation.Problems()
        url = _checked_url(problems, input.url)
        description = validation.text(problems, "description", input.description, required=False, limit=500)
        if problems:
            return ValidationError.of(problems)
        doc, secret = await register_webhook(info.context.db, url=url, description=description,
                                             created_by=info.context.viewer.token_id)
        return RegisterWebhookSuccess(webhook=Webhook.from_doc(doc), secret=secret)

    @strawberry.mutation(description="Admin: stop sending events to this webhook.")
    async def remove_webhook(self, info: Info, id: strawberry.ID) -> RemoveWebhookResult:
        _require_admin(info)
        try:
            removed = await deactivate_webhook(info.context.db, webhook_id=ObjectId(id))
        except (InvalidId, TypeError):
            removed = False
        return RemoveWebhookSuccess(id=id) if removed else NotFound.of(id, "webhook")
