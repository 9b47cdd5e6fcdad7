"""``launch --suite``: the paper suite's blocks per table, dedup by job hash, flags that combine.

Expansion only (``list``/``status``): nothing trains here. Cross-dataset blocks read which
targets are on disk, so the SynthFF cases point ``--data_dir`` at the tiny shared build.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from roga_bench._registry import BACKBONES
from roga_bench.datasets.testing import write_tree
from roga_bench.sweep import job_hash, main, make_args_list
from roga_bench.sweep._suite import FAMILIES, SUITES, expand_suite

COMMON = dict(n_hparams_from=0, n_hparams=1, steps=None, task="domain_generalization")


def _expand(data_dir: Path | None, family: str = "SynthFF", **kw):
    args = {**COMMON, "data_dir": None if data_dir is None else str(data_dir), **kw}
    return expand_suite("paper", family, holdout_fraction=0.2, **args)


def _listed(capsys) -> list[str]:
    return [x for x in capsys.readouterr().out.splitlines() if x.startswith("Not launched")]


def _n_backbones() -> int:
    """Table V's SynthFF backbones registered now (resnet34_slim joined the registry later)."""
    return 1 + ("resnet34_slim" in BACKBONES.names())


def test_paper_suite_blocks_and_dedup(tiny_synthff):
    expansion, trials = _expand(tiny_synthff)
    assert trials == 3
    counts = {b.name: (n, shared) for b, n, shared in expansion.counts}
    assert counts == {
        "A": (8 * 3, 0),  # ERM + seven two-pass algorithms, cross-dataset
        "A-adam": (3, 0),
        "B": (4 * 4 * 3, 0),  # GID: four algorithms x four test envs
        "C": (2 * 3, 0),  # ASAM, GSAM on GID-DF
        "C-adam": (3, 0),
        "D": (2 * _n_backbones() * 3, 0),  # ERM, RoGA x meso4 (x resnet34_slim)
        "E": (4 * 3, 3),  # the (alpha 0.001, rho 0.1) point is block A's RoGA job
        "F": (2 * 3, 0),  # ours (issue 26): LookSAM, RoGA_Look cross-dataset (Table IV UADFV)
        "F-gid": (2 * 3, 0),  # ... and on GID-DF
    }
    assert len(expansion.args_list) == sum(n - s for n, s in counts.values())
    hashes = [job_hash(a) for a in expansion.args_list]
    assert len(set(hashes)) == len(hashes)


def test_paper_suite_jobs_per_table(tiny_synthff):
    expansion, _ = _expand(tiny_synthff)
    jobs = expansion.args_list

    def hp(a):
        return json.loads(a.get("hparams") or "{}")

    lomo = [a for a in jobs if a["dataset"] == "SynthFFLOMO"]
    cross = [a for a in jobs if a["dataset"] == "SynthFFCrossDataset"]
    assert {a["test_envs"][0] for a in lomo if a["algorithm"] == "RoGA"} == {0, 1, 2, 3}
    assert {(a["algorithm"], hp(a).get("optimizer")) for a in lomo if a["test_envs"] == [0]} == {
        ("ERM", None), ("ERM", "adam"), ("SAM", None), ("SAGM", None), ("RoGA", None),
        ("ASAM", None), ("GSAM", None), ("LookSAM", None), ("RoGA_Look", None),
    }  # fmt: skip
    adam = [hp(a) for a in jobs if hp(a).get("optimizer") == "adam"]
    assert len(adam) == 6 and all(h["lr"] == 1e-3 for h in adam)  # Adam's own lr, not SGD's 0.05
    assert all(a["test_envs"] == [0] for a in lomo if a["algorithm"] in ("ASAM", "GSAM"))
    assert all(a["test_envs"] == [4, 5, 6] for a in cross)  # the three targets at once
    backbones = {(a["algorithm"], hp(a).get("backbone")) for a in cross if "backbone" in hp(a)}
    names = ["meso4", "resnet34_slim"][: _n_backbones()]
    assert backbones == {(a, b) for a in ("ERM", "RoGA") for b in names}
    grid = {(hp(a).get("alpha"), hp(a).get("rho")) for a in cross if a["algorithm"] == "RoGA"}
    # RoGA's defaults are alpha 0.001, rho 0.1: written as no override
    assert grid == {(None, None), (None, 0.05), (0.002, None), (0.002, 0.05), (None, None)}
    plain = [a for a in cross if a["algorithm"] == "RoGA" and set(hp(a)) == {"targets"}]
    assert sorted(a["trial_seed"] for a in plain) == [0, 1, 2]  # once per trial, not twice


