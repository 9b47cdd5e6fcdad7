"""Model selection on synthetic records whose right answer is known by construction."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from roga_bench._registry import SELECTIONS, UnknownNameError
from roga_bench.reporting import load_records, select
from roga_bench.reporting.testing import checkpoint, write_run


def ck(step: int, n_envs: int = 4, **values: float) -> dict:
    """A checkpoint where every metric is 0.5 except the given ``values``."""
    return checkpoint(step, n_envs, lambda key: values.get(key, 0.5))


def val(auc: float, test_env: int = 0, n_envs: int = 4, metric: str = "auc") -> dict:
    """Training-env validation keys all set to ``auc``."""
    return {f"env{i}_out_{metric}": auc for i in range(n_envs) if i != test_env}


def lomo_sweep(root):
    # run A (hparams 0): best train-val at step 1 (0.8) where the test AUC is 0.7;
    # its last-checkpoint test-env val (oracle score) is 0.5
    write_run(
        root,
        dataset="FFppLOMO",
        algorithm="ERM",
        test_envs=[0],
        hparams_seed=0,
        checkpoints=[
            ck(0, env0_in_auc=0.9, env0_out_auc=0.99, **val(0.6)),
            ck(1, env0_in_auc=0.7, env0_out_auc=0.5, **val(0.8)),
        ],
    )
    # run B (hparams 1): train-val 0.7, test 0.95, test-env val 0.9 -> oracle's choice
    write_run(
        root,
        dataset="FFppLOMO",
        algorithm="ERM",
        test_envs=[0],
        hparams_seed=1,
        checkpoints=[ck(0, env0_in_auc=0.95, env0_out_auc=0.9, **val(0.7))],
    )
    return load_records(root).df


def test_iid_picks_best_checkpoint_then_best_hparams(tmp_path):
    out = select(lomo_sweep(tmp_path), "iid")
    assert len(out) == 1
    row = out.iloc[0]
    assert (row.env_name, row.step, row.hparams_seed) == ("DF", 1, 0)
    assert row.auc == pytest.approx(0.7) and row.val == pytest.approx(0.8)
    assert row.indomain_auc == pytest.approx(0.8)


def test_oracle_uses_last_checkpoint_and_test_env_val(tmp_path):
    row = select(lomo_sweep(tmp_path), "oracle").iloc[0]
    assert (row.hparams_seed, row.auc, row.val) == (1, pytest.approx(0.95), pytest.approx(0.9))


def test_selection_metric_acc_changes_the_choice(tmp_path):
    write_run(
        tmp_path,
        dataset="FFppLOMO",
        algorithm="SAM",
        test_envs=[2],
        hparams_seed=0,
        checkpoints=[ck(0, env2_in_auc=0.6, **val(0.9, 2), **val(0.1, 2, metric="acc"))],
    )
    write_run(
        tmp_path,
        dataset="FFppLOMO",
        algorithm="SAM",
        test_envs=[2],
        hparams_seed=1,
        checkpoints=[ck(0, env2_in_auc=0.8, **val(0.2, 2), **val(0.9, 2, metric="acc"))],
    )
    df = load_records(tmp_path).df
    assert select(df, "iid", "auc").iloc[0].auc == pytest.approx(0.6)
    assert select(df, "iid", "acc").iloc[0].auc == pytest.approx(0.8)
    with pytest.raises(ValueError, match="auc"):
        select(df, "iid", "eer")


def test_multi_test_env_runs_select_on_training_envs_only(tmp_path):
    test_envs = [4, 5, 6, 7, 8]
    good = {f"env{i}_out_auc": 0.9 for i in range(4)}
    bad = {f"env{i}_out_auc": 0.6 for i in range(4)} | {f"env{t}_out_auc": 1.0 for t in test_envs}
    write_run(
        tmp_path,
        dataset="FFppCrossDataset",
        algorithm="RoGA",
        test_envs=test_envs,
        hparams_seed=0,
        checkpoints=[ck(0, 9, env6_in_auc=0.77, **good)],
    )
    write_run(
        tmp_path,
        dataset="FFppCrossDataset",
        algorithm="RoGA",
        test_envs=test_envs,
        hparams_seed=1,
        checkpoints=[ck(0, 9, env6_in_auc=0.11, **bad)],
    )
    out = select(load_records(tmp_path).df, "iid")
    assert list(out.env_name) == ["CDF-v1", "CDF-v2", "UADFV", "DFDC", "DFDCP"]
    assert set(out.hparams_seed) == {0}
    assert out.set_index("env_name").loc["UADFV", "auc"] == pytest.approx(0.77)


def lodo_sweep(root, with_missing: bool = True):
    """Main runs for test envs 0 and 1; extra runs for every pair except (1, 3). An extra run's
    held-out env v has validation AUC (``env{v}_out``, what LODO ranks on) v0 then v1."""
    for hp, (v0, v1) in enumerate([(0.6, 0.8), (0.7, 0.7)]):
        for main in (0, 1):
            write_run(
                root,
                dataset="FFppLOMO",
                algorithm="RoGA",
                test_envs=[main],
                hparams_seed=hp,
                checkpoints=[
                    ck(0, **{f"env{main}_in_auc": 0.5 + hp / 10}),
                    ck(1, **{f"env{main}_in_auc": 0.71 + hp}),
                ],
            )
        pairs = [(0, 1), (0, 2), (0, 3), (1, 2)] + ([] if with_missing else [(1, 3)])
        for pair in pairs:
            cks = [
                ck(s, **{f"env{v}_out_auc": value for v in pair}) for s, value in ((0, v0), (1, v1))
            ]
            write_run(
                root,
                dataset="FFppLOMO",
                algorithm="RoGA",
                test_envs=list(pair),
                hparams_seed=hp,
                checkpoints=cks,
            )
    return load_records(root).df


def test_lodo_scores_steps_by_held_out_training_envs(tmp_path):
    out = select(lodo_sweep(tmp_path, with_missing=False), "lodo")
    assert list(out.env_name) == ["DF", "F2F"]
    row = out.iloc[0]
    # hparams 0 reaches mean held-out AUC 0.8 at step 1 (hparams 1 stays at 0.7)
    assert (row.hparams_seed, row.step) == (0, 1)
    assert row.val == pytest.approx(0.8) and row.auc == pytest.approx(0.71)


def test_lodo_missing_extra_run_gives_missing_cell_not_crash(tmp_path):
    df = lodo_sweep(tmp_path, with_missing=True)
    out = select(df, "lodo")
    assert list(out.env_name) == ["DF"]  # GID-F2F lacks the (1, 3) run -> no row
    # iid keeps every run, grouped by its own test envs (DomainBed kept the fewest only)
    iid = select(df, "iid")
    assert sorted(iid[iid.test_envs.map(len) == 1].env_name) == ["DF", "F2F"]
    assert sorted(set(iid.test_envs)) == [(0,), (0, 1), (0, 2), (0, 3), (1,), (1, 2)]


@pytest.mark.parametrize("name", SELECTIONS.names())
def test_every_registered_selection_returns_the_documented_columns(tmp_path, name):
    out = SELECTIONS.get(name)(lodo_sweep(tmp_path, with_missing=False), "auc")
    for col in [
        "dataset",
        "algorithm",
        "backbone",
        "test_env",
        "env_name",
        "trial_seed",
        "run",
        "step",
        "val",
        "acc",
        "auc",
        "ap",
        "eer",
        "loss",
        "video_auc",
        "indomain_auc",
    ]:
        assert col in out.columns
    main = out[out.test_envs.map(len) == 1]  # iid/oracle also keep the two-test-env runs
    assert len(main) == 2 and out["auc"].notna().all() and "auc_se" in out.columns


def test_empty_records_and_unknown_method():
    empty = pd.DataFrame(columns=["run", "dataset", "test_envs", "step"])
    assert select(empty, "iid").empty
    with pytest.raises(UnknownNameError, match="iid"):
        select(empty, "best-guess")


def test_nan_validation_ranks_last_and_nan_test_metric_is_kept(tmp_path):
    write_run(
        tmp_path,
        dataset="FFppLOMO",
        algorithm="ERM",
        test_envs=[3],
        hparams_seed=0,
        checkpoints=[
            ck(0, env3_in_auc=math.nan, **val(0.7, 3)),
            ck(1, env3_in_auc=0.99, **val(math.nan, 3)),
        ],
    )
    row = select(load_records(tmp_path).df, "iid").iloc[0]
    assert row.step == 0 and math.isnan(row.auc)


def test_lodo_table_shows_missing_cells_and_says_which(tmp_path):
    from roga_bench.reporting import build_tables, render

    lodo_sweep(tmp_path, with_missing=True)
    tables, _ = build_tables(tmp_path, "II", selection="lodo", paper_dir=tmp_path / "no_paper")
    table = tables["II"]
    assert table.missing is None and table.rows == ["RoGA"]
    assert ("RoGA", "DF:auc") in table.cells and ("RoGA", "F2F:auc") not in table.cells
    md = render(table, "markdown")
    assert "leave-one-domain-out cross-validation (lodo) on AUC" in md
    assert "Missing columns (no runs): GID-F2F ACC, GID-F2F AUC, GID-FS ACC" in md


def add_cross_run(root, dataset="FFppCrossDataset", n_envs=9, recorded=True):
    """One cross-dataset run beside a LOMO sweep: its envs 4.. become columns of the frame."""
    test_envs = list(range(4, n_envs))
    names = ["DF", "F2F", "FS", "NT", *(f"T{i}" for i in test_envs)]
    extra = {"dataset_environments": names} if recorded else {}
    write_run(
        root,
        dataset=dataset,
        algorithm="RoGA",
        test_envs=test_envs,
        checkpoints=[ck(0, n_envs, **extra), ck(1, n_envs, **extra)],
    )


@pytest.mark.parametrize("recorded", [True, False], ids=["dataset_environments", "old_records"])
def test_lodo_envs_come_from_each_runs_own_record(tmp_path, recorded):
    """Issue 11.1: a cross-dataset run in the folder made every LOMO run's LODO score missing."""
    lodo_sweep(tmp_path, with_missing=False)
    add_cross_run(tmp_path, recorded=recorded)
    df = load_records(tmp_path).df
    assert "env8_out_auc" in df.columns  # the frame holds the union of both datasets' envs
    lomo = df[df["dataset"] == "FFppLOMO"]  # what Context.selected hands to the method
    for frame in (lomo, df):
        out = select(frame, "lodo")
        out = out[out["dataset"] == "FFppLOMO"]
        assert list(out.env_name) == ["DF", "F2F"]
        assert out.iloc[0].val == pytest.approx(0.8) and out.iloc[0].step == 1
    # iid's training envs are the LOMO run's three, not 1-8: indomain is their mean alone
    iid = select(lomo, "iid")
    row = iid[iid.test_envs == (0,)].iloc[0]
    assert row.indomain_auc == pytest.approx(0.5)


