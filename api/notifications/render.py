"""Turns one job into the message its channel carries, in the client's language."""

import json
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from jinja2 import PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from db.workflows import Workflow

STRINGS = {
    "ru": {"assigned": "Назначен специалист", "new_comment": "Новый комментарий", "greeting": "Здравствуйте", "comment": "Комментарий", "assignee": "Вашей заявкой занимается",
           "open": "Открыть заявку", "feedback": "Оценить работу",
           "footer": "Это письмо о вашей заявке; отвечать на него не нужно.", "unsubscribe": "Отписаться от писем"},
    "en": {"assigned": "Specialist assigned", "new_comment": "New comment", "greeting": "Hello", "comment": "Comment", "assignee": "Your request is handled by",
           "open": "Open your request", "feedback": "Rate our work",
           "footer": "This message is about your request; there is no need to reply.",
           "unsubscribe": "Unsubscribe from these emails"},
}


KIND_OF_EVENT = {"ASSIGNED": "assigned", "COMMENT_ADDED": "comment"}  # every other event tells the status


@dataclass(frozen=True)
class Message:
    """What a client message says, whatever carries it."""

    kind: str  # status, assigned or comment
    locale: str
    number: str
    title: str
    client_name: str
    status_key: str
    status_label: str
    terminal: bool
    comment: str | None
    assignee: dict | None
    portal_url: str
    unsubscribe_url: str | None = None
    status_text: str | None = None  # the workflow's own message for this status, if it has one

    @property
    def feedback_url(self) -> str | None:
        return f"{self.portal_url}&feedback=1" if self.terminal and self.kind == "status" else None

    @property
    def headline(self) -> str:
        if self.kind == "assigned":
            return f"{STRINGS[self.locale]['assigned']}: {self.assignee['name']}"
        if self.kind == "comment":
            return STRINGS[self.locale]["new_comment"]
        return self.status_label

    @property
    def subject(self) -> str:
        return f"{self.number}: {self.headline}"


def message_for(*, job: dict, event: dict, workflow: Workflow | None, portal_url: str,
                unsubscribe_url: str | None = None) -> Message:
    request = event["snapshot"]
    locale = job.get("locale") or request["client"]["locale"]
    status = workflow.status(request["status"]) if workflow else None
    return Message(
        kind=KIND_OF_EVENT.get(event["type"], "status"),
        locale=locale, number=request["number"], title=request["title"], client_name=request["client"]["name"],
        status_key=request["status"], status_label=status.client_label(locale) if status else request["status"],
        terminal=bool(status and status.terminal), comment=event.get("comment"), assignee=request.get("assignee"),
        portal_url=portal_url, unsubscribe_url=unsubscribe_url,
        status_text=status.messages.get(locale) if status else None,
    )


class Renderer:
    def __init__(self):
        # Sandboxed: admins write status messages in workflows.
        self._env = SandboxedEnvironment(
            loader=PackageLoader("api.notifications", "templates"),
            autoescape=select_autoescape(["html.j2"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def _body(self, message: Message) -> str:
        values = vars(message) | {"headline": message.headline}
        if message.kind != "status":
            return self._env.get_template(f"{message.locale}/_{message.kind}.txt.j2").render(values).strip()
        if message.status_text:
            return self._env.from_string(message.status_text).render(values).strip()
        template = self._env.select_template(
            [f"{message.locale}/{message.status_key}.txt.j2", f"{message.locale}/_status.txt.j2"]
        )
        return template.render(values).strip()

    def email(self, message: Message, *, job_id: str, sender: str, recipient: str, domain: str) -> EmailMessage:
        body = self._body(message)
        values = vars(message) | {"t": STRINGS[message.locale], "body": body, "subject": message.subject,
                                  "headline": message.headline,
                                  "feedback_url": message.feedback_url,
                                  "paragraphs": [p.strip() for p in body.split("\n\n") if p.strip()]}
        email = EmailMessage()
        email["Subject"] = message.subject
        email["From"] = sender
        email["To"] = formataddr((message.client_name, recipient))
        email["Date"] = formatdate(localtime=False, usegmt=True)
        # The same id on every attempt, so a receiver can drop a duplicate after a crash mid-send.
        email["Message-ID"] = f"<{job_id}@{domain}>"
        email["Auto-Submitted"] = "auto-generated"
        if message.unsubscribe_url:
            email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email.set_content(self._env.get_template("email.txt.j2").render(values).strip() + "\n")
        email.add_alternative(self._env.get_template("email.html.j2").render(values), subtype="html")
        email["Content-Language"] = message.locale  # after the parts: set_content drops Content-* headers
        return email

    def sms(self, message: Message) -> str:
        """A short text with the number, the status and the link: one SMS where it fits."""
        return self._env.get_template("sms.txt.j2").render(vars(message) | {"link": message.portal_url,
                                                                            "headline": message.headline})


def webhook_body(*, job: dict, event: dict) -> bytes:
    """The JSON an integration receives for one event."""
    request = event["snapshot"]
    client = request["client"]
    payload = {
        "id": str(job["_id"]),
        "type": event["type"],
        "createdAt": event["at"].isoformat(),
        "event": {"version": event["version"], "type": event["type"], "from": event.get("from"), "to": event.get("to"),
                  "comment": event.get("comment"), "public": event.get("public", True) is not False,
                  "at": event["at"].isoformat(),
                  "actor": event.get("actor")},
        "request": {"id": str(request["_id"]), "number": request["number"], "title": request["title"],
                    "service": request.get("service"), "workflow": request["workflow"], "status": request["status"],
                    "version": request["version"],
                    "client": {"name": client["name"], "email": client.get("email"), "phone": client.get("phone"),
                               "locale": client["locale"]}},
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
