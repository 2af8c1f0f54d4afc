"""The `herald` command: serve, and manage tokens."""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from datetime import timedelta

import uvicorn
from pydantic import ValidationError

from api.logs import configure_logging, logging_config
from api.settings import Settings
from db.client import now, open_database
from db.embedded import embedded_database, running_database
from db.tokens import ROLES, TOKEN_ID_LENGTH, create_token, list_tokens, revoke_token

STAFF_ROLES_FOR_CLI = tuple(r for r in ROLES if r != "client")  # client tokens come from createRequest


class BadConfiguration(Exception):
    pass


def load_settings() -> Settings:
    """Settings from the environment; what is wrong with them in one line."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(_problem(e) for e in error.errors())
        raise BadConfiguration(f"herald: cannot start: {problems}") from None


def _problem(error: dict) -> str:
    message = error["msg"].removeprefix("Value error, ")
    return f"{_variable(str(error['loc'][0]))}: {message}" if error["loc"] else message


def _variable(field: str) -> str:
    """The environment variable that sets a field of Settings."""
    info = Settings.model_fields.get(field)
    if info is None:
        return field  # already the variable's name (an alias such as MONGODB_URI)
    return info.validation_alias if isinstance(info.validation_alias, str) else f"HERALD_{field.upper()}"


class GracefulServer(uvicorn.Server):
    """On SIGTERM or Ctrl+C, first closes GraphQL WebSockets with 1001 (going away), so clients
    reconnect, to another instance if there is one; then shuts down as uvicorn does."""

    def __init__(self, config: uvicorn.Config, before_exit):
        super().__init__(config)
        self._before_exit = before_exit

    def handle_exit(self, sig, frame) -> None:
        with contextlib.suppress(RuntimeError):  # no loop running yet: nothing is open
            asyncio.get_running_loop().call_soon_threadsafe(self._before_exit)
        super().handle_exit(sig, frame)


def serve(args: argparse.Namespace) -> int:
    from api.app import create_app

    settings = load_settings()
    configure_logging(log_format=settings.effective_log_format, level=args.log_level)
    if "public_url" not in settings.model_fields_set:
        shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        settings = settings.model_copy(update={"public_url": f"http://{shown_host}:{args.port}"})
    if settings.mongodb_uri is None:
        running = running_database(settings.data_dir)
        if running and running.get("owner") != "cli":
            print(f"another Herald {running.get('owner', 'process')} (pid {running.get('pid')}) runs the embedded "
                  f"database in {settings.data_dir}: stop it, give this server its own HERALD_DATA_DIR, or point "
                  "both at one MongoDB with MONGODB_URI", file=sys.stderr)
            return 1
        logging.getLogger("herald").info("MONGODB_URI is not set: using the embedded database in %s",
                                         settings.data_dir / "db")
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the
    # handler found before it: make that a no-op so a clean shutdown exits 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    options = {"host": args.host, "port": args.port, "log_level": args.log_level,
               # uvicorn's loggers go through Herald's format and masking, in every worker process
               "log_config": logging_config(log_format=settings.effective_log_format, level=args.log_level),
               "access_log": False,  # api.logs.RequestLog writes one line per request, with its id
               "timeout_graceful_shutdown": settings.shutdown_grace_s,
               "ws_max_size": settings.max_body_bytes, "ws_per_message_deflate": settings.ws_compression,
               "lifespan": "on"}
    if args.workers == 1:
        app = create_app(settings)
        GracefulServer(uvicorn.Config(app, **options), before_exit=app.websocket.close_all).run()
        return 0
    with contextlib.ExitStack() as stack:
        # Workers are separate processes, each with its own change stream and subscribers;
        # they share one database, so this process runs the embedded one for all of them.
        if settings.mongodb_uri is None:
            os.environ["MONGODB_URI"] = stack.enter_context(embedded_database(settings.data_dir, owner="server"))
        os.environ["HERALD_PUBLIC_URL"] = settings.public_url
        uvicorn.run("api.app:create_app", factory=True, workers=args.workers, **options)
    return 0


def _database(settings: Settings):
    return open_database(mongodb_uri=settings.mongodb_uri, db_name=settings.db_name, data_dir=settings.data_dir,
                         timeout_ms=settings.db_timeout_ms, owner="cli")


async def _create_token(role: str, name: str, expires_in_days: float | None) -> str:
    expires_at = now() + timedelta(days=expires_in_days) if expires_in_days else None
    async with _database(load_settings()) as db:
        return await create_token(db, role=role, name=name, expires_at=expires_at)


def token_create(args: argparse.Namespace) -> int:
    token = asyncio.run(_create_token(args.role, args.name, args.expires_in_days))
    print(f"created a token for {args.name!r} (role {args.role}); it is shown only once:", file=sys.stderr)
    print(token)
    return 0


async def _list_tokens() -> list[dict]:
    async with _database(load_settings()) as db:
        return await list_tokens(db)


def token_list(args: argparse.Namespace) -> int:
    print(f"{'ID':<13} {'ROLE':<12} {'CREATED':<17} {'STATE':<18} NAME")
    for doc in asyncio.run(_list_tokens()):
        if doc.get("revoked_at"):
            state = "revoked"
        elif doc.get("expires_at"):
            state = ("expired " if doc["expires_at"] <= now() else "until ") + f"{doc['expires_at']:%Y-%m-%d}"
        else:
            state = "active"
        print(f"{doc['_id'][:TOKEN_ID_LENGTH]:<13} {doc['role']:<12} {doc['created_at']:%Y-%m-%d %H:%M} "
              f"{state:<18} {doc['name']}")
    return 0


async def _revoke(token_id: str) -> dict | None:
    async with _database(load_settings()) as db:
        return await revoke_token(db, token_id=token_id)


def token_revoke(args: argparse.Namespace) -> int:
    revoked = asyncio.run(_revoke(args.id.strip().lower()))
    if revoked is None:
        print(f"no single token has the id {args.id!r}: see `herald token list`", file=sys.stderr)
        return 1
    print(f"revoked the {revoked['role']} token of {revoked['name']!r}", file=sys.stderr)
    return 0


async def _work(settings: Settings) -> None:
    from api.notifications.dispatcher import Dispatcher
    from api.notifications.links import make_links
    from api.settings import secret_value
    from db.watcher import EventHub

    async with open_database(mongodb_uri=settings.mongodb_uri, db_name=settings.db_name,
                             data_dir=settings.data_dir, timeout_ms=settings.db_timeout_ms, owner="worker") as db:
        hub = EventHub(db.request_events)  # wakes the dispatcher as soon as an event commits
        await hub.start()
        links = await make_links(db, secret_key=secret_value(settings.secret_key), public_url=settings.public_url)
        dispatcher = Dispatcher(db, settings, links=links, hub=hub)
        await dispatcher.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        logging.getLogger("herald").info("notification worker running; SIGTERM or Ctrl+C stops it")
        await stop.wait()
        await dispatcher.stop(grace_s=settings.shutdown_grace_s)
        await hub.stop()


def worker(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(log_format=settings.effective_log_format)
    asyncio.run(_work(settings))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="herald", description="Tells clients where their request stands.")
    commands = root.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="serve the API (embedded database unless MONGODB_URI is set)")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve_cmd.add_argument("--workers", type=int, default=1,
                           help="processes serving the same port (each with its own subscribers); about one a core")
    serve_cmd.set_defaults(handler=serve)

    worker_cmd = commands.add_parser("worker", help="send notifications apart from the API "
                                                   "(then serve with HERALD_DISPATCHER=false)")
    worker_cmd.set_defaults(handler=worker)

    token_cmd = commands.add_parser("token", help="manage access tokens").add_subparsers(dest="action", required=True)
    create_cmd = token_cmd.add_parser("create", help="create a token; prints it alone on the last line")
    create_cmd.add_argument("--role", required=True, choices=STAFF_ROLES_FOR_CLI)
    create_cmd.add_argument("--name", required=True, help="whose token it is, as history shows it")
    create_cmd.add_argument("--expires-in-days", type=float, default=None, help="it stops working after this")
    create_cmd.set_defaults(handler=token_create)
    list_cmd = token_cmd.add_parser("list", help="staff-side tokens: id, role, state, name (never the token)")
    list_cmd.set_defaults(handler=token_list)
    revoke_cmd = token_cmd.add_parser("revoke", help="stop a token from working")
    revoke_cmd.add_argument("id", help="the id `herald token list` shows")
    revoke_cmd.set_defaults(handler=token_revoke)
    return root


def main(argv: list[str] | None = None) -> int:
    # Plain text until a command has read its settings (token commands keep it: a person reads them).
    configure_logging(log_format="text")
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except BadConfiguration as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
