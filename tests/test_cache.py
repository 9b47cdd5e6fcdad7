"""Decoded-frame cache: byte-identical to decode + resize, refuses stale caches, CLI."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from roga_bench.datasets._frames import decode_and_resize
from roga_bench.datasets.cache import main
from roga_bench.datasets.frame_cache import StaleCacheError, build_cache, open_frame_cache

SIZE = 24


@pytest.fixture()
def frames(tmp_path: Path) -> list[Path]:
    """Six small PNGs of different sizes (so resizing really happens)."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(6):
        side = 30 + 7 * i
        p = tmp_path / "src" / f"v{i // 3}" / f"{i:03d}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (side, side + 3, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def _build(frames: list[Path], out: Path) -> Path:
    return build_cache({"train": frames[:4], "test": frames[4:]}, SIZE, out, progress=False)


def test_cache_is_byte_identical_to_decoding(frames: list[Path], tmp_path: Path) -> None:
    cache_dir = _build(frames, tmp_path / "cache")
    order = [frames[5], frames[0], frames[3], frames[0]]  # across splits, repeated, shuffled
    cache = open_frame_cache(cache_dir, order, SIZE)
    assert len(cache) == 4
    for i, p in enumerate(order):
        expected = decode_and_resize(p, SIZE)
        got = cache[i]
        assert got.dtype == np.uint8 and got.shape == (SIZE, SIZE, 3)
        assert np.array_equal(got, expected), p
    assert not np.array_equal(cache[0], cache[1])  # distinct frames really differ
    clone = pickle.loads(pickle.dumps(cache))  # DataLoader workers
    assert np.array_equal(clone[2], cache[2])


def test_stale_source_refused(frames: list[Path], tmp_path: Path) -> None:
    cache_dir = _build(frames, tmp_path / "cache")
    st = os.stat(frames[2])
    os.utime(frames[2], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    open_frame_cache(cache_dir, frames[:2], SIZE)  # untouched frames still fine
    with pytest.raises(StaleCacheError, match=f"{frames[2].name}.*changed"):
        open_frame_cache(cache_dir, frames, SIZE)


def test_missing_path_and_size_refused(frames: list[Path], tmp_path: Path) -> None:
    cache_dir = build_cache({"train": frames[:3]}, SIZE, tmp_path / "cache", progress=False)
    with pytest.raises(StaleCacheError, match=f"{frames[3].name}.*not in the cache"):
        open_frame_cache(cache_dir, frames, SIZE)
    with pytest.raises(StaleCacheError, match="image_size 24, requested 32"):
        open_frame_cache(cache_dir, frames[:3], 32)
    with pytest.raises(StaleCacheError, match="no frame-cache index"):
        open_frame_cache(tmp_path, frames[:3], SIZE)


def test_rebuild_replaces_array_atomically(frames: list[Path], tmp_path: Path) -> None:
    cache_dir = _build(frames, tmp_path / "cache")
    _build(frames, cache_dir)
    names = sorted(p.name for p in cache_dir.iterdir())
    assert len([n for n in names if n.endswith(".npy")]) == 2, names  # old arrays removed
    assert not [n for n in names if n.endswith(".tmp")], names


def test_cli_on_tiny_synthff(tiny_synthff: Path, tmp_path: Path) -> None:
    from roga_bench.datasets.cache import dataset_split_paths

    out = tmp_path / "cache"
    assert (
        main(
            [
                "--data_dir",
                str(tiny_synthff),
                "--dataset",
                "SynthFFLOMO",
                "--image_size",
                "32",
                "--splits",
                "train",
                "val",
                "--out",
                str(out),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    paths = dataset_split_paths(str(tiny_synthff), "SynthFFLOMO", 32, ["val"], {})["val"]
    assert paths
    cache = open_frame_cache(out, paths, 32)
    assert np.array_equal(cache[len(paths) - 1], decode_and_resize(paths[-1], 32))


def test_cli_rejects_bad_input() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--dataset", "SynthFFLOMO", "--image_size", "2", "--out", "x"])
    assert exc.value.code != 0


def test_cli_unknown_dataset_exits_nonzero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--dataset", "NoSuchSet", "--image_size", "32", "--out", str(tmp_path)]) == 2
    assert "NoSuchSet" in capsys.readouterr().err
