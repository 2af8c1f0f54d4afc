"""The Request type and everything it shows."""

from datetime import datetime

import strawberry

from db.events import is_public, list_events
from db.notifications import CONTACT_OF_CHANNEL as CLIENT_CHANNELS
from db.notifications import notifications_of
from db.workflows import StatusDef
from schema.context import Info
from schema.notifications import Notification, NotificationChannel
from schema.workflows import Status, Workflow


async def _status(info: Info, doc: dict, key: str) -> Status:
    """A status of the request's workflow, labelled for the caller."""
    workflow = await info.context.workflows.get(doc["workflow"])
    definition = workflow.status(key) if workflow else StatusDef(key=key, labels={})
    return Status.seen_by(info.context.viewer, definition, doc)


@strawberry.type(description="The person the request is for. Email and phone as stored (normalised).")
class Client:
    name: str
    email: str | None
    phone: str | None
    locale: str
    channels: list[NotificationChannel]

    @classmethod
    def from_doc(cls, doc: dict) -> "Client":
        return cls(
            name=doc["name"], email=doc.get("email"), phone=doc.get("phone"), locale=doc["locale"],
            channels=[NotificationChannel(ch) for ch in doc.get("channels", [])],
        )


@strawberry.type(description="The staff member handling a request: whom the client can ask.")
class Staff:
    name: str
    email: str | None
    phone: str | None


@strawberry.type
class Feedback:
    rating: int
    comment: str | None
    at: datetime


@strawberry.type(description="Who made a change.")
class Actor:
    role: str
    name: str


@strawberry.type(description="One change of a request: one version of its history.")
class RequestEvent:
    version: int
    type: str = strawberry.field(description="CREATED, STATUS_CHANGED, FEEDBACK_LEFT, ...")
    at: datetime
    comment: str | None
    actor: Actor | None
    public: bool = strawberry.field(description="False for internal comments, which clients never see.")
    doc: strawberry.Private[dict]
    # The request whose client's language labels follow: the one this event is read through
    # (history), else the request as of the event.
    labelled_by: strawberry.Private[dict | None] = None

    @strawberry.field(name="from")
    async def from_(self, info: Info) -> Status | None:
        return await _status(info, self._labels_doc, self.doc["from"]) if self.doc.get("from") else None

    @strawberry.field
    async def to(self, info: Info) -> Status | None:
        return await _status(info, self._labels_doc, self.doc["to"]) if self.doc.get("to") else None

    @property
    def _labels_doc(self) -> dict:
        return self.labelled_by or self.doc["snapshot"]

    @strawberry.field(description="The request as of this event.")
    def request(self) -> "Request":
        return Request.from_doc(self.doc["snapshot"])

    @classmethod
    def from_doc(cls, doc: dict, labelled_by: dict | None = None) -> "RequestEvent":
        actor = doc.get("actor")
        return cls(
            version=doc["version"], type=doc["type"], at=doc["at"], comment=doc.get("comment"),
            actor=Actor(role=actor["role"], name=actor["name"]) if actor else None, public=is_public(doc), doc=doc,
            labelled_by=labelled_by,
        )


@strawberry.type
class Request:
    id: strawberry.ID
    number: str = strawberry.field(description="Human-readable, unique: REQ-000042.")
    title: str
    description: str | None
    service: str | None
    version: int = strawberry.field(description="Starts at 1, +1 on every change.")
    client: Client
    assignee: Staff | None = strawberry.field(description="Whom the client can ask.")
    feedback: Feedback | None
    created_at: datetime
    updated_at: datetime
    doc: strawberry.Private[dict]

    @strawberry.field
    async def status(self, info: Info) -> Status:
        return await _status(info, self.doc, self.doc["status"])

    @strawberry.field(description="The statuses the caller may move the request to now.")
    async def allowed_transitions(self, info: Info) -> list[Status]:
        viewer = info.context.viewer
        if not viewer.is_staff:
            return []
        workflow = await info.context.workflows.get(self.doc["workflow"])
        if workflow is None:
            return []
        return [Status.seen_by(viewer, s, self.doc) for s in workflow.allowed_from(self.doc["status"], viewer.role)]

    @strawberry.field(description="What usually comes next: the first move the workflow lists from here; "
                      "null in a terminal status.")
    async def next_status(self, info: Info) -> Status | None:
        workflow = await info.context.workflows.get(self.doc["workflow"])
        if workflow is None or workflow.status(self.doc["status"]).terminal:
            return None
        viewer = info.context.viewer
        following = workflow.next_after(self.doc["status"], looks_different_to_client=viewer.role == "client")
        return Status.seen_by(viewer, following, self.doc) if following else None

    @strawberry.field(description="The workflow this request follows, labelled for the caller.")
    async def workflow(self, info: Info) -> Workflow | None:
        workflow = await info.context.workflows.get(self.doc["workflow"])
        return Workflow.seen_by(info.context.viewer, workflow, self.doc) if workflow else None

    @strawberry.field(description="Every change up to this version, oldest first.")
    async def history(self, info: Info) -> list[RequestEvent]:
        # Up to this version: a request seen as of an event shows the history it had then.
        events = await list_events(info.context.db, request_id=self.doc["_id"], before_version=self.doc["version"] + 1,
                                   public_only=info.context.viewer.role == "client")
        return [RequestEvent.from_doc(e, labelled_by=self.doc) for e in events]

    @strawberry.field(description="Messages sent about this request and their delivery status "
                      "(clients see those sent to them, staff webhooks too).")
    async def notifications(self, info: Info) -> list[Notification]:
        channels = None if info.context.viewer.role != "client" else list(CLIENT_CHANNELS)
        docs = await notifications_of(info.context.db, request_id=self.doc["_id"], channels=channels)
        return [Notification.from_doc(doc) for doc in docs]

    @classmethod
    def from_doc(cls, doc: dict) -> "Request":
        assignee = doc.get("assignee")
        feedback = doc.get("feedback")
        return cls(
            id=strawberry.ID(str(doc["_id"])),
            number=doc["number"],
            title=doc["title"],
            description=doc.get("description"),
            service=doc.get("service"),
            version=doc["version"],
            client=Client.from_doc(doc["client"]),
            assignee=Staff(name=assignee["name"], email=assignee.get("email"), phone=assignee.get("phone"))
            if assignee else None,
            feedback=Feedback(rating=feedback["rating"], comment=feedback.get("comment"), at=feedback["at"])
            if feedback else None,
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
            doc=doc,
        )


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class RequestEdge:
    cursor: str
    node: Request


@strawberry.type(description="A page of requests, newest first (Relay-style cursors).")
class RequestConnection:
    edges: list[RequestEdge]
    page_info: PageInfo
