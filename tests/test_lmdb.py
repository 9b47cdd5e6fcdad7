"""DeepfakeBench's LMDB databases (hparam ``lmdb_dir``): written here in its key format (Linux and
Windows separators; landmarks int64 and uint32), read equal to the folders, several databases
in one run, through the frame cache, the memo, a pickled split and ``datasets check``."""

from __future__ import annotations

import json
import pickle
import shutil
import sys
from pathlib import Path

import lmdb  # in the `test` extra (pip install -e '.[test]'): never skipped
import numpy as np
import pytest

from roga_bench.datasets import (
    DatasetError,
    FFppCrossDataset,
    landmark_path,
    read_landmarks,
    split_masks,
)
from roga_bench.datasets.__main__ import main as datasets_main
from roga_bench.datasets.frame_cache import build_cache, open_frame_cache
from roga_bench.datasets.frame_memo import DecodedFrameMemo
from roga_bench.datasets.testing import write_deepfakebench_lmdb, write_tree

HP = {"image_size": 16, "frames_per_video": 2, "backbone": "small_cnn", "memory_cache_mb": 0}


def _landmarks(data_dir: Path) -> dict[Path, np.ndarray]:
    """A landmark .npy beside some frames (DeepfakeBench's landmarks/ folder), int64 for real
    videos (preprocess.py on Linux), uint32 for fakes (what its LMDB reader assumes)."""
    written = {}
    frames = sorted(data_dir.glob("FaceForensics++/**/frames/*/000.png"))
    for i, frame in enumerate(frames[:3] + frames[-3:]):  # manipulated ... original
        dtype = np.int64 if "original_sequences" in str(frame) else np.uint32
        points = (np.arange(162).reshape(81, 2) * (i + 1) % 251).astype(dtype)
        path = landmark_path(frame)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, points)
        written[path] = points
    assert {v.dtype for v in written.values()} == {np.dtype(np.int64), np.dtype(np.uint32)}
    return written


@pytest.fixture(scope="module", params=["/", "\\"], ids=["linux_keys", "windows_keys"])
def trees(request, tmp_path_factory) -> tuple[Path, Path, Path, dict]:
    """(folders, LMDB-only copy with the index, lmdb_dir, landmarks) of one tree."""
    root = tmp_path_factory.mktemp("dfb")
    rgb = write_tree(
        root / "rgb", frames=3, compressions=("c23",), targets=("CDF-v2", "UADFV"), masks=True
    )
    marks = _landmarks(rgb)
    lmdb_dir = root / "lmdb"
    for dataset in ("FaceForensics++", "Celeb-DF-v2", "UADFV"):
        write_deepfakebench_lmdb(rgb, dataset, lmdb_dir, separator=request.param)
    json_only = root / "json_only"  # no frame folders: only the LMDB can serve the frames
    shutil.copytree(rgb / "dataset_json", json_only / "dataset_json")
    return rgb, json_only, lmdb_dir, marks


def _lmdb_hp(json_only: Path, lmdb_dir: Path) -> dict:
    return {**HP, "lmdb_dir": str(lmdb_dir), "json_dir": str(json_only / "dataset_json")}


def test_lmdb_frames_and_masks_equal_the_folders_bit_for_bit(trees) -> None:
    rgb, json_only, lmdb_dir, _ = trees
    folders = FFppCrossDataset(rgb, [4, 5], HP)
    # FF++, Celeb-DF-v2 and UADFV from three databases in one run (DeepfakeBench cannot)
    from_lmdb = FFppCrossDataset(None, [4, 5], _lmdb_hp(json_only, lmdb_dir))
    assert from_lmdb.ENVIRONMENTS == folders.ENVIRONMENTS == ["DF", "F2F", "FS", "NT", "CDF-v2",
                                                              "UADFV"]  # fmt: skip
    n = 0
    for i in range(len(folders)):
        for split in ("train", "val", "test"):
            a, b = folders.split(i, split), from_lmdb.split(i, split)
            assert a.video_ids == b.video_ids and a.labels == b.labels
            assert all(str(p).startswith(str(lmdb_dir)) and "_lmdb" in str(p) for p in b.paths)
            for k in range(len(a)):
                fa, fb = a.frame(k), b.frame(k)
                assert fa.dtype == fb.dtype and np.array_equal(fa, fb)
                n += 1
    assert n == 160  # every frame of every split compared
    assert len({from_lmdb.split(4, "test").paths[0], from_lmdb.split(5, "test").paths[0]}) == 2
    for env in range(4):  # manipulation masks come from the LMDB too
        np.testing.assert_array_equal(
            split_masks(folders, env, "test"), split_masks(from_lmdb, env, "test")
        )
        assert split_masks(from_lmdb, env, "test").max() > 0


