"""All of Herald's configuration, read from the environment in one place."""

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HERALD_", extra="ignore")

    # A real MongoDB (replica set: change streams and transactions need one). Unset:
    # Herald runs the embedded SecantusDB with its data under data_dir/db.
    mongodb_uri: str | None = Field(default=None, validation_alias="MONGODB_URI")
    db_name: str = "herald"
    data_dir: Path = Path("data")
    # Base of the links Herald hands out (portal, feedback): what clients can open.
    public_url: str = "http://127.0.0.1:8000"
    graphiql: bool = True
    # Seconds a WebSocket may stay open without connection_init before it is closed (4408).
    ws_init_timeout: float = 10.0
    # How long a database call may wait for a server before failing with a clear error.
    db_timeout_ms: int = 5000

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("mongodb_uri")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None
