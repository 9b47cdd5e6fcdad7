"""Shared fixtures: a tiny SynthFF build every helper's tests can read, and a private data cache.

``ROGA_BENCH_DATA`` points at a session temp folder, so no test ever writes to ``~/.cache``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import Phase, settings

# property tests draw the same examples on every run (a CI run never meets a new draw the
# last one did not); their laws still could fail, and a found example stays in the suite
settings.register_profile("roga_bench", derandomize=True, deadline=None)
settings.load_profile("roga_bench")
# benchmarks/mutation.py runs pytest with --hypothesis-profile=mutation: a law that fails is a
# killed mutant at its first failing example; shrinking it to a smaller one would only spend the
# mutant's time limit and turn the kill into a timeout
settings.register_profile(
    "mutation", parent=settings.get_profile("roga_bench"), phases=[Phase.explicit, Phase.generate]
)

TINY_SYNTHFF = {"seed": 0, "videos": 12, "frames": 2, "size": 32}


@pytest.fixture(scope="session", autouse=True)
def _private_data_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Points ``$ROGA_BENCH_DATA`` (SynthFF's cache root) at a temp folder for the session."""
    root = tmp_path_factory.mktemp("roga_bench_data")
    old = os.environ.get("ROGA_BENCH_DATA")
    os.environ["ROGA_BENCH_DATA"] = str(root)
    yield root
    if old is None:
        os.environ.pop("ROGA_BENCH_DATA", None)
    else:
        os.environ["ROGA_BENCH_DATA"] = old


@pytest.fixture(scope="session")
def tiny_synthff(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small SynthFF data_dir: 12 real FF videos (+12 fakes per method) and 6 real + 6 fake
    videos per cross-dataset target, 2 frames each, 32 px. Treat it as read-only."""
    from roga_bench.datasets.synthff import generate

    return generate(tmp_path_factory.mktemp("tiny_synthff"), progress=False, **TINY_SYNTHFF)
