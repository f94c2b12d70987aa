"""A throw-away PostgreSQL server on loopback, for the test suite and ``benchmarks/scale.py``.

``initdb`` in a temporary folder, ``pg_ctl start`` on a free port, stopped and deleted on exit;
as root the server runs as the ``postgres`` user (it refuses root). Needs PostgreSQL's binaries
(Debian's ``postgresql`` package; ``make test`` installs it when it can) and ``psycopg2``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["PostgresUnavailableError", "create_database", "throwaway_server"]


class PostgresUnavailableError(RuntimeError):
    """No server could be started here; the message says why."""


def _bindir() -> str | None:
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    for d in debian:
        if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


@contextmanager
def throwaway_server(max_connections: int = 400) -> Iterator[str]:
    """Start a server; yield its SQLAlchemy URL without a database (``postgresql+psycopg2://
    postgres@127.0.0.1:PORT``); stop it and delete its files on exit.

    Raises:
        PostgresUnavailableError: The binaries or psycopg2 are missing, or the server did not start.
    """
    import pwd

    bindir = _bindir()
    if bindir is None:
        raise PostgresUnavailableError(
            "PostgreSQL's initdb/pg_ctl were not found (apt-get install postgresql)"
        )
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        raise PostgresUnavailableError(
            "psycopg2 is not installed (pip install psycopg2-binary)"
        ) from None
    prefix: list[str] = []
    tmp = None
    if os.geteuid() == 0:  # the server refuses to run as root
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailableError(
                "running as root and there is no 'postgres' user to run the server"
            ) from None
        prefix = ["runuser", "-u", "postgres", "--"]
        # the postgres user must reach the folder: a private $TMPDIR (mode 700) would not do
        tmp = "/tmp" if os.path.isdir("/tmp") else None
    base = tempfile.mkdtemp(prefix="nmt-pg-", dir=tmp)
    if prefix:
        os.chown(base, pw.pw_uid, pw.pw_gid)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = os.path.join(base, "data")
    ctl = os.path.join(bindir, "pg_ctl")

    def run(*cmd: str) -> None:
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, text=True, timeout=120)

    try:
        run(os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")  # fmt: skip
        run(ctl, "-D", data, "-l", os.path.join(base, "server.log"), "-w", "-t", "60",
            "-o", f"-h 127.0.0.1 -p {port} -k {base} -F -c max_connections={max_connections}", "start")  # fmt: skip
    except subprocess.CalledProcessError as err:
        shutil.rmtree(base, ignore_errors=True)
        raise PostgresUnavailableError(f"the server did not start: {err.stderr[-2000:]}") from None
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*prefix, ctl, "-D", data, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def create_database(server: str) -> str:
    """A fresh, empty database on ``server`` (a :func:`throwaway_server` URL); its URL."""
    import psycopg2

    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(server.replace("postgresql+psycopg2", "postgresql") + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return f"{server}/{name}"
