"""What ``reporting/selection.py`` promises beyond the choice itself: the output's columns and
names, the refusals and warnings (what they name), the defaults, and input it must survive
(rows in any order, keys absent from older records). Each test guards behaviour that mutation
testing (``benchmarks/mutation.py selection``) found no other fast test checking.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pandas as pd
import pytest

from roga_bench.records import METRICS
from roga_bench.reporting import ReportInputError, load_records, select
from roga_bench.reporting.selection import GROUP_KEYS, SelectionError, iid, oracle
from roga_bench.reporting.testing import checkpoint, write_run


def _ck(step: int, n_envs: int = 4, **values: float) -> dict:
    """A checkpoint where every metric is 0.5, with the given ``values`` (more keys allowed)."""
    return {**checkpoint(step, n_envs, lambda key: 0.5), **values}


def _lomo(root, name: str, test_envs, steps=(0, 1), hparams_seed=0, hparams=None, **values):
    """One FFppLOMO run named ``name`` with the same ``values`` at every step."""
    write_run(root, dataset="FFppLOMO", algorithm="RoGA", test_envs=test_envs, name=name,
              hparams_seed=hparams_seed, hparams=hparams,
              checkpoints=[_ck(s, **values) for s in steps])  # fmt: skip


def _names(out: pd.DataFrame) -> list[str]:
    return [Path(r).name for r in out["run"]]


def _messages(caught) -> list[str]:
    return [str(w.message) for w in caught]


# ------------------------------------------------------------------ the rows and their columns


def _cross(root, name="cross", names=("DF", "F2F", "FS", "NT", "CDF-v2", "DFDC"), **values):
    """A cross-dataset run on targets 4 and 5 whose record names its environments: its
    targets were CDF-v2 and DFDC (FFppCrossDataset's class list would say CDF-v1, CDF-v2)."""
    extra = {"dataset_environments": list(names)} if names else {}
    write_run(root, dataset="FFppCrossDataset", algorithm="RoGA", test_envs=[4, 5], name=name,
              checkpoints=[{**_ck(s, len(names or [0] * 6), **values), **extra}
                           for s in (0, 1)])  # fmt: skip


def test_one_row_per_test_env_with_exactly_the_documented_columns(tmp_path):
    # a stray column (the old index) would be written into every selected-rows CSV; a missing
    # test_env or a wrong one would put a target's numbers under another's name
    _cross(tmp_path, env4_in_auc=0.81, env5_in_auc=0.62, env4_in_auc_se=0.01,
           env5_in_auc_se=0.02)  # fmt: skip
    _lomo(tmp_path, "lomo", [2], env2_in_auc=0.7)
    out = select(load_records(tmp_path).df, "iid", extra_keys=["hparams.rho"])
    assert list(out.columns) == [
        *GROUP_KEYS, "test_env", "env_name", "run", "hparams_seed", "step", "val", *METRICS,
        "auc_se", *(f"indomain_{m}" for m in METRICS), *(f"indomain_test_{m}" for m in METRICS),
        "hparams.rho",
    ]  # fmt: skip
    assert list(out.index) == [0, 1, 2]
    assert list(out.dataset) == ["FFppCrossDataset", "FFppCrossDataset", "FFppLOMO"]
    assert list(out.test_env) == [4, 5, 2]
    # the names the run recorded win over the dataset's class list
    assert list(out.env_name) == ["CDF-v2", "DFDC", "FS"]
    assert list(out.auc) == pytest.approx([0.81, 0.62, 0.7])
    # each target's own DeLong s.e. (env{t}_in_auc_se); NaN where the record has none
    assert list(out.auc_se[:2]) == pytest.approx([0.01, 0.02]) and math.isnan(out.auc_se[2])


def test_keys_absent_from_older_records_read_as_nan_never_a_crash(tmp_path):
    # records written before a key existed (video_auc, auc_se, a validation split) lack the
    # column altogether: selection must treat it as NaN, as it treats a NaN value
    for main in (0, 1):
        _lomo(tmp_path, f"main{main}", [main], **{f"env{main}_in_auc": 0.7 + main / 10})
    for pair in [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3)]:
        _lomo(tmp_path, f"x{pair[0]}{pair[1]}", list(pair),
              **{f"env{v}_out_auc": 0.6 + v / 10 for v in pair})  # fmt: skip
    df = load_records(tmp_path).df
    video = [c for c in df.columns if c.endswith("_video_auc")]
    nan_video = df.assign(**{c: math.nan for c in video})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the extra runs' own "no validation runs" warning
        for method in ("iid", "oracle", "lodo"):
            got = select(df.drop(columns=video), method)
            pd.testing.assert_frame_equal(got, select(nan_video, method))
            assert got.video_auc.isna().all() and got.auc.notna().all()
        # LODO on an extra run's held-out env whose validation key no record has
        got = select(df.drop(columns=["env3_out_auc"]), "lodo")
        pd.testing.assert_frame_equal(got, select(df.assign(env3_out_auc=math.nan), "lodo"))
    assert _names(got) == ["main0", "main1"] and got.val.isna().all()


