"""DomainBed's sweep.py, cut down: the same command strings, handed to a command launcher."""

import argparse
import shlex

from domainbed import algorithms, command_launchers, datasets
from domainbed.lib import misc

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run a sweep")
    parser.add_argument("command", choices=["launch"])
    parser.add_argument("--datasets", nargs="+", type=str, default=datasets.DATASETS)
    parser.add_argument("--algorithms", nargs="+", type=str, default=algorithms.ALGORITHMS)
    parser.add_argument("--output_dir", type=str, required=True)
    parser.add_argument("--command_launcher", type=str, required=True)
    args = parser.parse_args()

    commands = []
    for dataset in args.datasets:
        for algorithm in args.algorithms:
            algorithms.get_algorithm_class(algorithm)  # fails for an unregistered name
            for env in range(datasets.num_environments(dataset)):
                seed = misc.seed_hash(dataset, algorithm, [env], 0, 0)
                command = ["python", "-m", "domainbed.scripts.train"]
                train_args = {"dataset": dataset, "algorithm": algorithm, "test_envs": env}
                train_args.update(seed=seed, output_dir=args.output_dir)
                for k, v in sorted(train_args.items()):
                    command.append(f"--{k} {shlex.quote(str(v))}")
                commands.append(" ".join(command))
    command_launchers.REGISTRY[args.command_launcher](commands)
