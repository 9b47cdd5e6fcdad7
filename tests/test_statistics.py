"""Issue 16: the run as the unit, DeLong, selection that never drops or peeks. Each test pins a
number computed by hand (Holm, TOST and the decision rule: ``test_stats.py``)."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from roga_bench.metrics import delong_se
from roga_bench.reporting import build_tables, load_records, select
from roga_bench.reporting.testing import checkpoint, write_run

CROSS = ["DF", "F2F", "FS", "NT", "CDF-v1", "CDF-v2", "UADFV", "DFDC", "DFDCP"]


def _cross_run(root, algorithm, trial, targets, test_envs=(4, 5, 6, 7, 8)):
    """A cross-dataset run whose target AUCs are ``targets`` (by env index)."""

    def value(key):
        env, split, _ = key.split("_", 2)
        i = int(env[3:])
        return targets.get(i, 0.5) if split == "in" else 0.7

    ck = {**checkpoint(0, 9, value), "dataset_environments": CROSS}
    write_run(
        root, dataset="FFppCrossDataset", algorithm=algorithm, test_envs=list(test_envs),
        trial_seed=trial, checkpoints=[ck],
    )  # fmt: skip


def test_table_i_pairs_runs_not_columns(tmp_path):
    # 3 trials x 5 targets: each run's 5 columns are one pair (n = 3, not 15)
    erm = {0: [0.60, 0.62, 0.64, 0.66, 0.68], 1: [0.70] * 5, 2: [0.65] * 5}
    gain = {0: 0.01, 1: 0.05, 2: 0.02}
    for t in range(3):
        _cross_run(tmp_path, "ERM", t, dict(zip(range(4, 9), erm[t], strict=True)))
        roga = [v + gain[t] for v in erm[t]]
        _cross_run(tmp_path, "RoGA", t, dict(zip(range(4, 9), roga, strict=True)))
    tables, _ = build_tables(tmp_path, "I", paper_dir=tmp_path / "none")
    test = tables["I"].significance["RoGA"]
    d = [0.01, 0.05, 0.02]
    assert test.n == 3 and test.test == "paired t"
    assert test.diff == pytest.approx(sum(d) / 3)
    t_stat = (sum(d) / 3) / (stats.tstd(d) / math.sqrt(3))
    assert test.p == pytest.approx(2 * stats.t.sf(t_stat, 2), rel=1e-4)
    verdict = tables["I"].decisions["RoGA"][1]
    assert verdict.p_holm == pytest.approx(test.p)  # one comparison: Holm changes nothing
    # every column has its own test over the 3 runs
    assert {t.n for t in tables["I"].column_tests["RoGA"].values()} == {3}
    assert any("n=3 run pairs" in line for line in tables["I"].decision_lines())


def test_delong_se_matches_a_hand_computation():
    # fakes 0.9, 0.6, 0.4; reals 0.5, 0.3: V10 = 1, 1, 1/2; V01 = 2/3, 1
    # Var = s²(V10)/3 + s²(V01)/2 = (1/12)/3 + (1/18)/2 = 1/18
    assert delong_se([1, 1, 1, 0, 0], [0.9, 0.6, 0.4, 0.5, 0.3]) == pytest.approx(math.sqrt(1 / 18))
    assert math.isnan(delong_se([1, 0, 0], [0.9, 0.1, 0.2]))  # one fake: no variance


def test_mixed_one_and_five_target_runs_are_all_kept(tmp_path):
    # DomainBed kept only the fewest test envs per dataset: the 5-target runs vanished
    for alg in ("ERM", "RoGA"):
        _cross_run(tmp_path, alg, 0, {i: 0.7 for i in range(4, 9)})
        _cross_run(tmp_path, alg, 0, {6: 0.8}, test_envs=(6,))
    out = select(load_records(tmp_path).df, "iid")
    assert sorted(set(out.test_envs)) == [(4, 5, 6, 7, 8), (6,)]
    assert len(out) == 2 * (5 + 1)
    tables, _ = build_tables(tmp_path, "I", paper_dir=tmp_path / "none")
    notes = " ".join(tables["I"].notes)
    assert "Runs of 2 held-out sets ((4, 5, 6, 7, 8), (6,)) are all kept" in notes
    assert tables["I"].cells[("RoGA", "UADFV")].mean == pytest.approx(0.75)  # both runs


def _lodo_runs(root):
    """LOMO test env 0, hparams 0 and 1; extra runs (0, v). Validation (env{v}_out) prefers
    hparams 1, the held-out env's test split (env{v}_in) prefers hparams 0."""
    for hp, (val, test) in enumerate([(0.6, 0.9), (0.8, 0.5)]):
        main = checkpoint(0, 4, lambda k, hp=hp: 0.7 + 0.1 * hp if k == "env0_in_auc" else 0.5)
        write_run(root, dataset="FFppLOMO", algorithm="ERM", test_envs=[0], hparams_seed=hp,
                  checkpoints=[main])  # fmt: skip
        for v in (1, 2, 3):
            keys = {f"env{v}_out_auc": val, f"env{v}_in_auc": test}
            ck = checkpoint(0, 4, lambda k, keys=keys: keys.get(k, 0.5))
            write_run(root, dataset="FFppLOMO", algorithm="ERM", test_envs=[0, v],
                      hparams_seed=hp, checkpoints=[ck])  # fmt: skip


def test_lodo_ranks_on_validation_not_test(tmp_path):
    _lodo_runs(tmp_path)
    with pytest.warns(UserWarning, match="serve as other runs' validation runs"):
        out = select(load_records(tmp_path).df, "lodo")
    assert list(out.hparams_seed) == [1] and out.iloc[0].val == pytest.approx(0.8)


def test_lodo_names_a_run_it_cannot_use(tmp_path):
    _lodo_runs(tmp_path)
    write_run(tmp_path, dataset="FFppLOMO", algorithm="ERM", test_envs=[2], name="lonely",
              checkpoints=[checkpoint(0, 4, lambda k: 0.5)])  # fmt: skip
    with pytest.warns(UserWarning, match=r"lonely \(test envs \[2\]; missing extra runs"):
        select(load_records(tmp_path).df, "lodo")
