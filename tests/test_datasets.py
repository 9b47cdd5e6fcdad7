"""Environment classes on generated DeepfakeBench trees: contents, splits, access, bad input."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

from roga_bench.datasets import DatasetError, FFppCrossDataset, FFppLOMO, get_dataset_class
from roga_bench.datasets.testing import write_tree

SMALL = {"image_size": 16, "frames_per_video": 2}


@pytest.fixture(scope="module")
def ffpp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FF++ (c23, c40) plus the CDF-v2 and DFDCP targets; UADFV, DFDC, CDF-v1 absent."""
    return write_tree(tmp_path_factory.mktemp("ffpp"), targets=("CDF-v2", "DFDCP"))


def _methods(ds: FFppLOMO, i: int, split: str) -> set[str]:
    return {vid.split("/")[0] for vid in ds.video_ids(i, split)}


@pytest.mark.parametrize("test_env", [0, 1, 2, 3])
def test_lomo_env_contents_per_test_env(ffpp: Path, test_env: int) -> None:
    ds = FFppLOMO(ffpp, [test_env], SMALL)
    assert len(ds) == 4 and ds.ENVIRONMENTS == ["DF", "F2F", "FS", "NT"]
    assert ds.input_shape == (3, 16, 16) and ds.num_classes == 2
    for i, name in enumerate(ds.ENVIRONMENTS):
        assert _methods(ds, i, "train") == {"FF-real", f"FF-{name}"}
        # 4 real + 4 fake train videos, 2 frames each
        assert len(ds.split(i, "train")) == 16 and len(ds.split(i, "val")) == 8
        expected = "test" if i == test_env else "train"
        assert ds[i] is ds.split(i, expected)
    x, y = ds[test_env][len(ds[test_env]) - 1]
    assert x.shape == (3, 16, 16) and x.dtype == torch.float32 and y == 1
    assert -1.0 <= float(x.min()) <= float(x.max()) <= 1.0


def test_labels_video_ids_and_paths_line_up(ffpp: Path) -> None:
    ds = FFppLOMO(ffpp, [0], SMALL)
    split = ds.split(2, "val")
    ids, paths = ds.video_ids(2, "val"), ds.frame_paths(2, "val")
    assert len(ids) == len(paths) == len(split)
    for k, (vid, path) in enumerate(zip(ids, paths, strict=True)):
        assert split[k][1] == (0 if vid.startswith("FF-real/") else 1)
        assert path.parent.name == vid.split("/")[1]
    assert len(set(ids)) == 4  # 2 real + 2 FaceSwap videos


def test_splits_never_share_a_video(ffpp: Path) -> None:
    ds = FFppCrossDataset(ffpp, [4, 5], SMALL)
    for i in range(4):  # targets (4, 5) are test-only: their val is their test split
        sets = [set(ds.video_ids(i, s)) for s in ("train", "val", "test")]
        assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])


