"""Every example runs end to end with --smoke-test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# minutes of real training, real clusters or real processes: deselect with -m "not slow"
pytestmark = pytest.mark.slow

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_smoke(script, request):
    # the Ray examples join the session's running cluster, as they would join a user's (started
    # first: starting it sets RAY_AUTH_MODE=token here, which a joining driver needs too)
    address = (
        request.getfixturevalue("ray_address") if "RAY_ADDRESS" in script.read_text() else None
    )
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    if address:
        env["RAY_ADDRESS"] = address
    out = subprocess.run(
        [sys.executable, str(script), "--smoke-test"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    assert out.stdout.strip(), "an example prints what it found"
