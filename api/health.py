"""Liveness and readiness for orchestrators and load balancers."""

import asyncio

from pymongo.errors import PyMongoError
from starlette.requests import Request
from starlette.responses import JSONResponse

READY_TIMEOUT_S = 2.0


async def healthz(request: Request) -> JSONResponse:
    """The process is alive and serving."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The database answers: this instance can serve requests."""
    try:
        await asyncio.wait_for(request.state.db.command("ping"), READY_TIMEOUT_S)
    except (PyMongoError, TimeoutError) as error:
        return JSONResponse({"status": "unavailable", "database": type(error).__name__}, status_code=503)
    return JSONResponse({"status": "ready"})
