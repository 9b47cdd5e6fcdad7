"""pytest-benchmark cases of ``python -m roga_bench.bench`` (not collected by the default run).

Run::

    pytest benchmarks/ --benchmark-only                                  # every case
    pytest benchmarks/ --benchmark-only --bench-backbones small_cnn@64   # seconds
    pytest benchmarks/ --benchmark-only --bench-algorithms ERM-SGD SAGM RoGA

Compare algorithms within one backbone: ``--benchmark-group-by=param:backbone``.
"""

from __future__ import annotations

import pytest

from roga_bench.bench import DEFAULT_BACKBONES, DEFAULT_VARIANTS


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("roga_bench")
    group.addoption(
        "--bench-backbones",
        nargs="+",
        default=DEFAULT_BACKBONES,
        help="NAME@SIZE backbones to benchmark",
    )
    group.addoption(
        "--bench-algorithms",
        nargs="+",
        default=DEFAULT_VARIANTS,
        help="bench variants (ERM-SGD, ERM-Adam, SAM, ..., RoGA-batched)",
    )
    group.addoption("--bench-batch", type=int, default=16, help="per-domain batch size")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backbone" in metafunc.fixturenames:
        metafunc.parametrize("backbone", metafunc.config.getoption("--bench-backbones"))
    if "variant" in metafunc.fixturenames:
        metafunc.parametrize("variant", metafunc.config.getoption("--bench-algorithms"))


@pytest.fixture()
def batch(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--bench-batch"))
