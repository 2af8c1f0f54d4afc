"""Turns the token a caller presents into a Viewer."""

from dataclasses import replace

from pymongo.asynchronous.database import AsyncDatabase

from db.tokens import find_token
from schema.access import ANONYMOUS, Viewer, pick_locale


class InvalidToken(Exception):
    pass


def bearer_token(authorization: str | None) -> str | None:
    """The token of an 'Authorization: Bearer <token>' value; None when there is none."""
    if not authorization or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or not token.isascii():
        raise InvalidToken("the Authorization header must be 'Bearer <token>'")
    return token.strip()


async def resolve_viewer(db: AsyncDatabase, *, authorization: str | None, accept_language: str | None) -> Viewer:
    """The caller behind an Authorization value: anonymous without one, InvalidToken for a bad one."""
    locale = pick_locale(accept_language)
    token = bearer_token(authorization)
    if token is None:
        return replace(ANONYMOUS, locale=locale)
    record = await find_token(db, token=token)
    if record is None:
        raise InvalidToken("the token is unknown, revoked or expired")
    request_ids = record.get("request_ids")
    return Viewer(
        role=record["role"],
        name=record["name"],
        locale=record.get("locale") or locale,
        token_id=record["_id"],
        client_id=record.get("client_id"),
        request_ids=frozenset(request_ids) if request_ids is not None else None,
    )


def header(params: dict | None, name: str) -> str | None:
    """A value of a connection_init payload, its key matched without regard to case."""
    for key, value in (params or {}).items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str):
            return value
    return None
