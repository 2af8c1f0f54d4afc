"""Feedback figures: how clients rate closed requests, and how many answer."""

from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from db.workflows import list_workflows


@dataclass(frozen=True)
class FeedbackFigures:
    count: int
    distribution: dict[int, int]  # rating -> how many
    closed: int  # closures in the period: requests entering a terminal status

    @property
    def average(self) -> float | None:
        return sum(r * n for r, n in self.distribution.items()) / self.count if self.count else None

    @property
    def response_rate(self) -> float | None:
        return self.count / self.closed if self.closed else None


async def feedback_figures(db: AsyncDatabase, *, since: datetime | None, until: datetime | None,
                           workflow: str | None) -> FeedbackFigures:
    """Feedback left in [since, until) and closures in the same period, for one workflow or all."""
    period: dict = {}
    if since is not None:
        period["$gte"] = since
    if until is not None:
        period["$lt"] = until
    scope: dict = {"at": period} if period else {}
    if workflow is not None:
        scope["snapshot.workflow"] = workflow
    cursor = await db.request_events.aggregate([
        {"$match": {**scope, "type": "FEEDBACK_LEFT"}},
        {"$group": {"_id": "$rating", "n": {"$sum": 1}}},
    ])
    ratings = await cursor.to_list()
    distribution = {rating: 0 for rating in range(1, 6)} | {row["_id"]: row["n"] for row in ratings}
    terminal = [{"snapshot.workflow": w.key, "to": {"$in": [s.key for s in w.statuses if s.terminal]}}
                for w in await list_workflows(db) if workflow is None or w.key == workflow]
    closed = await db.request_events.count_documents(
        {**scope, "type": "STATUS_CHANGED", "$or": terminal}) if terminal else 0
    return FeedbackFigures(count=sum(distribution.values()), distribution=distribution, closed=closed)
