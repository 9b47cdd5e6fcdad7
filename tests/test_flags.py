"""Parsers built from config dataclasses (``roga_bench._flags``): analyze, sweep launchers."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from roga_bench import analyze
from roga_bench._flags import add_flags, check_flags, flag, flag_names, from_flags
from roga_bench.analysis import AnalysisConfig


@dataclasses.dataclass(frozen=True)
class _Config:
    steps: int = flag(100, help="updates", at_least=1)
    rate: float = flag(0.5, above=0)
    name: str = flag("x", choices=["x", "y"])
    fast: bool = flag(False, help="go")
    sizes: tuple[int, ...] = flag((1,), flags=["--size"], type=int, nargs="+", flag_default=None)
    hidden: int = 3  # no flag


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_flags(p, _Config)
    return p.parse_args(argv)


def test_a_field_is_its_flag_with_type_default_and_range():
    ns = _parse([])
    assert (ns.steps, ns.rate, ns.name, ns.fast, ns.sizes) == (100, 0.5, "x", False, None)
    assert not hasattr(ns, "hidden")
    ns = _parse(["--steps", "7", "--rate", "2", "--fast", "--size", "3", "4", "--name", "y"])
    assert (ns.steps, ns.rate, ns.fast, ns.sizes, ns.name) == (7, 2.0, True, [3, 4], "y")
    assert isinstance(ns.rate, float)
    with pytest.raises(SystemExit):
        _parse(["--name", "z"])
    assert check_flags(_Config, _parse(["--steps", "0"])) == "--steps must be >= 1, got 0"
    assert check_flags(_Config, _parse(["--rate", "0"])) == "--rate must be > 0, got 0.0"
    assert check_flags(_Config, _parse(["--steps", "1"])) is None
    config = from_flags(_Config, _parse(["--steps", "5", "--size", "2"]), sizes=(2,))
    assert config == _Config(steps=5, sizes=(2,))
    assert flag_names(_Config) == ("steps", "rate", "name", "fast", "sizes")


def test_the_metavar_of_a_renamed_flag_is_its_own_name():
    p = argparse.ArgumentParser()
    add_flags(p, _Config)
    assert "--size SIZE [SIZE ...]" in p.format_help()


def test_every_analysis_config_field_has_a_flag_with_the_field_default():
    """The regression: analyze restated the defaults as literals and lacked --landscape_grid."""
    ns = analyze.build_parser().parse_args(["--input_dir", "a", "--out", "b"])
    for f in dataclasses.fields(AnalysisConfig):
        assert hasattr(ns, f.name), f"AnalysisConfig.{f.name} has no flag"
        if f.name != "rhos":  # --rho: default None = the sweep's ρ values
            assert getattr(ns, f.name) == f.default, f.name
    config = analyze._config(
        analyze.build_parser().parse_args(
            ["--input_dir", "a", "--out", "b", "--landscape_grid", "5", "--rho", "0.1", "0.2"]
        )
    )
    assert config.landscape_grid == 5 and config.rhos == (0.1, 0.2)
    assert config.device == "cpu" and config.n_batches == AnalysisConfig().n_batches


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--landscape_grid", "0"], "--landscape_grid must be >= 1"),
        (["--batch_size", "0"], "--batch_size must be >= 1"),
        (["--landscape_radius", "0"], "--landscape_radius must be > 0"),
    ],
)
def test_analyze_refuses_an_out_of_range_flag_writing_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert analyze.main(["--input_dir", str(tmp_path), "--out", str(out), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_every_launcher_keyword_is_a_sweep_flag_and_every_flag_some_launchers_keyword():
    """A launcher keyword without a field cannot be set from the command line; a field no
    launcher accepts would be refused for every launcher."""
    import inspect

    from roga_bench._registry import LAUNCHERS
    from roga_bench.sweep import _cli
    from roga_bench.sweep._options import LauncherOptions

    keyword = {name: _cli._KEYWORD.get(name, name) for name in flag_names(LauncherOptions)}
    accepted: set[str] = set()
    for name in LAUNCHERS.names():
        params = inspect.signature(LAUNCHERS.get(name)).parameters
        accepted |= {p for p in params if p != "jobs"}
    assert accepted == set(keyword.values())
    ns = _cli.build_parser().parse_args(["launch", "--n_workers", "2", "--no_wait"])
    assert (ns.n_workers, ns.wait, ns.slurm_time, ns.in_process) == (2, False, None, None)
    ns = _cli.build_parser().parse_args(["launch", "--timeout_min", "5", "--cpus_per_task", "2"])
    assert (ns.slurm_time, ns.slurm_cpus_per_job) == ("5", 2)