def test_the_rows_order_in_the_frame_does_not_change_the_choice(tmp_path):
    # iid: a tie at steps 0 and 100 goes to the earliest; oracle: the last checkpoint. A frame
    # filtered, concatenated or sorted by something else must give the same rows
    cks = [
        _ck(0, env0_in_auc=0.61, env0_out_auc=0.5, **{f"env{i}_out_auc": 0.8 for i in (1, 2, 3)}),
        _ck(100, env0_in_auc=0.62, env0_out_auc=0.5, **{f"env{i}_out_auc": 0.8 for i in (1, 2, 3)}),
        _ck(200, env0_in_auc=0.63, env0_out_auc=0.9, **{f"env{i}_out_auc": 0.7 for i in (1, 2, 3)}),
    ]  # fmt: skip
    write_run(tmp_path, dataset="FFppLOMO", algorithm="ERM", test_envs=[0], checkpoints=cks)
    df = load_records(tmp_path).df
    backwards = df.iloc[::-1].reset_index(drop=True)
    for method, step, auc in (("iid", 0, 0.61), ("oracle", 200, 0.63)):
        for frame in (df, backwards):
            row = select(frame, method).iloc[0]
            assert (row.step, row.auc) == (step, pytest.approx(auc)), method
    # records without a step at all (load_records accepts them): the rows keep the file's order
    row = select(df.drop(columns=["step"]), "iid").iloc[0]
    assert row.auc == pytest.approx(0.61) and pd.isna(row.step)


# ------------------------------------------------------------------ defaults and bad arguments


def test_defaults_are_iid_on_auc_without_test_frames(tmp_path):
    # two runs that AUC and accuracy rank in opposite orders: the defaults must be AUC and iid
    _lomo(tmp_path, "a", [0], hparams_seed=0, env0_in_auc=0.6,
          **{f"env{i}_out_auc": 0.9 for i in (1, 2, 3)})  # fmt: skip
    _lomo(tmp_path, "b", [0], hparams_seed=1, env0_in_auc=0.8,
          **{f"env{i}_out_acc": 0.9 for i in (1, 2, 3)})  # fmt: skip
    df = load_records(tmp_path).df
    assert _names(select(df)) == _names(select(df, "iid", "auc")) == ["a"]
    assert _names(iid(df)) == ["a"] and _names(iid(df, "acc")) == ["b"]
    assert select(df).val.iloc[0] == pytest.approx(0.9)


def test_grouping_on_a_column_the_records_lack_names_it(tmp_path):
    _lomo(tmp_path, "a", [0])
    df = load_records(tmp_path).df
    with pytest.raises(ReportInputError, match=r"no column\(s\) \['hparams.beta'\] to group on"):
        select(df, "iid", extra_keys=["hparams.rho", "hparams.beta"])


