"""The DomainBed plugin against a real DomainBed checkout (opt-in: DomainBed is not on PyPI).

    ROGA_BENCH_DOMAINBED=/path/to/DomainBed pytest tests/test_domainbed_real.py

The variable names a checkout (the folder holding ``domainbed/``); DomainBed's own requirements
(``wilds``, ``timm``...) must be importable. Without the variable every test here is skipped with
that reason; with it they must pass. The offline stand-in of the other plugin tests lives in
tests/fake_domainbed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = os.environ.get("ROGA_BENCH_DOMAINBED", "")
pytestmark = pytest.mark.skipif(
    not CHECKOUT, reason="opt-in: set ROGA_BENCH_DOMAINBED=/path/to/DomainBed (a checkout)"
)


def _drop_domainbed() -> None:
    for name in [m for m in sys.modules if m == "domainbed" or m.startswith("domainbed.")]:
        del sys.modules[name]


@pytest.fixture
def domainbed(monkeypatch):
    root = Path(CHECKOUT).expanduser()
    if not (root / "domainbed" / "scripts" / "train.py").is_file():
        pytest.fail(f"ROGA_BENCH_DOMAINBED={CHECKOUT}: no domainbed/scripts/train.py there")
    _drop_domainbed()
    monkeypatch.syspath_prepend(str(root))
    import domainbed.algorithms
    import domainbed.datasets
    import domainbed.hparams_registry

    assert Path(domainbed.__file__).resolve().is_relative_to(root.resolve())
    yield domainbed
    _drop_domainbed()


def _env() -> dict[str, str]:
    path = [str(Path(CHECKOUT).expanduser()), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path), "OMP_NUM_THREADS": "1"}


def test_registered_into_real_domainbed(domainbed):
    from roga_bench.algorithms import get_algorithm_class
    from roga_bench.domainbed_plugin import register

    register()
    assert domainbed.algorithms.get_algorithm_class("RoGA") is get_algorithm_class("RoGA")
    assert domainbed.algorithms.get_algorithm_class("ERM").__module__ == "domainbed.algorithms"
    assert domainbed.datasets.num_environments("SynthFFLOMO") == 4
    hp = domainbed.hparams_registry.default_hparams("RoGA", "SynthFFLOMO")
    assert hp["rho"] == 0.1 and "class_balanced" in hp  # ours plus DomainBed's own keys
    seeded = domainbed.hparams_registry.random_hparams("RoGA", "SynthFFLOMO", 5)
    assert seeded == domainbed.hparams_registry.random_hparams("RoGA", "SynthFFLOMO", 5)


def test_real_split_dataset_gives_official_video_splits(domainbed, tiny_synthff):
    from domainbed.lib import misc

    from roga_bench.domainbed_plugin import register

    register()
    hparams = domainbed.hparams_registry.default_hparams("RoGA", "SynthFFLOMO")
    hparams.update(image_size=32)
    ds = domainbed.datasets.get_dataset_class("SynthFFLOMO")(tiny_synthff, [1], hparams)
    for env_i, env in enumerate(ds):
        out, in_ = misc.split_dataset(env, int(len(env) * 0.2), misc.seed_hash(0, env_i))
        assert out is ds.split(env_i, "val")
        assert in_ is ds.split(env_i, "test" if env_i == 1 else "train")
        assert not set(out.video_ids) & set(in_.video_ids)


@pytest.mark.slow
def test_real_train_and_collect_results_on_our_dataset(tmp_path, tiny_synthff):
    sweep = tmp_path / "sweep"
    hparams = json.dumps({"batch_size": 4, "image_size": 32})
    cmd = [sys.executable, "-m", "roga_bench.domainbed_train", "--data_dir", str(tiny_synthff)]
    cmd += ["--dataset", "SynthFFLOMO", "--algorithm", "RoGA", "--test_envs", "0"]
    cmd += ["--steps", "2", "--checkpoint_freq", "1", "--hparams", hparams]
    cmd += ["--output_dir", str(sweep / "run0"), "--skip_model_save"]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(x) for x in (sweep / "run0" / "results.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 1] and (sweep / "run0" / "done").exists()
    assert {f"env{i}_{s}_acc" for i in range(4) for s in ("in", "out")} <= set(records[-1])
    assert records[-1]["hparams"]["rho"] == 0.1 and records[-1]["loss"] > 0
    cmd = [sys.executable, "-m", "roga_bench.domainbed_plugin", "collect_results"]
    proc = subprocess.run(
        [*cmd, "--input_dir", str(sweep)], env=_env(), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    oracle = proc.stdout.split("test-domain validation set (oracle)", 1)[1]
    assert "RoGA" in oracle and f"{100 * records[-1]['env0_in_acc']:.1f} +/- 0.0" in oracle
