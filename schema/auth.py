"""The caller's identity."""

import strawberry

from db.tokens import renew_client_token
from schema.common import require
from schema.context import Info


@strawberry.type(description="Who the caller is.")
class Viewer:
    role: str = strawberry.field(description="admin, staff, integration, client, or anonymous without a token.")
    name: str
    locale: str = strawberry.field(description="The language labels are shown in: ru or en.")


@strawberry.type
class AuthQuery:
    @strawberry.field
    def viewer(self, info: Info) -> Viewer:
        viewer = info.context.viewer
        return Viewer(role=viewer.role, name=viewer.name, locale=viewer.locale)


@strawberry.type
class RenewAccessTokenSuccess:
    client_access_token: str = strawberry.field(description="Replaces the token this call was made with.")
    portal_url: str


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="The client: a new access token of the same reach; the current one (and "
                                      "every link carrying it) stops working at once. For a link that was shared "
                                      "or forwarded.")
    async def renew_access_token(self, info: Info) -> RenewAccessTokenSuccess:
        viewer = info.context.viewer
        require(viewer, ("client",), "renew a token here: staff tokens are managed with `herald token`")
        token = await renew_client_token(info.context.db, token_id=viewer.token_id)
        return RenewAccessTokenSuccess(client_access_token=token, portal_url=f"{info.context.public_url}/portal#token={token}")
