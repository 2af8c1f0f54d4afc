"""The dispatcher: claims due jobs from the outbox, sends them, records the outcome.

Runs inside `herald serve` or alone as `herald worker`; any number may run against one
database. A claim is a lease (findOneAndUpdate): no two dispatchers hold the same job,
and a job whose dispatcher died mid-send is claimed again when the lease runs out.
"""

import asyncio
import contextlib
import logging
import random
import socket
import uuid
from urllib.parse import urlparse

import httpx
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from api.notifications.channels import DeliveryError, MailFolder, SmsFile, SmsGateway, SmtpMailer, WebhookSender
from api.notifications.links import Links
from api.notifications.render import Renderer, message_for, webhook_body
from api.settings import Settings, secret_value
from db import notifications as outbox
from db.watcher import EventHub
from db.webhooks import find_webhook
from db.workflows import WorkflowCache

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, db: AsyncDatabase, settings: Settings, *, links: Links, hub: EventHub | None = None):
        self._db = db
        self._settings = settings
        self._hub = hub
        self._poll_s = settings.notify_poll_s
        self._worker = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._renderer = Renderer()
        self._workflows = WorkflowCache(db)
        self._http = httpx.AsyncClient(timeout=settings.notify_timeout_s, follow_redirects=False)
        self._mailer = (SmtpMailer(settings.smtp_url, timeout_s=settings.notify_timeout_s) if settings.smtp_url
                        else MailFolder(settings.data_dir / "mail"))
        self._sms = (SmsGateway(settings.sms_gateway_url, secret_value(settings.sms_gateway_token), self._http) if settings.sms_gateway_url
                     else SmsFile(settings.data_dir / "sms.jsonl"))
        self._webhooks = WebhookSender(self._http)
        self._domain = urlparse(settings.public_url).hostname or "herald.local"
        self._links = links
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: set[asyncio.Task] = set()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        if self._hub:
            self._hub.listeners.add(self._on_event)
        self._task = asyncio.create_task(self._run(), name="herald-dispatcher")

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stops claiming, lets sends in flight finish within grace_s, then cancels the rest."""
        self._stopping = True
        self._wake.set()
        if self._hub:
            self._hub.listeners.discard(self._on_event)
        if self._task:
            self._task.cancel()  # a claim cut short only leaves a lease that runs out
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._in_flight:
            _, late = await asyncio.wait(self._in_flight, timeout=grace_s)
            for task in late:
                task.cancel()  # its lease expires and another dispatcher sends it again
        await self._http.aclose()

    def _on_event(self, event: dict) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            free = self._settings.notify_concurrency - len(self._in_flight)
            if free <= 0:
                await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                continue
            self._wake.clear()
            try:
                jobs = await outbox.claim_jobs(self._db, worker=self._worker, lease_s=self._settings.notify_lease_s,
                                               limit=free)
            except PyMongoError as error:
                log.warning("cannot claim notification jobs: %s", error)
                jobs = []
            for job in jobs:
                task = asyncio.create_task(self._process(job))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            if not jobs:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_s)

    async def _process(self, job: dict) -> None:
        try:
            await self._deliver(job)
        except DeliveryError as error:
            await self._record_failure(job, str(error), permanent=error.permanent)
        except PyMongoError as error:
            log.warning("database error while sending job %s: %s (retried when its lease ends)", job["_id"], error)
        except Exception as error:  # a bug must not stop the dispatcher; the job shows the error
            log.exception("unexpected error sending job %s", job["_id"])
            await self._record_failure(job, f"internal error: {type(error).__name__}", permanent=False)
        else:
            await outbox.mark_sent(self._db, job=job)

    async def _record_failure(self, job: dict, error: str, *, permanent: bool) -> None:
        attempts = job["attempts"]
        final = permanent or attempts >= self._settings.notify_max_attempts
        retry_in = None if final else self._backoff(attempts)
        log.info("job %s (%s) attempt %d failed: %s%s", job["_id"], job["channel"], attempts, error,
                 "" if final else f"; retry in {retry_in:.1f}s")
        with contextlib.suppress(PyMongoError):
            await outbox.mark_failed_attempt(self._db, job=job, error=error, retry_in_s=retry_in)

    def _backoff(self, attempts: int) -> float:
        """Exponential with full jitter over its upper half, so retries of many jobs spread out."""
        ceiling = min(self._settings.notify_retry_base_s * 2 ** (attempts - 1), self._settings.notify_retry_max_s)
        return ceiling * random.uniform(0.5, 1.0)

    async def _deliver(self, job: dict) -> None:
        event = await self._db.request_events.find_one({"_id": job["event_id"]})
        if event is None:
            raise DeliveryError("the event of this message no longer exists", permanent=True)
        message_id = str(job["_id"])
        if job["channel"] == "WEBHOOK":
            hook = await find_webhook(self._db, webhook_id=job["webhook_id"])
            if hook is None or not hook["active"]:
                raise DeliveryError("the webhook was removed", permanent=True)
            await self._webhooks.send(url=hook["url"], secret=hook["secret"], message_id=message_id,
                                      body=webhook_body(job=job, event=event))
            return
        request = event["snapshot"]
        workflow = await self._workflows.get(request["workflow"])
        unsubscribe = self._links.unsubscribe(request["client"]["id"], job["channel"])
        if job["channel"] == "EMAIL":
            portal = await self._links.portal(job, request)
            message = message_for(job=job, event=event, workflow=workflow, portal_url=portal,
                                  unsubscribe_url=unsubscribe)
            email = self._renderer.email(message, job_id=message_id, sender=self._settings.mail_from,
                                         recipient=job["recipient"], domain=self._domain)
            await self._mailer.send(email)
        elif job["channel"] == "SMS":
            short = await self._links.short(job, request)
            message = message_for(job=job, event=event, workflow=workflow, portal_url=short)
            await self._sms.send(message_id=message_id, to=job["recipient"], text=self._renderer.sms(message))
        else:
            raise DeliveryError(f"unknown channel {job['channel']}", permanent=True)
