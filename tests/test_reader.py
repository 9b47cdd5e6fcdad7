"""The DeepfakeBench index reader: path shapes, nestings, sorting, sampling, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from roga_bench.datasets import DatasetError, decode_and_resize, read_videos, resolve_frame_path
from roga_bench.datasets._index import sample_evenly, sort_frames
from roga_bench.datasets._labels import LABELS, label_of
from roga_bench.datasets.testing import write_tree

FF = "FaceForensics++.json"


@pytest.mark.parametrize("shape", ["backslash", "absolute", "rgb", "posix"])
def test_every_path_shape_resolves_under_data_dir(tmp_path: Path, shape: str) -> None:
    write_tree(tmp_path, shape=shape, methods=("DF",), compressions=("c23",))
    videos = read_videos(tmp_path / "dataset_json" / FF, tmp_path, "FF-DF", "train")
    assert len(videos) == 4
    frames = [Path(f) for v in videos for f in v.frames]
    assert len(frames) == 16
    assert all(f.is_file() and tmp_path in f.parents for f in frames)
    assert frames[0] == tmp_path.joinpath(
        "FaceForensics++/manipulated_sequences/Deepfakes/c23/frames/000_003/000.png"
    )


def test_resolve_cuts_at_the_last_dataset_segment(tmp_path: Path) -> None:
    raw = (
        "/mnt/FaceForensics++/rgb/FaceForensics++/original_sequences/youtube/c23/frames/001/000.png"
    )
    expect = tmp_path / "FaceForensics++/original_sequences/youtube/c23/frames/001/000.png"
    assert resolve_frame_path(raw, tmp_path) == expect
    assert resolve_frame_path("C:\\data\\rgb\\UADFV\\real\\frames\\0\\1.png", tmp_path) == (
        tmp_path / "UADFV/real/frames/0/1.png"
    )
    assert (
        resolve_frame_path("/x/datasets/rgb/MyData/a/0.png", tmp_path)
        == tmp_path / "MyData/a/0.png"
    )
    with pytest.raises(DatasetError, match="names no dataset folder"):
        resolve_frame_path("/x/y/z/0.png", tmp_path)


@pytest.mark.parametrize("compression", ["c23", "c40"])
def test_compression_level_selects_its_own_frames(tmp_path: Path, compression: str) -> None:
    write_tree(tmp_path, methods=("NT",))
    videos = read_videos(tmp_path / "dataset_json" / FF, tmp_path, "FF-NT", "val", compression)
    assert [v.video_id for v in videos] == ["004_007", "005_008"]
    assert all(f"/{compression}/" in f for v in videos for f in v.frames)


def test_compression_missing_from_nested_index_is_an_error(tmp_path: Path) -> None:
    write_tree(tmp_path, methods=("DF",), compressions=("c23",))
    with pytest.raises(DatasetError, match=r"not the requested 'c40'"):
        read_videos(tmp_path / "dataset_json" / FF, tmp_path, "FF-DF", "train", "c40")


def test_flat_nesting_of_a_target_ignores_compression(tmp_path: Path) -> None:
    write_tree(tmp_path, methods=(), targets=("DFDCP",))
    path = tmp_path / "dataset_json" / "DFDCP.json"
    fake_b = read_videos(path, tmp_path, "DFDCP_FakeB", "test", compression="c40")
    real = read_videos(path, tmp_path, "DFDCP_Real", "test")
    assert [v.label for v in fake_b] == [1, 1] and [v.label for v in real] == [0, 0]
    assert fake_b[0].key == "DFDCP_FakeB/test0"


def test_per_method_file_holds_reals_and_one_method(tmp_path: Path) -> None:
    write_tree(tmp_path, whole=False, per_method=True)
    path = tmp_path / "dataset_json" / "FF-F2F.json"
    assert len(read_videos(path, tmp_path, "FF-real", "test")) == 2
    assert len(read_videos(path, tmp_path, "FF-F2F", "test")) == 2
    with pytest.raises(
        DatasetError, match=r"no label block 'FF-DF'; found \['FF-F2F', 'FF-real'\]"
    ):
        read_videos(path, tmp_path, "FF-DF", "test")


def test_frames_sorted_by_integer_name_then_sampled_evenly(tmp_path: Path) -> None:
    write_tree(tmp_path, methods=(), frames=12, padded=False, counts={"train": 1})
    path = tmp_path / "dataset_json" / FF
    (video,) = read_videos(path, tmp_path, "FF-real", "train", frames_per_video=4)
    assert [Path(f).name for f in video.frames] == ["0.png", "3.png", "7.png", "11.png"]
    (every,) = read_videos(path, tmp_path, "FF-real", "train", frames_per_video=0)
    assert [Path(f).name for f in every.frames] == [f"{k}.png" for k in range(12)]


def test_sampling_helpers() -> None:
    assert sort_frames(["a\\10.png", "a\\9.png", "a\\100.png"]) == [
        "a\\9.png",
        "a\\10.png",
        "a\\100.png",
    ]
    assert sample_evenly(list(range(10)), 3) == [0, 4, 9]
    assert sample_evenly(list(range(33)), 32) == sorted(set(sample_evenly(list(range(33)), 32)))
    assert sample_evenly([1, 2], 32) == [1, 2]


def test_no_video_in_two_splits_and_counts(tmp_path: Path) -> None:
    write_tree(tmp_path, counts={"train": 5, "val": 3, "test": 2})
    path = tmp_path / "dataset_json" / FF
    seen: dict[str, str] = {}
    for split, n in {"train": 5, "val": 3, "test": 2}.items():
        for label in ("FF-real", "FF-DF", "FF-FS"):
            videos = read_videos(path, tmp_path, label, split, frames_per_video=3)
            assert len(videos) == n and all(len(v.frames) == 3 for v in videos)
            for v in videos:
                assert seen.setdefault(v.key, split) == split


def test_same_folder_name_under_two_methods_is_two_videos(tmp_path: Path) -> None:
    write_tree(tmp_path)
    path = tmp_path / "dataset_json" / FF
    df = read_videos(path, tmp_path, "FF-DF", "train")
    f2f = read_videos(path, tmp_path, "FF-F2F", "train")
    assert df[0].video_id == f2f[0].video_id == "000_003"
    assert df[0].key == "FF-DF/000_003" != f2f[0].key
    assert len({v.key for v in df + f2f}) == 8


def test_label_map_matches_deepfakebench_names() -> None:
    assert [label_of(n) for n in ("FF-real", "DFD_real", "UADFV_Real", "SynthCDF_real")] == [0] * 4
    assert [label_of(n) for n in ("FF-FH", "DFD_fake", "DFDCP_FakeB", "CelebDFv1_fake")] == [1] * 4
    assert sum(LABELS.values()) == len(LABELS) - sum(1 for v in LABELS.values() if v == 0)
    with pytest.raises(DatasetError, match="unknown label name 'FF-XX'; known: .*CelebDFv1_fake"):
        label_of("FF-XX", "x.json")


# ----- bad input ------------------------------------------------------------------------------


def test_malformed_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "Bad.json"
    path.write_text('{"Bad": {\n  "FF-real": [1,,2]}}')
    with pytest.raises(DatasetError, match=r"Bad\.json: malformed JSON at line 2, column 17"):
        read_videos(path, tmp_path, "FF-real", "train")


def test_missing_split_and_missing_label_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "X.json"
    path.write_text(json.dumps({"X": {"FF-real": {"train": {}, "test": {}}}}))
    with pytest.raises(DatasetError, match=r"X\.json: \['FF-real'\] has no 'val' split"):
        read_videos(path, tmp_path, "FF-real", "val")
    with pytest.raises(DatasetError, match=r"X\.json: no label block 'FF-DF'"):
        read_videos(path, tmp_path, "FF-DF", "train")


def test_unknown_label_in_entry_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "X.json"
    path.write_text(
        json.dumps({"X": {"Weird": {"train": {"v": {"label": "Weird", "frames": []}}}}})
    )
    with pytest.raises(
        DatasetError, match=r"X\.json: \['Weird'\]\['train'\]\['v'\]: unknown label"
    ):
        read_videos(path, tmp_path, "Weird", "train")


def test_missing_frame_shows_original_and_rerooted_path(tmp_path: Path) -> None:
    write_tree(tmp_path, methods=("DF",), compressions=("c23",))
    gone = tmp_path / "FaceForensics++/manipulated_sequences/Deepfakes/c23/frames/000_003/002.png"
    gone.unlink()
    path = tmp_path / "dataset_json" / FF
    with pytest.raises(DatasetError) as err:
        read_videos(path, tmp_path, "FF-DF", "train")
    msg = str(err.value)
    assert "FaceForensics++\\\\manipulated_sequences" in msg and str(gone) in msg and FF in msg
    with pytest.warns(UserWarning, match="skipped 1 missing frames"):
        videos = read_videos(path, tmp_path, "FF-DF", "train", skip_missing_frames=True)
    assert [len(v.frames) for v in videos] == [3, 4, 4, 4]


def test_decode_resizes_and_names_truncated_file(tmp_path: Path) -> None:
    img = tmp_path / "a.png"
    Image.fromarray(np.arange(48 * 48 * 3, dtype=np.uint8).reshape(48, 48, 3)).save(img)
    out = decode_and_resize(img, 24)
    assert out.shape == (24, 24, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, decode_and_resize(img, 24))
    bad = tmp_path / "bad.png"
    bad.write_bytes(img.read_bytes()[:200])
    with pytest.raises(DatasetError, match=r"bad\.png: cannot decode image"):
        decode_and_resize(bad, 24)
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"junk\.png: cannot decode"):
        decode_and_resize(tmp_path / "junk.png", 24)


def test_stray_label_and_frames_keys_in_a_split_are_ignored(tmp_path: Path) -> None:
    write_tree(tmp_path, methods=(), targets=("DFDC",), compressions=("c23",))
    path = tmp_path / "dataset_json" / "DFDC.json"
    doc = json.loads(path.read_text())
    val = doc["DFDC"]["DFDC_Real"]["val"]
    val.update(label="DFDC_Real", frames=val["val0"]["frames"])  # DeepfakeBench's DFDC quirk
    path.write_text(json.dumps(doc))
    with pytest.warns(UserWarning, match=r"ignoring keys \['label', 'frames'\]"):
        videos = read_videos(path, tmp_path, "DFDC_Real", "val")
    assert [v.video_id for v in videos] == ["val0", "val1"]
