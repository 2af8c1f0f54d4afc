"""Who the caller is and which requests they may see: the access rules of DESIGN.md, in one place."""

from dataclasses import dataclass

from bson import ObjectId

from db.workflows import DEFAULT_LOCALE, LOCALES

STAFF_ROLES = frozenset({"admin", "staff"})
# Nothing matches this filter: what an anonymous caller may read.
NOTHING = {"_id": {"$exists": False}}


@dataclass(frozen=True)
class Viewer:
    role: str  # admin, staff, integration, client, or anonymous
    name: str
    locale: str = DEFAULT_LOCALE
    token_id: str | None = None
    client_id: ObjectId | None = None
    # A client token from createRequest reaches only the requests it was issued for.
    request_ids: frozenset[ObjectId] | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_authenticated(self) -> bool:
        return self.role != "anonymous"

    def read_filter(self) -> dict:
        """A MongoDB filter on `requests` matching exactly what this viewer may read."""
        if self.is_staff:
            return {}
        if self.role == "integration":
            return {"created_by": self.token_id}
        if self.role == "client":
            scope: dict = {"client.id": self.client_id}
            if self.request_ids is not None:
                scope["_id"] = {"$in": sorted(self.request_ids)}
            return scope
        return NOTHING

    def can_read(self, doc: dict) -> bool:
        if self.is_staff:
            return True
        if self.role == "integration":
            return doc.get("created_by") == self.token_id
        if self.role == "client":
            in_scope = self.request_ids is None or doc["_id"] in self.request_ids
            return doc["client"]["id"] == self.client_id and in_scope
        return False



ANONYMOUS = Viewer(role="anonymous", name="")


def pick_locale(accept_language: str | None) -> str:
    """The first supported language of an Accept-Language header, else the default."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower().split("-")[0]
        if tag in LOCALES:
            return tag
    return DEFAULT_LOCALE