def test_landmarks_int64_and_uint32_read_equal_to_the_npy_files(trees) -> None:
    rgb, _, lmdb_dir, marks = trees
    from roga_bench.datasets._lmdb import register_lmdb_dir

    root = register_lmdb_dir(lmdb_dir)
    for path, points in marks.items():
        rel = path.relative_to(rgb / "FaceForensics++")
        in_lmdb = Path(root, "FaceForensics++_lmdb", rel)
        got = read_landmarks(in_lmdb)
        assert got is not None and got.shape == (81, 2)
        np.testing.assert_array_equal(got, points.astype(np.int64))
        np.testing.assert_array_equal(read_landmarks(path), got)
    bad = Path(root, "FaceForensics++_lmdb", "nothing", "landmarks", "x", "000.npy")
    assert read_landmarks(bad) is None


def test_landmark_bytes_of_another_length_are_refused() -> None:
    from roga_bench.datasets._lmdb import decode_landmarks

    with pytest.raises(DatasetError, match=r"k\.npy: landmark entry of 100 bytes; expected 648"):
        decode_landmarks(b"\0" * 100, "k.npy")


def test_lmdb_split_survives_pickling_into_a_fresh_process_state(trees) -> None:
    _, json_only, lmdb_dir, _ = trees
    from roga_bench.datasets import _lmdb

    ds = FFppCrossDataset(None, [4, 5], _lmdb_hp(json_only, lmdb_dir))
    part = ds.split(0, "train")
    want = part.frame(3)
    part.transform = None  # a local function (not picklable); frames are what is checked
    blob = pickle.dumps(part)
    roots = set(_lmdb._ROOTS)
    _lmdb._ROOTS.clear()  # a process where no dataset registered the folder
    try:
        with pytest.raises(DatasetError, match="cannot decode image"):
            part.frame(3)  # not registered: read as a file, which does not exist
        again = pickle.loads(blob)  # registers it again
        assert np.array_equal(again.frame(3), want)
    finally:
        _lmdb._ROOTS.update(roots)


def test_frame_cache_and_memo_read_lmdb_frames(trees, tmp_path) -> None:
    _, json_only, lmdb_dir, _ = trees
    ds = FFppCrossDataset(None, [4, 5], _lmdb_hp(json_only, lmdb_dir))
    part = ds.split(4, "test")
    build_cache({"test": part.paths}, 16, tmp_path / "cache", progress=False)
    cache = open_frame_cache(tmp_path / "cache", part.paths, 16)
    assert all(np.array_equal(cache[i], part.frame(i)) for i in range(len(part)))
    from roga_bench.datasets._frames import decode_and_resize

    memo = DecodedFrameMemo(decode_and_resize, max_mb=8)
    first = memo(part.paths[0], 16)
    assert np.array_equal(memo(part.paths[0], 16), first) and (memo.hits, memo.misses) == (1, 1)


def test_missing_lmdb_package_is_one_line(trees, monkeypatch) -> None:
    _, json_only, lmdb_dir, _ = trees
    monkeypatch.setitem(sys.modules, "lmdb", None)  # import lmdb -> ImportError
    with pytest.raises(DatasetError) as info:
        FFppCrossDataset(None, [4, 5], _lmdb_hp(json_only, lmdb_dir))
    message = str(info.value)
    assert "\n" not in message and "lmdb_dir needs the lmdb package" in message
    assert "pip install 'roga_bench[lmdb]'" in message


def test_check_on_lmdb_lists_every_missing_and_undecodable_entry(trees, tmp_path, capsys) -> None:
    _, json_only, lmdb_dir, _ = trees
    copy = tmp_path / "lmdb"
    shutil.copytree(lmdb_dir, copy)
    env = lmdb.open(str(copy / "FaceForensics++_lmdb"))
    with env.begin(write=True) as txn:
        keys = [bytes(k) for k in txn.cursor().iternext(keys=True, values=False)]
        frames = sorted(k for k in keys if b"manipulated_sequences" in k and k.endswith(b".png")
                        and b"frames" in k)  # fmt: skip
        gone, broken = frames[:2], frames[10:13]
        for k in gone:
            txn.delete(k)
        for k in broken:
            txn.put(k, b"not a png")
    env.close()
    hp = {"lmdb_dir": str(copy), "json_dir": str(json_only / "dataset_json")}
    argv = ["check", "--dataset", "FFppLOMO", "--hparams", json.dumps(hp), "--all_frames"]
    assert datasets_main(argv) == 1
    out = capsys.readouterr().out
    missing = [line for line in out.splitlines() if line.startswith("missing frame:")]
    bad = [line for line in out.splitlines() if line.startswith("bad frame:")]
    assert len(missing) == 2 and len(bad) == 3
    assert "3 bad, 2 missing" in out
    assert all("FaceForensics++_lmdb" in line for line in missing + bad)


def test_forked_loader_workers_read_the_lmdb(trees) -> None:
    import torch

    _, json_only, lmdb_dir, _ = trees
    ds = FFppCrossDataset(None, [4, 5], _lmdb_hp(json_only, lmdb_dir))
    part = ds.split(1, "val")  # no augmentation: equal item by item
    ctx = torch.multiprocessing.get_context("fork")
    loader = torch.utils.data.DataLoader(
        part, batch_size=len(part), num_workers=2, multiprocessing_context=ctx
    )
    (x, y), *_ = list(loader) + [None]
    want = torch.stack([part[i][0] for i in range(len(part))])
    assert torch.equal(x, want) and y.tolist() == part.labels
