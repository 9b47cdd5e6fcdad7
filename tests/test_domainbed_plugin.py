"""The DomainBed plugin against tests/fake_domainbed (DomainBed is not on PyPI; offline tests).

Each test imports a fresh stand-in ``domainbed`` and removes it afterwards, so nothing leaks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from roga_bench import hparams as rb_hparams
from roga_bench.algorithms import get_algorithm_class
from roga_bench.datasets import get_dataset_class

FAKE = Path(__file__).parent / "fake_domainbed"


def _drop_domainbed() -> None:
    for name in [m for m in sys.modules if m == "domainbed" or m.startswith("domainbed.")]:
        del sys.modules[name]


@pytest.fixture
def domainbed(monkeypatch):
    _drop_domainbed()
    monkeypatch.syspath_prepend(str(FAKE))
    import domainbed.algorithms
    import domainbed.datasets
    import domainbed.hparams_registry

    yield domainbed
    _drop_domainbed()


def test_without_domainbed_says_how_to_install(monkeypatch):
    from roga_bench.domainbed_plugin import register

    _drop_domainbed()
    monkeypatch.setitem(sys.modules, "domainbed", None)  # makes `import domainbed` fail
    with pytest.raises(ImportError, match="pip install git\\+https://github.com/facebookresearch"):
        register()
    monkeypatch.delitem(sys.modules, "domainbed")


def test_registered_names_resolve(domainbed):
    from roga_bench.domainbed_plugin import register

    names = register()
    algorithms, datasets = domainbed.algorithms, domainbed.datasets
    assert algorithms.get_algorithm_class("RoGA") is get_algorithm_class("RoGA")
    assert {"RoGA", "SAM", "SAGM", "GSAM", "ASAM", "RB_ERM"} <= set(algorithms.ALGORITHMS)
    for name in ("LookSAM", "RoGA_Look"):  # issue 26's, registered like every other
        assert algorithms.get_algorithm_class(name) is get_algorithm_class(name)
    # DomainBed's own ERM keeps its name; ours is RB_ERM
    assert algorithms.get_algorithm_class("ERM").__module__ == "domainbed.algorithms"
    assert algorithms.get_algorithm_class("RB_ERM") is get_algorithm_class("ERM")
    assert algorithms.ALGORITHMS.count("RoGA") == 1 and "RB_ERM" in names["algorithms"]
    assert "SynthFFLOMO" in datasets.DATASETS and "Debug28" in datasets.DATASETS
    cls = datasets.get_dataset_class("SynthFFLOMO")
    assert issubclass(cls, get_dataset_class("SynthFFLOMO")) and cls.N_WORKERS == 0
    assert datasets.num_environments("SynthFFLOMO") == 4


def test_replace_takes_domainbeds_names(domainbed):
    from roga_bench.domainbed_plugin import register

    register(replace=True)
    assert domainbed.algorithms.get_algorithm_class("ERM") is get_algorithm_class("ERM")


def test_hparams_use_our_space_with_per_name_seeds(domainbed):
    from roga_bench.domainbed_plugin import register

    registry = domainbed.hparams_registry
    before_irm_debug = registry.random_hparams("IRM", "Debug28", 7)
    register()
    ours = rb_hparams.default_hparams("RoGA", "SynthFFLOMO")
    db = registry.default_hparams("RoGA", "SynthFFLOMO")
    assert {k: db[k] for k in ours} == ours
    assert db["class_balanced"] is False and "resnet18" in db  # DomainBed's own keys stay
    seed = rb_hparams.seed_hash(3, 0)
    ours_random = rb_hparams.random_hparams("RoGA", "SynthFFLOMO", seed)
    db_random = registry.random_hparams("RoGA", "SynthFFLOMO", seed)
    assert {k: db_random[k] for k in ours_random} == ours_random
    assert ours_random["rho"] != ours["rho"] or ours_random["lr"] != ours["lr"]  # really drawn
    assert registry.random_hparams("RoGA", "SynthFFLOMO", seed) == db_random  # deterministic
    # our algorithm on a DomainBed dataset: our shared lr (SGD) replaces DomainBed's
    assert (
        registry.default_hparams("RoGA", "Debug28")["lr"] == rb_hparams.SHARED_HPARAMS["lr"].default
    )
    # a DomainBed algorithm on our dataset keeps DomainBed's lr, gains our dataset's keys
    irm = registry.default_hparams("IRM", "SynthFFLOMO")
    assert irm["lr"] == 5e-5 and irm["image_size"] == ours["image_size"] and "irm_lambda" in irm
    assert registry.random_hparams("IRM", "Debug28", 7) == before_irm_debug  # untouched


def test_register_is_idempotent(domainbed):
    from roga_bench.domainbed_plugin import register

    first = register()
    snapshot = (
        list(domainbed.algorithms.ALGORITHMS),
        list(domainbed.datasets.DATASETS),
        domainbed.hparams_registry._hparams,
        domainbed.datasets.SynthFFLOMO,
    )
    assert register() == first
    assert snapshot == (
        domainbed.algorithms.ALGORITHMS,
        domainbed.datasets.DATASETS,
        domainbed.hparams_registry._hparams,
        domainbed.datasets.SynthFFLOMO,
    )


def test_sweep_commands_are_rerouted(domainbed, capsys):
    from domainbed import command_launchers

    from roga_bench.domainbed_plugin import _route_sweep_jobs

    _route_sweep_jobs()
    _route_sweep_jobs()  # idempotent too
    command_launchers.REGISTRY["dummy"](["python -m domainbed.scripts.train --algorithm RoGA"])
    out = capsys.readouterr().out
    assert "-m roga_bench.domainbed_train --algorithm RoGA" in out
    assert out.count("roga_bench.domainbed_train") == 1


def _video_ids(ds, i: int, split) -> set[str]:
    """Video ids of what DomainBed's split returned: our split, or a random _SplitDataset."""
    if hasattr(split, "keys"):  # DomainBed's _SplitDataset over ds[i]
        names = "test" if i in ds.test_envs else "train"
        return {ds.video_ids(i, names)[k] for k in split.keys}
    return set(split.video_ids)


