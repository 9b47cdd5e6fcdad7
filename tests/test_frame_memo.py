"""The process-wide decoded-frame memo of pool workers: hits equal decoding, changes re-decode."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from roga_bench.datasets import DatasetError, Video, _split
from roga_bench.datasets._frames import decode_and_resize, frame_decoder, set_frame_decoder
from roga_bench.datasets.frame_memo import DecodedFrameMemo, install_frame_memo


def _png(path, value: int, size: int = 8) -> None:
    Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path)


def test_hit_equals_decoding_and_a_changed_file_is_decoded_again(tmp_path):
    path = tmp_path / "000.png"
    _png(path, 10)
    memo = DecodedFrameMemo(decode_and_resize, max_mb=1)
    first = memo(path, 4)
    assert np.array_equal(first, decode_and_resize(path, 4)) and first.shape == (4, 4, 3)
    assert memo(str(path), 4) is first and (memo.hits, memo.misses) == (1, 1)
    assert memo(path, 6).shape == (6, 6, 3)  # another size is another frame
    _png(path, 200)
    os.utime(path, ns=(1, 1))  # a rewrite within one mtime tick is still caught by the stamp
    changed = memo(path, 4)
    assert int(changed[0, 0, 0]) == 200 and memo(path, 4) is changed


def test_budget_and_errors(tmp_path):
    path = tmp_path / "000.png"
    _png(path, 10)
    memo = DecodedFrameMemo(decode_and_resize, max_mb=0)
    memo(path, 4), memo(path, 4)
    assert (memo.hits, memo.misses, memo.used) == (0, 2, 0)  # nothing kept over the budget
    with pytest.raises(DatasetError, match="missing.png"):
        memo(tmp_path / "missing.png", 4)


def test_install_is_idempotent_and_splits_decode_through_it(tmp_path):
    """The memo is injected through the decoder hook; nothing in ``_split`` is patched."""
    previous = set_frame_decoder(None)
    try:
        memo = install_frame_memo(16)
        assert frame_decoder() is memo and install_frame_memo(16) is memo
        path = tmp_path / "000.png"
        _png(path, 10)
        split = _split.FrameSplit([Video("FF-real", "000", 0, (str(path),))], 4, lambda f: f)
        assert np.array_equal(split.frame(0), decode_and_resize(path, 4))
        split.frame(0)
        assert (memo.hits, memo.misses) == (1, 1)
        assert not hasattr(_split, "decode_and_resize")  # no module attribute to patch
    finally:
        set_frame_decoder(previous)