# ------------------------------------------------------------------ oracle on mirrored targets


def _mirrored(root, names=("DF", "F2F", "FS", "NT", "UADFV", "DFDC")) -> pd.DataFrame:
    """A cross-dataset run whose targets' val is their test (env{t}_out == env{t}_in)."""
    keys = {f"env{t}_{s}_{m}": v for t in (4, 5) for s in ("in", "out")
            for m, v in (("auc", 0.7 + t / 100), ("loss", 0.3))}  # fmt: skip
    _cross(root, names=names, **keys)
    return load_records(root).df


def test_oracle_refuses_targets_whose_val_is_their_test_naming_them(tmp_path):
    df = _mirrored(tmp_path)
    for call in (lambda: select(df, "oracle"), lambda: oracle(df), lambda: oracle(df, "acc")):
        with pytest.raises(SelectionError) as err:
            call()
        msg = str(err.value)
        # the names the run recorded, sorted; the reason; the two ways out
        assert msg.startswith("oracle selection refused: the validation split of DFDC, UADFV is ")
        assert (
            "its test split (cross-dataset targets: DeepfakeBench's val is their test list)" in msg
        )
        assert "so oracle would pick hparams on the frames the table reports" in msg
        assert "use --selection iid or lodo, or pass --oracle_on_test to allow it" in msg
        assert "(the titles then say 'oracle on test frames')" in msg
    # asked for explicitly, through either door: the targets' rows
    for out in (select(df, "oracle", allow_test_frames=True), oracle(df, allow_test_frames=True)):
        assert list(out.env_name) == ["UADFV", "DFDC"]
        assert out.val.iloc[0] == pytest.approx(0.745)  # mean of the targets' val AUC
    assert len(select(df, "iid")) == 2  # training-domain validation never looks at them


def test_oracle_refusal_names_targets_of_records_without_their_environments(tmp_path):
    # records written before dataset_environments existed: the dataset's class list names them
    df = _mirrored(tmp_path, names=None)
    with pytest.raises(SelectionError, match="validation split of CDF-v1, CDF-v2 is its test"):
        select(df, "oracle")


def test_oracle_accepts_a_target_whose_val_differs_in_auc_or_in_loss(tmp_path):
    # the same loss by chance is not the same split: both the loss and the AUC must agree
    same_loss = {"env4_out_loss": 0.3, "env4_in_loss": 0.3, "env4_out_auc": 0.7,
                 "env4_in_auc": 0.8, "env5_out_loss": 0.2, "env5_in_loss": 0.3}  # fmt: skip
    _cross(tmp_path, **same_loss)
    out = select(load_records(tmp_path).df, "oracle")
    assert list(out.env_name) == ["CDF-v2", "DFDC"]


# ------------------------------------------------------------------ LODO: who is used, who is not


def test_lodo_keeps_runs_of_other_hparams_overrides_apart(tmp_path):
    # same hparams seed, another --hparams override: the extra runs of one are not the other's
    # validation runs (it would be scored on another model's held-out envs)
    _lomo(tmp_path, "a_rho", [0], hparams={"rho": 0.5}, env0_in_auc=0.9)
    _lomo(tmp_path, "b_plain", [0], env0_in_auc=0.6)
    for v in (1, 2, 3):
        _lomo(tmp_path, f"x0{v}", [0, v], **{f"env{v}_out_auc": 0.7})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = select(load_records(tmp_path).df, "lodo")
    assert _names(out) == ["b_plain"] and out.val.iloc[0] == pytest.approx(0.7)
    assert any(
        "a_rho (test envs [0]; missing extra runs with test envs [[0, 1], [0, 2], [0, 3]])" in m
        for m in _messages(caught)
    )


