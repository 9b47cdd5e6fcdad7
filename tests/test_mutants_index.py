"""``datasets/_index.py`` (DeepfakeBench's JSON index reader) on what ``tests/test_reader.py``
left open: every error line, the index cache, the re-rooting of odd path shapes (and that the
per-folder shortcut gives exactly what the plain function gives), one directory listing per
video folder, symlinked frames, mask lists, short videos, and the LMDB branch.

Kills the mutants ``benchmarks/mutation.py index`` found alive.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import pytest

from roga_bench.datasets import DatasetError, _index
from roga_bench.datasets._errors import BadIndexError
from roga_bench.datasets._index import (
    ReadReport,
    clear_index_cache,
    index_labels,
    load_index,
    read_videos,
    resolve_frame_path,
    sample_evenly,
    sample_frames,
    sort_frames,
)
from roga_bench.datasets._labels import label_of


def _touch(root: Path, folder: str, names: list[str]) -> list[str]:
    """Frame files ``root/folder/name`` (empty: the reader only checks that they exist); their
    paths as an index lists them (relative, posix)."""
    (root / folder).mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / folder / name).write_bytes(b"")
    return [f"{folder}/{name}" for name in names]


def _write(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _doc(videos: dict, label: str = "FF-DF", split: str = "train", name: str = "X") -> dict:
    return {name: {label: {split: videos}}}


# ---------------------------------------------------------------- load_index and its cache


def test_unreadable_index_files_are_named_with_the_reason(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(BadIndexError) as info:
        load_index(missing)
    assert str(info.value) == f"{missing}: cannot read dataset index (No such file or directory)"
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(BadIndexError) as info:
        load_index(empty)
    assert str(info.value) == f"{empty}: empty file (0 bytes), not a dataset index"
    for text in ("[1]", "{}", '"x"'):
        path = _write(tmp_path / f"doc{len(text)}{text[0]}.json", json.loads(text))
        with pytest.raises(BadIndexError) as info:
            load_index(path)
        assert str(info.value) == f"{path}: expected a JSON object {{dataset: {{label: ...}}}}"
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"caf\u00e9": 1}'.encode("latin-1"))
    with pytest.raises(BadIndexError, match=r"latin\.json: cannot read dataset index \(.*utf-8"):
        load_index(latin)
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": ', encoding="utf-8")
    with pytest.raises(BadIndexError) as info:
        load_index(bad)
    assert str(info.value) == f"{bad}: malformed JSON at line 1, column 7: Expecting value"


def test_an_index_is_parsed_once_until_it_changes(tmp_path):
    path = _write(tmp_path / "X.json", {"X": {"FF-DF": {}}})
    first = load_index(path)
    assert load_index(path) is first and load_index(str(path)) is first
    assert first == {"X": {"FF-DF": {}}}
    _write(path, {"X": {"FF-DF": {}, "FF-real": {}}})  # another size: read again
    second = load_index(path)
    assert second is not first and list(second["X"]) == ["FF-DF", "FF-real"]
    clear_index_cache()
    assert load_index(path) is not second and load_index(path) == second


def test_the_cache_sees_a_new_mtime_or_a_new_size(tmp_path):
    path = _write(tmp_path / "X.json", {"X": {"A": {}}})
    assert list(load_index(path)["X"]) == ["A"]
    before = path.stat()
    _write(path, {"X": {"B": {}}})  # the same size, a later mtime
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    assert list(load_index(path)["X"]) == ["B"]
    before = path.stat()
    _write(path, {"X": {"CC": {}}})  # another size, the same mtime
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert list(load_index(path)["X"]) == ["CC"]


def test_index_of_non_utf8_name_is_read_as_utf8(tmp_path):
    path = tmp_path / "X.json"
    path.write_bytes('{"X": {"caf\u00e9": {}}}'.encode())
    assert index_labels(path) == ["caf\u00e9"]


# ---------------------------------------------------------------- the dataset block, labels


def test_the_block_is_the_key_named_like_the_file_else_the_only_key(tmp_path):
    named = _write(tmp_path / "X.json", {"Other": {"A": {}}, "X": {"FF-real": {}, "FF-DF": {}}})
    assert index_labels(named) == ["FF-real", "FF-DF"]  # the file's order
    single = _write(tmp_path / "Y.json", {"Other": {"FF-NT": {}}})
    assert index_labels(single) == ["FF-NT"]
    two = _write(tmp_path / "Z.json", {"B": {"x": {}}, "A": {"y": {}}})
    with pytest.raises(BadIndexError) as info:
        index_labels(two)
    assert (
        str(info.value) == f"{two}: expected the top-level key 'Z' or a single key, got ['A', 'B']"
    )
    for block in ({}, [1], "x"):
        path = _write(tmp_path / "W.json", {"W": block})
        with pytest.raises(BadIndexError) as info:
            index_labels(path)
        assert str(info.value) == f"{path}: ['W'] must be a non-empty object of label blocks"


# ---------------------------------------------------------------- re-rooting


@pytest.mark.parametrize(
    "raw, rel",
    [
        (
            "FaceForensics++\\original_sequences\\youtube\\c23\\frames\\000\\001.png",
            "FaceForensics++/original_sequences/youtube/c23/frames/000/001.png",
        ),
        (
            "/home/u/data/Celeb-DF-v2/Celeb-real/frames/id0/12.png",
            "Celeb-DF-v2/Celeb-real/frames/id0/12.png",
        ),
        ("./datasets/rgb/UADFV/real/frames/0/0.png", "UADFV/real/frames/0/0.png"),
        ("D:\\x\\rgb\\FaceForensics++\\a\\1.png", "FaceForensics++/a/1.png"),
        ("/x/rgb/Mine/a/1.png", "Mine/a/1.png"),  # no dataset folder: after the last rgb
        ("/x/rgb/y/rgb/a/1.png", "a/1.png"),
        ("frames/0/3.png", "frames/0/3.png"),  # relative: under data_dir as it is
        ("./frames//0/./3.png", "frames/0/3.png"),
        # DFD and FaceShifter are method folders inside FF++: cut at FaceForensics++ above them
        (
            "/d/FaceForensics++/manipulated_sequences/DeepFakeDetection/c23/frames/v/0.png",
            "FaceForensics++/manipulated_sequences/DeepFakeDetection/c23/frames/v/0.png",
        ),
        (
            "/d/FaceForensics++/original_sequences/FaceShifter/0.png",
            "FaceForensics++/original_sequences/FaceShifter/0.png",
        ),
        ("/d/DeepFakeDetection/x/0.png", "DeepFakeDetection/x/0.png"),  # the dataset itself
        ("/d/UADFV/x/DFDC/0.png", "DFDC/0.png"),  # the last dataset segment
        ("/d/UADFV/DFDC", "DFDC"),  # a dataset or rgb name as the file name
        ("/d/UADFV/x/rgb", "UADFV/x/rgb"),
        ("UADFV/x/", "UADFV/x"),
        ("UADFV/x/.", "UADFV/x"),
        # FF++'s sequence folders without FaceForensics++ above: DFD is a method, not the dataset
        (
            "manipulated_sequences/DeepFakeDetection/c23/0.png",
            "manipulated_sequences/DeepFakeDetection/c23/0.png",
        ),
        ("./datasets/rgb/0.png", "0.png"),  # the folder re-roots to data_dir itself
        ("x/y/rgb", "."),  # cut after the last rgb: data_dir itself
        ("/x/rgb", "."),
        ("/UADFV", "UADFV"),
        ("UADFV", "UADFV"),
        ("0.png", "0.png"),
        ("./0.png", "0.png"),
        ("a\\b/c\\0.png", "a/b/c/0.png"),
    ],
)
def test_frame_paths_are_re_rooted_under_data_dir(tmp_path, raw, rel):
    want = os.path.normpath(os.path.join(str(tmp_path), *rel.split("/")))
    assert str(resolve_frame_path(raw, tmp_path)) == want
    roots = _index.DATASET_ROOTS
    for data_dir in (str(tmp_path), str(tmp_path) + os.sep):
        plain = _index._reroot(raw, data_dir, roots)
        assert plain == (data_dir if rel == "." else want)  # no trailing separator
        # the per-folder shortcut gives exactly what the plain function gives, called twice
        reroot = _index._Rerooter(data_dir, roots)
        assert reroot(raw) == plain and reroot(raw) == plain


def test_a_dataset_named_by_the_index_is_a_root_only_when_given(tmp_path):
    raw = "/mnt/MyData/real/0.png"
    with pytest.raises(DatasetError) as info:
        resolve_frame_path(raw, tmp_path)
    assert str(info.value).startswith(f"frame path {raw!r} names no dataset folder (one of [")
    assert str(info.value).endswith(f"]); cannot re-root it under {tmp_path}")
    assert "'Celeb-DF-v2'" in str(info.value)
    assert resolve_frame_path(raw, tmp_path, roots=["MyData"]) == tmp_path / "MyData/real/0.png"
    with pytest.raises(DatasetError, match=r"names no dataset folder \(one of \['Other'\]\)"):
        resolve_frame_path(raw, tmp_path, roots=["Other"])
    for absolute in (
        "C:\\data\\x\\0.png",
        "d:\\x\\0.png",
        "C:/x/0.png",
        "/0.png",
        "",
        "/",
        "\\\\server\\x\\0.png",
    ):
        with pytest.raises(DatasetError, match="names no dataset folder"):
            resolve_frame_path(absolute, tmp_path)


def test_the_shortcut_re_roots_each_folder_once(tmp_path, monkeypatch):
    calls = []
    real = _index._reroot

    def counting(raw, data_dir, roots):
        calls.append(raw)
        return real(raw, data_dir, roots)

    monkeypatch.setattr(_index, "_reroot", counting)
    reroot = _index._Rerooter(str(tmp_path), _index.DATASET_ROOTS)
    folder = "UADFV/real/frames/0"
    got = [reroot(f"{folder}/{i}.png") for i in range(5)]
    assert got == [os.path.join(str(tmp_path), *folder.split("/"), f"{i}.png") for i in range(5)]
    assert calls == [folder]
    # "./0.png": the folder "." names no dataset; the whole path decides
    assert reroot("./0.png") == os.path.join(str(tmp_path), "0.png")
    assert calls == [folder, ".", "./0.png"]


# ---------------------------------------------------------------- sorting and sampling


def test_frames_sort_by_the_last_number_of_their_file_name():
    frames = ["v/10.png", "v\\2.png", "v/frame_3_1.png", "v/x.png", "v9/0.png", "a\\b\\img7.png"]
    want = ["v/x.png", "v9/0.png", "v/frame_3_1.png", "v\\2.png", "a\\b\\img7.png", "v/10.png"]
    assert sort_frames(frames) == want
    # equal numbers: by file name, whatever the folder
    assert sort_frames(["b/1.png", "a/1.jpg"]) == ["a/1.jpg", "b/1.png"]
    assert sort_frames(["z/b.png", "y/a.png"]) == ["y/a.png", "z/b.png"]
    assert sort_frames(["r/a/b.png", "r/b/a.png"]) == ["r/b/a.png", "r/a/b.png"]
    assert sort_frames(["r/q\\a.png", "r/b.png"]) == ["r/q\\a.png", "r/b.png"]
    assert sort_frames(["r\\c.png", "r/b.png"]) == ["r/b.png", "r\\c.png"]
    assert sort_frames(["v9/x.png", "v/0.png"]) == ["v9/x.png", "v/0.png"]  # the folder's 9
    assert sort_frames(["3.png", "1.png"]) == ["1.png", "3.png"]


def test_sampling_keeps_all_first_or_evenly_spread_items():
    items = list(range(10))
    assert sample_evenly(items, 0) == items and sample_evenly(items, -1) == items
    assert sample_evenly(items, 10) == items and sample_evenly(items, 11) == items
    assert sample_evenly(items, 1) == [0]
    assert sample_evenly(items, 2) == [0, 9]
    assert sample_evenly(items, 4) == [0, 3, 6, 9]
    assert sample_evenly(items, 9) == [0, 1, 2, 3, 4, 5, 6, 7, 9]
    assert sample_evenly(tuple(items), 3) == [0, 4, 9]
    assert sample_frames(items, 3) == [0, 4, 9]  # "even" by default
    assert sample_frames(items, 3, "even") == [0, 4, 9]
    assert sample_frames(items, 3, "first") == [0, 1, 2]
    assert sample_frames(items, 1, "first") == [0]
    assert sample_frames(tuple(items), 0, "first") == items
    assert sample_frames(items, -2, "first") == items
    assert sample_frames(items, 12, "first") == items
    with pytest.raises(DatasetError) as info:
        sample_frames(items, 3, "last")
    assert str(info.value) == "frame_sampling must be one of ('even', 'first'), got 'last'"


# ---------------------------------------------------------------- read_videos


def test_videos_keep_their_labels_ids_and_sampled_frames(tmp_path):
    data = tmp_path / "data"
    a = _touch(data, "FaceForensics++/m/DF/c23/frames/a", [f"{i}.png" for i in (3, 1, 2, 10)])
    b = _touch(data, "FaceForensics++/m/DF/c23/frames/b", ["5.png"])
    index = _write(
        tmp_path / "X.json",
        _doc(
            {
                "b": {"frames": b},  # no label: the block's label name
                "a": {"label": "FF-DF", "frames": a},
                7: {"label": "FF-DF", "frames": []},  # no frames: dropped
            }
        ),
    )
    videos = read_videos(index, data, "FF-DF", "train", frames_per_video=3)
    assert [v.video_id for v in videos] == ["a", "b"]
    assert [v.key for v in videos] == ["FF-DF/a", "FF-DF/b"]
    assert [v.label for v in videos] == [label_of("FF-DF", "")] * 2 == [1, 1]
    assert [v.label_name for v in videos] == ["FF-DF", "FF-DF"]
    root = data / "FaceForensics++/m/DF/c23/frames"
    assert videos[0].frames == tuple(str(root / "a" / f"{i}.png") for i in (1, 2, 10))
    assert videos[1].frames == (str(root / "b" / "5.png"),)
    assert videos[0].masks is None
    first = read_videos(index, data, "FF-DF", "train", frames_per_video=2, frame_sampling="first")
    assert first[0].frames == tuple(str(root / "a" / f"{i}.png") for i in (1, 2))
    every = read_videos(index, data, "FF-DF", "train", frames_per_video=0)
    assert len(every[0].frames) == 4


def test_a_label_given_by_the_entry_wins(tmp_path):
    frames = _touch(tmp_path, "UADFV/x/0", ["0.png"])
    index = _write(tmp_path / "X.json", _doc({"v": {"label": "FF-real", "frames": frames}}))
    (video,) = read_videos(index, tmp_path, "FF-DF", "train")
    assert video.label == label_of("FF-real", "") == 0 and video.label_name == "FF-DF"


def test_short_videos_are_counted_and_logged(tmp_path, caplog):
    frames = _touch(tmp_path, "UADFV/x/0", [f"{i}.png" for i in range(3)])
    index = _write(
        tmp_path / "X.json",
        _doc(
            {
                "v": {"frames": frames},
                "w": {"frames": frames[:1]},
                "z": {"frames": []},
                "full": {"frames": frames + frames[:1]},
            },
            label="FF-real",
        ),
    )
    report = ReadReport(short_videos=1, short_frames=2)
    with caplog.at_level(logging.INFO, logger="roga_bench.datasets._index"):
        videos = read_videos(index, tmp_path, "FF-real", "train", frames_per_video=4, report=report)
    assert [len(v.frames) for v in videos] == [4, 3, 1]  # full, v, w; z has none
    assert (report.short_videos, report.short_frames) == (1 + 2, 2 + 1 + 3)  # added to
    assert report.missing == []
    (record,) = [r for r in caplog.records if r.name == "roga_bench.datasets._index"]
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        f"{index}: ['FF-real']['train']: 2 videos list fewer than frames_per_video=4 frames; "
        "all of their frames are read"
    )
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="roga_bench.datasets._index"):
        read_videos(index, tmp_path, "FF-real", "train", frames_per_video=1)
    assert not caplog.records  # nothing short: nothing logged


def test_missing_frames_are_reported_one_line_each_and_warned_once(tmp_path):
    frames = _touch(tmp_path, "UADFV/x/0", ["0.png", "2.png"])
    listed = [*frames, "UADFV/x/0/1.png", "UADFV/x/1/0.png"]
    index = _write(
        tmp_path / "X.json", _doc({"v": {"frames": listed}, "w": {"frames": listed[3:]}})
    )
    report = ReadReport()
    with pytest.warns(UserWarning) as caught:
        videos = read_videos(
            index,
            tmp_path,
            "FF-DF",
            "train",
            frames_per_video=0,
            skip_missing_frames=True,
            report=report,
        )
    assert [str(w.message) for w in caught] == [
        f"{index}: ['FF-DF']['train']: skipped 3 missing frames"
    ]
    assert [v.video_id for v in videos] == ["v"]  # w lost its only frame: dropped
    where = f"{index}: ['FF-DF']['train']"
    assert report.missing == [  # in frame order: by the number of the file name
        f"{tmp_path / 'UADFV/x/1/0.png'}: listed in {where}['v'] but not found",
        f"{tmp_path / 'UADFV/x/0/1.png'}: listed in {where}['v'] but not found",
        f"{tmp_path / 'UADFV/x/1/0.png'}: listed in {where}['w'] but not found",
    ]
    with pytest.raises(DatasetError) as info:
        read_videos(index, tmp_path, "FF-DF", "train", frames_per_video=0)
    assert str(info.value) == (
        f"{where}['v']: frame 'UADFV/x/1/0.png' not found under data_dir (re-rooted to "
        f"{tmp_path / 'UADFV/x/1/0.png'}); check --data_dir, or set hparam skip_missing_frames=true"
    )


def test_symlinked_frames_are_found_and_broken_links_are_missing(tmp_path):
    frames = _touch(tmp_path, "UADFV/x/0", ["0.png"])
    (tmp_path / "UADFV/x/0/1.png").symlink_to(tmp_path / frames[0])
    (tmp_path / "UADFV/x/0/2.png").symlink_to(tmp_path / "nowhere.png")
    listed = [*frames, "UADFV/x/0/1.png", "UADFV/x/0/2.png"]
    index = _write(tmp_path / "X.json", _doc({"v": {"frames": listed}}))
    report = ReadReport()
    with pytest.warns(UserWarning, match="skipped 1 missing frames"):
        (video,) = read_videos(
            index,
            tmp_path,
            "FF-DF",
            "train",
            frames_per_video=0,
            skip_missing_frames=True,
            report=report,
        )
    assert [Path(f).name for f in video.frames] == ["0.png", "1.png"]
    assert len(report.missing) == 1 and "2.png: listed in" in report.missing[0]


def test_frames_are_checked_with_one_listing_per_folder_and_no_stat(tmp_path, monkeypatch):
    folders = [f"UADFV/x/{v}" for v in range(3)]
    videos = {
        str(v): {"frames": _touch(tmp_path, f, [f"{i}.png" for i in range(4)])}
        for v, f in enumerate(folders)
    }
    index = _write(tmp_path / "X.json", _doc(videos))
    scanned, stats = [], []
    real_scandir, real_exists = os.scandir, os.path.exists
    monkeypatch.setattr(os, "scandir", lambda p: scanned.append(p) or real_scandir(p))
    monkeypatch.setattr(os.path, "exists", lambda p: stats.append(p) or real_exists(p))
    out = read_videos(index, tmp_path, "FF-DF", "train", frames_per_video=0)
    assert [len(v.frames) for v in out] == [4, 4, 4]
    assert sorted(scanned) == [os.path.join(str(tmp_path), *f.split("/")) for f in folders]
    assert stats == []
    # a listing does not outlive one call: a frame added later is found
    (tmp_path / folders[0] / "9.png").write_bytes(b"")
    videos["0"]["frames"].append(f"{folders[0]}/9.png")
    _write(index, _doc(videos))
    assert len(read_videos(index, tmp_path, "FF-DF", "train", frames_per_video=0)[0].frames) == 5


def test_masks_are_matched_to_frames_by_file_name(tmp_path):
    frames = _touch(tmp_path, "FaceForensics++/m/DF/c40/frames/v", ["0.png", "1.png", "2.png"])
    masks = [
        "D:\\old\\FaceForensics++\\m\\DF\\c23\\masks\\v\\2.png",
        "FaceForensics++/m/DF/c23/masks/v/0.png",
        "FaceForensics++/m/DF/c23/masks/w/7.png",
    ]
    index = _write(tmp_path / "X.json", _doc({"v": {"frames": frames, "masks": masks}}))
    (video,) = read_videos(index, tmp_path, "FF-DF", "train", frames_per_video=0)
    root = tmp_path / "FaceForensics++/m/DF/c23/masks/v"
    assert video.masks == (str(root / "0.png"), "", str(root / "2.png"))
    (sampled,) = read_videos(index, tmp_path, "FF-DF", "train", frames_per_video=2)
    assert sampled.masks == (str(root / "0.png"), str(root / "2.png"))  # those of the frames read
    _write(index, _doc({"v": {"frames": frames, "masks": "FaceForensics++/m/x.png"}}))
    with pytest.raises(BadIndexError) as info:
        read_videos(index, tmp_path, "FF-DF", "train")
    assert str(info.value) == f"{index}: ['FF-DF']['train']['v']: 'masks' must be a list of paths"


def test_a_mask_listed_by_bare_file_name_is_under_data_dir(tmp_path):
    frames = _touch(tmp_path, "UADFV/x/v", ["0.png", "1.png"])
    index = _write(tmp_path / "X.json", _doc({"v": {"frames": frames, "masks": ["1.png"]}}))
    (video,) = read_videos(index, tmp_path, "FF-DF", "train", frames_per_video=0)
    assert video.masks == ("", str(tmp_path / "1.png"))


@pytest.mark.parametrize(
    "entry, split",
    [
        ([], "train"),
        ("x", "train"),
        ({"label": "FF-DF"}, "train"),
        ({"frames": "0.png"}, "train"),
        ({"frames": {"0": "0.png"}}, "train"),
    ],
)
def test_an_entry_without_a_frames_list_is_named(tmp_path, entry, split):
    index = _write(tmp_path / "X.json", _doc({"v": entry}, split=split))
    with pytest.raises(BadIndexError) as info:
        read_videos(index, tmp_path, "FF-DF", split)
    assert (
        str(info.value)
        == f"{index}: ['FF-DF']['{split}']['v'] must be an object with a 'frames' list"
    )


def test_malformed_blocks_are_named(tmp_path):
    index = _write(
        tmp_path / "X.json",
        {
            "X": {
                "FF-DF": ["train"],
                "FF-real": {"train": ["v"]},
                "FF-NT": {"train": {"c23": {"v": {"frames": []}}, "c40": ["v"]}},
            }
        },
    )
    where = f"{index}: "
    with pytest.raises(BadIndexError) as info:
        read_videos(index, tmp_path, "FF-DF", "train")
    assert str(info.value) == where + "['FF-DF'] must be an object of splits"
    with pytest.raises(BadIndexError) as info:
        read_videos(index, tmp_path, "FF-real", "train")
    assert str(info.value) == where + "['FF-real']['train'] must be an object"
    with pytest.raises(BadIndexError) as info:
        read_videos(index, tmp_path, "FF-NT", "train", compression="c40")
    assert str(info.value) == where + "['FF-NT']['train']['c40'] must be an object"
    with pytest.raises(BadIndexError) as info:
        read_videos(index, tmp_path, "FF-NT", "train", compression="raw")
    assert str(info.value) == where + (
        "['FF-NT']['train'] has compression levels ['c23', 'c40'], not the requested 'raw' "
        "(hparam compression)"
    )
    with pytest.raises(BadIndexError) as info:
        read_videos(index, tmp_path, "FF-NT", "val")
    assert str(info.value) == where + "['FF-NT'] has no 'val' split; found ['train']"
    with pytest.raises(BadIndexError) as info:
        read_videos(index, tmp_path, "FF-F2F", "train")
    assert str(info.value) == where + "no label block 'FF-F2F'; found ['FF-DF', 'FF-NT', 'FF-real']"
    assert read_videos(index, tmp_path, "FF-NT", "train") == []  # c23 by default


def test_a_split_with_every_compression_level_is_nested(tmp_path):
    frames = _touch(tmp_path, "UADFV/x/v", ["0.png"])
    levels = {c: {f"{c}v": {"frames": frames}} for c in ("raw", "c23", "c40")}
    index = _write(tmp_path / "X.json", _doc(levels))
    assert [v.video_id for v in read_videos(index, tmp_path, "FF-DF", "train")] == ["c23v"]
    assert [v.video_id for v in read_videos(index, tmp_path, "FF-DF", "train", "raw")] == ["rawv"]


def test_32_frames_per_video_by_default(tmp_path):
    frames = _touch(tmp_path, "UADFV/x/v", [f"{i}.png" for i in range(40)])
    index = _write(
        tmp_path / "X.json", _doc({"v": {"frames": frames}, "w": {"frames": frames[:32]}})
    )
    report = ReadReport()
    videos = read_videos(index, tmp_path, "FF-DF", "train", report=report)
    assert [len(v.frames) for v in videos] == [32, 32]
    assert (report.short_videos, report.short_frames) == (0, 0)  # 32 frames are not short


def test_video_ids_that_are_compression_names_need_all_of_them(tmp_path):
    # a flat split is nested only when every key is a compression level
    frames = _touch(tmp_path, "UADFV/x/c23", ["0.png"])
    index = _write(tmp_path / "X.json", _doc({"c23": {"frames": frames}, "v1": {"frames": frames}}))
    assert [v.video_id for v in read_videos(index, tmp_path, "FF-DF", "train")] == ["c23", "v1"]
    empty = _write(tmp_path / "Y.json", _doc({}, name="Y"))
    assert read_videos(empty, tmp_path, "FF-DF", "train") == []


def test_stray_keys_are_dropped_only_when_they_are_not_videos(tmp_path):
    frames = _touch(tmp_path, "UADFV/x/v", ["0.png"])
    video = {"label": "FF-DF", "frames": frames}
    index = _write(tmp_path / "X.json", _doc({"label": {"frames": frames}, "v": video}))
    # a video whose id is "label" is a video (an object)
    assert [v.video_id for v in read_videos(index, tmp_path, "FF-DF", "train")] == ["label", "v"]
    index = _write(tmp_path / "Y.json", _doc({"frames": frames, "v": video}, name="Y"))
    with pytest.warns(UserWarning) as caught:
        out = read_videos(index, tmp_path, "FF-DF", "train")
    assert [v.video_id for v in out] == ["v"]
    assert str(caught[0].message) == (
        f"{index}: ['FF-DF']['train']: ignoring keys ['frames'] that are not videos"
    )


def test_a_file_of_another_name_re_roots_on_its_dataset_key(tmp_path):
    # the dataset key of the index is a root too, even outside DATASET_ROOTS
    frames = _touch(tmp_path, "MyData/real/v", ["0.png"])
    index = _write(
        tmp_path / "Mine.json",
        {"MyData": {"FF-real": {"test": {"v": {"frames": [f"/elsewhere/{frames[0]}"]}}}}},
    )
    (video,) = read_videos(index, tmp_path, "FF-real", "test")
    assert video.frames == (str(tmp_path / frames[0]),)


def test_lmdb_frames_are_read_from_the_database_paths(tmp_path):
    pytest.importorskip("lmdb")  # the `test` extra installs it; never skipped in CI
    from roga_bench.datasets._lmdb import register_lmdb_dir
    from roga_bench.datasets.testing import write_deepfakebench_lmdb, write_tree

    rgb = write_tree(
        tmp_path / "rgb",
        frames=2,
        compressions=("c23",),
        methods=("DF",),
        counts={"train": 1, "val": 1, "test": 1},
        masks=True,
    )
    write_deepfakebench_lmdb(rgb, "FaceForensics++", tmp_path / "l")
    lmdb_dir = register_lmdb_dir(tmp_path / "l")
    index = rgb / "dataset_json" / "FaceForensics++.json"
    from_disk = read_videos(index, rgb, "FF-DF", "train", frames_per_video=0)
    from_lmdb = read_videos(
        index, tmp_path / "absent", "FF-DF", "train", frames_per_video=0, lmdb_dir=lmdb_dir
    )
    assert len(from_lmdb) == len(from_disk) == 1
    prefix = os.path.join(lmdb_dir, "FaceForensics++_lmdb") + os.sep
    for disk, db in zip(
        from_disk[0].frames + from_disk[0].masks,
        from_lmdb[0].frames + from_lmdb[0].masks,
        strict=True,
    ):
        rel = os.path.relpath(disk, rgb / "FaceForensics++")
        assert db == prefix + rel
    doc = json.loads(index.read_text(encoding="utf-8"))
    video = next(iter(doc["FaceForensics++"]["FF-DF"]["train"]["c23"].values()))
    video["frames"].append(video["frames"][0].rsplit("\\", 1)[0] + "\\099.png")
    bad = _write(tmp_path / "FaceForensics++.json", doc)
    with pytest.raises(
        DatasetError,
        match=r"not found in the LMDB \(hparam lmdb_dir\) \(re-rooted to " + re.escape(prefix),
    ):
        read_videos(bad, tmp_path, "FF-DF", "train", frames_per_video=0, lmdb_dir=lmdb_dir)
