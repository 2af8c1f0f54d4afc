"""All of Herald's configuration, read from the environment in one place."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


# What production refuses to start without (by environment variable), and the shortest secret it takes.
PRODUCTION_REQUIRED = {"secret_key": "HERALD_SECRET_KEY", "mongodb_uri": "MONGODB_URI",
                       "public_url": "HERALD_PUBLIC_URL"}
SECRET_KEY_MIN_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HERALD_", extra="ignore")

    # production: no GraphiQL, no introspection, JSON logs, and the secrets of
    # PRODUCTION_REQUIRED must be set.
    env: Literal["development", "production"] = "development"
    # json: one JSON object a line; text: for people. Unset: json in production, text otherwise.
    log_format: Literal["json", "text"] | None = None

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
    # permessage-deflate: off by default, since it compresses each subscriber's copy of an
    # event apart (CPU on the fan-out's hot path) and keeps a compressor per socket (memory).
    ws_compression: bool = False
    # Operations (mostly subscriptions) one WebSocket may run at once.
    ws_max_subscriptions: int = Field(default=100, ge=1)
    # How often open WebSockets' tokens are checked again: a revoked one closes its sockets (4403).
    ws_token_check_s: float = Field(default=5.0, gt=0)
    # Frames a WebSocket may have waiting to be written before it is closed as too slow (1013).
    ws_max_pending_frames: int = Field(default=1000, ge=1)
    # The largest HTTP request body accepted (413 above it); WebSocket messages have the same cap.
    max_body_bytes: int = Field(default=1 << 20, gt=0)
    # How long a database call may wait for a server before failing with a clear error.
    db_timeout_ms: int = 5000
    # Calls a minute on HTTP /graphql, per token and per address for anonymous calls (0: no limit).
    # Each process keeps its own budget: with N instances behind a balancer a caller gets up to N times this.
    rate_limit_per_minute: int = Field(default=600, ge=0)
    rate_limit_anonymous_per_minute: int = Field(default=60, ge=0)
    # Serve Prometheus metrics on GET /metrics.
    metrics: bool = True
    # On SIGTERM: seconds in-flight HTTP requests and notification sends get to finish.
    shutdown_grace_s: float = Field(default=10.0, ge=0)

    # Signs unsubscribe links and derives link tokens. Unset: one is generated and kept in
    # the database, so every instance shares it.
    secret_key: SecretStr | None = None

    # Notifications. Without SMTP_URL mail is written as .eml files under data_dir/mail;
    # without SMS_GATEWAY_URL SMS are appended to data_dir/sms.jsonl.
    smtp_url: str | None = Field(default=None, validation_alias="SMTP_URL")
    mail_from: str = "Herald <herald@localhost>"
    sms_gateway_url: str | None = Field(default=None, validation_alias="SMS_GATEWAY_URL")
    sms_gateway_token: SecretStr | None = Field(default=None, validation_alias="SMS_GATEWAY_TOKEN")
    # Run the notification dispatcher inside `herald serve` (off when `herald worker` runs apart).
    dispatcher: bool = True
    notify_max_attempts: int = Field(default=8, ge=1)
    notify_retry_base_s: float = Field(default=10.0, gt=0)  # first retry after about this, doubling
    notify_retry_max_s: float = Field(default=3600.0, gt=0)
    notify_lease_s: float = Field(default=60.0, gt=0)  # a claimed job is retried if not done by then
    notify_poll_s: float = Field(default=1.0, gt=0)  # how often an idle dispatcher looks for due retries
    notify_concurrency: int = Field(default=16, ge=1)
    notify_timeout_s: float = Field(default=30.0, gt=0)  # one send attempt

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql and not self.production

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("json" if self.production else "text")

    @model_validator(mode="after")
    def _production_has_its_secrets(self) -> "Settings":
        if not self.production:
            return self
        missing = [variable for field, variable in PRODUCTION_REQUIRED.items()
                   if field not in self.model_fields_set or not getattr(self, field)]
        if missing:
            raise ValueError(f"HERALD_ENV=production needs {', '.join(missing)} set")
        if len(self.secret_key.get_secret_value()) < SECRET_KEY_MIN_LENGTH:
            raise ValueError(f"HERALD_SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} characters in production "
                             "(python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        return self

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("mongodb_uri", "smtp_url", "sms_gateway_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None


def secret_value(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret else None
