"""SynthFF v3: per-frame manipulation masks (issue 10 item 4) and the target sizes (issue 9 §3)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from roga_bench.datasets import DatasetError, SynthFFLOMO, load_mask, mask_path
from roga_bench.datasets._masks import has_masks, split_masks
from roga_bench.datasets.synthff import _cache, _pipeline
from roga_bench.datasets.synthff._writer import mask_image

RECIPES = {r.name: r for r in (_pipeline.SYNTHFF, *_pipeline.TARGETS)}


def _pair(recipe: _pipeline.Recipe, seed: int = 0, size: int = 64) -> list[_pipeline.Video]:
    job = _pipeline.Job(recipe, seed, (0, 1), "train", 2, size, keep_raw=True)
    return _pipeline.make_pair(job)


def _fakes_with_source(videos):
    reals = {v.vid: v for v in videos if v.masks is None}
    for v in videos:
        if v.masks is not None:
            yield v, reals[v.vid.split("_")[0]]  # fake a_b shows the frames of video a


@pytest.mark.parametrize("name", list(RECIPES))
def test_mask_covers_exactly_the_changed_pixels(name: str) -> None:
    """Before compression a fake equals its source outside the mask and differs inside it."""
    videos = _pair(RECIPES[name])
    fakes = list(_fakes_with_source(videos))
    assert len(fakes) == 2 * len(RECIPES[name].fakes)
    for fake, real in fakes:
        for t, weight in enumerate(fake.masks):
            mask = mask_image(weight)
            diff = np.abs(fake.raw[t] - real.raw[t]).max(-1)
            assert 0.02 < (mask > 0).mean() < 0.8, (fake.label, fake.vid, t)  # the face, not all
            # Outside the mask (weight < 1/510) a pixel moved by less than half a grey level.
            assert diff[mask == 0].max() <= 1 / 510 + 1e-6, (fake.label, fake.vid, t)
            # Inside, every pixel changed, and almost every strongly weighted one visibly.
            assert (diff[mask > 0] > 0).mean() > 0.95, (fake.label, fake.vid, t)
            strong = mask >= 128
            assert strong.mean() > 0.01
            assert (diff[strong] > 1 / 255).mean() > 0.9, (fake.label, fake.vid, t)


def test_reals_have_no_mask_and_raw_frames_are_the_compressed_ones() -> None:
    videos = _pair(_pipeline.SYNTHFF)
    reals = [v for v in videos if v.label == "FF-real"]
    assert len(reals) == 2 and all(v.masks is None for v in reals)
    for v in videos:  # the written frames are the raw ones after JPEG: close, not equal
        err = np.abs(v.frames[0].astype(float) / 255 - v.raw[0]).mean()
        assert 0 < err < 0.03


def test_masks_are_deterministic_per_seed() -> None:
    first = [m for v in _pair(_pipeline.TARGETS[2], size=32) if v.masks for m in v.masks]
    again = [m for v in _pair(_pipeline.TARGETS[2], size=32) if v.masks for m in v.masks]
    other = [m for v in _pair(_pipeline.TARGETS[2], seed=1, size=32) if v.masks for m in v.masks]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def _index_frames(root: Path) -> list[tuple[str, str]]:
    """(label, frame path) of every frame in every index of a build."""
    out = []
    for name in RECIPES:
        doc = json.loads((root / "dataset_json" / f"{name}.json").read_text())[name]
        for label, splits in doc.items():
            for videos in splits.values():
                for entry in videos.get("c23", videos).values():
                    out += [(label, root / f.replace("\\", "/")) for f in entry["frames"]]
    return out


def test_written_masks_sit_beside_every_fake_frame(tiny_synthff: Path) -> None:
    frames = _index_frames(tiny_synthff)
    reals = {r.real_label for r in RECIPES.values()}
    assert {lab for lab, _ in frames} - reals  # there are fakes to check
    for label, frame in frames:
        if label in reals:
            assert not mask_path(frame).exists() and load_mask(frame) is None
            continue
        assert mask_path(frame).parent.parent.name == "masks"
        with Image.open(mask_path(frame)) as img:
            assert img.mode == "L" and img.size == (32, 32)
        assert load_mask(frame).max() > 0.5, frame


def test_written_masks_equal_the_generators_weights(tiny_synthff: Path) -> None:
    info = json.loads((tiny_synthff / "synthff_info.json").read_text())
    job = _pipeline.plan(info["seed"], info["videos"], info["frames"], info["size"])[-1]
    assert job.recipe.name == "SynthDFDC"
    from roga_bench.datasets.synthff._writer import frame_dir

    for video in _pipeline.make_pair(job):
        if video.masks is None:
            continue
        folder = tiny_synthff / frame_dir(job.recipe, video.label, video.vid)
        for t, weight in enumerate(video.masks):
            written = np.asarray(Image.open(mask_path(folder / f"{t:03d}.png")))
            assert np.array_equal(written, mask_image(weight))


def test_split_masks_zeros_for_reals_masks_for_fakes(tiny_synthff: Path) -> None:
    ds = SynthFFLOMO(tiny_synthff, [0], {"image_size": 32})
    part = ds.split(3, "test")
    masks = split_masks(ds, 3, "test")
    assert masks.shape == (len(part.paths), 32, 32) and masks.dtype == np.float32
    labels = np.asarray(part.labels)
    assert set(labels.tolist()) == {0, 1} and has_masks(ds, 3, "test")
    assert not masks[labels == 0].any()
    assert (masks[labels == 1].reshape(int((labels == 1).sum()), -1).max(1) > 0.5).all()
    assert split_masks(ds, 3, "test", size=16).shape[1:] == (16, 16)


def test_split_masks_names_a_missing_mask(tiny_synthff: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(tiny_synthff, root)
    ds = SynthFFLOMO(root, [0], {"image_size": 32})
    val = ds.split(1, "val")
    fake = next(p for p, y in zip(val.paths, val.labels, strict=True) if y == 1)
    shutil.rmtree(mask_path(fake).parent)
    assert not has_masks(ds, 1, "val")
    with pytest.raises(DatasetError, match=r"F2F\) val: 2 fake frame\(s\) have no .*masks"):
        split_masks(ds, 1, "val")


def test_default_build_has_at_least_30_test_videos_per_target() -> None:
    jobs = _pipeline.plan(seed=0, videos=120, frames=1, size=16)
    for recipe in _pipeline.TARGETS:
        test_pairs = [j for j in jobs if j.recipe is recipe and j.split == "test"]
        videos = len(test_pairs) * (2 + 2 * len(recipe.fakes))  # 2 reals + a_b, b_a per label
        assert videos >= 30, (recipe.name, videos)
    ff_test = [j for j in jobs if j.recipe is _pipeline.SYNTHFF and j.split == "test"]
    assert len(ff_test) == 9  # SynthFF's own splits are as in version 2 (70/15/15 of 60 pairs)


def test_a_version_bump_builds_anew(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = []
    monkeypatch.setattr(
        _cache, "generate", lambda out, **kw: built.append(out) or Path(out).mkdir(parents=True)
    )
    monkeypatch.setattr(_cache, "SYNTHFF_VERSION", "2")
    old = _cache.ensure_synthff(seed=5, root=tmp_path)
    monkeypatch.setattr(_cache, "SYNTHFF_VERSION", "4")
    new = _cache.ensure_synthff(seed=5, root=tmp_path)
    assert old.name == "synthff-2-5" and new.name == "synthff-4-5" and len(built) == 2
    assert _cache.ensure_synthff(seed=5, root=tmp_path) == new and len(built) == 2


def test_synthcdf_native_swaps_are_not_resampled() -> None:
    """Half of SynthCDF's swap choices work at the frame's resolution (v4): the swapped face is
    the filmed donor face up to 8-bit rounding, while the bottleneck choice blurs it."""
    from roga_bench.datasets.synthff._camera import resample

    choices = RECIPES["SynthCDF"].fakes["SynthCDF_fake"]
    assert [params["ae"] for _, params in choices] == [(1.0, 1.0), (1.0, 1.6)]
    face = _pair(RECIPES["SynthCDF"])[0].raw[0]  # any 64 px frame with detail
    ae = {"native": 1.0, "bottleneck": 1.4}
    err = {
        k: np.abs(resample(resample(face, round(64 / a)), 64) - face).max() for k, a in ae.items()
    }
    assert err["native"] <= 1 / 510 + 1e-6
    assert err["bottleneck"] > 10 / 255
