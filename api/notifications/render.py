"""Turns one job into the message its channel carries, in the client's language."""

import json
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from db.workflows import Workflow

STRINGS = {
    "ru": {"greeting": "Здравствуйте", "comment": "Комментарий", "assignee": "Вашей заявкой занимается",
           "open": "Открыть заявку", "feedback": "Оценить работу",
           "footer": "Это письмо о вашей заявке; отвечать на него не нужно.", "unsubscribe": "Отписаться от писем"},
    "en": {"greeting": "Hello", "comment": "Comment", "assignee": "Your request is handled by",
           "open": "Open your request", "feedback": "Rate our work",
           "footer": "This message is about your request; there is no need to reply.",
           "unsubscribe": "Unsubscribe from these emails"},
}


@dataclass(frozen=True)
class Message:
    """What a client message says, whatever carries it."""

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

    @property
    def feedback_url(self) -> str | None:
        return f"{self.portal_url}&feedback=1" if self.terminal else None

    @property
    def subject(self) -> str:
        return f"{self.number}: {self.status_label}"


def message_for(*, job: dict, event: dict, workflow: Workflow | None, portal_url: str,
                unsubscribe_url: str | None = None) -> Message:
    request = event["snapshot"]
    locale = job.get("locale") or request["client"]["locale"]
    status = workflow.status(request["status"]) if workflow else None
    return Message(
        locale=locale, number=request["number"], title=request["title"], client_name=request["client"]["name"],
        status_key=request["status"], status_label=status.label(locale) if status else request["status"],
        terminal=bool(status and status.terminal), comment=event.get("comment"), assignee=request.get("assignee"),
        portal_url=portal_url, unsubscribe_url=unsubscribe_url,
    )


class Renderer:
    def __init__(self):
        self._env = Environment(
            loader=PackageLoader("api.notifications", "templates"),
            autoescape=select_autoescape(["html.j2"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def _body(self, message: Message) -> str:
        template = self._env.select_template(
            [f"{message.locale}/{message.status_key}.txt.j2", f"{message.locale}/_status.txt.j2"]
        )
        return template.render(vars(message)).strip()

    def email(self, message: Message, *, job_id: str, sender: str, recipient: str, domain: str) -> EmailMessage:
        body = self._body(message)
        values = vars(message) | {"t": STRINGS[message.locale], "body": body, "subject": message.subject,
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
        return self._env.get_template("sms.txt.j2").render(vars(message) | {"link": message.portal_url})


def webhook_body(*, job: dict, event: dict) -> bytes:
    """The JSON an integration receives for one event."""
    request = event["snapshot"]
    client = request["client"]
    payload = {
        "id": str(job["_id"]),
        "type": event["type"],
        "createdAt": event["at"].isoformat(),
        "event": {"version": event["version"], "type": event["type"], "from": event.get("from"), "to": event.get("to"),
                  "comment": event.get("comment"), "at": event["at"].isoformat(),
                  "actor": event.get("actor")},
        "request": {"id": str(request["_id"]), "number": request["number"], "title": request["title"],
                    "service": request.get("service"), "workflow": request["workflow"], "status": request["status"],
                    "version": request["version"],
                    "client": {"name": client["name"], "email": client.get("email"), "phone": client.get("phone"),
                               "locale": client["locale"]}},
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
