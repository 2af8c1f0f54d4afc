"""Graceful shutdown of `herald serve`.

On SIGTERM uvicorn stops accepting, closes every WebSocket with 1012, waits for HTTP
requests in flight (up to HERALD_SHUTDOWN_GRACE_S), and only then shuts the lifespan
down, where the dispatcher lets its sends finish within the same bound. HeraldServer
first closes the listening sockets and runs the app's shutdown hooks, so the WebSocket
layer can close its sockets with 1001 (going away) and clients reconnect elsewhere.
"""

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable

import uvicorn

log = logging.getLogger("herald")

HOOKS_TIMEOUT_S = 5.0


class ShutdownHooks:
    """Coroutines to run when the server starts shutting down, before uvicorn closes connections."""

    def __init__(self) -> None:
        self._hooks: list[Callable[[], Awaitable[None]]] = []
        self.stopping = False  # set once shutdown begins: refuse newcomers that slipped in

    def add(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._hooks.append(hook)

    async def run(self, timeout_s: float = HOOKS_TIMEOUT_S) -> None:
        self.stopping = True
        if not self._hooks:
            return
        results = asyncio.gather(*(hook() for hook in self._hooks), return_exceptions=True)
        try:
            outcomes = await asyncio.wait_for(results, timeout_s)
        except TimeoutError:
            log.warning("shutdown hooks did not finish within %.0fs; shutting down anyway", timeout_s)
            return
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                log.error("a shutdown hook failed", exc_info=outcome)


class HeraldServer(uvicorn.Server):
    """uvicorn's server, running the app's shutdown hooks once it has stopped accepting."""

    def __init__(self, config: uvicorn.Config, *, hooks: ShutdownHooks):
        super().__init__(config)
        self.hooks = hooks

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # uvicorn closes them again: harmless
        await self.hooks.run()
        await super().shutdown(sockets)
