"""A real PostgreSQL server on loopback for the run store's tests, or the reason there is none.

``$EXPLAINER_TEST_DATABASE_URL`` names a running server (CI starts one); otherwise, where
PostgreSQL's programs are installed, a throw-away server is started in a temporary folder
(as the ``postgres`` user when the tests run as root) and stopped afterwards. Each test gets
a fresh database on it. With ``EXPLAINER_REQUIRE_POSTGRES=1`` a missing server is an error.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _programs() -> Path | None:
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{a}'" for a in argv)]


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """The URL of a PostgreSQL server (``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``), or None."""
    url = os.environ.get("EXPLAINER_TEST_DATABASE_URL")
    if url:
        yield url
        return
    programs = _programs()
    if programs is None:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="explainer-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    port, data = _port(), folder / "data"
    try:
        subprocess.run(_as_postgres([str(programs / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
                       check=True, capture_output=True, timeout=120)
        subprocess.run(_as_postgres([str(programs / "pg_ctl"), "-D", str(data), "-o",
                                     f"-k {folder} -p {port} -c listen_addresses=127.0.0.1", "-l", str(folder / "log"), "-w",
                                     "start"]), check=True, capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError):
        shutil.rmtree(folder, ignore_errors=True)
        yield None
        return
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([str(programs / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """A new, empty database on the server: its URL."""
    import secrets

    import sqlalchemy as sa

    name = f"explainer_test_{secrets.token_hex(6)}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as db:
        db.execute(sa.text(f'CREATE DATABASE "{name}"'))  # a name made here, never from input
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
