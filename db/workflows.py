"""Workflows: the statuses a request moves through and the transitions between them."""

import time
from dataclasses import dataclass, field

from pymongo.asynchronous.database import AsyncDatabase

DEFAULT_WORKFLOW_KEY = "default"
LOCALES = ("ru", "en")
DEFAULT_LOCALE = "ru"


@dataclass(frozen=True)
class StatusDef:
    key: str
    labels: dict[str, str]
    terminal: bool = False

    def label(self, locale: str) -> str:
        return self.labels.get(locale) or self.labels.get(DEFAULT_LOCALE) or self.key


@dataclass(frozen=True)
class Workflow:
    key: str
    names: dict[str, str]
    initial: str
    statuses: tuple[StatusDef, ...]
    transitions: tuple[tuple[str, str], ...]
    _by_key: dict[str, StatusDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {s.key: s for s in self.statuses})

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names.get(DEFAULT_LOCALE) or self.key

    def has_status(self, key: str) -> bool:
        return key in self._by_key

    def status(self, key: str) -> StatusDef:
        # A status no longer defined still shows, under its key, rather than failing.
        return self._by_key.get(key) or StatusDef(key=key, labels={})

    def allowed_from(self, key: str) -> list[StatusDef]:
        return [self.status(to) for frm, to in self.transitions if frm == key]

    def can_move(self, from_key: str, to_key: str) -> bool:
        return (from_key, to_key) in self.transitions

    def to_doc(self) -> dict:
        return {
            "_id": self.key,
            "names": self.names,
            "initial": self.initial,
            "statuses": [{"key": s.key, "labels": s.labels, "terminal": s.terminal} for s in self.statuses],
            "transitions": [{"from": frm, "to": to} for frm, to in self.transitions],
        }

    @classmethod
    def from_doc(cls, doc: dict) -> "Workflow":
        return cls(
            key=doc["_id"],
            names=doc["names"],
            initial=doc["initial"],
            statuses=tuple(StatusDef(s["key"], s["labels"], s.get("terminal", False)) for s in doc["statuses"]),
            transitions=tuple((t["from"], t["to"]) for t in doc["transitions"]),
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
        ("received", "in_progress"),
        ("in_progress", "completing"),
        ("completing", "closed"),
        ("completing", "in_progress"),  # rework
        ("received", "closed"),  # duplicate or spam
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


class WorkflowCache:
    """Workflows by key for display (labels, allowed transitions), re-read after a few seconds.

    Rules are never checked against it: a transition reads its workflow inside its transaction.
    """

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
