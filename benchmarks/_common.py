"""Shared helpers of the benchmark scripts: result files and the RESULTS.md table."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
RESULTS_MD = HERE / "RESULTS.md"
# held-out meta-initialisations, shared by predictor.py and search.py (gitignored)
META_CACHE = HERE / ".cache"


def head_commit() -> str:
    """The checkout's short commit (``"unknown"`` outside git)."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def meta(command: str, started: float, commit: str | None = None) -> dict[str, Any]:
    """Provenance of a run; pass ``commit`` read when the run started (code committed while a
    long run goes on would otherwise be credited with its figures)."""
    if commit is not None:
        return {**meta(command, started), "commit": commit}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    import os

    return {
        "command": command,
        "commit": commit,
        "wall_time_s": round(time.perf_counter() - started, 2),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return path


def scratch_predictor_cache(tag: str) -> None:
    """Smoke runs: search.py's held-out predictors (tiny ones) go to a scratch folder."""
    import os

    import search

    search.CACHE = Path(os.environ.get("TMPDIR", "/tmp")) / f"nmt-{tag}-smoke"


def merge_and_write(
    name: str, done: dict, argv: list[str] | None, started: float, *, merge: bool, **info: Any
) -> dict:
    """``{task: {method: entry}}`` results of ``benchmarks/<name>.py`` merged into the saved
    ones (``merge``) or replacing them, with this run's command and ``info`` in ``meta.runs``;
    written to ``results/<name>.json`` and returned."""
    path = RESULTS / f"{name}.json"
    results = json.loads(path.read_text()) if merge and path.exists() else {}
    for task, res in done.items():
        results.setdefault(task, {}).update(res)
    args = sys.argv[1:] if argv is None else argv
    run = meta(f"python benchmarks/{name}.py " + " ".join(args), started) | info
    results["meta"] = {"runs": [*results.get("meta", {}).get("runs", []), run]}
    write_json(name, results)
    return results


def update_results_md(section: str, body: str) -> None:
    """Replace (or append) the ``## section`` block of benchmarks/RESULTS.md."""
    text = (
        RESULTS_MD.read_text()
        if RESULTS_MD.exists()
        else "# Benchmark results\n\nEvery figure below was produced by the command shown with it.\n"
    )
    header = f"## {section}"
    block = f"{header}\n\n{body.strip()}\n"
    if header in text:
        start = text.index(header)
        nxt = text.find("\n## ", start + len(header))
        text = text[:start] + block + ("" if nxt == -1 else text[nxt:])
    else:
        text = text.rstrip() + "\n\n" + block
    RESULTS_MD.write_text(text)


def refresh_oneshot_summary() -> Path | None:
    """Rewrite the issue-format summary keys of ``oneshot.json`` from the saved results.

    ``supernet``: ``{method: {"kendall", "spearman", "kendall_std", "seeds", "epochs", "seconds",
    "dataset"}}`` from the one-shot run (one full-batch step is one epoch of the graph); ``proxies``:
    ``{space_task: {proxy: {"spearman", "kendall", "archs", "archs_per_s", "input"}}}`` from
    ``proxies.json`` (``archs_per_s`` is ``None`` for NASLib's precomputed values). Nothing is
    measured here: both are copies of saved figures, so the command that made them stays theirs.
    """
    path = RESULTS / "oneshot.json"
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    datasets = [k for k in ("cora", "citeseer") if k in result]
    if datasets:
        ds = datasets[0]
        result["supernet"] = {
            m: {
                "kendall": e["kendall"],
                "spearman": e["spearman"],
                "kendall_std": e["kendall_std"],
                "seeds": e["seeds"],
                "epochs": e["steps"],
                "seconds": e["seconds"],
                "dataset": ds,
            }
            for m, e in result[ds].items()
        }
    prox_path = RESULTS / "proxies.json"
    if prox_path.exists():
        prox = json.loads(prox_path.read_text())
        pmeta = prox.get("meta", {})
        ms = pmeta.get("ms_per_arch", {})
        out: dict[str, dict] = {}
        for name, rows in prox.items():
            if name == "meta":
                continue
            base = name.split("@")[0]
            speed = ms.get(base, {}).get("median")
            for task, c in rows.items():
                out.setdefault(task, {})[name] = {
                    "spearman": c["spearman"],
                    "kendall": c["kendall"],
                    "archs": c["n"],
                    "archs_per_s": round(1000.0 / speed, 2) if speed else None,
                    "input": pmeta.get("inputs", {}).get(name),
                }
        result["proxies"] = out
        result.setdefault("meta", {})["proxies_from"] = pmeta.get("command")
    write_json("oneshot", result)
    return path


def held_out_config(task: str, steps: int, pool: str = "family") -> dict[str, Any]:
    """The raw training config of a leave-one-task-out predictor: the shipped default's, with
    ``steps`` outer steps, no time budget, and the pool of the task's family (``pool="family"``)
    or of every evaluated family (``"all"``); the task itself is excluded by the caller.

    predictor.py and search.py both build their configs here, so that equal settings hash to the
    same cached meta-initialisation (:func:`nas_meta_tune.predictors.evaluation.held_out_meta_init`).
    """
    from nas_meta_tune.predictors.meta_predictor import WEIGHTS_DIR
    from nas_meta_tune.predictors.tasks import EVAL_TASKS
    from nas_meta_tune.predictors.training import load_train_config

    raw = load_train_config(WEIGHTS_DIR / "default.toml").to_dict()
    raw["meta"]["steps"] = steps
    raw["time_budget_s"] = None
    families = [task.split("/")[0]] if pool == "family" else list(EVAL_TASKS)
    raw["pool"] = {"families": families, "tasks": None, "exclude": []}
    return raw
