"""The channels that carry messages: SMTP or a mail folder, an SMS gateway or a file, webhooks.

Each send either returns (delivered) or raises DeliveryError; `permanent` errors are not
retried. Every channel passes the job's stable message id on, so a receiver can drop the
duplicate that a crash mid-send may cause.
"""

import base64
import hashlib
import hmac
import json
import os
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import aiosmtplib
import httpx

from db.client import now


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class SmtpMailer:
    """SMTP_URL: smtp://user:pass@host:587 (STARTTLS when offered; ?starttls=required insists),
    smtps://user:pass@host:465 (TLS from the start)."""

    def __init__(self, url: str, *, timeout_s: float):
        parts = urlparse(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must start with smtp:// or smtps://")
        options = parse_qs(parts.query)
        self._options = {
            "hostname": parts.hostname or "localhost",
            "port": parts.port or (465 if parts.scheme == "smtps" else 25),
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "use_tls": parts.scheme == "smtps",
            "start_tls": True if options.get("starttls") == ["required"] else None,
            "timeout": timeout_s,
        }

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(message, **self._options)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [response.code for response in error.recipients]
            raise DeliveryError(f"SMTP refused the recipient: {error}", permanent=all(c >= 500 for c in codes)) from error
        except aiosmtplib.SMTPResponseException as error:
            raise DeliveryError(f"SMTP {error.code}: {error.message}", permanent=error.code >= 500) from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP: {error}") from error


class MailFolder:
    """Without SMTP_URL: each message is written as an .eml file a mail client can open."""

    def __init__(self, folder: Path):
        self.folder = folder

    async def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        message_id = message["Message-ID"].strip("<>").split("@")[0]
        name = f"{now():%Y%m%d-%H%M%S}-{message_id}.eml"
        for existing in self.folder.glob(f"*-{message_id}.eml"):
            existing.unlink()  # a retry replaces its own earlier copy
        temporary = self.folder / f".{name}.tmp"
        temporary.write_bytes(bytes(message))
        os.replace(temporary, self.folder / name)


class SmsGateway:
    """SMS_GATEWAY_URL: a JSON POST of {to, text, id} with the token as a bearer."""

    def __init__(self, url: str, token: str | None, http: httpx.AsyncClient):
        self._url = url
        self._token = token
        self._http = http

    async def send(self, *, message_id: str, to: str, text: str) -> None:
        headers = {"Idempotency-Key": message_id}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        await post(self._http, self._url, headers=headers, json_body={"id": message_id, "to": to, "text": text})


class SmsFile:
    """Without a gateway: SMS are appended to a JSON-lines file."""

    def __init__(self, path: Path):
        self.path = path

    async def send(self, *, message_id: str, to: str, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"id": message_id, "to": to, "text": text, "at": now().isoformat()}, ensure_ascii=False)
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(line + "\n")


def webhook_signature(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks signature: base64 HMAC-SHA256 of "id.timestamp.body"."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class WebhookSender:
    def __init__(self, http: httpx.AsyncClient):
        self._http = http

    async def send(self, *, url: str, secret: str, message_id: str, body: bytes) -> None:
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": webhook_signature(secret, message_id=message_id, timestamp=timestamp, body=body),
        }
        await post(self._http, url, headers=headers, content=body)


async def post(http: httpx.AsyncClient, url: str, *, headers: dict, json_body: dict | None = None,
               content: bytes | None = None) -> None:
    try:
        response = await http.post(url, headers=headers, json=json_body, content=content)
    except httpx.HTTPError as error:
        raise DeliveryError(f"{type(error).__name__}: {error or 'no answer'}") from error
    if response.is_success:
        return
    # 4xx means the receiver will never take it, except for timeouts and throttling.
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 409, 425, 429)
    raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}", permanent=permanent)
