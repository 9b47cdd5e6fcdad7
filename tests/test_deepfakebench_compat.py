"""Where DeepfakeBench's code reads data differently, the option to read it its way.

- frames: DeepfakeBench's loader (``abstract_dataset.py``) caps the count before computing its
  step, so with ``frame_num`` below a video's frame count it keeps the first ``frame_num`` frames
  after sorting; ``frame_sampling: first`` reproduces that, ``even`` (default) spreads them.
- masks: ``rearrange.py`` lists each fake video's masks (always the ``c23/masks`` files) under the
  entry's ``masks`` key, for every compression level; c40 frames have no ``c40/masks`` folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from roga_bench.datasets import DatasetError, FFppLOMO, read_videos
from roga_bench.datasets._masks import has_masks, split_masks
from roga_bench.datasets.testing import write_tree

FF = "FaceForensics++.json"
SMALL = {"image_size": 16, "backbone": "small_cnn"}


def _deepfakebench_loader_pick(frame_paths: list[str], frame_num: int) -> list[str]:
    """DeepfakeBench's loader sampling (image level), as its code reads."""
    total_frames = len(frame_paths)
    if frame_num < total_frames:
        total_frames = frame_num
        step = total_frames // frame_num
        frame_paths = [frame_paths[i] for i in range(0, total_frames, step)][:frame_num]
    return frame_paths


def test_frame_sampling_first_is_deepfakebench_s_loader(tmp_path: Path) -> None:
    write_tree(tmp_path, methods=(), frames=12, padded=False, counts={"train": 1})
    path = tmp_path / "dataset_json" / FF
    (every,) = read_videos(path, tmp_path, "FF-real", "train", frames_per_video=0)
    (first,) = read_videos(
        path, tmp_path, "FF-real", "train", frames_per_video=4, frame_sampling="first"
    )
    assert list(first.frames) == _deepfakebench_loader_pick(list(every.frames), 4)
    assert [Path(f).name for f in first.frames] == ["0.png", "1.png", "2.png", "3.png"]
    (even,) = read_videos(path, tmp_path, "FF-real", "train", frames_per_video=4)
    assert [Path(f).name for f in even.frames] == ["0.png", "3.png", "7.png", "11.png"]


def test_frame_sampling_hparam_reaches_the_splits(tmp_path: Path) -> None:
    write_tree(tmp_path, frames=6, compressions=("c23",), counts={"train": 2, "val": 1, "test": 1})
    hp = {**SMALL, "frames_per_video": 2}
    first = FFppLOMO(tmp_path, [0], {**hp, "frame_sampling": "first"})
    names = {Path(p).name for p in first.frame_paths(0, "train")}
    assert names == {"000.png", "001.png"}
    even = FFppLOMO(tmp_path, [0], hp)
    assert {Path(p).name for p in even.frame_paths(0, "train")} == {"000.png", "005.png"}


def test_unknown_frame_sampling_is_an_error(tmp_path: Path) -> None:
    write_tree(tmp_path, methods=(), frames=3, counts={"train": 1})
    with pytest.raises(DatasetError, match="frame_sampling must be one of"):
        read_videos(
            tmp_path / "dataset_json" / FF, tmp_path, "FF-real", "train", frame_sampling="random"
        )


@pytest.mark.parametrize("compression", ["c23", "c40"])
def test_masks_come_from_the_index_masks_key(tmp_path: Path, compression: str) -> None:
    write_tree(
        tmp_path,
        frames=3,
        compressions=("c23", "c40"),
        masks=True,
        counts={"train": 2, "val": 1, "test": 1},
    )
    assert not (tmp_path / "FaceForensics++/manipulated_sequences/Deepfakes/c40/masks").exists()
    ds = FFppLOMO(tmp_path, [0], {**SMALL, "frames_per_video": 2, "compression": compression})
    assert has_masks(ds, 0, "test")
    masks = split_masks(ds, 0, "test")
    part = ds.split(0, "test")
    labels = np.asarray(part.labels)
    assert (masks[labels == 0] == 0).all()
    fake = masks[labels == 1]
    assert len(fake) and (fake > 0).all()  # the constant grey of each video's c23 masks
    for path, m in zip(part.mask_paths, part.labels, strict=True):
        if m == 1:
            assert "/c23/masks/" in str(path).replace("\\", "/")


def test_listed_masks_without_a_file_for_a_frame_are_missing(tmp_path: Path) -> None:
    import json

    write_tree(
        tmp_path,
        frames=3,
        compressions=("c40",),
        masks=True,
        counts={"train": 2, "val": 1, "test": 1},
    )
    index = tmp_path / "dataset_json" / FF
    doc = json.loads(index.read_text())
    for video in doc["FaceForensics++"]["FF-DF"]["test"]["c40"].values():
        video["masks"] = video["masks"][:1]  # only frame 000 has a mask listed
    index.write_text(json.dumps(doc))
    ds = FFppLOMO(tmp_path, [0], {**SMALL, "frames_per_video": 0, "compression": "c40"})
    assert not has_masks(ds, 0, "test")
    with pytest.raises(DatasetError, match="no manipulation mask"):
        split_masks(ds, 0, "test")


def test_split_mask_reads_one_item_as_split_masks_does(tmp_path: Path) -> None:
    from roga_bench.datasets import split_mask

    counts = {"train": 2, "val": 1, "test": 1}
    write_tree(tmp_path, frames=3, compressions=("c40",), masks=True, counts=counts)
    ds = FFppLOMO(tmp_path, [0], {**SMALL, "frames_per_video": 2, "compression": "c40"})
    part, masks = ds.split(0, "test"), split_masks(ds, 0, "test")
    for i, label in enumerate(part.labels):
        one = split_mask(part, i, 16)
        assert (one is None) == (label == 0)
        if one is not None:
            assert np.array_equal(one, masks[i])
