"""The README's quickstart really runs."""

from __future__ import annotations

import re
from pathlib import Path


def test_readme_quickstart_runs(capsys):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## Quickstart") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "(x)@nor_conv_3x3" in out
