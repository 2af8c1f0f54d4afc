"""Types and errors shared by every domain of the schema."""

import strawberry
from graphql import GraphQLError
from pymongo.errors import ConnectionFailure, PyMongoError
from strawberry.extensions import MaskErrors

from db.errors import DatabaseUnavailable, FieldProblem


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


def require(viewer, roles=None, action: str = "") -> None:
    """Lets a caller through: UNAUTHENTICATED without a token, FORBIDDEN when its role is not
    among `roles` (None: any role with a token)."""
    if not viewer.is_authenticated:
        raise unauthenticated()
    if roles is not None and viewer.role not in roles:
        raise forbidden(action)


def bad_argument(argument: str, message: str) -> PublicError:
    return PublicError(f"{argument}: {message}", "BAD_USER_INPUT")


DATABASE_UNAVAILABLE = "the database is unavailable; try again shortly"


def database_unavailable(error: BaseException | None) -> bool:
    """Whether an error means the database could not be reached (down, restarting), not a bad query."""
    return isinstance(error, (ConnectionFailure, DatabaseUnavailable)) or (
        isinstance(error, PyMongoError) and error.timeout)


def should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, (PublicError, GraphQLError))


def error_code(error: GraphQLError) -> str:
    """The code a caller sees for an error (INTERNAL for what is masked as "Unexpected error.")."""
    original = error.original_error
    if isinstance(original, PublicError):
        return original.extensions["code"]
    if database_unavailable(original):
        return "UNAVAILABLE"
    if should_mask(error):
        return "INTERNAL"
    code = (error.extensions or {}).get("code")
    return code if isinstance(code, str) else "INVALID"  # the document did not parse or validate


class MaskUnexpectedErrors(MaskErrors):
    """Hides unexpected errors behind "Unexpected error."; an unreachable database is said so, as UNAVAILABLE,
    so clients know to retry rather than report a bug."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if database_unavailable(error.original_error):
            return GraphQLError(DATABASE_UNAVAILABLE, nodes=error.nodes, source=error.source,
                                positions=error.positions, path=error.path, extensions={"code": "UNAVAILABLE"})
        return super().anonymise_error(error)


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
