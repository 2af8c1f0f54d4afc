"""The context every resolver receives, built in one place (api.graphql_app)."""

from dataclasses import dataclass, field
from typing import Any

import strawberry
from pymongo.asynchronous.database import AsyncDatabase

from db.watcher import EventHub
from db.workflows import WorkflowCache
from schema.access import Viewer


@dataclass
class Context:
    db: AsyncDatabase
    hub: EventHub
    workflows: WorkflowCache
    viewer: Viewer
    public_url: str
    request: Any = None
    response: Any = None
    # Set by Strawberry from the WebSocket's connection_init payload.
    connection_params: dict | None = field(default=None)


Info = strawberry.Info[Context, None]
