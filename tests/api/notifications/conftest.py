"""Real receivers for notifications: an SMTP server (aiosmtpd) and an HTTP endpoint (starlette
under uvicorn), each on a free loopback port, recording what arrives."""

import asyncio
import email
import json
from dataclasses import dataclass, field
from email import policy

import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from db.embedded import free_port
from tests.conftest import start_server, stop_server


@dataclass
class SmtpInbox:
    """An SMTP server's mailbox; it answers 451 to the first `refuse` messages."""

    refuse: int = 0
    messages: list = field(default_factory=list)
    attempts: int = 0
    port: int = 0

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.attempts <= self.refuse:
            return "451 4.3.0 Try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    async def wait_for(self, count: int, timeout: float = 15) -> list:
        async def enough():
            while len(self.messages) < count:
                await asyncio.sleep(0.05)
        await asyncio.wait_for(enough(), timeout)
        return self.messages


@pytest.fixture
def smtp_inbox():
    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@dataclass
class Received:
    headers: dict
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """An HTTP endpoint that records each POST on arrival, then answers `fail_first` of them
    with 503 (all of them with always_fail), after an optional delay."""

    fail_first: int = 0
    always_fail: bool = False
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    url: str = ""

    async def endpoint(self, request: Request):
        self.received.append(Received(headers=dict(request.headers), body=await request.body()))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.always_fail or len(self.received) <= self.fail_first:
            return JSONResponse({"error": "gateway busy"}, status_code=503)
        return JSONResponse({"status": "accepted"})

    async def wait_for(self, count: int, timeout: float = 15) -> list[Received]:
        async def enough():
            while len(self.received) < count:
                await asyncio.sleep(0.05)
        await asyncio.wait_for(enough(), timeout)
        return self.received


@pytest.fixture
async def receiver():
    hooks = HttpReceiver()
    app = Starlette(routes=[Route("/hook", hooks.endpoint, methods=["POST"])])
    server, task, port = await start_server(app)
    hooks.url = f"http://127.0.0.1:{port}/hook"
    yield hooks
    await stop_server(server, task)


FAST = {"notify_retry_base_s": 0.05, "notify_retry_max_s": 0.2, "notify_poll_s": 0.05, "notify_lease_s": 5}


@pytest.fixture
def settings(settings, smtp_inbox, receiver):
    """Herald sending mail to the test's SMTP server and SMS to the test's gateway, retrying fast."""
    return settings.model_copy(update=FAST | {"smtp_url": f"smtp://127.0.0.1:{smtp_inbox.port}",
                                              "sms_gateway_url": receiver.url})


NOTIFICATIONS = """query N($id: ID!) { request(id: $id) { version
  notifications { channel state attempts lastError eventVersion } } }"""


async def wait_notifications(herald, token: str, request_id: str, done, timeout: float = 15) -> dict:
    """The request once done(notifications) holds."""
    async def poll():
        while True:
            request = (await herald.data(NOTIFICATIONS, {"id": request_id}, token))["request"]
            if done(request["notifications"]):
                return request
            await asyncio.sleep(0.1)
    return await asyncio.wait_for(poll(), timeout)


def all_settled(notifications: list[dict]) -> bool:
    return bool(notifications) and all(n["state"] in ("SENT", "FAILED") for n in notifications)
