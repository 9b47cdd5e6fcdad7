"""DomainBed's train.py, cut down: same arguments, the same way of building hparams, the dataset,
its in/out splits (``misc.split_dataset`` with ``holdout_fraction``, seeded by trial seed and env)
and the algorithm; one update per step on the first minibatch of each training env; one record
with ``env{i}_in_acc``/``env{i}_out_acc`` of every env at the last step."""

import argparse
import json
import os

import torch
import torch.utils.data

from domainbed import algorithms, datasets, hparams_registry
from domainbed.lib import misc

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Domain generalization")
    parser.add_argument("--data_dir", type=str)
    parser.add_argument("--dataset", type=str, default="RotatedMNIST")
    parser.add_argument("--algorithm", type=str, default="ERM")
    parser.add_argument("--task", type=str, default="domain_generalization")
    parser.add_argument("--hparams", type=str)
    parser.add_argument("--hparams_seed", type=int, default=0)
    parser.add_argument("--trial_seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--checkpoint_freq", type=int, default=None)
    parser.add_argument("--test_envs", type=int, nargs="+", default=[0])
    parser.add_argument("--output_dir", type=str, default="train_output")
    parser.add_argument("--holdout_fraction", type=float, default=0.2)
    parser.add_argument("--uda_holdout_fraction", type=float, default=0)
    parser.add_argument("--skip_model_save", action="store_true")
    parser.add_argument("--save_model_every_checkpoint", action="store_true")
    args = parser.parse_args()

    os.makedirs(args.output_dir, exist_ok=True)
    if args.hparams_seed == 0:
        hparams = hparams_registry.default_hparams(args.algorithm, args.dataset)
    else:
        hparams = hparams_registry.random_hparams(
            args.algorithm, args.dataset, misc.seed_hash(args.hparams_seed, args.trial_seed)
        )
    if args.hparams:
        hparams.update(json.loads(args.hparams))
    torch.manual_seed(args.seed)

    if args.dataset in vars(datasets):
        dataset = vars(datasets)[args.dataset](args.data_dir, args.test_envs, hparams)
    else:
        raise NotImplementedError
    assert hparams["class_balanced"] in (True, False)
    in_splits, out_splits = [], []
    for env_i, env in enumerate(dataset):
        out, in_ = misc.split_dataset(
            env, int(len(env) * args.holdout_fraction), misc.seed_hash(args.trial_seed, env_i)
        )
        if env_i in args.test_envs:
            _uda, in_ = misc.split_dataset(
                in_,
                int(len(in_) * args.uda_holdout_fraction),
                misc.seed_hash(args.trial_seed, env_i),
            )
        in_splits.append(in_)
        out_splits.append(out)
    loaders = [
        torch.utils.data.DataLoader(
            env, batch_size=hparams["batch_size"], shuffle=True, num_workers=dataset.N_WORKERS
        )
        for i, env in enumerate(in_splits)
        if i not in args.test_envs
    ]
    algorithm_class = algorithms.get_algorithm_class(args.algorithm)
    algorithm = algorithm_class(
        dataset.input_shape, dataset.num_classes, len(dataset) - len(args.test_envs), hparams
    )
    n_steps = args.steps or dataset.N_STEPS
    for _ in range(n_steps):
        minibatches = [next(iter(loader)) for loader in loaders]
        step_vals = algorithm.update(minibatches, None)
    results = {"step": n_steps - 1, **step_vals, "hparams": hparams, "args": vars(args)}
    names = [f"env{i}_in" for i in range(len(in_splits))]
    names += [f"env{i}_out" for i in range(len(out_splits))]
    for name, split in zip(names, in_splits + out_splits, strict=True):
        loader = torch.utils.data.DataLoader(split, batch_size=64, num_workers=dataset.N_WORKERS)
        results[name + "_acc"] = misc.accuracy(algorithm, loader, None, "cpu")
    with open(os.path.join(args.output_dir, "results.jsonl"), "a") as f:
        f.write(json.dumps(results, sort_keys=True) + "\n")
    with open(os.path.join(args.output_dir, "done"), "w") as f:
        f.write("done")
