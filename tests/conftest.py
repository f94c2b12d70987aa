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
