"""Rate limits on HTTP /graphql: a token bucket per token, and one per address for calls without one.

The buckets live in this process: with several instances behind a load balancer each keeps
its own, so a caller may get up to that many times the budget. Calls with a token the server
refuses (401) draw on a budget of their address as large as the anonymous one, so guessing
tokens is limited like anonymous calls instead of getting a fresh bucket per guess. Once an
address has used that up, only tokens the server has accepted before get through from it.
"""

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LIMITED_PATHS = frozenset({"/graphql"})
MAX_KEYS = 100_000  # beyond this the least recently seen callers are forgotten (they start full again)


@dataclass
class Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One bucket per key holding up to a minute's worth of calls, refilled continuously."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # calls a second
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()  # least recently seen first

    def take(self, key: str) -> float:
        """0 when a call may go ahead (and counts it), else the seconds until one may."""
        bucket = self._current(key)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def wait(self, key: str) -> float:
        """Like take, without counting a call."""
        bucket = self._current(key)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)

    def _current(self, key: str) -> Bucket:
        now = self._clock()
        bucket = self._buckets.pop(key, None)
        self._forget_idle(now)
        if bucket is None:
            bucket = Bucket(tokens=self.capacity, updated=now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        self._buckets[key] = bucket
        return bucket

    def _forget_idle(self, now: float) -> None:
        # A bucket that has had time to fill up again is the same as none: memory stays bounded by
        # the callers of the last minute.
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            full_again = oldest.updated + (self.capacity - oldest.tokens) / self.rate <= now
            if not full_again and len(self._buckets) < self._max_keys:
                return
            del self._buckets[key]


def too_many_requests(retry_after_s: float, per_minute: int) -> JSONResponse:
    seconds = max(1, math.ceil(retry_after_s))
    return JSONResponse(
        {"errors": [{"message": f"too many requests: at most {per_minute} a minute; try again in {seconds}s",
                     "extensions": {"code": "RATE_LIMITED", "retryAfter": seconds}}]},
        status_code=429, headers={"Retry-After": str(seconds)})


class RateLimit:
    """Answers 429 with Retry-After once a token, or an address calling without one, is over its budget."""

    def __init__(self, app: ASGIApp, *, per_minute: int, anonymous_per_minute: int):
        self.app = app
        self.per_minute = per_minute
        self.anonymous_per_minute = anonymous_per_minute
        self.by_token = TokenBuckets(per_minute) if per_minute else None
        self.by_address = TokenBuckets(anonymous_per_minute) if anonymous_per_minute else None
        self.refused_tokens = TokenBuckets(anonymous_per_minute) if anonymous_per_minute else None
        self.accepted_tokens: OrderedDict[str, None] = OrderedDict()  # least recently accepted first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in LIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        authorization = _header(scope, b"authorization")
        address = f"address:{(scope.get('client') or ('unknown',))[0]}"
        if refusal := self._refusal(authorization, address):
            await refusal(scope, receive, send)
            return
        if authorization is None:
            await self.app(scope, receive, send)
            return

        async def learn_from_answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._answered(_token_key(authorization), address, message["status"])
            await send(message)

        await self.app(scope, receive, learn_from_answer)

    def _refusal(self, authorization: str | None, address: str) -> JSONResponse | None:
        if authorization is None:
            wait = self.by_address.take(address) if self.by_address is not None else 0.0
            return too_many_requests(wait, self.anonymous_per_minute) if wait else None
        key = _token_key(authorization)
        if self.refused_tokens is not None and key not in self.accepted_tokens:
            if wait := self.refused_tokens.wait(address):
                return too_many_requests(wait, self.anonymous_per_minute)
        if self.by_token is not None and (wait := self.by_token.take(key)):
            return too_many_requests(wait, self.per_minute)
        return None

    def _answered(self, key: str, address: str, status: int) -> None:
        if status == 401:
            self.accepted_tokens.pop(key, None)  # revoked or expired since
            if self.refused_tokens is not None:
                self.refused_tokens.take(address)
            return
        if not 200 <= status < 300:
            return  # 413, 503: the token was never looked at, or could not be
        self.accepted_tokens[key] = None
        self.accepted_tokens.move_to_end(key)
        if len(self.accepted_tokens) > MAX_KEYS:
            self.accepted_tokens.popitem(last=False)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name and value.strip():
            return value.decode("latin-1").strip()
    return None


def _token_key(authorization: str) -> str:
    # Hashed: the buckets never hold a token in clear.
    return "token:" + hashlib.sha256(authorization.encode("latin-1")).hexdigest()