def test_domainbeds_split_gives_our_official_video_splits(domainbed, tiny_synthff):
    """Issue 11.6: DomainBed's train.py split frames at random, one video in both in and out."""
    from domainbed.lib import misc

    from roga_bench.domainbed_plugin import register

    register()
    hparams = domainbed.hparams_registry.default_hparams("RoGA", "SynthFFLOMO")
    hparams.update(image_size=32)
    ds = domainbed.datasets.get_dataset_class("SynthFFLOMO")(tiny_synthff, [0], hparams)
    for env_i, env in enumerate(ds):  # exactly the calls DomainBed's train.py makes
        out, in_ = misc.split_dataset(env, int(len(env) * 0.2), misc.seed_hash(0, env_i))
        if env_i in ds.test_envs:
            _, in_ = misc.split_dataset(in_, int(len(in_) * 0), misc.seed_hash(0, env_i))
        out_ids, in_ids = _video_ids(ds, env_i, out), _video_ids(ds, env_i, in_)
        assert out_ids and in_ids and not out_ids & in_ids, env_i
        assert out_ids == set(ds.video_ids(env_i, "val"))
        assert in_ids == set(ds.video_ids(env_i, "test" if env_i == 0 else "train"))
    assert env_i == 3  # the loop ended at the fourth env (IndexError past the end)
    # anything else is still split by DomainBed's own function
    other, rest = misc.split_dataset(list(range(10)), 3, seed=1)
    assert len(other) == 3 and len(rest) == 7 and set(other.keys) | set(rest.keys) == set(range(10))


