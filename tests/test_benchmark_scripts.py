"""The benchmark scripts run end to end with --smoke-test (tiny settings, no result files written)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

# minutes of real training, real clusters or real processes: deselect with -m "not slow"
pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(
    "script",
    [
        "predictor.py",
        "search.py",
        "encodings.py",
        "pruning.py",
        "record_curves.py",
        "proxies.py",
        "proxies_graph.py",
        "oneshot.py",
        "split_distance.py",
        "scale.py",
        "omni.py",
        "device.py",
        "gp_fit.py",
        "multi_objective.py",
        "predictor_families.py",
        "constraints.py",
    ],
)
def test_benchmark_smoke(script, tmp_path, request):
    # scale.py's Ray part joins the session's running cluster instead of starting one (started
    # before the environment is copied: starting it sets RAY_AUTH_MODE=token, which joining needs)
    ray_env = (
        {"RAY_ADDRESS": request.getfixturevalue("ray_address")} if script == "scale.py" else {}
    )
    before = {p: p.stat().st_mtime for p in (BENCH / "results").glob("*.json")}
    tmp = tmp_path
    if script == "scale.py":  # Ray's socket paths under TMPDIR must stay within 107 bytes
        tmp = Path(tempfile.mkdtemp(prefix="nmt"))
    try:
        out = subprocess.run(
            [sys.executable, str(BENCH / script), "--smoke-test"],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=BENCH,
            env={
                **__import__("os").environ,
                "TMPDIR": str(tmp),
                **ray_env,
            },
        )
    finally:
        if tmp != tmp_path:
            shutil.rmtree(tmp, ignore_errors=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert {p: p.stat().st_mtime for p in (BENCH / "results").glob("*.json")} == before, (
        "smoke tests write no results"
    )
    if script == "predictor.py":
        res = json.loads(out.stdout[out.stdout.index("{") :])
        assert set(res["transnas_micro/jigsaw"]) >= {
            "boil",
            "zero_shot",
            "random_forest",
            "transfer_ridge",
        }
    if script == "pruning.py":
        res = json.loads(out.stdout.strip().splitlines()[-2])["lcbench/3945"]
        sys.path.insert(0, str(BENCH))
        try:
            from pruning import METHODS  # every peer and every method of ours
        finally:
            sys.path.remove(str(BENCH))
        assert set(res) == set(METHODS)
        extrap = json.loads(out.stdout.strip().splitlines()[-1])["lcbench/3945"]
        assert all({"pfn", "pfn_cover80", "parametric"} <= set(e) for e in extrap.values())
        assert res["none"]["regret"] == 0 and all(
            res[m]["epochs"] <= res["none"]["epochs"] for m in res
        )
    if script == "search.py":
        res = json.loads(out.stdout.strip().splitlines()[-1])
        runs = res["results"]["transnas_micro/jigsaw"]
        assert set(runs) == {"meta_nas", "random", "syne_re", "static_transfer"}
        assert all(runs[m]["10"]["seeds"] == 1 and runs[m]["10"]["regret"] >= 0 for m in runs)
    if script == "gp_fit.py":  # both fits reach the same optimum of the same objective
        res = json.loads(out.stdout.strip().splitlines()[-1])
        for e in res.values():
            assert e["ours_map_objective"] == pytest.approx(
                e["gpytorch_botorch_map_objective"], abs=1e-3
            )
    if script == "device.py":
        res = json.loads(out.stdout[out.stdout.index("{") :])
        cpu = res["cpu"]
        assert cpu["gnn_spos"]["steps_per_s"] > 0 and cpu["gnn_spos"]["param_devices"] == ["cpu"]
        assert set(cpu["proxies"]) == {"synflow", "snip", "jacob_cov"}
        import torch

        if torch.cuda.is_available():  # the CUDA path really ran there and agrees with the CPU
            assert res["cuda"]["gnn_spos"]["param_devices"] == ["cuda"]
            assert set(res["cuda"]["max_rel_diff_vs_cpu"]) == {"synflow", "snip", "jacob_cov"}
        else:
            assert "cuda" not in res and "cuda_missing" in res
    if script == "scale.py":
        assert "| meta_nas | 12 |" in out.stdout and "| tpe | 12 |" in out.stdout
        assert "8/8 trials completed (0 errors)" in out.stdout
        # the workers part needs PostgreSQL: required where the suite requires it (CI)
        if "workers part skipped" not in out.stderr:
            assert "2 worker processes on one PostgreSQL study" in out.stdout
            assert "0 architectures completed twice" in out.stdout


def test_pruning_reads_the_gnn_curve_set_layout(tmp_path, monkeypatch):
    # synthetic curves in record_curves.py's npz layout (mechanics of the loader only): the pool is
    # the seed-0 runs of one dataset that completed every epoch
    monkeypatch.syspath_prepend(str(BENCH))
    import pruning

    rng = np.random.default_rng(0)
    valid = rng.uniform(0, 100, size=(6, 5)).astype(np.float32)
    valid[2, 3:] = np.nan  # stopped early
    path = tmp_path / "synthetic_gnn_curves.npz"
    np.savez(
        path,
        datasets=np.array(["cora", "citeseer"]),
        run_dataset=np.array([0, 0, 0, 1, 1, 0], np.int8),
        run_seed=np.array([0, 0, 0, 0, 0, 1], np.int16),
        valid_acc=valid,
    )
    monkeypatch.setenv("NAS_META_TUNE_GNN_CURVES", str(path))
    np.testing.assert_array_equal(pruning.gnn_curves("cora"), valid[[0, 1]].astype(np.float64))
    assert pruning.load_testbed("gnn/citeseer", None)[0].shape == (2, 5)
    prior = pruning.prior_curves("gnn/cora", None)  # LCRankNet pre-trains on the other graph
    assert len(prior) == 2 and np.array_equal(prior[0], valid[3])
    with pytest.raises(ValueError, match="pubmed"):
        pruning.gnn_curves("pubmed")


def test_record_curves_merge_only_refuses_an_unfinished_recording(tmp_path):
    # --merge-only writes the final --out file, which pruning.py picks up as soon as it exists:
    # it must not do so from a folder that lacks runs
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "record_curves.py"),
            "--merge-only",
            *("--archs", "2", "--epochs", "2", "--repeat-archs", "1", "--repeat-seeds", "1"),
            *("--parts", str(tmp_path / "parts"), "--out", str(tmp_path / "curves.npz")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=BENCH,
    )
    assert out.returncode != 0
    assert "4 of 4 runs are not in" in out.stderr, out.stderr[-2000:]
    assert not (tmp_path / "curves.npz").exists()
