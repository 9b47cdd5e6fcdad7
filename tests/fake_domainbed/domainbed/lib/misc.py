"""DomainBed's ``lib/misc.py``, cut down to what train.py, collect_results and the plugin use:
``seed_hash``, ``split_dataset`` (a random split of item indices, as DomainBed's), ``accuracy``
and ``print_row``. Same signatures and behaviour as DomainBed's; written for the tests."""

import hashlib

import numpy as np
import torch


def seed_hash(*args):
    """Derive an integer hash from all args, for use as a random seed."""
    args_str = str(args)
    return int(hashlib.md5(args_str.encode("utf-8")).hexdigest(), 16) % (2**31)


class _SplitDataset(torch.utils.data.Dataset):
    """The items ``keys`` of ``underlying_dataset`` (what split_dataset returns)."""

    def __init__(self, underlying_dataset, keys):
        super().__init__()
        self.underlying_dataset = underlying_dataset
        self.keys = keys

    def __getitem__(self, key):
        return self.underlying_dataset[self.keys[key]]

    def __len__(self):
        return len(self.keys)


def split_dataset(dataset, n, seed=0):
    """A random split of ``dataset`` into ``n`` items and the rest (item-level, seeded)."""
    assert n <= len(dataset)
    keys = list(range(len(dataset)))
    np.random.RandomState(seed).shuffle(keys)
    return _SplitDataset(dataset, keys[:n]), _SplitDataset(dataset, keys[n:])


def accuracy(network, loader, weights, device):
    """Accuracy of ``network.predict`` over ``loader`` (``weights`` unused here: always None)."""
    correct, total = 0, 0
    network.eval()
    with torch.no_grad():
        for x, y in loader:
            p = network.predict(x.to(device))
            correct += p.argmax(1).eq(y.to(device)).float().sum().item()
            total += len(x)
    network.train()
    return correct / total


def print_row(row, colwidth=10, latex=False):
    sep, end_ = (" & ", "\\\\") if latex else ("  ", "")

    def format_val(x):
        if np.issubdtype(type(x), np.floating):
            x = f"{x:.10f}"
        return str(x).ljust(colwidth)[:colwidth]

    print(sep.join([format_val(x) for x in row]), end_)
