"""Expected failures of domain operations. Resolvers turn each into a typed GraphQL error."""

from dataclasses import dataclass


@dataclass
class FieldProblem:
    field: str  # the input path, e.g. "client.email"
    message: str


class DomainError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    def __init__(self, problems: list[FieldProblem]):
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


class RequestNotFound(DomainError):
    def __init__(self, request_id: str):
        super().__init__(f"no request with id '{request_id}'")
        self.request_id = request_id


class TransitionNotAllowed(DomainError):
    def __init__(self, workflow, from_status: str, to_status: str, role: str | None = None):
        allowed = workflow.allowed_from(from_status, role)
        allowed_text = ", ".join(f"'{s.key}'" for s in allowed) or "none"
        super().__init__(f"no transition from '{from_status}' to '{to_status}'; allowed: {allowed_text}")
        self.workflow = workflow
        self.from_status = from_status
        self.to_status = to_status
        self.allowed = allowed


class VersionMismatch(DomainError):
    def __init__(self, expected: int, actual: int):
        super().__init__(f"the request is at version {actual}, not {expected}: reload it and try again")
        self.expected = expected
        self.actual = actual


class FeedbackRefused(DomainError):
    pass
