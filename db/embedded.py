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


def running_address(data_dir: Path) -> str | None:
    """The address of an embedded database that another Herald process runs, if it answers."""
    try:
        uri = json.loads((data_dir / ADDRESS_FILE).read_text())["uri"]
    except (OSError, ValueError, KeyError):
        return None
    return uri if answers(uri) else None


def _die_with_parent() -> None:
    # Linux only: the database gets SIGTERM if Herald is killed without cleaning up.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class EmbeddedDatabase:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
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
        (self.data_dir / ADDRESS_FILE).write_text(json.dumps({"uri": self.uri, "pid": self.process.pid}))
        log.info("embedded database (SecantusDB) on %s, data in %s", self.uri, storage)
        return self.uri

    def _wait_until_ready(self, log_path: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
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
def embedded_database(data_dir: Path) -> Iterator[str]:
    """Yields the URI of the embedded database: the running one, or one started for the block."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if uri := running_address(data_dir):
        log.info("using the embedded database another Herald process runs on %s", uri)
        yield uri
        return
    database = EmbeddedDatabase(data_dir)
    database.start()
    try:
        yield database.uri
    finally:
        database.stop()


