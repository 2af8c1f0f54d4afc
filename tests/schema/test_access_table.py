"""DESIGN.md's access table, cell by cell: every query, mutation and subscription of the
schema, tried by every role, over real HTTP and WebSocket.

The roles: anonymous; client A (the token of request A); client B (the token of another
client's request, used against A); the integration that created A; another integration;
staff; admin. A request the caller may not see must read exactly like a missing one. The
root fields come from the schema itself: a new field without a row here fails the suite.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from bson import ObjectId
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from graphql import build_schema

from db.tokens import create_token
from schema import schema
from tests.conftest import create_request

ROLES = ("anonymous", "client_a", "client_b", "creator", "other_integration", "staff", "admin")
OK, HIDDEN, UNAUTHENTICATED, FORBIDDEN = "ok", "hidden", "UNAUTHENTICATED", "FORBIDDEN"


def table(anonymous, client_a, client_b, creator, other_integration, staff, admin) -> dict[str, str]:
    return dict(zip(ROLES, (anonymous, client_a, client_b, creator, other_integration, staff, admin), strict=True))


# The rows of DESIGN.md (and the README's decisions), as who-gets-what.
EVERYONE = table(OK, OK, OK, OK, OK, OK, OK)  # viewer, workflow: anonymous callers too
TOKEN_HOLDERS = table(UNAUTHENTICATED, OK, OK, OK, OK, OK, OK)
READERS_OF_A = table(UNAUTHENTICATED, OK, HIDDEN, OK, HIDDEN, OK, OK)  # its client, its creator, staff
REQUEST_MAKERS = table(UNAUTHENTICATED, FORBIDDEN, FORBIDDEN, OK, OK, OK, OK)
STAFF_ONLY = table(UNAUTHENTICATED, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK)
ADMIN_ONLY = table(UNAUTHENTICATED, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK)
CLIENTS_ONLY = table(UNAUTHENTICATED, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN)
CLIENT_OF_A = table(UNAUTHENTICATED, OK, HIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN)


@dataclass
class World:
    herald: object
    tokens: dict[str, str | None]
    a: dict  # {"id", "number"}
    b: dict

    def numbers(self, *names: str) -> set[str]:
        return {getattr(self, name)["number"] for name in names}


@dataclass
class Case:
    kind: str  # query, mutation, subscription
    document: str
    rules: dict[str, str]
    variables: Callable[[str], dict] = lambda target: {}
    prepare: Callable[[World], Awaitable[str]] | None = None  # returns the target id (default: A's)
    check: Callable[[World, str, dict], bool] = lambda world, role, data: True
    targets_a_request: bool = False  # HIDDEN cells compare with a missing request's answer


WORKFLOW_INPUT = {
    "key": "access_check", "name": {"ru": "Проверка", "en": "Check"}, "initial": "open",
    "statuses": [{"key": "open", "label": {"ru": "Открыта", "en": "Open"}},
                 {"key": "done", "label": {"ru": "Готово", "en": "Done"}, "terminal": True}],
    "transitions": [{"from": "open", "to": "done"}],
}
ROLE_NAMES = {"anonymous": "anonymous", "client_a": "client", "client_b": "client", "creator": "integration",
              "other_integration": "integration", "staff": "staff", "admin": "admin"}
VISIBLE = {"client_a": ("a",), "client_b": ("b",), "creator": ("a",), "other_integration": (),
           "staff": ("a", "b"), "admin": ("a", "b")}


async def close_a(world: World) -> str:
    await world.herald.data('mutation M($id: ID!) { transitionRequest(input: {id: $id, to: "closed"}) { __typename } }',
                            {"id": world.a["id"]}, world.tokens["staff"])
    return world.a["id"]


async def register_webhook(world: World) -> str:
    data = await world.herald.data('mutation { registerWebhook(input: {url: "https://hooks.example/a"}) { '
                                   '... on RegisterWebhookSuccess { webhook { id } } } }', token=world.tokens["admin"])
    return data["registerWebhook"]["webhook"]["id"]


async def create_workflow(world: World) -> str:
    await world.herald.data("mutation M($input: WorkflowInput!) { createWorkflow(input: $input) { __typename } }",
                            {"input": WORKFLOW_INPUT}, world.tokens["admin"])
    return ""


def by_id(target: str) -> dict:
    return {"id": target}


CASES: dict[tuple[str, str], Case] = {
    ("Query", "request"): Case(
        "query", "query Q($id: ID!) { request(id: $id) { number } }", READERS_OF_A, by_id, targets_a_request=True,
        check=lambda world, role, data: data["request"]["number"] == world.a["number"]),
    ("Query", "requests"): Case(
        "query", "{ requests { edges { node { number } } } }", TOKEN_HOLDERS,
        check=lambda world, role, data: {e["node"]["number"] for e in data["requests"]["edges"]}
        == world.numbers(*VISIBLE[role])),
    ("Query", "workflow"): Case("query", "{ workflow { key } }", EVERYONE),
    ("Query", "workflows"): Case("query", "{ workflows { key } }", TOKEN_HOLDERS),
    ("Query", "viewer"): Case("query", "{ viewer { role } }", EVERYONE,
                              check=lambda world, role, data: data["viewer"]["role"] == ROLE_NAMES[role]),
    ("Query", "feedbackStats"): Case("query", "{ feedbackStats { count } }", STAFF_ONLY),
    ("Query", "webhooks"): Case("query", "{ webhooks { url } }", ADMIN_ONLY),
    ("Mutation", "createRequest"): Case(
        "mutation", "mutation M($input: CreateRequestInput!) { createRequest(input: $input) { __typename } }",
        REQUEST_MAKERS, lambda target: {"input": {"title": "New", "client": {"name": "C", "email": "c@example.com"}}},
        check=lambda world, role, data: data["createRequest"]["__typename"] == "CreateRequestSuccess"),
    ("Mutation", "transitionRequest"): Case(
        "mutation", 'mutation M($id: ID!) { transitionRequest(input: {id: $id, to: "in_progress"}) { __typename } }',
        STAFF_ONLY, by_id),
    ("Mutation", "assignRequest"): Case(
        "mutation", 'mutation M($id: ID!) { assignRequest(input: {id: $id, assignee: {name: "Olga"}}) { __typename } }',
        STAFF_ONLY, by_id),
    ("Mutation", "addComment"): Case(
        "mutation", 'mutation M($id: ID!) { addComment(input: {id: $id, body: "Hello"}) { __typename '
                    '... on NotFound { message id } } }', READERS_OF_A, by_id, targets_a_request=True),
    ("Mutation", "leaveFeedback"): Case(
        "mutation", "mutation M($id: ID!) { leaveFeedback(input: {id: $id, rating: 5}) { __typename "
                    "... on NotFound { message id } } }", CLIENT_OF_A, by_id, prepare=close_a, targets_a_request=True,
        check=lambda world, role, data: data["leaveFeedback"]["__typename"] == "LeaveFeedbackSuccess"),
    ("Mutation", "updateNotificationPreferences"): Case(
        "mutation", 'mutation { updateNotificationPreferences(input: {locale: "en"}) { __typename '
                    "... on UpdateNotificationPreferencesSuccess { requests { number } } } }", CLIENTS_ONLY,
        check=lambda world, role, data: {r["number"] for r in data["updateNotificationPreferences"]["requests"]}
        == world.numbers(*VISIBLE[role])),
    ("Mutation", "renewAccessToken"): Case(
        "mutation", "mutation { renewAccessToken { portalUrl } }", CLIENTS_ONLY,
        check=lambda world, role, data: data["renewAccessToken"]["portalUrl"].startswith("http://herald.test/portal#")),
    ("Mutation", "registerWebhook"): Case(
        "mutation", 'mutation { registerWebhook(input: {url: "https://hooks.example/b"}) { __typename } }', ADMIN_ONLY,
        check=lambda world, role, data: data["registerWebhook"]["__typename"] == "RegisterWebhookSuccess"),
    ("Mutation", "removeWebhook"): Case(
        "mutation", "mutation M($id: ID!) { removeWebhook(id: $id) { __typename } }", ADMIN_ONLY, by_id,
        prepare=register_webhook,
        check=lambda world, role, data: data["removeWebhook"]["__typename"] == "RemoveWebhookSuccess"),
    ("Mutation", "createWorkflow"): Case(
        "mutation", "mutation M($input: WorkflowInput!) { createWorkflow(input: $input) { __typename } }", ADMIN_ONLY,
        lambda target: {"input": WORKFLOW_INPUT},
        check=lambda world, role, data: data["createWorkflow"]["__typename"] == "WorkflowSuccess"),
    ("Mutation", "updateWorkflow"): Case(
        "mutation", "mutation M($input: WorkflowInput!) { updateWorkflow(input: $input) { __typename } }", ADMIN_ONLY,
        lambda target: {"input": WORKFLOW_INPUT}, prepare=create_workflow,
        check=lambda world, role, data: data["updateWorkflow"]["__typename"] == "WorkflowSuccess"),
    ("Subscription", "requestUpdated"): Case(
        "subscription", "subscription S($id: ID!) { requestUpdated(id: $id, sinceVersion: 0) { version } }",
        READERS_OF_A, by_id, targets_a_request=True,
        check=lambda world, role, data: data["requestUpdated"]["version"] == 1),
    ("Subscription", "requestEvents"): Case("subscription", "subscription { requestEvents { version } }", STAFF_ONLY),
}


def test_every_root_field_has_a_row():
    sdl = build_schema(schema.as_str())
    in_schema = {(root.name, name) for root in (sdl.query_type, sdl.mutation_type, sdl.subscription_type)
                 for name in root.fields}
    assert in_schema - set(CASES) == set(), "a root field without an access rule: add its row"
    assert set(CASES) - in_schema == set(), "a row for a field the schema no longer has"


@pytest.fixture
async def world(herald, tokens, db) -> World:
    a = await create_request(herald, tokens["integration"], client={"name": "A", "email": "a@example.com"})
    b = await create_request(herald, tokens["staff"], client={"name": "B", "email": "b@example.com"})
    return World(herald=herald, a=a["request"], b=b["request"], tokens={
        "anonymous": None, "client_a": a["clientAccessToken"], "client_b": b["clientAccessToken"],
        "creator": tokens["integration"],
        "other_integration": await create_token(db, role="integration", name="Other Integration"),
        "staff": tokens["staff"], "admin": tokens["admin"]})


async def answer(world: World, case: Case, token: str | None, target: str) -> dict:
    """The caller's answer as a GraphQL response: {"data": ...} and/or {"errors": [...]}."""
    if case.kind != "subscription":
        return await world.herald.graphql(case.document, case.variables(target), token)
    async with world.herald.ws_client(token) as session:
        stream = session.subscribe(GraphQLRequest(case.document, variable_values=case.variables(target)))
        first = asyncio.create_task(anext(stream))
        # requestEvents waits for an event: make one once the subscription has had time to start.
        await asyncio.sleep(0.3)
        await world.herald.data('mutation M($id: ID!) { addComment(input: {id: $id, body: "ping"}) { __typename } }',
                                {"id": world.b["id"]}, world.tokens["staff"])
        try:
            return {"data": await asyncio.wait_for(first, 10)}
        except TransportQueryError as error:
            return {"data": None, "errors": error.errors}
        finally:
            await stream.aclose()


