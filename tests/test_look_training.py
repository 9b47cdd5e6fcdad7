"""LookSAM and RoGA_Look through the training loop: records, and a crash mid-cycle that resumes
from the checkpoint (optimizer state with the cycle's position, loaded weights_only) to the same
records as an uninterrupted run."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_training import comparable, config

from roga_bench.algorithms import get_algorithm_class
from roga_bench.training import read_records, train

HP = {"backbone": "small_cnn", "image_size": 8, "k": 3, "pretrained": ""}


@pytest.mark.parametrize("name", ["LookSAM", "RoGA_Look"])
def test_look_algorithm_trains_and_resumes_mid_cycle(name, tmp_path: Path, monkeypatch) -> None:
    full_dir = train(config(tmp_path, "full", algorithm=name, hparams=HP))
    full = read_records(full_dir / "results.jsonl")
    assert [r["step"] for r in full] == [0, 3, 6]
    # step 0 alone: a full step; steps 1-3: reuse, reuse, full; steps 4-6: reuse, reuse, full
    assert [r["look_full"] for r in full] == pytest.approx([1.0, 1 / 3, 1 / 3])
    assert all(r["step_time"] > 0 for r in full)

    cls = get_algorithm_class(name)
    original, calls = cls.update, {"n": 0}

    def crashing(self, minibatches, unlabeled=None):
        calls["n"] += 1
        if calls["n"] == 6:  # step 5: after the step-3 checkpoint, mid-cycle (t = 5, k = 3)
            raise RuntimeError("simulated crash")
        return original(self, minibatches, unlabeled)

    monkeypatch.setattr(cls, "update", crashing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(config(tmp_path, "resumed", algorithm=name, hparams=HP))
    monkeypatch.setattr(cls, "update", original)
    out = train(config(tmp_path, "resumed", algorithm=name, hparams=HP))
    assert "starting after step 3" in (out / "out.txt").read_text()
    assert comparable(read_records(out / "results.jsonl")) == comparable(full)
