"""The sinusoid tables and distance indices of HOP's two positional encodings."""

from __future__ import annotations

import math

import pytest
import torch

from matting_hop.positional_encoding import clipped_distances, sinusoid_table, window_distances


def test_row_d_is_the_sinusoid_at_position_radius_minus_d():
    table = sinusoid_table(7, 32)
    assert table.shape == (8, 32)
    for d in range(8):
        p = 7 - d
        for k in range(16):
            w = 10000 ** (-2 * k / 32)
            assert table[d, k].item() == pytest.approx(math.sin(p * w), abs=1e-6)
            assert table[d, 16 + k].item() == pytest.approx(math.cos(p * w), abs=1e-6)
    # the largest distance is position 0: sin block 0, cos block 1
    assert torch.equal(table[7], torch.cat([torch.zeros(16), torch.ones(16)]))


def test_bad_widths_raise():
    with pytest.raises(ValueError, match="even"):
        sinusoid_table(5, 7)
    with pytest.raises(ValueError, match="radius"):
        sinusoid_table(-1, 8)


def test_scale_insensitive_distances_clip_at_the_radius():
    d = clipped_distances(20, 7)
    assert d.shape == (20, 20) and d.dtype == torch.int64
    assert d[0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7] + [7] * 12
    assert torch.equal(d, d.t())
    assert clipped_distances(3, 7).tolist() == [[0, 1, 2], [1, 0, 1], [2, 1, 0]]


def test_window_distances_are_direction_invariant():
    assert window_distances(9).tolist() == [4, 3, 2, 1, 0, 1, 2, 3, 4]
    assert window_distances(5).tolist() == [2, 1, 0, 1, 2]