def outcome(body: dict, name: str) -> str:
    if body.get("errors"):
        return body["errors"][0].get("extensions", {}).get("code", "error")
    value = body["data"][name]
    if value is None:
        return "null"
    return "NotFound" if isinstance(value, dict) and value.get("__typename") == "NotFound" else OK


def without(body: dict, request_id: str) -> str:
    """The answer with the id asked about blanked out, to compare two answers for two ids."""
    return json.dumps(body, sort_keys=True).replace(request_id, "<id>")


@pytest.mark.parametrize("root, name", sorted(CASES), ids=lambda value: value)
async def test_the_access_table_holds(world, root, name):
    case = CASES[(root, name)]
    target = await case.prepare(world) if case.prepare else world.a["id"]
    missing = str(ObjectId())
    for role in ROLES:
        expected = case.rules[role]
        body = await answer(world, case, world.tokens[role], target)
        got = outcome(body, name)
        if expected == HIDDEN:
            assert got in ("null", "NotFound", "NOT_FOUND"), (role, body)
            absent = await answer(world, case, world.tokens[role], missing)
            assert without(body, target) == without(absent, missing), f"{role} can tell A exists"
        elif expected == OK:
            assert got == OK, (role, body)
            assert case.check(world, role, body["data"]), (role, body)
        else:
            assert got == expected, (role, body)
