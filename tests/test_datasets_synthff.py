"""SynthFF environment classes on the shared ``tiny_synthff`` build (tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from roga_bench.datasets import SynthFFCrossDataset, SynthFFLOMO, get_dataset_class


def _index_videos(data_dir: Path, name: str) -> dict[tuple[str, str], int]:
    """(label, split) -> number of videos, read straight from the JSON."""
    doc = json.loads((data_dir / "dataset_json" / f"{name}.json").read_text())[name]
    out = {}
    for label, block in doc.items():
        for split, videos in block.items():
            videos = videos.get("c23", videos)
            out[(label, split)] = len(videos)
    return out


def test_lomo_matches_the_index(tiny_synthff: Path) -> None:
    ds = SynthFFLOMO(tiny_synthff, [2], {})
    assert ds.ENVIRONMENTS == ["DF", "F2F", "FS", "NT"] and ds.input_shape == (3, 64, 64)
    counts = _index_videos(tiny_synthff, "SynthFF")
    for i, env in enumerate(ds.ENVIRONMENTS):
        for split in ("train", "val", "test"):
            ids = ds.video_ids(i, split)
            expected = counts[("FF-real", split)] + counts[(f"FF-{env}", split)]
            assert len(set(ids)) == expected
            assert len(ids) == 2 * expected  # 2 frames per video in the tiny build
            assert {v.split("/")[0] for v in ids} == {"FF-real", f"FF-{env}"}
    assert ds[2] is ds.split(2, "test") and ds[0] is ds.split(0, "train")


def test_cross_dataset_has_every_target(tiny_synthff: Path) -> None:
    ds = SynthFFCrossDataset(tiny_synthff, [4, 5, 6], {"image_size": 32})
    assert ds.ENVIRONMENTS == SynthFFCrossDataset.ENVIRONMENTS
    assert ds.ENVIRONMENTS[4:] == ["SynthCDF", "SynthUADFV", "SynthDFDC"]
    for i, target in enumerate(ds.ENVIRONMENTS[4:], start=4):
        labels = {v.split("/")[0] for v in ds.video_ids(i, "test")}
        assert labels == {f"{target}_real", f"{target}_fake"}
        x, y = ds[i][0]
        assert x.shape == (3, 32, 32) and y in (0, 1)


def test_training_loader_batches_are_reproducible(tiny_synthff: Path) -> None:
    ds = SynthFFLOMO(tiny_synthff, [0], {"image_size": 32, "data_augmentation": True})
    batches = []
    for _ in range(2):
        torch.manual_seed(0)
        loader = DataLoader(ds[1], batch_size=8, shuffle=True, num_workers=0)
        batches.append(next(iter(loader)))
    assert batches[0][0].shape == (8, 3, 32, 32) and batches[0][0].dtype == torch.float32
    assert torch.equal(batches[0][0], batches[1][0]) and torch.equal(batches[0][1], batches[1][1])
    assert set(batches[0][1].tolist()) <= {0, 1}


def test_synthff_defaults_and_missing_data_dir_uses_ensure(
    tiny_synthff: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import roga_bench.datasets.synthff as synthff

    calls = []
    monkeypatch.setattr(synthff, "ensure_synthff", lambda *a, **k: calls.append(1) or tiny_synthff)
    ds = get_dataset_class("SynthFFLOMO")("", [0], {})
    assert calls == [1] and ds.data_dir == tiny_synthff
    assert SynthFFLOMO.N_STEPS == 240 and SynthFFLOMO.CHECKPOINT_FREQ == 80
    assert (ds.hparams["batch_size"], ds.hparams["frames_per_video"]) == (16, 8)
    assert ds.hparams["backbone"] == "small_cnn"
