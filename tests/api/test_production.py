"""HERALD_ENV=production: no GraphiQL, no introspection, and no start without its secrets."""

import subprocess
import sys

import pytest
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError

from tests.api.test_processes import ROOT, herald_env

INTROSPECTION = "{ __schema { queryType { name } } }"
SECRET = "s" * 40


def serve(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", "serve", "--port", "1"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    result = serve(herald_env(tmp_path, HERALD_ENV="production"))
    assert result.returncode == 2
    assert result.stderr.strip() == ("herald: cannot start: HERALD_ENV=production needs HERALD_SECRET_KEY, "
                                     "MONGODB_URI, HERALD_PUBLIC_URL set")
    partly = serve(herald_env(tmp_path, HERALD_ENV="production", HERALD_SECRET_KEY=SECRET,
                              MONGODB_URI="mongodb://db.internal:27017/?replicaSet=rs0"))
    assert partly.returncode == 2 and partly.stderr.strip().endswith("needs HERALD_PUBLIC_URL set")


def test_production_refuses_a_short_secret_key(tmp_path):
    result = serve(herald_env(tmp_path, HERALD_ENV="production", HERALD_SECRET_KEY="secret",
                              MONGODB_URI="mongodb://db.internal:27017", HERALD_PUBLIC_URL="https://herald.example"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "HERALD_SECRET_KEY must be at least 32 characters" in result.stderr


class TestProduction:
    @pytest.fixture
    def settings(self, settings):
        return settings.model_validate(settings.model_dump() | {"env": "production", "secret_key": SECRET})

    async def test_no_graphiql_and_no_introspection(self, herald, tokens):
        page = await herald.http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 404 and "graphiql" not in page.text.lower()
        body = await herald.graphql(INTROSPECTION, token=tokens["admin"])
        assert body["data"] is None
        assert "introspection has been disabled" in body["errors"][0]["message"]
        body = await herald.graphql('{ __type(name: "Request") { name } }', token=tokens["admin"])
        assert body["data"] is None
        # Ordinary work is unaffected, __typename included.
        assert (await herald.data("{ __typename viewer { role } }", token=tokens["admin"])) == {
            "__typename": "Query", "viewer": {"role": "admin"}}
        async with herald.ws_client(tokens["admin"]) as session:
            with pytest.raises(TransportQueryError) as refused:
                await session.execute(GraphQLRequest(INTROSPECTION))
            assert (await session.execute(GraphQLRequest("{ viewer { role } }"))) == {"viewer": {"role": "admin"}}
        assert "introspection has been disabled" in refused.value.errors[0]["message"]


async def test_development_keeps_graphiql_and_introspection(herald):
    page = await herald.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert (await herald.data(INTROSPECTION)) == {"__schema": {"queryType": {"name": "Query"}}}
