"""The links messages carry: the portal (with a token), a short link for SMS, unsubscribe.

Each message's secrets are derived from its job id with the server secret (HMAC), so a
retry carries exactly the same links, and only their hashes are ever stored.
"""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.asynchronous.database import AsyncDatabase

from db.client import find_or_insert, now
from db.tokens import TOKEN_PREFIX, hash_token, shared_secret, store_client_token

LINK_LIFETIME = timedelta(days=90)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Links:
    def __init__(self, *, db: AsyncDatabase, secret: bytes, public_url: str):
        self._db = db
        self._secret = secret
        self.public_url = public_url

    def _derive(self, purpose: str, job_id: ObjectId) -> str:
        return _b64(hmac.new(self._secret, f"{purpose}:{job_id}".encode(), hashlib.sha256).digest())

    async def _scope(self, job: dict, request: dict) -> list[ObjectId] | None:
        """All the client's requests when the message goes to the contact that identifies the
        client; else only this request: whoever creates a request picks its contacts."""
        client = await self._db.clients.find_one({"_id": request["client"]["id"]}, {"key": 1})
        contact = "email:" + job["recipient"].lower() if job["channel"] == "EMAIL" else "phone:" + job["recipient"]
        return None if client and client["key"] == contact else [request["_id"]]

    async def portal(self, job: dict, request: dict) -> str:
        token = TOKEN_PREFIX + self._derive("portal", job["_id"])
        await store_client_token(self._db, token=token, name=request["client"]["name"],
                                 client_id=request["client"]["id"], request_ids=await self._scope(job, request),
                                 locale=job.get("locale") or request["client"]["locale"],
                                 expires_at=now() + LINK_LIFETIME)
        return f"{self.public_url}/portal#token={token}"

    async def short(self, job: dict, request: dict) -> str:
        """A link short enough for an SMS; opening it mints a portal token (see api.links_routes)."""
        code = self._derive("short", job["_id"])[:12]
        await find_or_insert(self._db.short_links, {"_id": hash_token(code)}, {
            "client_id": request["client"]["id"], "name": request["client"]["name"],
            "request_ids": await self._scope(job, request), "locale": job.get("locale") or request["client"]["locale"],
            "expires_at": now() + LINK_LIFETIME,
        })
        return f"{self.public_url}/s/{code}"

    def unsubscribe(self, client_id: ObjectId, channel: str) -> str:
        payload = _b64(json.dumps({"c": str(client_id), "ch": channel}, separators=(",", ":")).encode())
        return f"{self.public_url}/unsubscribe/{payload}.{self._sign(payload)}"

    def read_unsubscribe(self, token: str) -> tuple[ObjectId, str] | None:
        """The (client id, channel) an unsubscribe token names, or None when it is not one of ours."""
        payload, _, signature = token.partition(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            return ObjectId(data["c"]), str(data["ch"])
        except (ValueError, KeyError, TypeError, InvalidId):
            return None

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, f"unsubscribe:{payload}".encode(), hashlib.sha256).digest()[:18])


async def make_links(db: AsyncDatabase, *, secret_key: str | None, public_url: str) -> Links:
    """Links signed with HERALD_SECRET_KEY, or with the secret all instances share in the database."""
    secret = secret_key.encode() if secret_key else await shared_secret(db)
    return Links(db=db, secret=secret, public_url=public_url)
