"""Workflows: statuses, their labels in the caller's language, and transitions."""

import strawberry

from db.workflows import DEFAULT_WORKFLOW_KEY, StatusDef
from db.workflows import Workflow as WorkflowModel
from schema.common import PublicError
from schema.context import Info


@strawberry.type(description="A status of a workflow; label in the caller's language.")
class Status:
    key: str
    label: str
    terminal: bool

    @classmethod
    def of(cls, status: StatusDef, locale: str) -> "Status":
        return cls(key=status.key, label=status.label(locale), terminal=status.terminal)


@strawberry.type
class Transition:
    from_: Status = strawberry.field(name="from")
    to: Status


@strawberry.type
class Workflow:
    key: str
    name: str
    initial: Status
    statuses: list[Status]
    transitions: list[Transition]

    @classmethod
    def of(cls, workflow: WorkflowModel, locale: str) -> "Workflow":
        def status(key: str) -> Status:
            return Status.of(workflow.status(key), locale)

        return cls(
            key=workflow.key,
            name=workflow.name(locale),
            initial=status(workflow.initial),
            statuses=[Status.of(s, locale) for s in workflow.statuses],
            transitions=[Transition(from_=status(frm), to=status(to)) for frm, to in workflow.transitions],
        )


@strawberry.type
class WorkflowQuery:
    @strawberry.field(description="A workflow by key; the default workflow when key is omitted.")
    async def workflow(self, info: Info, key: str | None = None) -> Workflow:
        key = key or DEFAULT_WORKFLOW_KEY
        workflow = await info.context.workflows.get(key)
        if workflow is None:
            raise PublicError(f"no workflow with key '{key}'", "NOT_FOUND")
        return Workflow.of(workflow, info.context.viewer.locale)
