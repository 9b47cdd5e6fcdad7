"""SynthFF: layout and index of CONTRACTS §C, splits, determinism, manipulations, cache, CLI."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_dilation

from roga_bench.datasets import synthff
from roga_bench.datasets.synthff import __main__ as cli
from roga_bench.datasets.synthff import _cache


def _info(root: Path) -> dict:
    return json.loads((root / "synthff_info.json").read_text())


FF_LABELS = ["FF-DF", "FF-F2F", "FF-FS", "FF-NT", "FF-real"]
TARGETS = ["SynthCDF", "SynthUADFV", "SynthDFDC"]


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _load(root: Path, name: str) -> dict:
    return json.loads((root / "dataset_json" / f"{name}.json").read_text())[name]


def _ff_videos(root: Path) -> dict[str, dict[str, dict]]:
    """label -> split -> {vid: entry}, with the c23 level checked and removed."""
    index = _load(root, "SynthFF")
    assert sorted(index) == FF_LABELS
    out = {}
    for label, splits in index.items():
        assert sorted(splits) == ["test", "train", "val"]
        assert all(list(level) == ["c23"] for level in splits.values())
        out[label] = {split: level["c23"] for split, level in splits.items()}
    return out


def test_ff_index_counts_and_frames(tiny_synthff: Path) -> None:
    tiny = _info(tiny_synthff)
    videos = _ff_videos(tiny_synthff)
    for label, splits in videos.items():
        assert sum(len(v) for v in splits.values()) == tiny["videos"], label
        for split in splits.values():
            for vid, entry in split.items():
                assert entry["label"] == label
                assert len(entry["frames"]) == tiny["frames"]
                first = entry["frames"][0]
                folder = "original_sequences\\youtube" if label == "FF-real" else "manipulated"
                assert first.startswith(f"SynthFF\\{folder}") and first.endswith(
                    f"\\{vid}\\000.png"
                )
                png = tiny_synthff / first.replace("\\", "/")
                with Image.open(png) as img:
                    assert img.size == (tiny["size"],) * 2 and img.mode == "RGB"


def test_fakes_follow_their_pair_and_splits_are_disjoint(tiny_synthff: Path) -> None:
    tiny = _info(tiny_synthff)
    videos = _ff_videos(tiny_synthff)
    split_of = {vid: s for s, vids in videos["FF-real"].items() for vid in vids}
    assert len(split_of) == tiny["videos"]  # every real video in exactly one split
    assert {s for s in split_of.values()} == {"train", "val", "test"}
    for label in FF_LABELS[:4]:
        fakes = {vid: s for s, vids in videos[label].items() for vid in vids}
        assert len(fakes) == tiny["videos"]
        for vid, split in fakes.items():
            target, source = vid.split("_")
            assert target != source
            assert split_of[target] == split_of[source] == split, (label, vid)
            assert f"{source}_{target}" in fakes  # FF++ makes both directions of a pair


@pytest.mark.parametrize("name", TARGETS)
def test_target_index_has_no_compression_level(tiny_synthff: Path, name: str) -> None:
    tiny = _info(tiny_synthff)
    index = _load(tiny_synthff, name)
    assert sorted(index) == [f"{name}_fake", f"{name}_real"]
    n_real = max(6, tiny["videos"] * 2 // 5 // 2 * 2)
    people: dict[str, set[str]] = {}
    for label, splits in index.items():
        assert sorted(splits) == ["test", "train", "val"]
        assert sum(len(v) for v in splits.values()) == n_real
        for split, vids in splits.items():
            for vid, entry in vids.items():
                assert set(entry) == {"frames", "label"} and entry["label"] == label
                assert entry["frames"][0].startswith(f"{name}\\")
                assert (tiny_synthff / entry["frames"][-1].replace("\\", "/")).is_file()
                people.setdefault(split, set()).update(vid.split("_"))
    assert not people["train"] & people["test"] and not people["train"] & people["val"]


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, tiny_synthff: Path) -> None:
    tiny = {k: v for k, v in _info(tiny_synthff).items() if k != "version"}
    again = synthff.generate(tmp_path / "again", progress=False, **tiny)
    first = _hashes(tiny_synthff)
    assert len(first) > 100 and _hashes(again) == first
    assert any("/masks/" in name for name in first)  # the masks are part of a build's bytes
    other = synthff.generate(tmp_path / "other", progress=False, **{**tiny, "seed": 1})
    second = _hashes(other)
    assert second.keys() != first.keys() or second != first
    frame = "SynthFF/original_sequences/youtube/c23/frames/000/000.png"
    assert second[frame] != first[frame]


@pytest.mark.slow
def test_workers_do_not_change_the_output(tmp_path: Path) -> None:
    kw = {"seed": 3, "videos": 6, "frames": 1, "size": 24, "progress": False}
    one = synthff.generate(tmp_path / "one", workers=1, **kw)
    two = synthff.generate(tmp_path / "two", workers=2, **kw)
    assert _hashes(one) == _hashes(two)


@pytest.mark.parametrize("method", synthff.METHODS)
def test_manipulation_changes_the_face_only(method: str) -> None:
    ex = synthff.render_example(method, seed=0, frames=2, size=64)
    assert ex.real.shape == ex.fake.shape == (2, 64, 64, 3) and ex.mask.shape == (2, 64, 64)
    diff = np.abs(ex.real.astype(float) - ex.fake.astype(float)).mean(-1)
    inside = ex.mask > 0.5
    # JPEG's 8x8 blocks spread a change a few pixels beyond the blend weight: keep clear of them.
    far = ~np.stack([binary_dilation(m > 0.01, iterations=8) for m in ex.mask])
    assert inside.mean() > 0.01 and far.mean() > 0.05
    floor = diff[far].mean()  # what compression alone leaves between source and fake
    assert floor < 0.6, "manipulation leaked outside the face"
    assert diff[inside].mean() > max(3.0, 8 * floor), "manipulation below the noise floor"


def test_render_example_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="FH"):
        synthff.render_example("FH")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"videos": 7}, "videos"),
        ({"frames": 0}, "frames"),
        ({"size": 8}, "size"),
        ({"seed": -1}, "seed"),
    ],
)
def test_generate_rejects_bad_arguments(tmp_path: Path, kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        synthff.generate(tmp_path, **kwargs)


def test_ensure_synthff_uses_env_cache_and_reuses(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ROGA_BENCH_DATA", str(tmp_path / "cache"))
    calls = []
    real_generate = _cache.generate

    def counting(*args, **kwargs):
        calls.append(args)
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(_cache, "generate", counting)
    kw = {"videos": 6, "frames": 1, "size": 16}
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(synthff.ensure_synthff(seed=4, **kw)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    path = synthff.ensure_synthff(seed=4, **kw)
    assert len(calls) == 1  # two concurrent callers and a later one: one build
    assert results == [path, path]
    assert path.parent == tmp_path / "cache"
    assert path.name == f"synthff-{synthff.SYNTHFF_VERSION}-4-frames1-size16-videos6"
    assert (path / "dataset_json" / "SynthFF.json").is_file()
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(".lock")) == [
        path.name
    ]  # no temp folder left behind


def test_ensure_synthff_default_name(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROGA_BENCH_DATA", str(tmp_path))
    monkeypatch.setattr(_cache, "generate", lambda out, **kw: Path(out).mkdir(parents=True))
    path = synthff.ensure_synthff(seed=2)
    assert path == tmp_path / f"synthff-{synthff.SYNTHFF_VERSION}-2"
    monkeypatch.delenv("ROGA_BENCH_DATA")
    assert synthff.cache_root() == Path.home() / ".cache" / "roga_bench"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--out", "x", "--videos", "5"],
        ["--out", "x", "--size", "abc"],
        ["--out", "x", "--frames", "0"],
    ],
)
def test_cli_bad_input_exits_2(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as err:
        cli.main(argv)
    assert err.value.code == 2
    assert "error" in capsys.readouterr().err


def test_cli_writes_a_build(tmp_path: Path) -> None:
    argv = ["--out", str(tmp_path), "--videos", "6", "--frames", "1", "--size", "16"]
    assert cli.main(argv) == 0
    for name in ["SynthFF", *TARGETS]:
        assert (tmp_path / "dataset_json" / f"{name}.json").is_file()
    info = json.loads((tmp_path / "synthff_info.json").read_text())
    assert info == {
        "frames": 1,
        "seed": 0,
        "size": 16,
        "version": synthff.SYNTHFF_VERSION,
        "videos": 6,
    }
