"""``python -m roga_bench.analyze`` on a tiny SynthFF sweep: table, figures, cache, bad input."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from roga_bench.analyze import main
from roga_bench.training import TrainConfig, train

FAST = ["--batch_size", "8", "--n_batches", "1", "--power_iters", "3", "--hutchinson_samples"]
FAST += ["2", "--ascent_steps", "1", "--tsne_samples", "60", "--cam_frames", "2", "--no_progress"]


@pytest.fixture(scope="module")
def sweep(tiny_synthff: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("analysis_sweep")
    for algorithm in ("ERM", "RoGA"):
        args = dict(data_dir=str(tiny_synthff), dataset="SynthFFLOMO", algorithm=algorithm)
        args.update(test_envs=[0], steps=2, checkpoint_freq=1, device="cpu")
        args.update(hparams='{"image_size": 32, "batch_size": 4}')
        train(TrainConfig.from_args({**args, "output_dir": str(root / algorithm)}))
    return root


def test_cli_writes_the_table_and_figures_and_a_rerun_is_cached(sweep, tmp_path, capsys):
    out = tmp_path / "analysis"
    assert main(["--input_dir", str(sweep), "--out", str(out), *FAST]) == 0
    first = capsys.readouterr().out
    assert "10 computed, 0 cached" in first
    for name in ("analysis.md", "analysis.tex", "analysis.csv", "analysis_runs.csv"):
        assert (out / name).stat().st_size > 0
    for fig in ("landscape_1d", "landscape_2d", "tsne", "cam_gradcam_DF", "cam_gradcampp_DF"):
        assert (out / f"{fig}.png").exists() and (out / f"{fig}.pdf").exists()
    summary = pd.read_csv(out / "analysis.csv")
    assert set(summary["algorithm"]) == {"ERM", "RoGA"}
    top = summary[summary["key"] == "hessian_top[test]"]
    assert len(top) == 2 and top["mean"].notna().all()
    energy = summary[summary["key"] == "cam_energy[test]"]["mean"]
    assert len(energy) == 2 and ((energy >= 0) & (energy <= 1)).all()  # SynthFF has masks
    assert r"\toprule" in (out / "analysis.tex").read_text()
    md = (out / "analysis.md").read_text()
    assert "Measurement noise" in md  # issue 20: the within-run s.e. table
    assert re.search(
        r"sharpness/Hessian batches \(\d+ in all\): train split: 8 frames: 4 real, 4 fake", md
    )
    assert main(["--input_dir", str(sweep), "--out", str(out), *FAST]) == 0
    assert "0 computed, 10 cached" in capsys.readouterr().out
    pd.testing.assert_frame_equal(summary, pd.read_csv(out / "analysis.csv"))  # from the cache
    fresh = tmp_path / "fresh"  # every analysis recomputed: deterministic for the seed
    assert main(["--input_dir", str(sweep), "--out", str(fresh), *FAST]) == 0
    runs = pd.read_csv(out / "analysis_runs.csv")
    pd.testing.assert_frame_equal(runs, pd.read_csv(fresh / "analysis_runs.csv"))


def _copy_sweep(src: Path, dst: Path, replace: dict[str, str] | None = None) -> Path:
    """Copy a sweep; its records and model files point at the copy (and ``replace``'s paths)."""
    import torch

    shutil.copytree(src, dst)
    swaps = {str(src): str(dst), **(replace or {})}
    for run in dst.iterdir():
        text = (run / "results.jsonl").read_text()
        for a, b in swaps.items():
            text = text.replace(a, b)
        (run / "results.jsonl").write_text(text)
        for model in run.glob("model*.pkl"):
            payload = torch.load(model, weights_only=True)
            for key in ("output_dir", "data_dir"):
                value = str(payload["args"].get(key))
                for a, b in swaps.items():
                    value = value.replace(a, b)
                payload["args"][key] = value
            torch.save(payload, model)
    return dst


def test_a_run_without_a_saved_model_is_a_clear_error(sweep, tmp_path, capsys):
    broken = _copy_sweep(sweep, tmp_path / "sweep")
    for name in ("model.pkl", "model_best.pkl"):
        (broken / "RoGA" / name).unlink()
    out = tmp_path / "analysis"
    assert main(["--input_dir", str(broken), "--out", str(out), *FAST]) == 1
    err = capsys.readouterr().err
    assert "RoGA" in err and "no saved model" in err and "model_best.pkl" in err
    assert not (out / "analysis.md").exists()  # nothing half-written


def test_a_model_that_does_not_match_the_backbone_is_a_clear_error(sweep, tmp_path, capsys):
    import torch

    broken = _copy_sweep(sweep, tmp_path / "sweep")
    path = broken / "ERM" / "model_best.pkl"
    payload = torch.load(path, weights_only=True)
    payload["model_hparams"]["backbone"] = "small_cnn_nobn"
    torch.save(payload, path)
    out = tmp_path / "a"
    assert main(["--input_dir", str(broken), "--out", str(out), *FAST]) == 1
    err = capsys.readouterr().err
    assert "model_best.pkl" in err and "small_cnn_nobn" in err
    assert not (out / "analysis.md").exists()


def test_unknown_env_and_analysis_names_are_errors(sweep, tmp_path, capsys):
    out = str(tmp_path / "a")
    assert main(["--input_dir", str(sweep), "--out", out, "--test_envs", "XX", *FAST]) == 2
    assert "no such environment" in capsys.readouterr().err
    assert main(["--input_dir", str(sweep), "--out", out, "--algorithms", "NoAlg", *FAST]) == 2
    assert "--algorithms ['NoAlg']: not in" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    assert main(["--input_dir", str(sweep), "--out", out, "--analyses", "sharp", *FAST]) == 2
    assert "--analyses" in capsys.readouterr().err


def test_a_dataset_without_masks_gives_a_note_not_a_crash(sweep, tiny_synthff, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_synthff, data, ignore=shutil.ignore_patterns("masks"))
    moved = _copy_sweep(sweep, tmp_path / "sweep", {str(tiny_synthff): str(data)})
    out = tmp_path / "a"
    argv = ["--input_dir", str(moved), "--out", str(out), "--analyses", "cam", *FAST]
    assert main(argv) == 0
    assert "no manipulation masks" in (out / "analysis.md").read_text()
    assert (out / "cam_gradcam_DF.png").exists()


def test_a_cross_dataset_run_scores_every_target_and_averages_them(tiny_synthff, tmp_path, capsys):
    root = tmp_path / "cross"
    args = dict(data_dir=str(tiny_synthff), dataset="SynthFFCrossDataset", algorithm="ERM")
    args.update(test_envs=[4, 5, 6], steps=2, checkpoint_freq=1, device="cpu")
    args.update(hparams='{"image_size": 32, "batch_size": 4}')
    train(TrainConfig.from_args({**args, "output_dir": str(root / "ERM")}))
    out = tmp_path / "analysis"
    assert main(["--input_dir", str(root), "--out", str(out), "--analyses", "cam", *FAST]) == 0
    runs = pd.read_csv(out / "analysis_runs.csv").set_index("key")["value"]
    targets = ["SynthCDF", "SynthUADFV", "SynthDFDC"]
    per_target = [runs[f"cam_energy[env={t}]"] for t in targets]
    assert runs["cam_energy[test]"] == pytest.approx(sum(per_target) / 3)
    for t in targets:  # one grid per target, titled with its name (no "GID-" prefix)
        assert (out / f"cam_gradcam_{t}.png").exists()


def test_an_empty_or_missing_input_dir_exits_2_creating_nothing(tmp_path, capsys):
    """Bad input, as for every other command: one line naming the folder, exit 2, nothing
    written (it exited 1 before)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    for input_dir in (empty, tmp_path / "missing"):
        assert main(["--input_dir", str(input_dir), "--out", str(tmp_path / "out"), *FAST]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(
            f"python -m roga_bench.analyze: error: {input_dir}"
        )
    assert [p.name for p in tmp_path.iterdir()] == ["empty"]
