"""The client chooses channels and language."""

from tests.conftest import create_request

UPDATE = """
mutation Prefs($input: UpdateNotificationPreferencesInput!) {
  updateNotificationPreferences(input: $input) {
    __typename
    ... on UpdateNotificationPreferencesSuccess { client { locale channels } requests { version status { label } } }
    ... on ValidationError { fields { field message } }
  }
}
"""


async def test_a_client_changes_channels_and_language(herald, tokens):
    created = await create_request(herald, tokens["integration"],
                                   client={"name": "Анна", "email": "anna@example.ru", "phone": "+79123456789"})
    token = created["clientAccessToken"]
    result = (await herald.data(UPDATE, {"input": {"channels": ["SMS"], "locale": "en"}}, token))[
        "updateNotificationPreferences"]
    assert result == {"__typename": "UpdateNotificationPreferencesSuccess",
                      "client": {"locale": "en", "channels": ["SMS"]},
                      "requests": [{"version": 1, "status": {"label": "Received"}}]}
    unsubscribed = (await herald.data(UPDATE, {"input": {"channels": []}}, token))["updateNotificationPreferences"]
    assert unsubscribed["client"] == {"locale": "en", "channels": []}


async def test_a_channel_without_contact_details_is_refused(herald, tokens):
    created = await create_request(herald, tokens["integration"])  # email only
    result = (await herald.data(UPDATE, {"input": {"channels": ["SMS"], "locale": "fr"}}, created["clientAccessToken"]))[
        "updateNotificationPreferences"]
    assert {f["field"] for f in result["fields"]} == {"channels", "locale"}


async def test_only_clients_set_preferences(herald, tokens):
    body = await herald.graphql(UPDATE, {"input": {"channels": []}}, tokens["staff"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_new_language_relabels_history_and_the_viewer(herald, tokens):
    created = await create_request(herald, tokens["integration"],
                                   client={"name": "John", "email": "john@example.com", "locale": "en"})
    token = created["clientAccessToken"]
    await herald.data(UPDATE, {"input": {"locale": "ru"}}, token)
    read = await herald.data("{ viewer { locale } requests { edges { node { status { label } "
                             "history { to { label } } } } } }", token=token)
    assert read["viewer"] == {"locale": "ru"}
    node = read["requests"]["edges"][0]["node"]
    assert node["status"]["label"] == node["history"][0]["to"]["label"] == "Заявка получена"
