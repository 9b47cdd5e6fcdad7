"""DeepfakeBench data as users hold it (issue 27): every DeepfakeBench dataset and any index in
json_dir (DF40's ``simswap_ff``...) as a target by name; empty, truncated and partial index files
(exit 2, one line naming the file, the environment and the split, nothing created); videos
shorter than ``frames_per_video`` (all frames read, counted in the run's records); ``datasets
check`` listing every missing and undecodable frame."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from roga_bench.datasets import DatasetError, FFppCrossDataset, FFppLOMO, label_of
from roga_bench.datasets.__main__ import main as datasets_main
from roga_bench.datasets.testing import write_index, write_tree
from roga_bench.sweep import main as sweep_main
from roga_bench.train import main as train_main

HP = {"image_size": 16, "frames_per_video": 2, "backbone": "small_cnn", "memory_cache_mb": 0}
EXTRA = {  # index name -> {label: folder}, as DeepfakeBench's rearrange.py / DF40 lay them out
    "DeepFakeDetection": {
        "DFD_real": "FaceForensics++/original_sequences/actors",
        "DFD_fake": "FaceForensics++/manipulated_sequences/DeepFakeDetection",
    },
    "FaceShifter": {
        "FF-FH": "FaceForensics++/manipulated_sequences/FaceShifter",
        "FF-real": "FaceForensics++/original_sequences/youtube_fh",
    },
    "DeeperForensics-1.0": {
        "DF_real": "DeeperForensics-1.0/source_videos",
        "DF_fake": "DeeperForensics-1.0/manipulated_videos/end_to_end",
    },
    "simswap_ff": {"simswap_Real": "DF40/simswap/ff/real", "simswap_Fake": "DF40/simswap/ff/fake"},
    "FSAll_cdf": {"FSAll_Real": "DF40/FSAll/cdf/real", "FSAll_Fake": "DF40/FSAll/cdf/fake"},
}
NESTED = {"DeepFakeDetection", "FaceShifter"}  # compression levels, as FF++


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = write_tree(
        tmp_path_factory.mktemp("dfb"), frames=2, compressions=("c23",), targets=("CDF-v2",)
    )
    for i, (name, labels) in enumerate(EXTRA.items()):
        comps = ("c23",) if name in NESTED else None
        write_index(root, name, labels, frames=2, compressions=comps, seed=1000 * (i + 1))
    return root


def _build(root: Path, targets, **hp):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FFppCrossDataset(root, [4, 5, 6, 7, 8, 9, 10], {**HP, "targets": targets, **hp})


def test_every_deepfakebench_dataset_and_df40_index_is_a_target_by_name(tree: Path) -> None:
    names = ["Celeb-DF-v2", "DFD", "simswap_ff", "FaceShifter", "DeeperForensics-1.0",
             "FSAll_cdf"]  # fmt: skip
    ds = FFppCrossDataset(tree, [4, 5, 6, 7, 8, 9], {**HP, "targets": names})
    # known targets in the class's order (CDF-v2, DFD, DF-1.0, FaceShifter), then the rest
    assert ds.ENVIRONMENTS == ["DF", "F2F", "FS", "NT", "CDF-v2", "DFD", "DF-1.0", "FaceShifter",
                               "simswap_ff", "FSAll_cdf"]  # fmt: skip
    assert ds.test_only_envs == [4, 5, 6, 7, 8, 9]
    for i in ds.test_only_envs:
        part = ds.split(i, "test")
        assert set(part.labels) == {0, 1} and len(part) == 2 * 2 * 2  # 2 labels x 2 videos x 2
        assert ds.split(i, "val") is part and len(ds.split(i, "train")) == 0
    dfd = ds.split(5, "test")
    assert all("/FaceForensics++/" in p for p in dfd.paths)
    assert {v.split("/")[0] for v in dfd.video_ids} == {"DFD_real", "DFD_fake"}
    df40 = ds.split(8, "test")
    assert all("/DF40/simswap/ff/" in p for p in df40.paths)
    assert {(v.split("/")[0], y) for v, y in zip(df40.video_ids, df40.labels, strict=True)} == {
        ("simswap_Real", 0),
        ("simswap_Fake", 1),
    }
    # the comma-separated string and index names mean the same
    same = FFppCrossDataset(tree, [4, 5, 6, 7, 8, 9], {**HP, "targets": ",".join(reversed(names))})
    assert same.ENVIRONMENTS[4:8] == ds.ENVIRONMENTS[4:8]
    assert set(same.ENVIRONMENTS) == set(ds.ENVIRONMENTS)


def test_named_targets_are_not_found_without_being_named(tree: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the absent paper targets are reported
        ds = FFppCrossDataset(tree, [4], HP)
    assert ds.ENVIRONMENTS == ["DF", "F2F", "FS", "NT", "CDF-v2"]  # Table I's as before


def test_unknown_target_lists_the_known_ones_and_the_index_files(tree: Path) -> None:
    with pytest.raises(DatasetError) as info:
        FFppCrossDataset(tree, [4], {**HP, "targets": ["CDF-v2", "NoSuchSet"]})
    message = str(info.value)
    assert "\n" not in message and "unknown ['NoSuchSet']" in message
    assert "DFD (DeepFakeDetection)" in message and "DF-1.0 (DeeperForensics-1.0)" in message
    assert "simswap_ff" in message and "FSAll_cdf" in message  # what json_dir holds
    with pytest.raises(DatasetError, match="comma-separated string or a list"):
        FFppCrossDataset(tree, [4], {**HP, "targets": 3})


def test_label_names_map_as_deepfakebench_and_df40_label_dicts() -> None:
    assert [label_of(n) for n in ("DFD_real", "DFD_fake", "FF-FH", "DF_real", "DF_fake")] == [
        0, 1, 1, 0, 1,
    ]  # fmt: skip
    assert [label_of(n) for n in ("roop_Real", "simswap_Fake", "FSAll_Real", "e4s_Fake")] == [
        0, 1, 0, 1,
    ]  # fmt: skip
    for bad in ("simswap_fakeish", "Fake", "simswap_FAKE"):
        with pytest.raises(DatasetError, match=r"unknown label name .*DFD_fake.*<method>_Fake"):
            label_of(bad, "x.json")


# ----- failure modes -------------------------------------------------------------------------
@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "rgb", frames=3, compressions=("c23",), targets=("DFDC",))


def _train(data_dir: Path, out: Path, dataset="FFppLOMO", envs=("0",), **hp) -> list[str]:
    return ["--dataset", dataset, "--algorithm", "ERM", "--data_dir", str(data_dir),
            "--test_envs", *envs, "--device", "cpu", "--output_dir", str(out), "--steps", "1",
            "--checkpoint_freq", "1", "--hparams",
            json.dumps({**HP, "batch_size": 4, **hp})]  # fmt: skip


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_empty_or_truncated_index_exits_2_naming_file_env_split(small, tmp_path, capsys, damage):
    index = small / "dataset_json" / "FaceForensics++.json"
    text = index.read_text()
    index.write_text("" if damage == "empty" else text[: len(text) // 2])
    out = tmp_path / "runs" / "job"
    assert train_main(_train(small, out)) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(index) in line and "environment 'DF'" in line and "split 'train'" in line
    assert ("empty file" if damage == "empty" else "malformed JSON at line ") in line
    assert not (tmp_path / "runs").exists()
    sweep = tmp_path / "sweep"
    argv = ["launch", "--datasets", "FFppLOMO", "--algorithms", "ERM", "--data_dir", str(small),
            "--output_dir", str(sweep), "--n_trials", "1", "--steps", "1", "--hparams",
            json.dumps(HP), "--skip_confirmation", "--command_launcher", "local"]  # fmt: skip
    assert sweep_main(argv) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(index) in line and "split 'train'" in line
    assert not sweep.exists()


def test_partial_target_index_with_an_empty_test_split_exits_2(small, tmp_path, capsys):
    index = small / "dataset_json" / "DFDC.json"
    doc = json.loads(index.read_text())
    doc["DFDC"]["DFDC_Real"]["test"] = {}  # DFDC #71: a JSON written with nothing in a split
    doc["DFDC"]["DFDC_Fake"]["test"] = {}
    index.write_text(json.dumps(doc))
    out = tmp_path / "runs" / "job"
    argv = _train(small, out, "FFppCrossDataset", ("4",), targets="DFDC")
    assert train_main(argv) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(index) in line and "environment 'DFDC', split 'test' is empty" in line
    assert not (tmp_path / "runs").exists()


def test_short_videos_give_all_their_frames_and_are_counted_in_the_records(small, tmp_path):
    ds = FFppLOMO(small, [0], {**HP, "frames_per_video": 5})
    assert len(ds.split(0, "train")) == (4 + 4) * 3  # every frame of 3-frame videos
    # 5 labels x (4 + 2 + 2) videos, each 2 frames short
    assert ds.notes == {"short_videos": 40, "short_video_frames_lacking": 80}
    assert FFppLOMO(small, [0], HP).notes == {}  # 2 of 3 frames read: nothing to note
    out = tmp_path / "job"
    assert train_main(_train(small, out, frames_per_video=5)) == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert records and all(
        r["dataset_notes"] == {"short_videos": 40, "short_video_frames_lacking": 80}
        for r in records
    )


def test_check_lists_every_missing_and_undecodable_frame(small, capsys):
    frames = sorted((small / "FaceForensics++").glob("**/c23/frames/*/*.png"))
    gone, broken = frames[:3], frames[20:22]
    for f in gone:
        f.unlink()
    for f in broken:
        f.write_bytes(b"\x89PNG truncated")
    argv = ["check", "--dataset", "FFppLOMO", "--data_dir", str(small), "--all_frames"]
    assert datasets_main(argv) == 1
    out = capsys.readouterr().out
    missing = [line for line in out.splitlines() if line.startswith("missing frame:")]
    bad = [line for line in out.splitlines() if line.startswith("bad frame:")]
    assert sorted(line.split()[2].rstrip(":") for line in missing) == sorted(map(str, gone))
    assert sorted(line.split()[2].rstrip(":") for line in bad) == sorted(map(str, broken))
    assert "2 bad, 3 missing" in out
