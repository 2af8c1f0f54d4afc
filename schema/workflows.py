"""Workflows: statuses, their labels in the caller's language, transitions, and their editing by admins."""

import re
from typing import Annotated

import strawberry

from db.errors import ValidationFailed
from db.workflows import (
    DEFAULT_WORKFLOW_KEY,
    LOCALES,
    STAFF_ROLES,
    StatusDef,
    TransitionDef,
    list_workflows,
    save_workflow,
)
from db.workflows import Workflow as WorkflowModel
from schema import validation
from schema.access import Viewer
from schema.common import PublicError, ValidationError, require
from schema.context import Info

KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
LABEL_MAX = 100


@strawberry.type(description="A status of a workflow. label: in the caller's language; clients see the "
                             "client-facing label.")
class Status:
    key: str
    label: str
    terminal: bool
    description: str | None = strawberry.field(description="What this status means, for the client.")

    @classmethod
    def of(cls, status: StatusDef, locale: str, *, for_client: bool = False) -> "Status":
        label = status.client_label(locale) if for_client else status.label(locale)
        return cls(key=status.key, label=label, terminal=status.terminal, description=status.description(locale))

    @classmethod
    def seen_by(cls, viewer: Viewer, status: StatusDef, request: dict | None = None) -> "Status":
        """As this viewer sees it: clients get the client label, in the language the request's
        client chose (as of `request`), everyone else the label in their own language."""
        if viewer.role == "client":
            return cls.of(status, request["client"]["locale"] if request else viewer.locale, for_client=True)
        return cls.of(status, viewer.locale)


@strawberry.type
class Transition:
    from_: Status = strawberry.field(name="from")
    to: Status
    roles: list[str] = strawberry.field(description="Who may take it: staff, admin.")


@strawberry.type
class Workflow:
    key: str
    name: str
    initial: Status
    statuses: list[Status]
    transitions: list[Transition]

    @classmethod
    def seen_by(cls, viewer: Viewer, workflow: WorkflowModel, request: dict | None = None) -> "Workflow":
        def status(key: str) -> Status:
            return Status.seen_by(viewer, workflow.status(key), request)

        return cls(
            key=workflow.key,
            name=workflow.name(request["client"]["locale"] if request and viewer.role == "client" else viewer.locale),
            initial=status(workflow.initial),
            statuses=[status(s.key) for s in workflow.statuses],
            transitions=[Transition(from_=status(t.from_), to=status(t.to), roles=list(t.roles))
                         for t in workflow.transitions],
        )


@strawberry.input(description="Text in each language Herald speaks.")
class LocalizedTextInput:
    ru: str
    en: str


@strawberry.input
class StatusInput:
    key: str = strawberry.field(description="Lower case letters, digits and _, starting with a letter.")
    label: LocalizedTextInput
    terminal: bool = False
    client_label: LocalizedTextInput | None = strawberry.field(
        default=None, description="What clients see instead of label; statuses sharing one client label look "
                                  "like one status to the client, and moves between them do not notify.")
    description: LocalizedTextInput | None = strawberry.field(default=None, description="Shown to the client.")
    notify_client: bool = strawberry.field(default=True, description="Message the client on entering it.")
    message: LocalizedTextInput | None = strawberry.field(
        default=None, description="The message text for this status, instead of the built-in one (Jinja2: "
                                  "{{ number }}, {{ title }}, {{ status_label }}).")


@strawberry.input
class TransitionInput:
    from_: str = strawberry.field(name="from")
    to: str
    roles: list[str] | None = strawberry.field(default=None, description="staff and admin when omitted.")


@strawberry.input
class WorkflowInput:
    key: str
    name: LocalizedTextInput
    initial: str
    statuses: list[StatusInput]
    transitions: list[TransitionInput]


@strawberry.type
class WorkflowSuccess:
    workflow: Workflow


WorkflowResult = Annotated[WorkflowSuccess | ValidationError, strawberry.union("WorkflowResult")]


def _texts(problems: validation.Problems, field: str, value: LocalizedTextInput | None, *,
           required: bool, limit: int = LABEL_MAX, multiline: bool = False) -> dict[str, str]:
    if value is None:
        if required:
            problems.add(field, "is required")
        return {}
    return {locale: validation.text(problems, f"{field}.{locale}", getattr(value, locale), required=required,
                                    limit=limit, multiline=multiline) or "" for locale in LOCALES}


def _key(problems: validation.Problems, field: str, value: str) -> str:
    if not KEY.fullmatch(value):
        problems.add(field, "must be 1 to 40 lower case letters, digits or _, starting with a letter")
    return value


