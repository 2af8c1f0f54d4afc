"""Workflows: the statuses a request moves through and the transitions between them."""

import time
from dataclasses import dataclass, field

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from db.errors import FieldProblem, ValidationFailed

DEFAULT_WORKFLOW_KEY = "default"
LOCALES = ("ru", "en")
DEFAULT_LOCALE = "ru"


STAFF_ROLES = ("staff", "admin")


def _localised(texts: dict[str, str], locale: str) -> str | None:
    return texts.get(locale) or texts.get(DEFAULT_LOCALE) or None


@dataclass(frozen=True)
class StatusDef:
    key: str
    labels: dict[str, str]
    terminal: bool = False
    # What clients see, when it differs from the staff label: several internal statuses
    # can share one client label, and moving between them does not notify the client.
    client_labels: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)  # shown to the client
    notify_client: bool = True  # whether entering this status messages the client
    messages: dict[str, str] = field(default_factory=dict)  # per-locale override of the message text

    def label(self, locale: str) -> str:
        return _localised(self.labels, locale) or self.key

    def client_label(self, locale: str) -> str:
        return _localised(self.client_labels, locale) or self.label(locale)

    def description(self, locale: str) -> str | None:
        return _localised(self.descriptions, locale)

    def to_doc(self) -> dict:
        return {"key": self.key, "labels": self.labels, "terminal": self.terminal,
                "client_labels": self.client_labels, "descriptions": self.descriptions,
                "notify_client": self.notify_client, "messages": self.messages}

    @classmethod
    def from_doc(cls, doc: dict) -> "StatusDef":
        return cls(key=doc["key"], labels=doc["labels"], terminal=doc.get("terminal", False),
                   client_labels=doc.get("client_labels") or {}, descriptions=doc.get("descriptions") or {},
                   notify_client=doc.get("notify_client", True), messages=doc.get("messages") or {})


@dataclass(frozen=True)
class TransitionDef:
    from_: str
    to: str
    roles: tuple[str, ...] = STAFF_ROLES  # who may take it


@dataclass(frozen=True)
class Workflow:
    key: str
    names: dict[str, str]
    initial: str
    statuses: tuple[StatusDef, ...]
    transitions: tuple[TransitionDef, ...]
    _by_key: dict[str, StatusDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {s.key: s for s in self.statuses})

    def name(self, locale: str) -> str:
        return _localised(self.names, locale) or self.key

    def has_status(self, key: str) -> bool:
        return key in self._by_key

    def status(self, key: str) -> StatusDef:
        # A status no longer defined still shows, under its key, rather than failing.
        return self._by_key.get(key) or StatusDef(key=key, labels={})

    def allowed_from(self, key: str, role: str | None = None) -> list[StatusDef]:
        """The statuses reachable in one move from `key`, by `role` when given."""
        return [self.status(t.to) for t in self.transitions if t.from_ == key and (role is None or role in t.roles)]

    def next_after(self, key: str, *, looks_different_to_client: bool = False) -> StatusDef | None:
        """What usually comes next: the first move listed from `key`; for a client, the first
        along those moves whose client label differs (internal steps look like no change)."""
        current = self.status(key)
        seen = {key}
        while following := self.allowed_from(key):
            key = following[0].key
            if key in seen:
                return None
            seen.add(key)
            if not looks_different_to_client or any(
                    self.status(key).client_label(l) != current.client_label(l) for l in LOCALES):
                return self.status(key)
        return None

    def can_move(self, from_key: str, to_key: str, role: str | None = None) -> bool:
        return any(self.status(to_key).key == s.key for s in self.allowed_from(from_key, role))

    def notifies_client(self, from_key: str, to_key: str) -> bool:
        """Entering to_key tells the client, unless the status says not to or the client sees no change."""
        before, after = self.status(from_key), self.status(to_key)
        return after.notify_client and any(before.client_label(l) != after.client_label(l) for l in LOCALES)

    def to_doc(self) -> dict:
        return {
            "_id": self.key,
            "names": self.names,
            "initial": self.initial,
            "statuses": [s.to_doc() for s in self.statuses],
            "transitions": [{"from": t.from_, "to": t.to, "roles": list(t.roles)} for t in self.transitions],
        }

    @classmethod
    def from_doc(cls, doc: dict) -> "Workflow":
        return cls(
            key=doc["_id"],
            names=doc["names"],
            initial=doc["initial"],
            statuses=tuple(StatusDef.from_doc(s) for s in doc["statuses"]),
            transitions=tuple(TransitionDef(t["from"], t["to"], tuple(t.get("roles") or STAFF_ROLES))
                              for t in doc["transitions"]),
        )


