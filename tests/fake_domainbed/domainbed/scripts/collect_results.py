"""DomainBed's collect_results.py, cut down: the same records, grouping and selection methods,
one text table per dataset and method (mean +/- s.e. of test acc over trials, in %)."""

import argparse

import numpy as np

from domainbed import algorithms, datasets, model_selection
from domainbed.lib import misc, reporting


def format_mean(data):
    if len(data) == 0:
        return None, "X"
    mean, err = 100 * np.mean(data), 100 * np.std(np.asarray(data) / np.sqrt(len(data)))
    return mean, f"{mean:.1f} +/- {err:.1f}"


def print_results_tables(records, selection_method):
    groups = reporting.get_grouped_records(records)
    for g in groups:
        g["sweep_acc"] = selection_method.sweep_acc(g["records"])
    groups = [g for g in groups if g["sweep_acc"] is not None]
    names = {r["args"]["algorithm"] for r in records}
    alg_names = [n for n in algorithms.ALGORITHMS if n in names]
    alg_names += sorted(n for n in names if n not in algorithms.ALGORITHMS)
    used = {r["args"]["dataset"] for r in records}
    for dataset in [d for d in datasets.DATASETS if d in used]:
        envs = range(datasets.num_environments(dataset))  # fails for an unregistered dataset
        print(f"-------- Dataset: {dataset}, model selection method: {selection_method.name}")
        misc.print_row(["Algorithm", *datasets.get_dataset_class(dataset).ENVIRONMENTS], 20)
        for algorithm in alg_names:
            row = [algorithm]
            for env in envs:
                accs = [
                    g["sweep_acc"]
                    for g in groups
                    if (g["dataset"], g["algorithm"], g["test_env"]) == (dataset, algorithm, env)
                ]
                row.append(format_mean(accs)[1])
            misc.print_row(row, 20)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Domain generalization testbed")
    parser.add_argument("--input_dir", type=str, required=True)
    args = parser.parse_args()
    records = reporting.load_records(args.input_dir)
    print("Total records:", len(records))
    for method in [
        model_selection.IIDAccuracySelectionMethod,
        model_selection.LeaveOneOutSelectionMethod,
        model_selection.OracleSelectionMethod,
    ]:
        print_results_tables(records, method)
