"""The README's plain-loop example ("Use the optimizers in your own loop") runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import torch

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Use the optimizers in your own loop"


def _first_python_block() -> str:
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"{README}: section {SECTION!r} is missing"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert match, f"{README}: no ```python block under {SECTION!r}"
    return match.group(1)


def test_readme_optimizer_example_runs(capsys):
    namespace: dict = {}
    exec(compile(_first_python_block(), f"{README}:example", "exec"), namespace)
    loss, opt = namespace["loss"], namespace["opt"]
    assert torch.isfinite(loss) and 0.0 < float(loss) < 5.0
    assert type(opt).__name__ == "RoGA" and opt.base_optimizer.state  # momentum buffers exist
    assert namespace["checkpoint"]["optimizer"]["param_groups"][0]["rho"] == 0.1
    assert "mean cos(g_i, g_i^p)" in capsys.readouterr().out