def test_shared_job_is_the_plain_command_line_job(tiny_synthff):
    """The suite's plain RoGA cross-dataset job hashes like the same hand-typed sweep's job."""
    expansion, _ = _expand(tiny_synthff)
    by_hand = make_args_list(
        3, ["SynthFFCrossDataset"], ["RoGA"], 0, 1, None, str(tiny_synthff),
        "domain_generalization", 0.2, test_envs_mode="crossdataset",
    )  # fmt: skip
    suite = {job_hash(a) for a in expansion.args_list}
    assert {job_hash(a) for a in by_hand} <= suite


def test_n_trials_and_hparams_combine(tiny_synthff):
    five, trials = _expand(tiny_synthff, n_trials=5)
    three, _ = _expand(tiny_synthff)
    assert trials == 5 and len(five.args_list) == len(three.args_list) // 3 * 5
    tiny, _ = _expand(tiny_synthff, hparams='{"batch_size": 4}', steps=7)
    assert all(json.loads(a["hparams"])["batch_size"] == 4 for a in tiny.args_list)
    assert all(a["steps"] == 7 for a in tiny.args_list)
    with pytest.raises(ValueError, match="which suite block A-adam sets"):
        _expand(tiny_synthff, hparams='{"optimizer": "sgd"}')
    with pytest.raises(ValueError, match="which suite block E varies"):
        _expand(tiny_synthff, hparams='{"rho": 0.2}')


def test_ffpp_family_uses_the_ffpp_classes_and_paper_backbones(tmp_path):
    data = write_tree(tmp_path / "rgb", targets=("CDF-v2", "UADFV"), frames=1)
    expansion, _ = _expand(data, family="FFpp")
    datasets = {a["dataset"] for a in expansion.args_list}
    assert datasets == {"FFppLOMO", "FFppCrossDataset"}
    backbones = {
        json.loads(a["hparams"]).get("backbone")
        for a in expansion.args_list
        if a["dataset"] == "FFppCrossDataset"
    }
    assert backbones == {None, "meso4", "resnet34", "efficientnet_b4"}
    assert all(a["data_dir"] == str(data) for a in expansion.args_list)


def test_default_suite_is_the_bare_launch(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["list"]) == 0
    bare = _listed(capsys)
    assert main(["list", "--suite", "default"]) == 0
    out = capsys.readouterr().out
    assert "suite 'default' on SynthFF, 1 trial(s)" in out
    assert [x for x in out.splitlines() if x.startswith("Not launched")] == bare
    assert len(bare) == 16


def test_cli_prints_counts_and_status_sees_the_same_jobs(tiny_synthff, tmp_path, capsys):
    argv = ["--suite", "paper", "--data_dir", str(tiny_synthff), "--output_dir", str(tmp_path)]
    assert main(["list", *argv]) == 0
    out = capsys.readouterr().out
    n = 105 + 6 * _n_backbones()  # 111 with meso4 only, 117 with resnet34_slim too
    assert re.search(r"E\s+12 jobs, 3 shared with earlier blocks", out)
    assert f"total: {n} jobs ({n + 3} listed, 3 shared)" in out
    assert out.count("Not launched: ") == n
    assert main(["status", *argv, "--n_trials", "1"]) == 0
    assert f"{n // 3} jobs: 0 done, 0 incomplete, {n // 3} not launched." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--algorithms", "ERM"], "--algorithms: the suite's blocks set these"),
        (["--grid", "rho=0.1"], "--grid: the suite's blocks set these"),
        (["--test_envs", "0"], "--test_envs: the suite's blocks set these"),
        (["--datasets", "SynthFFLOMO"], "expected one dataset family of ['FFpp', 'SynthFF']"),
        (["--datasets", "FFpp"], "needs --data_dir"),
        (["--suite", "nope"], "--suite 'nope': unknown"),
        (["--n_trials", "0"], "--n_trials must be >= 1"),
    ],
)
def test_bad_suite_flags(tmp_path, capsys, extra, message):
    argv = ["launch", "--suite", "paper", "--output_dir", str(tmp_path / "s"), *extra]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_suites_registry_is_extensible(monkeypatch, tiny_synthff):
    from roga_bench.sweep._suite import Block, Suite

    tiny = Suite(2, lambda family: [Block("t", "II", "LOMO", ("ERM",), test_envs=(1,))])
    monkeypatch.setitem(SUITES, "tiny", tiny)
    monkeypatch.setitem(FAMILIES, "Alt", {"LOMO": "SynthFFLOMO", "CrossDataset": "x"})
    expansion, _ = expand_suite("tiny", "Alt", holdout_fraction=0.2, data_dir=None, **COMMON)
    assert [(a["algorithm"], a["test_envs"], a["trial_seed"]) for a in expansion.args_list] == [
        ("ERM", [1], 0),
        ("ERM", [1], 1),
    ]
