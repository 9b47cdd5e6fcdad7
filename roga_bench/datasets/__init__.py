"""Datasets: the DeepfakeBench index reader and the registered environment classes.

    from roga_bench.datasets import get_dataset_class
    ds = get_dataset_class("FFppLOMO")("/data/rgb", test_envs=[0], hparams={})
    x, y = ds[1][0]          # float32 [3, 256, 256], label 1 = fake

Registered: FFppLOMO, FFppCrossDataset, SynthFFLOMO, SynthFFCrossDataset. The SynthFF generator
(``roga_bench.datasets.synthff``) is imported only when SynthFF data is needed.
"""

from __future__ import annotations

from typing import Any

from roga_bench._registry import DATASETS, list_datasets
from roga_bench.datasets._environments import DeepfakeBenchEnvironments
from roga_bench.datasets._errors import BadIndexError, DatasetError, DatasetWarning
from roga_bench.datasets._frames import decode_and_resize, landmark_path, read_landmarks
from roga_bench.datasets._index import Video, read_videos, resolve_frame_path
from roga_bench.datasets._labels import LABELS, label_of
from roga_bench.datasets._masks import (
    has_masks,
    load_mask,
    mask_path,
    read_mask,
    split_mask,
    split_masks,
)
from roga_bench.datasets.ffpp import FFppCrossDataset, FFppLOMO
from roga_bench.datasets.synthff_envs import SynthFFCrossDataset, SynthFFLOMO

__all__ = [
    "BadIndexError",
    "DatasetError",
    "DatasetWarning",
    "DeepfakeBenchEnvironments",
    "FFppLOMO",
    "FFppCrossDataset",
    "SynthFFLOMO",
    "SynthFFCrossDataset",
    "LABELS",
    "Video",
    "decode_and_resize",
    "get_dataset_class",
    "label_of",
    "landmark_path",
    "read_landmarks",
    "load_mask",
    "mask_path",
    "read_mask",
    "split_mask",
    "split_masks",
    "has_masks",
    "list_datasets",
    "num_environments",
    "read_videos",
    "resolve_frame_path",
]


def get_dataset_class(name: str) -> Any:
    """The registered dataset class called ``name``.

    Raises:
        UnknownNameError: (a KeyError) listing the registered dataset names.
    """
    return DATASETS.get(name)


def num_environments(name: str) -> int:
    """Number of environments a dataset class declares (DomainBed's helper)."""
    return len(get_dataset_class(name).ENVIRONMENTS)