def test_collect_results_reads_our_run_folders(domainbed, tmp_path, capsys):
    """DomainBed's collect_results (the stand-in's, same selection code) on a roga_bench run."""
    import runpy

    from test_training_standins import ALGORITHM, DATASET

    from roga_bench.domainbed_plugin import register
    from roga_bench.training import TrainConfig, read_records, train

    args = dict(dataset=DATASET, algorithm=ALGORITHM, test_envs=[1], device="cpu")
    args.update(hparams='{"lr": 0.01}', checkpoint_freq=2, output_dir=str(tmp_path / "run0"))
    records = read_records(train(TrainConfig.from_args(args)) / "results.jsonl")
    register()
    argv = sys.argv
    sys.argv = ["collect_results", "--input_dir", str(tmp_path)]
    try:
        runpy.run_module("domainbed.scripts.collect_results", run_name="__main__")
    finally:
        sys.argv = argv
    out = capsys.readouterr().out
    assert f"Total records: {len(records)}" in out
    iid = max(records, key=lambda r: (r["env0_out_acc"] + r["env2_out_acc"]) / 2)
    oracle = records[-1]
    for name, rec in [("training-domain", iid), ("oracle", oracle)]:
        block = out.split(name, 1)[1].split("--------")[0]
        assert f"{100 * rec['env1_in_acc']:.1f} +/- 0.0" in block, (name, block)
        assert ALGORITHM in block and "A  " in block  # our env names as DomainBed's columns


@pytest.mark.slow
def test_domainbed_train_runs_our_algorithm(tmp_path, tiny_synthff):
    out = tmp_path / "run"
    hparams = json.dumps({"batch_size": 4, "image_size": 32})
    cmd = [sys.executable, "-m", "roga_bench.domainbed_train", "--data_dir", str(tiny_synthff)]
    cmd += ["--dataset", "SynthFFLOMO", "--algorithm", "RoGA", "--test_envs", "0", "--steps", "1"]
    cmd += ["--output_dir", str(out), "--hparams", hparams]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(FAKE), os.environ.get("PYTHONPATH", "")]),
    }
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "done").exists()
    record = json.loads((out / "results.jsonl").read_text())
    assert record["hparams"]["rho"] == rb_hparams.default_hparams("RoGA", "SynthFFLOMO")["rho"]
    assert record["hparams"]["class_balanced"] is False and record["args"]["algorithm"] == "RoGA"
    assert record["loss"] > 0
    assert {f"env{i}_{s}_acc" for i in range(4) for s in ("in", "out")} <= set(record)


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["LookSAM", "RoGA_Look"])
def test_domainbed_train_runs_the_cheap_sharpness_algorithms(tmp_path, tiny_synthff, algorithm):
    """Three steps at k = 2 through DomainBed's train.py: full, reuse, full."""
    out = tmp_path / "run"
    hparams = json.dumps({"batch_size": 4, "image_size": 32, "k": 2})
    cmd = [sys.executable, "-m", "roga_bench.domainbed_train", "--data_dir", str(tiny_synthff)]
    cmd += ["--dataset", "SynthFFLOMO", "--algorithm", algorithm, "--test_envs", "0"]
    cmd += ["--steps", "3", "--output_dir", str(out), "--hparams", hparams]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(FAKE), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((out / "results.jsonl").read_text())
    assert record["args"]["algorithm"] == algorithm and record["hparams"]["k"] == 2
    assert record["look_full"] == 1.0  # the last step (t = 2) is a full step
    assert record["loss"] > 0


def test_domainbed_train_without_domainbed_exits_with_hint(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cmd = [sys.executable, "-m", "roga_bench.domainbed_train", "--algorithm", "RoGA"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode != 0
    assert "not on PyPI" in proc.stderr and "PYTHONPATH" in proc.stderr


@pytest.mark.slow
def test_domainbed_sweep_through_the_plugin_runs_our_train(tmp_path):
    cmd = [sys.executable, "-m", "roga_bench.domainbed_plugin", "sweep", "launch"]
    cmd += ["--algorithms", "RoGA", "--datasets", "SynthFFLOMO", "--output_dir", str(tmp_path)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(FAKE), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        cmd + ["--command_launcher", "dummy"], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [x for x in proc.stdout.splitlines() if x.startswith("Dummy launcher: ")]
    assert len(lines) == 4  # SynthFFLOMO's four environments, found through domainbed.datasets
    assert all("-m roga_bench.domainbed_train --algorithm RoGA" in x for x in lines)
