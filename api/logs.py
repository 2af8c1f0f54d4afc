"""Logging: one JSON object a line (or plain text for people), the request id on every line,
tokens, emails and phone numbers masked before anything is written.

A request id is kept in a context variable for the length of an HTTP request; tasks
started meanwhile inherit it. The WebSocket layer can give each operation its own with
`request_id_scope(new_request_id())`.
"""

import contextlib
import contextvars
import json
import logging
import logging.config
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import route_of

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("herald_request_id", default=None)
# An incoming X-Request-ID is kept when it is this: short, and nothing a log reader could trip on.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")
REQUEST_ID_HEADER = b"x-request-id"

access_log = logging.getLogger("herald.http")


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextlib.contextmanager
def request_id_scope(request_id: str) -> Iterator[str]:
    """Log lines written inside the block (and by tasks it starts) carry this request id."""
    token = REQUEST_ID.set(request_id)
    try:
        yield request_id
    finally:
        REQUEST_ID.reset(token)


def request_id_from(scope: Scope) -> str:
    """The caller's X-Request-ID when it is sane (a proxy's or a client's trace id), else a new one."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            offered = value.decode("latin-1")
            return offered if SANE_REQUEST_ID.fullmatch(offered) else new_request_id()
    return new_request_id()


class RequestLog:
    """Gives each HTTP request a request id (returned as X-Request-ID) and logs one line per request:
    method, route template, status, duration. Never the raw path: links carry tokens in it."""

    def __init__(self, app: ASGIApp, *, routes: list[BaseRoute]):
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        header = (REQUEST_ID_HEADER, request_id.encode())
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        with request_id_scope(request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = route_of(scope, self.routes)
                access_log.info("%s %s %d", scope["method"], route, status, extra={
                    "method": scope["method"], "route": route, "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "client": (scope.get("client") or ("",))[0]})


# Masking. Tokens carry a prefix for exactly this; emails and phone numbers by their shape.
_TOKEN = re.compile(r"hrl_[A-Za-z0-9_\-]+")
_EMAIL = re.compile(r"[\w.%+\-]+@([\w\-]+(?:\.[\w\-]+)+)")
# A run of digits with phone punctuation, 10 to 15 digits long, not inside a word (ids, hex); no dots,
# which would take in IP addresses.
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d ()\-]{7,20}\d(?![\w])")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def _mask_phone(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    if not 10 <= len(digits) <= 15 or _DATE.match(match.group()):
        return match.group()
    return f"***{digits[-2:]}"


def mask(text: str) -> str:
    """text without tokens, email addresses and phone numbers in clear."""
    text = _TOKEN.sub("hrl_***", text)
    text = _EMAIL.sub(lambda m: f"***@{m.group(1)}", text)
    return _PHONE.sub(_mask_phone, text)


# Attributes every LogRecord has; anything else was passed as `extra` and is logged as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}
_HIDDEN = {"color_message"}  # uvicorn's coloured duplicate of the message


def extras(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and k not in _HIDDEN}


class MaskSecrets(logging.Filter):
    """Masks tokens, emails and phone numbers in the message, its arguments, extras and tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        with contextlib.suppress(TypeError, ValueError):  # a bad format string is logged as it is
            record.msg, record.args = mask(record.getMessage()), None
        for key, value in extras(record).items():
            if isinstance(value, str):
                setattr(record, key, mask(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        return True


class AddRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, then the extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": _time(record), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage(), "request_id": getattr(record, "request_id", None)}
        entry |= {k: v for k, v in extras(record).items() if k not in entry}
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """time level logger [request id]: message key=value ..."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        line = f"{_time(record)} {record.levelname} {record.name}{f' [{request_id}]' if request_id else ''}: " \
               f"{record.getMessage()}"
        fields = " ".join(f"{k}={v}" for k, v in extras(record).items())
        line += f" {fields}" if fields else ""
        if record.exc_info or record.exc_text:
            line += "\n" + (record.exc_text or self.formatException(record.exc_info))
        return line


UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def logging_config(*, log_format: str, level: str = "info") -> dict:
    """Everything, uvicorn's loggers included, through one handler on stderr in the chosen format.

    A dictConfig: uvicorn applies it in each worker process too (`log_config`).
    """
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": AddRequestId}, "mask": {"()": MaskSecrets}},
        "formatters": {"herald": {"()": formatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "herald", "filters": ["request_id", "mask"]}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {name: {"handlers": [], "propagate": True} for name in UVICORN_LOGGERS},
    }


def configure_logging(*, log_format: str, level: str = "info") -> None:
    logging.config.dictConfig(logging_config(log_format=log_format, level=level))