DEFAULT_WORKFLOW = Workflow(
    key=DEFAULT_WORKFLOW_KEY,
    names={"ru": "Стандартный", "en": "Standard"},
    initial="received",
    statuses=(
        StatusDef("received", {"ru": "Заявка получена", "en": "Received"}),
        StatusDef("in_progress", {"ru": "В обработке", "en": "In progress"}),
        StatusDef("completing", {"ru": "Завершение", "en": "Completing"}),
        StatusDef("closed", {"ru": "Закрыто", "en": "Closed"}, terminal=True),
    ),
    transitions=(
        TransitionDef("received", "in_progress"),
        TransitionDef("in_progress", "completing"),
        TransitionDef("completing", "closed"),
        TransitionDef("completing", "in_progress"),  # rework
        TransitionDef("received", "closed"),  # duplicate or spam
        TransitionDef("closed", "in_progress"),  # reopen
    ),
)


async def ensure_default_workflow(db: AsyncDatabase) -> None:
    """Stores the default workflow unless the company already has one under its key."""
    await db.workflows.update_one(
        {"_id": DEFAULT_WORKFLOW_KEY}, {"$setOnInsert": DEFAULT_WORKFLOW.to_doc()}, upsert=True
    )


async def find_workflow(db: AsyncDatabase, *, key: str, session=None) -> Workflow | None:
    doc = await db.workflows.find_one({"_id": key}, session=session)
    return Workflow.from_doc(doc) if doc else None


async def list_workflows(db: AsyncDatabase) -> list[Workflow]:
    return [Workflow.from_doc(doc) for doc in await db.workflows.find().sort("_id", 1).to_list()]


async def save_workflow(db: AsyncDatabase, *, workflow: Workflow, create: bool) -> None:
    """Stores a new workflow, or replaces one, never leaving a request in a status that is gone."""
    if create:
        try:
            await db.workflows.insert_one(workflow.to_doc())
        except DuplicateKeyError:
            raise ValidationFailed([FieldProblem("key", f"a workflow '{workflow.key}' exists already")]) from None
        return
    current = await find_workflow(db, key=workflow.key)
    if current is None:
        raise ValidationFailed([FieldProblem("key", f"no workflow with key '{workflow.key}'")])
    removed = [s.key for s in current.statuses if not workflow.has_status(s.key)]
    in_use = await db.requests.distinct("status", {"workflow": workflow.key, "status": {"$in": removed}}) if removed else []
    if in_use:
        raise ValidationFailed([FieldProblem(
            "statuses", f"requests are still in {', '.join(repr(k) for k in sorted(in_use))}: move them first")])
    await db.workflows.replace_one({"_id": workflow.key}, workflow.to_doc())


class WorkflowCache:
    """Workflows by key for display (labels, allowed transitions), re-read after a few seconds.

    Rules are never checked against it: a transition reads its workflow inside its transaction.
    """

    def forget(self, key: str) -> None:
        """Drops a cached workflow this process just changed."""
        self._entries.pop(key, None)

    def __init__(self, db: AsyncDatabase, ttl_s: float = 5.0):
        self._db = db
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Workflow | None]] = {}

    async def get(self, key: str) -> Workflow | None:
        entry = self._entries.get(key)
        if entry and time.monotonic() - entry[0] < self._ttl_s:
            return entry[1]
        workflow = await find_workflow(self._db, key=key)
        self._entries[key] = (time.monotonic(), workflow)
        return workflow