@pytest.fixture(scope="module")
def rearranged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Targets indexed as DeepfakeBench's rearrange.py writes them (DFDC val = stray pair +
    train videos; CDF-v2/UADFV/DFDCP val = test)."""
    root = tmp_path_factory.mktemp("rearranged")
    targets = ("CDF-v2", "UADFV", "DFDC", "DFDCP")
    return write_tree(root, targets=targets, compressions=("c23",), target_val="deepfakebench")


def test_rearranged_fixture_has_deepfakebenchs_shape(rearranged: Path) -> None:
    dfdc = json.loads((rearranged / "dataset_json" / "DFDC.json").read_text())["DFDC"]
    val, train = dfdc["DFDC_Fake"]["val"], dfdc["DFDC_Fake"]["train"]
    assert val["label"] == "DFDC_Fake" and isinstance(val["frames"], list)
    assert set(val) == {"label", "frames", *train}
    cdf = json.loads((rearranged / "dataset_json" / "Celeb-DF-v2.json").read_text())
    assert (
        cdf["Celeb-DF-v2"]["CelebDFv2_real"]["val"] == cdf["Celeb-DF-v2"]["CelebDFv2_real"]["test"]
    )


def test_targets_read_only_their_test_split(rearranged: Path, monkeypatch) -> None:
    from roga_bench.datasets import _environments

    reads: list[tuple[str, str]] = []
    real_read = _environments.read_videos

    def spy(path, data_dir, label, split, **kw):
        reads.append((Path(path).stem, split))
        return real_read(path, data_dir, label, split, **kw)

    monkeypatch.setattr(_environments, "read_videos", spy)
    ds = FFppCrossDataset(rearranged, [4, 5, 6, 7], SMALL)
    assert ds.ENVIRONMENTS[4:] == ["CDF-v2", "UADFV", "DFDC", "DFDCP"]
    target_reads = {split for stem, split in reads if stem != "FaceForensics++"}
    assert target_reads == {"test"}  # DFDC's ~119k train videos (its "val") never read
    assert ds.test_only_envs == [4, 5, 6, 7]
    for i in ds.test_only_envs:
        assert ds.split(i, "val") is ds.split(i, "test") is ds[i]
        assert len(ds.split(i, "train")) == 0
        assert all("/test" in v for v in ds.video_ids(i, "val"))  # videos test0, test1
    dfdc = set(ds.video_ids(6, "val"))
    assert dfdc == {f"{lab}/test{j}" for lab in ("DFDC_Real", "DFDC_Fake") for j in (0, 1)}


def test_a_target_as_training_env_is_refused(rearranged: Path) -> None:
    with pytest.raises(DatasetError, match=r"test-only .*6=DFDC.*--test_envs 4 5 6 7"):
        FFppCrossDataset(rearranged, [4, 5, 7], SMALL)


def test_a_targets_mirrored_val_is_evaluated_once(rearranged: Path) -> None:
    from roga_bench.training._evaluate import eval_splits, evaluate

    ds = FFppCrossDataset(rearranged, [4, 5, 6, 7], SMALL)

    class Counting(torch.nn.Module):
        seen = 0

        def predict(self, x: torch.Tensor) -> torch.Tensor:
            Counting.seen += len(x)
            return torch.stack([x.mean((1, 2, 3)), -x.mean((1, 2, 3))], 1)

    splits = [s for s in eval_splits(len(ds), ds.test_envs, False) if s[1] == 6]
    out = evaluate(Counting(), ds, splits, torch.device("cpu"))
    assert Counting.seen == len(ds.split(6, "test"))  # in, out and test: one pass
    assert out["env6_out_auc"] == out["env6_in_auc"] and out["env6_out_loss"] == out["env6_in_loss"]


def _reals(ds: FFppLOMO, split: str) -> list[set[str]]:
    return [{v for v in ds.video_ids(i, split) if v.startswith("FF-real/")} for i in range(len(ds))]


def test_shared_reals_and_partition_gives_disjoint_real_sets(tmp_path: Path) -> None:
    counts = {"train": 9, "val": 4, "test": 5}
    write_tree(tmp_path, counts=counts, frames=1, compressions=("c23",))
    shared = _reals(FFppLOMO(tmp_path, [0], SMALL), "train")
    assert all(r == shared[0] for r in shared) and len(shared[0]) == 9
    hp = {**SMALL, "real_assignment": "partition"}
    part = FFppLOMO(tmp_path, [0], hp)
    for split, n in counts.items():
        parts = _reals(part, split)
        assert sum(len(p) for p in parts) == n and len(set().union(*parts)) == n
        assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1
    assert _reals(part, "train")[0] == {"FF-real/000", "FF-real/004", "FF-real/008"}
    assert _reals(FFppLOMO(tmp_path, [2], hp), "test") == _reals(part, "test")  # deterministic


def test_compression_hparam_switches_frame_trees(ffpp: Path) -> None:
    c40 = FFppLOMO(ffpp, [0], {**SMALL, "compression": "c40"})
    assert all("/c40/" in p.as_posix() for p in c40.frame_paths(1, "train"))


def test_cross_dataset_leaves_out_missing_targets(ffpp: Path, monkeypatch) -> None:
    monkeypatch.setattr("roga_bench.datasets._errors._REPORTED", set())  # warn_once: fresh process
    with pytest.warns(UserWarning, match="target 'UADFV' left out"):
        ds = FFppCrossDataset(ffpp, [4, 5], SMALL)
    assert ds.ENVIRONMENTS == ["DF", "F2F", "FS", "NT", "CDF-v2", "DFDCP"]
    assert FFppCrossDataset.ENVIRONMENTS[4:] == ["CDF-v1", "CDF-v2", "UADFV", "DFDC", "DFDCP"]
    assert _methods(ds, 5, "test") == {"DFDCP_Real", "DFDCP_FakeA", "DFDCP_FakeB"}
    assert ds[5] is ds.split(5, "test") and ds[0] is ds.split(0, "train")
    assert FFppCrossDataset.present_environments(ffpp, SMALL) == ds.ENVIRONMENTS


def test_cross_dataset_explicit_requests_for_missing_targets_fail(ffpp: Path) -> None:
    with pytest.raises(DatasetError, match=r"target 'UADFV' requested but .*UADFV\.json not found"):
        FFppCrossDataset(ffpp, [4], {**SMALL, "targets": "CDF-v2,UADFV"})
    ds = FFppCrossDataset(ffpp, [4], {**SMALL, "targets": "DFDCP"})
    assert ds.ENVIRONMENTS == ["DF", "F2F", "FS", "NT", "DFDCP"]
    with pytest.raises(DatasetError, match=r"test env 6 out of range; .*4=CDF-v2, 5=DFDCP .*UADFV"):
        FFppCrossDataset(ffpp, [6], SMALL)
    with pytest.raises(DatasetError, match="unknown"):
        FFppCrossDataset(ffpp, [4], {**SMALL, "targets": "CelebDF"})


def test_target_frame_folder_missing_counts_as_absent(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("roga_bench.datasets._errors._REPORTED", set())
    write_tree(tmp_path, targets=("UADFV",), compressions=("c23",))
    (tmp_path / "UADFV").rename(tmp_path / "elsewhere")
    with pytest.warns(UserWarning, match=r"'UADFV' left out: frame folder .*UADFV not found"):
        assert FFppCrossDataset.present_environments(tmp_path) == ["DF", "F2F", "FS", "NT"]


def test_per_method_files_and_json_dir(tmp_path: Path) -> None:
    write_tree(tmp_path / "rgb", whole=False, per_method=True, compressions=("c23",))
    (tmp_path / "rgb" / "dataset_json").rename(tmp_path / "jsons")
    with pytest.raises(
        DatasetError, match=r"FaceForensics\+\+\.json: not found, nor .*FF-DF\.json"
    ):
        FFppLOMO(tmp_path / "rgb", [0], SMALL)
    ds = FFppLOMO(tmp_path / "rgb", [3], {**SMALL, "json_dir": str(tmp_path / "jsons")})
    assert _methods(ds, 3, "test") == {"FF-real", "FF-NT"}


def test_augmentation_only_on_train_and_reproducible(ffpp: Path) -> None:
    hp = {**SMALL, "data_augmentation": True, "image_size": 32}
    ds = FFppLOMO(ffpp, [0], hp)
    for split in ("val", "test"):
        a, b = ds.split(1, split)[0][0], ds.split(1, split)[0][0]
        assert torch.equal(a, b)
    train = ds.split(1, "train")
    draws = []
    for _ in range(2):
        torch.manual_seed(3)
        draws.append(torch.stack([train[k][0] for k in range(len(train))]))
    assert torch.equal(draws[0], draws[1])
    plain = FFppLOMO(ffpp, [0], {**hp, "data_augmentation": False}).split(1, "train")
    assert not torch.equal(draws[0], torch.stack([plain[k][0] for k in range(len(plain))]))


def test_memory_cache_returns_identical_frames(ffpp: Path) -> None:
    ds = FFppLOMO(ffpp, [0], {**SMALL, "memory_cache_mb": 1})
    split = ds.split(0, "val")
    first = [split[k][0] for k in range(len(split))]
    assert len(split._memory) == len(split)
    assert all(torch.equal(a, split[k][0]) for k, a in enumerate(first))


def test_registry_defaults_and_no_data_dir() -> None:
    assert get_dataset_class("FFppLOMO") is FFppLOMO
    assert FFppLOMO.N_STEPS == 5000 and FFppLOMO.CHECKPOINT_FREQ == 500
    hp = FFppCrossDataset.resolve_hparams({"compression": "c40"})
    assert (hp["frames_per_video"], hp["compression"], hp["image_size"]) == (32, "c40", 256)
    synth = get_dataset_class("SynthFFLOMO").resolve_hparams({})
    assert (synth["image_size"], synth["backbone"], synth["frames_per_video"]) == (
        64,
        "small_cnn",
        8,
    )
    with pytest.raises(DatasetError, match="FFppLOMO needs --data_dir"):
        FFppLOMO(None, [0], {})


# ----- bad input -------------------------------------------------------------------------------


def _edit_index(data_dir: Path, edit) -> None:
    path = data_dir / "dataset_json" / "FaceForensics++.json"
    doc = json.loads(path.read_text())
    edit(doc["FaceForensics++"])
    path.write_text(json.dumps(doc))


def test_environment_with_one_class_is_an_error(tmp_path: Path) -> None:
    write_tree(tmp_path, compressions=("c23",))
    _edit_index(tmp_path, lambda d: d["FF-FS"]["val"]["c23"].clear())
    with pytest.raises(DatasetError, match=r"environment 'FS', split 'val' has only real videos"):
        FFppLOMO(tmp_path, [0], SMALL)


def test_empty_environment_is_an_error(tmp_path: Path) -> None:
    write_tree(tmp_path, compressions=("c23",))

    def empty(d: dict) -> None:
        d["FF-real"]["test"]["c23"].clear()
        d["FF-DF"]["test"]["c23"].clear()

    _edit_index(tmp_path, empty)
    with pytest.raises(DatasetError, match=r"environment 'DF', split 'test' is empty"):
        FFppLOMO(tmp_path, [0], SMALL)


def test_missing_label_block_in_whole_index(tmp_path: Path) -> None:
    write_tree(tmp_path, methods=("DF", "F2F", "FS"), compressions=("c23",))
    with pytest.raises(DatasetError, match=r"FaceForensics\+\+\.json: no label block 'FF-NT'"):
        FFppLOMO(tmp_path, [0], SMALL)


def test_truncated_png_fails_on_access_naming_the_file(tmp_path: Path) -> None:
    write_tree(tmp_path, compressions=("c23",), size=32)
    ds = FFppLOMO(tmp_path, [0], SMALL)
    path = ds.frame_paths(0, "train")[0]
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(DatasetError, match=f"{path.name}: cannot decode image"):
        ds.split(0, "train")[0]


def test_normalize_matches_torchvision_v2_and_augment_stays_in_range() -> None:
    import numpy as np
    from torchvision.transforms import v2

    from roga_bench.datasets._transforms import build_transform, normalize

    frame = np.random.default_rng(0).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    ref = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5] * 3, [0.5] * 3)])
    torch.testing.assert_close(normalize(frame), ref(torch.from_numpy(frame).permute(2, 0, 1)))
    augment = build_transform(True)
    torch.manual_seed(1)
    outs = [augment(frame) for _ in range(8)]
    assert all(o.shape == (3, 24, 24) and o.dtype == torch.float32 for o in outs)
    assert all(float(o.min()) >= -1.0 and float(o.max()) <= 1.0 for o in outs)
    assert sum(not torch.equal(o, normalize(frame)) for o in outs) >= 6  # P(no op) = 0.04


@pytest.mark.parametrize("backbone", ["resnet34", "xception", "efficientnet_b4"])
def test_large_backbone_on_ffpp_without_pretrained_warns(ffpp: Path, backbone: str) -> None:
    """Issue 11.7: a paper backbone trained on FF++ from random init, silently."""
    from roga_bench.backbones import UntrainedBackboneWarning

    with pytest.warns(UntrainedBackboneWarning, match=rf"{backbone}.* on FFppLOMO from random"):
        FFppLOMO(ffpp, [0], {**SMALL, "backbone": backbone})
    for quiet in ({"backbone": backbone, "pretrained": "/w/x.pth"}, {"backbone": "resnet34_slim"}):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            FFppLOMO(ffpp, [0], {**SMALL, **quiet})
        assert not [w for w in caught if issubclass(w.category, UntrainedBackboneWarning)]
