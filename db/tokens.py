"""Access tokens. Only a SHA-256 hash of each is stored; the token itself is shown once."""

import hashlib
import logging
import os
import secrets
from datetime import datetime
from pathlib import Path

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from db.client import find_or_insert, now

log = logging.getLogger(__name__)

ROLES = ("admin", "staff", "integration", "client")
TOKEN_PREFIX = "hrl_"  # makes a leaked token easy to recognise for secret scanners


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_doc(token: str, *, role: str, name: str, client_id: ObjectId | None, request_ids: list[ObjectId] | None,
               locale: str | None, expires_at: datetime | None) -> dict:
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}'; one of: {', '.join(ROLES)}")
    doc = {"_id": hash_token(token), "role": role, "name": name, "created_at": now(), "expires_at": expires_at}
    if client_id is not None:
        doc |= {"client_id": client_id, "request_ids": request_ids, "locale": locale}
    return doc


async def create_token(
    db: AsyncDatabase,
    *,
    role: str,
    name: str,
    client_id: ObjectId | None = None,
    request_ids: list[ObjectId] | None = None,
    locale: str | None = None,
    expires_at: datetime | None = None,
) -> str:
    """Stores a new token and returns it in clear, the only time it exists so."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await db.tokens.insert_one(_token_doc(token, role=role, name=name, client_id=client_id, request_ids=request_ids,
                                          locale=locale, expires_at=expires_at))
    return token


async def store_client_token(db: AsyncDatabase, *, token: str, name: str, client_id: ObjectId,
                             request_ids: list[ObjectId] | None, locale: str, expires_at: datetime) -> None:
    """Stores (once) a client token derived elsewhere, such as the one in a message's link."""
    doc = _token_doc(token, role="client", name=name, client_id=client_id, request_ids=request_ids, locale=locale,
                     expires_at=expires_at)
    await find_or_insert(db.tokens, {"_id": doc["_id"]}, {k: v for k, v in doc.items() if k != "_id"})


async def shared_secret(db: AsyncDatabase) -> bytes:
    """A random secret every instance on this database shares (when HERALD_SECRET_KEY is unset)."""
    doc = await find_or_insert(db.meta, {"_id": "secret_key"}, {"value": secrets.token_hex(32), "created_at": now()})
    return bytes.fromhex(doc["value"])


async def find_token(db: AsyncDatabase, *, token: str) -> dict | None:
    """The stored record of a token that is valid now, or None."""
    doc = await db.tokens.find_one({"_id": hash_token(token)})
    if doc is None or doc.get("revoked_at"):
        return None
    expires_at = doc.get("expires_at")
    if expires_at is not None and expires_at <= now():
        return None
    return doc


async def bootstrap_admin_token(db: AsyncDatabase, *, data_dir: Path) -> Path | None:
    """On a database with no tokens, creates the first admin token and writes it to a file.

    Returns the file's path when this call created it. Several processes starting at once
    create one token between them: the first to claim the marker does it.
    """
    if await db.tokens.count_documents({}, limit=1):
        return None
    try:
        await db.meta.insert_one({"_id": "admin_bootstrap", "at": now()})
    except DuplicateKeyError:
        return None
    token = await create_token(db, role="admin", name="bootstrap admin")
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "admin.token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(token + "\n")
    os.chmod(path, 0o600)
    return path


async def valid_token_ids(db: AsyncDatabase, *, token_ids: list[str]) -> set[str]:
    """Which of these stored tokens (by hash) still work now."""
    cursor = db.tokens.find({"_id": {"$in": token_ids}, "revoked_at": None,
                             "$or": [{"expires_at": None}, {"expires_at": {"$gt": now()}}]}, {"_id": 1})
    return {doc["_id"] for doc in await cursor.to_list()}


TOKEN_ID_LENGTH = 12  # how much of the hash names a token in listings


async def list_tokens(db: AsyncDatabase, *, include_clients: bool = False) -> list[dict]:
    query = {} if include_clients else {"role": {"$ne": "client"}}
    return await db.tokens.find(query).sort("created_at", 1).to_list()


async def revoke_token(db: AsyncDatabase, *, token_id: str) -> dict | None:
    """Revokes the one token whose id (a prefix of its hash) this is; None when none or several match."""
    if len(token_id) < 6 or not all(ch in "0123456789abcdef" for ch in token_id):
        return None
    matches = await db.tokens.find({"_id": {"$regex": f"^{token_id}"}}).limit(2).to_list()
    if len(matches) != 1:
        return None
    await db.tokens.update_one({"_id": matches[0]["_id"]}, {"$set": {"revoked_at": now()}})
    return matches[0]


async def renew_client_token(db: AsyncDatabase, *, token_id: str) -> str:
    """A new client token with the same reach as this one, which stops working at once."""
    old = await db.tokens.find_one({"_id": token_id, "role": "client"})
    token = await create_token(db, role="client", name=old["name"], client_id=old["client_id"],
                               request_ids=old.get("request_ids"), locale=old.get("locale"),
                               expires_at=old.get("expires_at"))
    await db.tokens.update_one({"_id": token_id}, {"$set": {"revoked_at": now(), "renewed_by": hash_token(token)}})
    return token
