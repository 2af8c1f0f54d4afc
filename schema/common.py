"""Types and errors shared by every domain of the schema."""

import strawberry
from graphql import GraphQLError

from db.errors import FieldProblem


class PublicError(Exception):
    """An error whose message is meant for the caller (an access refusal, a bad argument).

    Every other exception raised in a resolver is masked as "Unexpected error."
    """

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.extensions = {"code": code}


def unauthenticated() -> PublicError:
    return PublicError("authentication required: send 'Authorization: Bearer <token>'", "UNAUTHENTICATED")


def forbidden(what: str) -> PublicError:
    return PublicError(f"your role may not {what}", "FORBIDDEN")


def bad_argument(argument: str, message: str) -> PublicError:
    return PublicError(f"{argument}: {message}", "BAD_USER_INPUT")


def should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, (PublicError, GraphQLError))


@strawberry.interface(description="What every expected failure of a mutation has.")
class Error:
    message: str


@strawberry.type(description="One invalid input field.")
class FieldError:
    field: str = strawberry.field(description='The input path, e.g. "title" or "client.email".')
    message: str


@strawberry.type
class ValidationError(Error):
    message: str
    fields: list[FieldError]

    @classmethod
    def of(cls, problems: list[FieldProblem]) -> "ValidationError":
        fields = [FieldError(field=p.field, message=p.message) for p in problems]
        return cls(message="; ".join(f"{p.field}: {p.message}" for p in problems), fields=fields)


@strawberry.type
class NotFound(Error):
    message: str
    id: strawberry.ID

    @classmethod
    def of(cls, id_: str, what: str = "request") -> "NotFound":
        shown = id_ if len(id_) <= 100 else id_[:100] + "…"
        return cls(message=f"no {what} with id '{shown}'", id=strawberry.ID(shown))
