"""Checks and normalises what callers send, field by field (limits in shared/cases/README.md).

Text is stored as given (never HTML-escaped): whatever shows it escapes it.
"""

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from db.errors import FieldProblem, ValidationFailed
from db.requests import ClientInfo, NewRequest
from db.workflows import DEFAULT_LOCALE, DEFAULT_WORKFLOW_KEY, LOCALES

TITLE_MAX = 200
NAME_MAX = 200
DESCRIPTION_MAX = 20_000
SERVICE_MAX = 100
COMMENT_MAX = 5_000
KEY_MAX = 200
PHONE_REGION = "RU"  # numbers without a country code are read as Russian
CLIENT_CHANNELS = ("EMAIL", "SMS")

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_EDGES = re.compile(rf"^[\s{_ZERO_WIDTH}]+|[\s{_ZERO_WIDTH}]+$")
# Characters that look like nothing: fillers and blank patterns outside the "format" category.
_BLANK_LOOKING = set("\u115f\u1160\u3164\uffa0\u2800\u180e")
# Direction overrides and isolates make text display as something else ("gpj.exe").
_DIRECTION_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_SEPARATORS = set("\n\r\u2028\u2029\x85\x0b\x0c")


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*")


class Problems(list[FieldProblem]):
    def add(self, field: str, message: str) -> None:
        self.append(FieldProblem(field, message))

    def raise_any(self) -> None:
        if self:
            raise ValidationFailed(list(self))


def trimmed(value: str) -> str:
    """The value without white space or zero-width characters at either end."""
    return _EDGES.sub("", value)


def _looks_empty(value: str) -> bool:
    """Nothing a reader would see: spaces, format characters, combining marks alone, fillers."""
    return all(ch.isspace() or ch in _BLANK_LOOKING or unicodedata.category(ch) in ("Cf", "Mn", "Me")
               for ch in value)


def _text_problem(value: str, multiline: bool) -> str | None:
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        return "must be valid Unicode text (it holds a lone surrogate)"
    if any(ch in _DIRECTION_CONTROLS for ch in value):
        return "must not contain text direction overrides"
    if not multiline and any(ch in _LINE_SEPARATORS for ch in value):
        return "must be a single line"
    allowed = "\n\t\r" if multiline else "\t"
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        return "must not contain control characters"
    return None


def text(problems: Problems, field: str, value: str | None, *, required: bool, limit: int,
         multiline: bool = False) -> str | None:
    """A checked text field: trimmed, within its limit, free of control characters.

    Single-line fields (titles, names) refuse line breaks too: they end up in email
    subjects and headers.
    """
    if value is None:
        if required:
            problems.add(field, "is required")
        return None
    value = trimmed(value)
    if _looks_empty(value):
        if required:
            problems.add(field, "must not be empty")
        return None
    if len(value) > limit:
        problems.add(field, f"must be at most {limit} characters (got {len(value)})")
    elif problem := _text_problem(value, multiline):
        problems.add(field, problem)
    return value


def email(problems: Problems, field: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except (EmailNotValidError, UnicodeError) as error:
        problems.add(field, f"is not a valid email address: {error}")
        return None


def phone(problems: Problems, field: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if any(ch.isalpha() for ch in value):
        problems.add(field, "must be digits only (with +, spaces, dashes or brackets); no letters or extensions")
        return None
    try:
        number = phonenumbers.parse(value, PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        problems.add(field, "is not a valid phone number (write it with its country code, e.g. +7 912 345-67-89)")
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def locale(problems: Problems, field: str, value: str | None) -> str:
    if value is None or not value.strip():
        return DEFAULT_LOCALE
    if not _LANGUAGE_TAG.fullmatch(value.strip()):
        problems.add(field, f"must be one of: {', '.join(LOCALES)}")
        return DEFAULT_LOCALE
    tag = value.strip().lower().replace("_", "-").split("-")[0]
    if tag not in LOCALES:
        problems.add(field, f"must be one of: {', '.join(LOCALES)}")
        return DEFAULT_LOCALE
    return tag


def channels(problems: Problems, field: str, value: list | None, *, email_: str | None,
             phone_: str | None) -> tuple[str, ...]:
    """The channels the client is told through: as chosen, or every one they gave details for."""
    reachable = tuple(ch for ch, contact in (("EMAIL", email_), ("SMS", phone_)) if contact)
    if value is None:
        return reachable
    chosen = tuple(dict.fromkeys(getattr(ch, "value", ch) for ch in value))
    if not chosen:
        problems.add(field, "must name at least one channel, or be omitted")
    for channel in chosen:
        if channel not in CLIENT_CHANNELS:
            problems.add(field, f"{channel} is not a channel for clients (webhooks are registered by an admin)")
        elif channel not in reachable:
            needs = "an email" if channel == "EMAIL" else "a phone number"
            problems.add(field, f"{channel} needs {needs}")
    return chosen


def client_info(problems: Problems, client) -> ClientInfo:
    name = text(problems, "client.name", client.name, required=True, limit=NAME_MAX)
    email_ = email(problems, "client.email", client.email)
    phone_ = phone(problems, "client.phone", client.phone)
    if not (client.email or "").strip() and not (client.phone or "").strip():
        problems.add("client", "give an email or a phone number, so the client can be told about the request")
    chosen = channels(problems, "client.channels", client.channels, email_=email_, phone_=phone_)
    return ClientInfo(name=name or "", email=email_, phone=phone_, locale=locale(problems, "client.locale", client.locale),
                      channels=chosen)


def new_request(data) -> NewRequest:
    """A checked CreateRequestInput, or ValidationFailed naming every bad field."""
    problems = Problems()
    title = text(problems, "title", data.title, required=True, limit=TITLE_MAX)
    description = text(problems, "description", data.description, required=False, limit=DESCRIPTION_MAX,
                       multiline=True)
    service = text(problems, "service", data.service, required=False, limit=SERVICE_MAX)
    workflow = text(problems, "workflow", data.workflow, required=False, limit=KEY_MAX) or DEFAULT_WORKFLOW_KEY
    client = client_info(problems, data.client)
    if data.idempotency_key is not None:
        text(problems, "idempotencyKey", data.idempotency_key, required=True, limit=KEY_MAX)
    problems.raise_any()
    return NewRequest(title=title, description=description, service=service, workflow=workflow, client=client)
