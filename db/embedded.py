"""The embedded default database: SecantusDB as a child process on a loopback port.

The server that starts it records its address in the data directory, so the CLI (and a
second server) can reach the same database: WiredTiger locks its directory, so a second
embedded process could not open it.
"""

import contextlib
import ctypes
import importlib.util
import json
import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

log = logging.getLogger(__name__)

ADDRESS_FILE = "embedded-db.json"
START_TIMEOUT_S = 60.0


class EmbeddedDatabaseError(RuntimeError):
    pass


class DatabaseLocked(EmbeddedDatabaseError):
    """Another process holds the data directory (it is starting its embedded database)."""


def uri_for(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(uri: str, timeout_ms: int = 500) -> bool:
    client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def running_database(data_dir: Path) -> dict | None:
    """The embedded database another Herald process runs ({uri, pid, owner}), if it answers."""
    try:
        record = json.loads((data_dir / ADDRESS_FILE).read_text())
        uri = record["uri"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if answers(uri) else None


def _die_with_parent() -> None:
    # Linux only: the database gets SIGTERM if Herald is killed without cleaning up.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class EmbeddedDatabase:
    def __init__(self, data_dir: Path, owner: str = "server"):
        self.data_dir = data_dir
        self.owner = owner
        self.process: subprocess.Popen | None = None
        self.uri: str | None = None

    def start(self) -> str:
        if importlib.util.find_spec("secantus") is None:
            raise EmbeddedDatabaseError(
                "MONGODB_URI is not set and the embedded database is not installed: "
                "pip install 'herald[embedded]' or point MONGODB_URI at a MongoDB replica set"
            )
        storage = self.data_dir / "db"
        storage.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.uri = uri_for(port)
        log_path = self.data_dir / "db.log"
        with open(log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "secantus", "--host", "127.0.0.1", "--port", str(port),
                 "--storage-path", str(storage), "--log-level", "WARNING",
                 # keeps a quiet change stream's resume token inside the oplog window
                 "--noop-heartbeat-seconds", "10"],
                stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl+C reaches Herald, which then stops the database
                preexec_fn=_die_with_parent,
            )
        self._wait_until_ready(log_path)
        (self.data_dir / ADDRESS_FILE).write_text(
            json.dumps({"uri": self.uri, "pid": self.process.pid, "owner": self.owner}))
        log.info("embedded database (SecantusDB) on %s, data in %s", self.uri, storage)
        return self.uri

    def _wait_until_ready(self, log_path: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                self.process = None
                if "already being managed by another process" in tail[-600:] or "resource busy" in tail[-600:]:
                    raise DatabaseLocked(str(self.data_dir))
                raise EmbeddedDatabaseError(f"the embedded database exited at start-up:\n{tail}")
            if answers(self.uri, timeout_ms=250):
                return
            time.sleep(0.1)
        self.stop()
        raise EmbeddedDatabaseError(f"the embedded database did not answer within {START_TIMEOUT_S:.0f}s")

    def stop(self) -> None:
        if self.process is None:
            return
        address = self.data_dir / ADDRESS_FILE
        with contextlib.suppress(OSError, ValueError):
            if json.loads(address.read_text()).get("pid") == self.process.pid:
                address.unlink()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@contextlib.contextmanager
def embedded_database(data_dir: Path, *, owner: str) -> Iterator[str]:
    """Yields the URI of the embedded database for the block.

    A server (owner "server") runs its own and refuses to share one with another server:
    when that one stopped, this one would lose its database. Short-lived commands (owner
    "cli") and workers use the one running, and start one only when none runs. Whoever
    finds the directory locked by a process that is just starting waits for it.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        running = running_database(data_dir)
        if running and owner != "server":
            log.info("using the embedded database that %s %s runs on %s", running.get("owner", "Herald"),
                     running.get("pid"), running["uri"])
            yield running["uri"]
            return
        if running and running.get("owner") != "cli":
            raise EmbeddedDatabaseError(
                f"another Herald {running.get('owner', 'process')} (pid {running.get('pid')}) runs the embedded "
                f"database in {data_dir}: stop it, give this server its own HERALD_DATA_DIR, or point both at "
                "one MongoDB with MONGODB_URI")
        if not running:
            database = EmbeddedDatabase(data_dir, owner=owner)
            try:
                database.start()
            except DatabaseLocked:
                pass  # another process is starting it right now: look again
            else:
                try:
                    yield database.uri
                finally:
                    database.stop()
                return
        time.sleep(0.2)
    raise EmbeddedDatabaseError(f"timed out waiting for the embedded database in {data_dir}")
