"""Shared fixtures: the real data root, a local Ray cluster started once per session."""

from __future__ import annotations

import os

import pytest

from nas_meta_tune.benchmarks._data import default_data_roots


def _data_root():
    for root in default_data_roots():
        if (root / "nb201_tabular").is_dir():
            return root
    return None


DATA_ROOT = _data_root()

requires_data = pytest.mark.skipif(
    DATA_ROOT is None,
    reason="shared benchmark data not found (set NAS_META_TUNE_DATA or check out beside ../shared/data)",
)


@pytest.fixture(scope="session")
def data_root():
    if DATA_ROOT is None:
        pytest.skip("shared benchmark data not found")
    return DATA_ROOT


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster with 2 CPUs, shared by every test of the session."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def ray_address(ray_cluster):
    """The session cluster's address: a subprocess given it as ``RAY_ADDRESS`` joins the cluster
    (how users run our examples against a running cluster) instead of starting its own."""
    return ray_cluster.get_runtime_context().gcs_address


# ----------------------------------------------------------------------------- PostgreSQL
def _postgres_bindir():
    import glob
    import shutil

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


def _no_postgres(why):
    # .ci/run sets this: there a missing server is a failure, not a skip
    if os.environ.get("NAS_META_TUNE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required here but {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL server on loopback (initdb in a temp folder), stopped at the end.

    ``make test`` installs PostgreSQL from Debian packages when it is missing and it can (root);
    otherwise the tests that need it are skipped (failed under ``NAS_META_TUNE_REQUIRE_POSTGRES=1``).
    """
    import pwd
    import shutil
    import socket
    import subprocess
    import tempfile

    bindir = _postgres_bindir()
    if bindir is None:
        _no_postgres("PostgreSQL's initdb/pg_ctl were not found (apt-get install postgresql)")
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        _no_postgres("psycopg2 is not installed (pip install psycopg2-binary)")
    base = tempfile.mkdtemp(prefix="nmt-pg-")
    prefix = []
    if os.geteuid() == 0:  # the server refuses to run as root
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            _no_postgres("running as root and there is no 'postgres' user to run the server")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = os.path.join(base, "data")
    ctl = os.path.join(bindir, "pg_ctl")

    def run(*cmd):
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, text=True, timeout=120)

    try:
        run(os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")  # fmt: skip
        run(ctl, "-D", data, "-l", os.path.join(base, "server.log"), "-w", "-t", "60",
            "-o", f"-h 127.0.0.1 -p {port} -k {base} -F -c max_connections=400", "start")  # fmt: skip
    except subprocess.CalledProcessError as err:
        shutil.rmtree(base, ignore_errors=True)
        _no_postgres(f"the test server did not start: {err.stderr[-2000:]}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*prefix, ctl, "-D", data, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the session's PostgreSQL server."""
    import uuid

    import psycopg2

    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(
        postgres_server.replace("postgresql+psycopg2", "postgresql") + "/postgres"
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return f"{postgres_server}/{name}"