def test_lodo_table_with_a_cross_dataset_run_in_the_folder(tmp_path):
    from roga_bench.reporting import build_tables

    lodo_sweep(tmp_path, with_missing=False)
    add_cross_run(tmp_path, dataset="FFppCrossDataset")
    tables, _ = build_tables(tmp_path, "II", selection="lodo")
    cells = tables["II"].cells
    assert ("RoGA", "DF:auc") in cells and ("RoGA", "F2F:auc") in cells


def test_record_env_indices_prefers_dataset_environments():
    from roga_bench.records import env_indices as record_env_indices

    rec = {"dataset_environments": ("A", "B", "C"), "env0_out_auc": 0.5, "env7_out_auc": math.nan}
    assert record_env_indices(rec) == [0, 1, 2]
    old = {"env0_out_auc": 0.5, "env2_in_acc": 0.1, "env5_out_auc": math.nan, "envx": 1}
    assert record_env_indices(old) == [0, 2]


def test_indomain_test_comes_from_the_training_envs_test_splits(tmp_path):
    """Issue 11.2: in-domain figures from env{i}_test_*, not the split that selected the step."""
    tests = {f"env{i}_test_auc": 0.6 + i / 10 for i in (1, 2, 3)}
    write_run(
        tmp_path,
        dataset="FFppLOMO",
        algorithm="ERM",
        test_envs=[0],
        checkpoints=[{**ck(0, **val(0.9)), **tests, "env0_test_auc": 0.1}],
    )
    write_run(  # an old run without env{i}_test keys: NaN, never the validation value
        tmp_path,
        dataset="FFppLOMO",
        algorithm="SAM",
        test_envs=[0],
        checkpoints=[ck(0, **val(0.9))],
    )
    out = select(load_records(tmp_path).df, "iid").set_index("algorithm")
    assert out.loc["ERM", "indomain_auc"] == pytest.approx(0.9)
    assert out.loc["ERM", "indomain_test_auc"] == pytest.approx(0.8)  # mean of 0.7, 0.8, 0.9
    assert math.isnan(out.loc["SAM", "indomain_test_auc"])
