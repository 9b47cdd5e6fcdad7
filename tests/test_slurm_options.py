"""The submitit launcher's Slurm flags without a cluster: parsing, old names, clear errors."""

from __future__ import annotations

import pytest

from roga_bench.sweep import _cli, main
from roga_bench.sweep._slurm import parse_time_min


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("30", 30), ("1:30", 2), ("2:00:00", 120), ("1-0", 1440), ("1-2:30", 1590), ("0:0:59", 1)],
)
def test_slurm_time_formats(text, minutes):
    assert parse_time_min(text) == minutes


@pytest.mark.parametrize("text", ["abc", "1h", "0", "", "1--2"])
def test_bad_slurm_time(text):
    with pytest.raises(ValueError):
        parse_time_min(text)


def _options(*flags: str) -> dict:
    args = _cli.build_parser().parse_args(["launch", "--command_launcher", "submitit", *flags])
    return _cli._launcher_options(args)[1]


def test_new_flags_and_old_names_reach_the_launcher():
    new = _options(
        "--slurm_time", "1:30:00", "--slurm_gpus_per_job", "1", "--slurm_cpus_per_job", "4",
        "--slurm_mem", "16G", "--slurm_array_parallelism", "8", "--slurm_partition", "gpu",
        "--slurm_additional", "account=lab", "qos=high", "exclusive",
    )  # fmt: skip
    assert new == {
        "slurm_time_min": 90,
        "slurm_gpus_per_job": 1,
        "slurm_cpus_per_job": 4,
        "slurm_mem": "16G",
        "slurm_array_parallelism": 8,
        "slurm_partition": "gpu",
        "slurm_additional": {"account": "lab", "qos": "high", "exclusive": True},
    }
    old = _options(
        "--timeout_min", "90", "--gpus_per_node", "1", "--cpus_per_task", "4",
        "--array_parallelism", "8", "--mem_gb", "2",
    )  # fmt: skip
    assert old == {
        "slurm_time_min": 90,
        "slurm_gpus_per_job": 1,
        "slurm_cpus_per_job": 4,
        "slurm_array_parallelism": 8,
        "mem_gb": 2.0,
    }


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--slurm_time", "soon"), "--slurm_time: 'soon' is not a Slurm time"),
        (("--slurm_mem", "lots"), "--slurm_mem 'lots': expected Slurm's 16G"),
        (("--slurm_mem", "1G", "--mem_gb", "1"), "--slurm_mem and --mem_gb: give one"),
        (("--slurm_additional", "=x"), "--slurm_additional '=x': expected name=value"),
        (("--slurm_cpus_per_job", "0"), "--slurm_cpus_per_job must be > 0"),
    ],
)
def test_bad_slurm_flag_is_one_error(tmp_path, capsys, flags, message):
    out = tmp_path / "sweep"
    argv = ["launch", "--output_dir", str(out), "--command_launcher", "submitit", *flags]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_slurm_flags_are_not_options_of_other_launchers(tmp_path, capsys):
    argv = ["launch", "--output_dir", str(tmp_path / "s"), "--slurm_time", "10"]
    assert main(argv) == 2
    assert "--slurm_time: not an option of the 'pool' launcher" in capsys.readouterr().err


def test_missing_sbatch_is_one_error_and_writes_nothing(
    tmp_path, capsys, monkeypatch, tiny_synthff
):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "sweep"
    argv = ["launch", "--datasets", "SynthFFLOMO", "--algorithms", "ERM", "--output_dir", str(out)]
    argv += ["--data_dir", str(tiny_synthff), "--steps", "2", "--test_envs", "0"]
    argv += ["--command_launcher", "submitit", "--submitit_cluster", "slurm"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: --command_launcher submitit: sbatch: not found (is Slurm installed and on PATH?)"
    )
    assert not out.exists()
