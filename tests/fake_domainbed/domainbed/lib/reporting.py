"""DomainBed's ``lib/reporting.py``: every ``<input_dir>/*/results.jsonl`` record, grouped by
(trial_seed, dataset, algorithm, test_env). Plain lists instead of DomainBed's ``Q``."""

import collections
import json
import os


def load_records(path):
    records = []
    for subdir in os.listdir(path):
        try:
            with open(os.path.join(path, subdir, "results.jsonl")) as f:
                records.extend(json.loads(line[:-1]) for line in f)
        except OSError:
            pass
    return records


def get_grouped_records(records):
    """A record with several test envs belongs to one group per test env."""
    result = collections.defaultdict(list)
    for r in records:
        for test_env in r["args"]["test_envs"]:
            a = r["args"]
            result[(a["trial_seed"], a["dataset"], a["algorithm"], test_env)].append(r)
    return [
        {"trial_seed": t, "dataset": d, "algorithm": a, "test_env": e, "records": rs}
        for (t, d, a, e), rs in result.items()
    ]
