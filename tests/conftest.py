"""Shared fixtures: the real data root, a local Ray cluster started once per session."""

from __future__ import annotations

import os
from contextlib import ExitStack

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
    from nas_meta_tune.integrations.experiments.postgres import (
        PostgresUnavailableError,
        throwaway_server,
    )

    with ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_server())
        except PostgresUnavailableError as err:
            _no_postgres(str(err))
        yield url


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the session's PostgreSQL server."""
    from nas_meta_tune.integrations.experiments.postgres import create_database

    return create_database(postgres_server)


# ----------------------------------------------------------------------------- pytest-xdist
_RAY_FIXTURES = {"ray_cluster", "ray_address"}
_PROCESS_FILES = {"test_fault_tolerance.py", "test_postgres_workers.py"}


def pytest_collection_modifyitems(config, items):
    """Under ``pytest -n 2 --dist loadgroup`` (``make test``), tests that start a Ray cluster
    share one worker (one cluster per worker, and never two at once), and the tests of worker
    processes on a shared storage run one at a time on another (their heartbeats and timeouts
    assume a machine that is not also running a Ray cluster); the rest spread over both."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        name = item.path.name
        if (
            _RAY_FIXTURES & set(getattr(item, "fixturenames", ()))
            or name.startswith("test_ray_")
            or (name in {"test_examples.py", "test_benchmark_scripts.py"} and "ray" in item.name)
        ):
            item.add_marker(pytest.mark.xdist_group("ray"))
        elif name in _PROCESS_FILES or "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("processes"))