def _reachable(initial: str, transitions: list[TransitionDef]) -> set[str]:
    seen, frontier = {initial}, [initial]
    while frontier:
        current = frontier.pop()
        for t in transitions:
            if t.from_ == current and t.to not in seen:
                seen.add(t.to)
                frontier.append(t.to)
    return seen


def workflow_from_input(data: WorkflowInput) -> WorkflowModel:
    """A checked workflow, or ValidationFailed naming each bad field by its input path."""
    problems = validation.Problems()
    key = _key(problems, "key", data.key)
    names = _texts(problems, "name", data.name, required=True)
    statuses, keys = [], set()
    for i, s in enumerate(data.statuses):
        path = f"statuses[{i}]"
        if _key(problems, f"{path}.key", s.key) in keys:
            problems.add(f"{path}.key", f"'{s.key}' is used by another status")
        keys.add(s.key)
        statuses.append(StatusDef(
            key=s.key, labels=_texts(problems, f"{path}.label", s.label, required=True), terminal=s.terminal,
            client_labels=_texts(problems, f"{path}.clientLabel", s.client_label, required=False),
            descriptions=_texts(problems, f"{path}.description", s.description, required=False, limit=1000,
                                multiline=True),
            notify_client=s.notify_client,
            messages=_texts(problems, f"{path}.message", s.message, required=False, limit=5000, multiline=True),
        ))
    if not statuses:
        problems.add("statuses", "a workflow needs at least one status")
    elif not any(s.terminal for s in statuses):
        problems.add("statuses", "at least one status must be terminal (where requests end)")
    if data.initial not in keys:
        problems.add("initial", f"'{data.initial}' is not one of the statuses")
    transitions, pairs = [], set()
    for i, t in enumerate(data.transitions):
        path = f"transitions[{i}]"
        for end, value in (("from", t.from_), ("to", t.to)):
            if value not in keys:
                problems.add(f"{path}.{end}", f"'{value}' is not one of the statuses")
        if t.from_ == t.to:
            problems.add(path, "a transition must lead to another status")
        if (t.from_, t.to) in pairs:
            problems.add(path, f"'{t.from_}' → '{t.to}' is listed twice")
        pairs.add((t.from_, t.to))
        roles = tuple(dict.fromkeys(t.roles)) if t.roles is not None else STAFF_ROLES
        if not roles or any(role not in STAFF_ROLES for role in roles):
            problems.add(f"{path}.roles", f"must name one or more of: {', '.join(STAFF_ROLES)}")
        transitions.append(TransitionDef(t.from_, t.to, roles))
    if data.initial in keys and not problems:
        unreachable = [s.key for s in statuses if s.key not in _reachable(data.initial, transitions)]
        if unreachable:
            problems.add("transitions", f"no way from '{data.initial}' to {', '.join(repr(k) for k in unreachable)}")
    problems.raise_any()
    return WorkflowModel(key=key, names=names, initial=data.initial, statuses=tuple(statuses),
                         transitions=tuple(transitions))


def _require_admin(info: Info) -> None:
    viewer = info.context.viewer
    require(viewer, ("admin",), "change workflows")


async def _save(info: Info, data: WorkflowInput, *, create: bool) -> WorkflowResult:
    _require_admin(info)
    try:
        workflow = workflow_from_input(data)
        await save_workflow(info.context.db, workflow=workflow, create=create)
    except ValidationFailed as error:
        return ValidationError.of(error.problems)
    info.context.workflows.forget(workflow.key)
    return WorkflowSuccess(workflow=Workflow.seen_by(info.context.viewer, workflow))


@strawberry.type
class WorkflowQuery:
    @strawberry.field(description="A workflow by key; the default workflow when key is omitted.")
    async def workflow(self, info: Info, key: str | None = None) -> Workflow:
        key = key or DEFAULT_WORKFLOW_KEY
        workflow = await info.context.workflows.get(key)
        if workflow is None:
            raise PublicError(f"no workflow with key '{key}'", "NOT_FOUND")
        return Workflow.seen_by(info.context.viewer, workflow)

    @strawberry.field(description="Every workflow; requests choose one by key at creation.")
    async def workflows(self, info: Info) -> list[Workflow]:
        # Anonymous callers see the default workflow (`workflow`), not the list of a company's processes.
        require(info.context.viewer)
        return [Workflow.seen_by(info.context.viewer, w) for w in await list_workflows(info.context.db)]


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation(description="Admin: a new workflow.")
    async def create_workflow(self, info: Info, input: WorkflowInput) -> WorkflowResult:
        return await _save(info, input, create=True)

    @strawberry.mutation(description="Admin: replace a workflow. Requests keep working under the new version; "
                                     "a status that requests are in cannot be removed.")
    async def update_workflow(self, info: Info, input: WorkflowInput) -> WorkflowResult:
        return await _save(info, input, create=False)
