"""A real two-node Ray cluster on loopback loses its worker node in the middle of a Tune job.

``ray start --head`` and ``ray start --address`` run as two separate node processes (1 CPU each, own
temp dir, no fixed ports, so other Ray instances on the machine are untouched); a driver process
joins them through ``RAY_ADDRESS`` and runs MetaNASSearch with an LCExtrapolationScheduler, two
trials at a time (one per node). Once a trial on the worker node has reported, the whole worker
node (raylet, object store, trial actor) is SIGKILLed. Ray retries that trial (same config) on the
head; the job ends with every trial accounted for and no architecture suggested twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

# minutes of real clusters and processes: deselect with -m "not slow"
pytestmark = pytest.mark.slow

N_TRIALS = 6
EPOCHS = 6
DRIVER = (
    textwrap.dedent(
        """
    import json, os, sys, time
    from pathlib import Path
    import ray
    from ray import tune
    from nas_meta_tune import load_benchmark
    from nas_meta_tune.samplers import MetaNASSearch
    from nas_meta_tune.schedulers import LCExtrapolationScheduler
    from nas_meta_tune.schedulers.ray import STOPPED_EARLY

    progress, storage, out = sys.argv[1], sys.argv[2], sys.argv[3]
    ray.init(log_to_driver=False)  # the cluster at RAY_ADDRESS
    deadline = time.time() + 90
    while sum(n["Alive"] for n in ray.nodes()) < 2:
        assert time.time() < deadline, "the worker node never joined"
        time.sleep(0.5)
    space = load_benchmark("nasbench_graph").space

    def trainable(config):
        # NMT_NODE is set on the `ray start` command of each node: its workers inherit it
        node, trial = os.environ["NMT_NODE"], tune.get_context().get_trial_id()
        final = load_benchmark("nasbench_graph").query(space.from_params(config), "cora")
        log = Path(config["progress"]) / trial
        with log.open("a") as f:
            f.write(f"start {node}\\n")
        for epoch in range(1, EPOCHS + 1):
            time.sleep(0.4)
            with log.open("a") as f:
                f.write(f"epoch {node} {epoch}\\n")
            tune.report({"acc": final - 4 * 0.5**epoch, "epoch": epoch, "node": node})

    searcher = MetaNASSearch(space, metric="acc", mode="max", seed=0)
    results = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={"progress": progress},
        tune_config=tune.TuneConfig(
            metric="acc", mode="max", search_alg=searcher, num_samples=N_TRIALS,
            max_concurrent_trials=2,
            scheduler=LCExtrapolationScheduler(
                max_t=EPOCHS, time_attr="epoch", grace_period=3, value_range=(0, 100)
            ),
        ),
        run_config=tune.RunConfig(
            storage_path=storage, verbose=0, failure_config=tune.FailureConfig(max_failures=2)
        ),
    ).fit()
    scored, pending = searcher.session.history()
    json.dump({
        "trials": [
            {"id": r.metrics.get("trial_id") or os.path.basename(r.path), "key": space.from_params(r.config).key,
             "error": r.error is not None, "epoch": r.metrics.get("epoch"), "node": r.metrics.get("node")}
            for r in results
        ],
        "scored": [a.key for a, _ in scored], "pending": [a.key for a in pending],
        "live": sorted(searcher.session.live), "stopped_early": sorted(STOPPED_EARLY),
        "nodes_alive": sum(n["Alive"] for n in ray.nodes()),
    }, open(out, "w"))
    """
    )
    .replace("N_TRIALS", str(N_TRIALS))
    .replace("EPOCHS", str(EPOCHS))
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cluster_env(token: str) -> dict[str, str]:
    """The environment of every process of the cluster: its own auth token (a token left in
    ``~/.ray`` by another Ray session would switch ``ray start`` to token auth, but not a driver
    given an explicit address), never another cluster's address."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    env.pop("RAY_ADDRESS", None)
    return env