def test_lodo_warnings_name_each_unused_run_and_why(tmp_path):
    _lomo(tmp_path, "main0", [0])  # all three extra runs: selected
    _lomo(tmp_path, "main2", [2], steps=(7,))  # its extra runs exist, but at steps 0 and 1
    _lomo(tmp_path, "main3", [3])  # (1, 3) of its extra runs is missing
    for pair in [(0, 1), (0, 2), (0, 3), (1, 2), (2, 3)]:
        _lomo(
            tmp_path, f"x{pair[0]}{pair[1]}", list(pair), **{f"env{v}_out_auc": 0.7 for v in pair}
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = select(load_records(tmp_path).df, "lodo")
    assert _names(out) == ["main0"]
    assert all(w.category is UserWarning for w in caught)
    assert _messages(caught) == [
        "lodo: 2 run(s) not selected, no leave-one-domain-out validation score: "
        "main2 (test envs [2]; its extra runs share no checkpoint step with it); "
        "main3 (test envs [3]; missing extra runs with test envs [[1, 3]])",
        # the five extra runs, each without 3-test-env runs of its own: a note, not a list
        "lodo: 5 run(s) serve as other runs' validation runs (one test env more) and have no "
        "validation runs of their own: not results on their own",
    ]


# ------------------------------------------------------------------ LODO: --eval_targets selectable


def _selectable(root, mains, extras, selectable) -> pd.DataFrame:
    """One-checkpoint FFppLOMO runs; ``selectable``: names trained with --eval_targets
    selectable (the others with all)."""
    for hp, main in mains:
        _lomo(root, f"hp{hp}_main{main}", [main], steps=(0,), hparams_seed=hp)
    for hp, pair in extras:
        _lomo(root, f"hp{hp}_x{pair[0]}{pair[1]}", list(pair), steps=(0,), hparams_seed=hp)
    df = load_records(root).df
    mode = df.run.map(lambda r: "selectable" if Path(r).name in selectable else "all")
    return df.assign(**{"args.eval_targets": mode})


def test_lodo_refuses_validation_runs_trained_selectable_naming_them(tmp_path):
    # the held-out env is among the run's own test envs (pairs (0, 1) and (1, 2)) at either
    # position: both are validation runs of the main run on env 1
    extras = [(hp, p) for hp in (0, 1) for p in [(0, 1), (1, 2), (1, 3)]]
    names = [f"hp{hp}_x{a}{b}" for hp, (a, b) in extras]
    df = _selectable(tmp_path, [(0, 1), (1, 1)], extras, set(names))
    with pytest.raises(SelectionError) as err:
        select(df, "lodo")
    msg = str(err.value)
    # six runs: the first five by name, then "..."
    assert msg.startswith(
        "lodo selection refused: 6 of its validation runs (hp0_x01, hp0_x12, hp0_x13, "
        "hp1_x01, hp1_x12, ...) were trained with --eval_targets selectable, "
    )
    assert "which scores their held-out envs only at some steps; LODO needs those envs " in msg
    assert msg.endswith(
        "scored at every checkpoint: rerun them with --eval_targets all, or use --selection iid"
    )
    # five: all named, no "..."
    one_fixed = df.assign(
        **{"args.eval_targets": df["args.eval_targets"].where(~df.run.str.endswith("hp1_x13"))}
    )
    with pytest.raises(SelectionError, match=r"^lodo selection refused: 5 of its validation runs "
                       r"\(hp0_x01, hp0_x12, hp0_x13, hp1_x01, hp1_x12\) were"):  # fmt: skip
        select(one_fixed, "lodo")


def test_lodo_takes_a_main_run_trained_selectable(tmp_path):
    # --eval_targets selectable on a main run scores its own targets where selection can pick:
    # only its validation runs need every step
    extras = [(0, (0, 1)), (0, (1, 2)), (0, (1, 3))]
    df = _selectable(tmp_path, [(0, 1)], extras, {"hp0_main1"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = select(df, "lodo")
    assert _names(out) == ["hp0_main1"]
