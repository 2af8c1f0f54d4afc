"""Rate limits on HTTP /graphql: per token, per address without one, and on guessed tokens;
429 with Retry-After and an error GraphQL clients can read."""

import pytest

from api.ratelimit import TokenBuckets

VIEWER = {"query": "{ viewer { role } }"}


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"rate_limit_per_minute": 3, "rate_limit_anonymous_per_minute": 2})


async def call(herald, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await herald.http.post("/graphql", json=VIEWER, headers=headers)


def assert_limited(response, per_minute: int) -> None:
    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60 // per_minute
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": retry_after}
    assert f"at most {per_minute} a minute" in error["message"]


async def test_a_token_over_its_budget_gets_429_and_others_are_unaffected(herald, tokens):
    for _ in range(3):
        assert (await call(herald, tokens["staff"])).status_code == 200
    assert_limited(await call(herald, tokens["staff"]), per_minute=3)
    assert (await call(herald, tokens["admin"])).json() == {"data": {"viewer": {"role": "admin"}}}
    assert (await call(herald)).status_code == 200  # the address's anonymous budget is its own


async def test_anonymous_calls_are_limited_per_address(herald, tokens):
    for _ in range(2):
        assert (await call(herald)).status_code == 200
    assert_limited(await call(herald), per_minute=2)
    assert (await call(herald, tokens["staff"])).status_code == 200


async def test_guessing_tokens_is_limited_like_anonymous_calls(herald, tokens):
    assert (await call(herald, tokens["admin"])).status_code == 200
    for guess in ("hrl_guess-one", "hrl_guess-two"):
        assert (await call(herald, guess)).status_code == 401
    assert_limited(await call(herald, "hrl_guess-three"), per_minute=2)
    assert_limited(await call(herald, tokens["staff"]), per_minute=2)  # unknown here yet: could be a guess
    assert (await call(herald, tokens["admin"])).status_code == 200  # accepted before: still served


async def test_health_readiness_and_metrics_are_never_limited(herald):
    for _ in range(5):
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await herald.http.get(path)).status_code == 200, path


class TestTurnedOff:
    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"rate_limit_per_minute": 0, "rate_limit_anonymous_per_minute": 0})

    async def test_zero_means_no_limit(self, herald, tokens):
        for _ in range(10):
            assert (await call(herald)).status_code == 200
            assert (await call(herald, tokens["staff"])).status_code == 200


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_refills_continuously_up_to_a_minutes_worth():
    clock = Clock()
    buckets = TokenBuckets(60, clock=clock)  # one a second
    assert all(buckets.take("a") == 0 for _ in range(60))
    assert buckets.take("a") == pytest.approx(1.0)
    clock.now += 0.5
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take("a") == 0
    clock.now += 3600
    assert sum(buckets.take("a") == 0 for _ in range(100)) == 60  # never more than a minute's worth


def test_buckets_of_callers_gone_quiet_are_forgotten():
    clock = Clock()
    buckets = TokenBuckets(60, clock=clock, max_keys=500)
    for i in range(1000):
        buckets.take(f"caller-{i}")
    assert len(buckets) == 500  # the cap holds under a flood of new callers
    clock.now += 2  # each spent one call: full again after a second
    buckets.take("latecomer")
    assert len(buckets) == 1
