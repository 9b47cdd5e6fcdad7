"""``python -m roga_bench.evaluate``: a saved run's weights give back the numbers it recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from test_training_standins import ALGORITHM, DATASET

from roga_bench.evaluate import main
from roga_bench.training import TrainConfig, read_records, train


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evaluate") / "run"
    args = dict(dataset=DATASET, algorithm=ALGORITHM, test_envs=[1], device="cpu")
    args.update(hparams='{"lr": 0.01}', checkpoint_freq=1, output_dir=str(out))
    return train(TrainConfig.from_args(args))


@pytest.mark.parametrize("name", ["model.pkl", "model_best.pkl"])
def test_evaluate_reproduces_the_recorded_metrics(run: Path, tmp_path: Path, capsys, name) -> None:
    out = tmp_path / "eval" / "result.json"
    assert main(["--model", str(run / name), "--device", "cpu", "--out", str(out)]) == 0
    saved = json.loads(out.read_text())
    records = read_records(run / "results.jsonl")
    step = torch.load(run / name, weights_only=True)["step"]
    assert step == (records[-1]["best_step"] if name == "model_best.pkl" else records[-1]["step"])
    (recorded,) = [r for r in records if r["step"] == step]
    assert saved["step"] == step and saved["test_envs"] == [1]
    assert saved["environments"] == ["A", "B", "C"]
    assert set(saved["results"]) == {k for k in recorded if k.startswith("env")}
    for key, value in saved["results"].items():
        assert value == pytest.approx(recorded[key], abs=1e-6), key
    table = capsys.readouterr().out
    assert "1=B" in table and "test " in table and "video_auc" in table


def test_evaluate_other_test_envs(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    args = ["--model", str(run / "model.pkl"), "--test_envs", "0", "2", "--out", str(out)]
    assert main([*args, "--device", "cpu"]) == 0
    results = json.loads(out.read_text())["results"]
    assert "env0_in_auc" in results and "env2_in_auc" in results and "env1_in_auc" not in results


def _tampered(run: Path, tmp_path: Path, change) -> Path:
    payload = torch.load(run / "model.pkl", weights_only=True)
    change(payload)
    path = tmp_path / "model.pkl"
    torch.save(payload, path)
    return path


def test_bad_input_names_the_file_and_exits_non_zero(run: Path, tmp_path: Path, capsys) -> None:
    def code(*argv: str) -> tuple[int, str]:
        rc = main([*argv, "--device", "cpu", "--out", str(tmp_path / "never.json")])
        return rc, capsys.readouterr().err

    rc, err = code("--model", str(tmp_path / "nope.pkl"))
    assert rc == 2 and "nope.pkl: no such file" in err
    rc, err = code("--model", str(run))
    assert rc == 2 and "is a folder" in err and "model_best.pkl" in err
    (tmp_path / "junk.pkl").write_bytes(b"not a torch file")
    rc, err = code("--model", str(tmp_path / "junk.pkl"))
    assert rc == 1 and "junk.pkl: cannot load a model file" in err
    rc, err = code("--model", str(run / "model.pkl"), "--dataset", "NoSuchSet")
    assert rc == 2 and "NoSuchSet" in err
    rc, err = code("--model", str(run / "model.pkl"), "--test_envs", "7")
    assert rc == 2 and "out of range" in err and "0=A" in err

    def wrong_shape(p: dict) -> None:
        p["model_dict"]["network.2.weight"] = torch.zeros(2, 5)

    rc, err = code("--model", str(_tampered(run, tmp_path, wrong_shape)))
    assert rc == 1 and "model.pkl: weights do not fit _TestTinyERM" in err
    rc, err = code("--model", str(_tampered(run, tmp_path, lambda p: p.pop("model_dict"))))
    assert rc == 1 and "not a roga_bench/DomainBed model file" in err
    assert not (tmp_path / "never.json").exists()


def test_load_saved_algorithm_gives_the_saved_weights(run: Path, tmp_path: Path) -> None:
    from roga_bench.training._saved import SavedModelError, load_saved_algorithm

    algorithm, payload = load_saved_algorithm(run / "model_best.pkl")
    assert (
        not algorithm.training
        and payload["step"] == read_records(run / "results.jsonl")[-1]["best_step"]
    )
    state = algorithm.state_dict()
    assert state.keys() == payload["model_dict"].keys()
    assert all(torch.equal(state[k], v) for k, v in payload["model_dict"].items())
    x = torch.zeros(3, *payload["model_input_shape"])
    assert algorithm.predict(x).shape == (3, payload["model_num_classes"])

    def wrong_shape(p: dict) -> None:
        p["model_dict"]["network.2.weight"] = torch.zeros(2, 5)

    with pytest.raises(SavedModelError, match="model.pkl: weights do not fit _TestTinyERM"):
        load_saved_algorithm(_tampered(run, tmp_path, wrong_shape))