def _ray_start(temp_dir: str, logs: Path, env: dict, node: str, *args: str) -> subprocess.Popen:
    """One Ray node as its own process group (``--block``: killing the group kills the node)."""
    cmd = [
        os.path.join(os.path.dirname(sys.executable), "ray"),
        "start",
        "--block",
        "--node-ip-address=127.0.0.1",
        "--num-cpus=1",
        f"--object-store-memory={100 * 2**20}",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
        # no fixed ports: other Ray instances may run on this machine
        "--min-worker-port=0",
        "--max-worker-port=0",
        f"--dashboard-agent-listen-port={_free_port()}",
        f"--metrics-export-port={_free_port()}",
        *args,
    ]
    # a dead node is noticed within seconds, not the default half minute
    env = {**env, "NMT_NODE": node, "RAY_health_check_period_ms": "1000"}
    env["RAY_health_check_failure_threshold"] = "3"
    log = (logs / f"{node}.out").open("w")
    return subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _kill_node(proc: subprocess.Popen) -> None:
    """SIGKILL a node's whole process tree at once, as if the machine vanished. Not its process
    group: the raylet gives each worker process a group of its own."""
    frozen: set[int] = set()
    while new := ({proc.pid} | _descendants(proc.pid)) - frozen:
        for pid in new:  # stopped, a process can no longer start others
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        frozen |= new
    for pid in frozen:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "the head node exited: " + log.read_text()[-3000:]
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"the head node's GCS never listened on {port}")


def _progress(folder: Path) -> dict[str, list[list[str]]]:
    return {f.name: [line.split() for line in f.read_text().splitlines()] for f in folder.iterdir()}


def test_worker_node_killed_mid_run_loses_no_trial(tmp_path):
    # short: Ray's Unix socket paths live under it (at most 107 bytes)
    temp_dir = tempfile.mkdtemp(prefix="nmt-ray-", dir="/tmp")
    progress, out = tmp_path / "progress", tmp_path / "out.json"
    progress.mkdir()
    port, env = _free_port(), _cluster_env(secrets.token_hex(32))
    head = _ray_start(
        temp_dir,
        tmp_path,
        env,
        "head",
        "--head",
        f"--port={port}",
        "--include-dashboard=false",
        f"--dashboard-port={_free_port()}",
    )
    worker = driver = None
    try:
        _wait_for_port(port, head, tmp_path / "head.out", timeout=90)
        worker = _ray_start(temp_dir, tmp_path, env, "worker", f"--address=127.0.0.1:{port}")
        driver = subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(progress), str(tmp_path / "ray"), str(out)],
            env={**env, "RAY_ADDRESS": f"127.0.0.1:{port}", "RAY_AIR_NEW_OUTPUT": "0"},
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        # kill the worker node once one of its trials is half-way through
        killed, deadline = None, time.time() + 120
        while killed is None and time.time() < deadline and driver.poll() is None:
            for trial, lines in _progress(progress).items():
                if any(ln[:2] == ["epoch", "worker"] for ln in lines):
                    _kill_node(worker)
                    killed = trial
                    break
            time.sleep(0.1)
        assert killed is not None, "no trial reached the worker node: " + (
            driver.stderr.read()[-3000:] if driver.poll() is not None else ""
        )
        _, err = driver.communicate(timeout=300)
        assert driver.returncode == 0, err[-4000:]
    finally:
        for proc in (driver, worker, head):
            if proc is not None and proc.poll() is None:
                _kill_node(proc)  # `ray stop` would stop every Ray instance on the machine
        shutil.rmtree(temp_dir, ignore_errors=True)

    res = json.loads(out.read_text())
    trials = {t["id"]: t for t in res["trials"]}
    runs = _progress(progress)
    # the tuner finished its budget: every trial has a result, and none ended in error (the
    # searcher would record one as evaluated without a score: pending, never proposed again)
    assert len(trials) == N_TRIALS and set(runs) == set(trials)
    errored = {t["key"] for t in trials.values() if t["error"]}
    assert not errored and set(res["pending"]) == errored
    assert res["nodes_alive"] == 1
    # the killed trial was retried (same trial, same config) on the head, and ran to its end
    starts = [ln[1] for ln in runs[killed] if ln[0] == "start"]
    assert starts[0] == "worker" and starts[1:] == ["head"], runs[killed]
    assert trials[killed]["node"] == "head"
    assert trials[killed]["epoch"] == EPOCHS or killed in res["stopped_early"]
    # a trial ends at the last epoch unless the LC scheduler stopped it
    for tid, t in trials.items():
        assert t["epoch"] == EPOCHS or tid in res["stopped_early"], t
    # no architecture suggested twice (a retry is not a new suggestion) and the searcher saw every
    # trial end: each architecture scored once, none still live
    keys = [t["key"] for t in trials.values()]
    assert len(set(keys)) == N_TRIALS
    assert sorted(res["scored"]) == sorted(keys) and res["live"] == []
