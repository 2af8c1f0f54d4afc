"""The access table of DESIGN.md: what each role may read and do. A request the caller may
not see is indistinguishable from a missing one."""

import pytest
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError

from tests.conftest import TRANSITION, create_request, transition

READ = "query One($id: ID!) { request(id: $id) { number } }"
LIST = "{ requests { edges { node { number } } } }"
WATCH = "subscription Watch($id: ID!) { requestUpdated(id: $id) { version } }"


@pytest.fixture
async def two_clients(herald, tokens):
    a = await create_request(herald, tokens["integration"], client={"name": "A", "email": "a@example.com"})
    b = await create_request(herald, tokens["staff"], client={"name": "B", "email": "b@example.com"})
    return a, b


async def test_a_client_cannot_read_another_clients_request(herald, two_clients):
    a, b = two_clients
    assert (await herald.data(READ, {"id": b["request"]["id"]}, a["clientAccessToken"]))["request"] is None
    assert (await herald.data(READ, {"id": b["request"]["number"]}, a["clientAccessToken"]))["request"] is None
    listed = await herald.data(LIST, token=a["clientAccessToken"])
    assert listed["requests"]["edges"] == [{"node": {"number": a["request"]["number"]}}]


async def test_a_client_cannot_subscribe_to_another_clients_request(herald, two_clients):
    a, b = two_clients
    async with herald.ws_client(a["clientAccessToken"]) as session:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(GraphQLRequest(WATCH, variable_values={"id": b["request"]["id"]})):
                pytest.fail("an event of another client's request arrived")
        missing = "6b1197e5e29327196f1fee8a"
        with pytest.raises(TransportQueryError) as absent:
            async for _ in session.subscribe(GraphQLRequest(WATCH, variable_values={"id": missing})):
                pass
    # the refusal reads exactly like a missing request
    assert refused.value.errors[0]["message"] == f"no request with id '{b['request']['id']}'"
    assert absent.value.errors[0]["message"] == f"no request with id '{missing}'"


async def test_an_integration_reads_only_what_it_created(herald, tokens, two_clients):
    a, b = two_clients
    assert (await herald.data(READ, {"id": a["request"]["id"]}, tokens["integration"]))["request"] is not None
    assert (await herald.data(READ, {"id": b["request"]["id"]}, tokens["integration"]))["request"] is None
    listed = await herald.data(LIST, token=tokens["integration"])
    assert [e["node"]["number"] for e in listed["requests"]["edges"]] == [a["request"]["number"]]


async def test_an_integration_and_a_client_cannot_transition(herald, tokens, two_clients):
    a, _ = two_clients
    for token in (tokens["integration"], a["clientAccessToken"]):
        body = await herald.graphql(TRANSITION, {"input": {"id": a["request"]["id"], "to": "in_progress"}}, token)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await transition(herald, tokens["admin"], a["request"]["id"], "in_progress"))["request"]["version"] == 2


async def test_staff_and_admin_read_everything(herald, tokens, two_clients):
    for role in ("staff", "admin"):
        listed = await herald.data(LIST, token=tokens[role])
        assert len(listed["requests"]["edges"]) == 2


async def test_a_client_cannot_create_requests_nor_watch_everything(herald, two_clients):
    a, _ = two_clients
    body = await herald.graphql("mutation { createRequest(input: {title: \"x\", client: {name: \"x\", email: \"x@example.com\"}}) { __typename } }",
                                token=a["clientAccessToken"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with herald.ws_client(a["clientAccessToken"]) as session:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(GraphQLRequest("subscription { requestEvents { version } }")):
                pass
    assert refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_anonymous_callers_see_nothing_and_change_nothing(herald, two_clients):
    assert (await herald.data("{ viewer { role } }"))["viewer"]["role"] == "anonymous"
    for query, variables in ((LIST, None), (READ, {"id": two_clients[0]["request"]["id"]})):
        body = await herald.graphql(query, variables)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = await herald.graphql(TRANSITION, {"input": {"id": two_clients[0]["request"]["id"], "to": "closed"}})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_bad_token_is_refused_over_http(herald):
    for header in ("Bearer hrl_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer"):
        response = await herald.http.post("/graphql", json={"query": "{ viewer { role } }"},
                                          headers={"Authorization": header})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


RENEW = "mutation { renewAccessToken { clientAccessToken portalUrl } }"


async def test_a_client_renews_its_token_and_the_old_one_stops(herald, tokens, two_clients):
    a, b = two_clients
    renewed = (await herald.data(RENEW, token=a["clientAccessToken"]))["renewAccessToken"]
    new = renewed["clientAccessToken"]
    assert renewed["portalUrl"] == f"http://herald.test/portal#token={new}"
    response = await herald.http.post("/graphql", json={"query": "{ viewer { role } }"},
                                      headers={"Authorization": f"Bearer {a['clientAccessToken']}"})
    assert response.status_code == 401
    # the same reach: its own request, not the other client's
    assert (await herald.data(READ, {"id": a["request"]["id"]}, new))["request"] is not None
    assert (await herald.data(READ, {"id": b["request"]["id"]}, new))["request"] is None
    body = await herald.graphql(RENEW, token=tokens["staff"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
