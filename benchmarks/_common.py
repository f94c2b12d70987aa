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


def meta(command: str, started: float) -> dict[str, Any]:
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
