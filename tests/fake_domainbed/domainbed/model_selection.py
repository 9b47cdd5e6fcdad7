"""DomainBed's ``model_selection.py``: the same three methods, the same ``run_acc`` /
``hparams_accs`` / ``sweep_acc`` classmethods and keys, over plain lists of records."""

import itertools

import numpy as np


def get_test_records(records):
    """The records of runs with a single test env."""
    return [r for r in records if len(r["args"]["test_envs"]) == 1]


class SelectionMethod:
    def __init__(self):
        raise TypeError

    @classmethod
    def run_acc(cls, run_records):
        raise NotImplementedError

    @classmethod
    def hparams_accs(cls, records):
        """(run_acc, run_records) per hparams_seed, best val_acc first."""
        by_seed = {}
        for r in records:
            by_seed.setdefault(r["args"]["hparams_seed"], []).append(r)
        accs = [(cls.run_acc(rs), rs) for rs in by_seed.values()]
        accs = [a for a in accs if a[0] is not None]
        return sorted(accs, key=lambda a: a[0]["val_acc"])[::-1]

    @classmethod
    def sweep_acc(cls, records):
        accs = cls.hparams_accs(records)
        return accs[0][0]["test_acc"] if accs else None


class OracleSelectionMethod(SelectionMethod):
    """The last checkpoint, ranked by the test env's out split (no early stopping)."""

    name = "test-domain validation set (oracle)"

    @classmethod
    def run_acc(cls, run_records):
        run_records = get_test_records(run_records)
        if not run_records:
            return None
        test_env = run_records[0]["args"]["test_envs"][0]
        chosen = sorted(run_records, key=lambda r: r["step"])[-1]
        return {
            "val_acc": chosen[f"env{test_env}_out_acc"],
            "test_acc": chosen[f"env{test_env}_in_acc"],
        }


class IIDAccuracySelectionMethod(SelectionMethod):
    """argmax over checkpoints of the mean out-split acc of the training envs."""

    name = "training-domain validation set"

    @classmethod
    def _step_acc(cls, record):
        test_env = record["args"]["test_envs"][0]
        keys = []
        for i in itertools.count():  # envs must be contiguous from 0, as in DomainBed
            if f"env{i}_out_acc" not in record:
                break
            if i != test_env:
                keys.append(f"env{i}_out_acc")
        return {
            "val_acc": np.mean([record[k] for k in keys]),
            "test_acc": record[f"env{test_env}_in_acc"],
        }

    @classmethod
    def run_acc(cls, run_records):
        test_records = get_test_records(run_records)
        if not test_records:
            return None
        accs = [cls._step_acc(r) for r in test_records]
        return accs[int(np.argmax([a["val_acc"] for a in accs]))]


class LeaveOneOutSelectionMethod(SelectionMethod):
    """Per step, the mean over training envs v of env{v}_in_acc of the run with test envs
    {test_env, v}; None unless every such run is there."""

    name = "leave-one-domain-out cross-validation"

    @classmethod
    def _step_acc(cls, records):
        test_records = get_test_records(records)
        if len(test_records) != 1:
            return None
        test_env = test_records[0]["args"]["test_envs"][0]
        n_envs = 0
        while f"env{n_envs}_out_acc" in records[0]:
            n_envs += 1
        val_accs = np.zeros(n_envs) - 1
        for r in records:
            if len(r["args"]["test_envs"]) == 2:
                val_env = (set(r["args"]["test_envs"]) - {test_env}).pop()
                val_accs[val_env] = r[f"env{val_env}_in_acc"]
        val_accs = list(val_accs[:test_env]) + list(val_accs[test_env + 1 :])
        if any(v == -1 for v in val_accs):
            return None
        return {
            "val_acc": np.sum(val_accs) / (n_envs - 1),
            "test_acc": test_records[0][f"env{test_env}_in_acc"],
        }

    @classmethod
    def run_acc(cls, records):
        by_step = {}
        for r in records:
            by_step.setdefault(r["step"], []).append(r)
        accs = [a for a in (cls._step_acc(rs) for rs in by_step.values()) if a is not None]
        return accs[int(np.argmax([a["val_acc"] for a in accs]))] if accs else None
