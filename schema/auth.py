"""The caller's identity."""

import strawberry

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
