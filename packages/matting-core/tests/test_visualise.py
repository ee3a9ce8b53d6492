"""Pictures: the Middlebury flow colours against values worked out by hand, heat maps, sheets."""

from __future__ import annotations

import numpy as np
import pytest

from matting_core.visualise import (
    COLOUR_WHEEL,
    contact_sheet,
    error_heat_map,
    flow_colour_key,
    flow_to_colour,
    heat_map,
)


def test_colour_wheel_is_middleburys():
    # 15 red->yellow, 6 yellow->green, 4 green->cyan, 11 cyan->blue, 13 blue->magenta,
    # 6 magenta->red; a step is floor(255 * i / n)
    assert COLOUR_WHEEL.shape == (55, 3)
    assert COLOUR_WHEEL[0].tolist() == [255, 0, 0]
    assert COLOUR_WHEEL[1].tolist() == [255, 17, 0]  # floor(255 / 15)
    assert COLOUR_WHEEL[15].tolist() == [255, 255, 0]
    assert COLOUR_WHEEL[21].tolist() == [0, 255, 0]
    assert COLOUR_WHEEL[25].tolist() == [0, 255, 255]
    assert COLOUR_WHEEL[36].tolist() == [0, 0, 255]
    assert COLOUR_WHEEL[49].tolist() == [255, 0, 255]
    assert COLOUR_WHEEL[54].tolist() == [255, 0, 43]  # 255 - floor(255 * 5 / 6)


def test_flow_colours_of_a_hand_built_offset_field():
    # (row, column) offsets as the models return them: down, left, up, none, half down;
    # longest vector 1. Worked out from the coding: angle = atan2(-v, -u) / pi,
    # position = (angle + 1) / 2 * 54, colour = 1 - r (1 - hue), level = floor(255 colour).
    offsets = np.array(
        [
            [[1, 0, -1], [0, 0.5, 2]],  # rows (v)
            [[0, -1, 0], [0, 0, 0]],  # columns (u)
        ],
        dtype=np.float64,
    )
    colours = flow_to_colour(offsets, max_radius=1.0)
    # down: angle -1/2, position 13.5, halfway between (255, 221, 0) and (255, 238, 0)
    assert colours[0, 0].tolist() == [255, 229, 0]
    # left: angle 0, position 27 = cyan->blue step 2: (0, 255 - floor(510 / 11), 255)
    assert colours[0, 1].tolist() == [0, 209, 255]
    # up: angle 1/2, position 40.5, halfway between (78, 0, 255) and (98, 0, 255)
    assert colours[0, 2].tolist() == [88, 0, 255]
    # no displacement: white
    assert colours[1, 0].tolist() == [255, 255, 255]
    # half the radius down: 1 - 0.5 (1 - (1, 0.9, 0)) = (1, 0.95, 0.5)
    assert colours[1, 1].tolist() == [255, 242, 127]
    # twice the radius: out of range, 0.75 of the hue
    assert colours[1, 2].tolist() == [191, 172, 0]


def test_flow_colours_depend_on_direction_not_scale():
    offsets = np.array([[[3, 0]], [[0, -3]]], dtype=np.int64)  # integer offsets, as GCA's
    assert np.array_equal(flow_to_colour(offsets), flow_to_colour(offsets / 3.0))
    assert flow_to_colour(np.zeros((2, 2, 2))).tolist() == [[[255] * 3] * 2] * 2


def test_flow_colour_key():
    key = flow_colour_key(101)
    assert key.shape == (101, 101, 3) and key.dtype == np.uint8
    assert key[50, 50].tolist() == [255, 255, 255]  # the centre is at rest
    assert key[50, 100].tolist() == [255, 0, 0]  # right edge: full red
    assert key[0, 0].tolist() == [255, 255, 255]  # outside the disc


def test_flow_shape_is_checked():
    with pytest.raises(ValueError, match="row/column"):
        flow_to_colour(np.zeros((3, 4, 4)))


def _inferno(level: int) -> list[int]:
    import cv2

    return cv2.applyColorMap(np.array([[level]], np.uint8), cv2.COLORMAP_INFERNO)[
        0, 0, ::-1
    ].tolist()


def test_heat_map_range_and_errors():
    values = np.array([[0.0, 0.5, 1.0, 2.0]])
    picture = heat_map(values, 0.0, 1.0)
    assert picture.shape == (1, 4, 3)
    assert picture[0, 0].tolist() == _inferno(0)
    assert picture[0, 1].tolist() == _inferno(128)  # 0.5 * 255 rounds to 128
    assert picture[0, 2].tolist() == picture[0, 3].tolist()  # clipped at hi
    assert picture[0, 2].sum() > picture[0, 1].sum() > picture[0, 0].sum()
    trimap = np.array([[0, 128, 128, 255]], np.uint8)
    errors = error_heat_map(
        np.array([[1.0, 1.0, 0.0, 0.0]]), np.array([[0.0, 0.0, 0.0, 1.0]]), trimap
    )
    assert errors[0, 0].tolist() == [48, 48, 48] and errors[0, 3].tolist() == [48, 48, 48]
    assert errors[0, 1].tolist() == heat_map(np.array([[1.0]]), 0.0, 1.0)[0, 0].tolist()
    assert errors[0, 2].tolist() == _inferno(0)


def test_contact_sheet_layout():
    image = np.zeros((40, 60, 3), np.float32)
    alpha = np.ones((40, 60), np.float32)
    sheet = contact_sheet(
        [[image, alpha], [image, alpha]], ["a", "b"], tile_height=20, titles=("x", "y"), gap=2
    )
    # titles 24 + 2 rows x (label 24 + 20 + 2 gaps); width 2 tiles of 30 + 3 gaps
    assert sheet.shape == (24 + 2 * (24 + 24), 66, 3)
    assert sheet[24 + 24 + 2, 2 + 30 + 2 + 5].tolist() == [255, 255, 255]  # the alpha tile
    # a narrower tile is centred in its column: columns line up from row to row
    narrow = contact_sheet(
        [[image, alpha], [image, alpha[:, :30]]], ["a", "b"], tile_height=20, gap=2
    )
    assert narrow.shape[1] == 66
    second_row = 2 * 24 + 24 + 2 + 2  # first row, the second label, a gap
    assert narrow[second_row, 34 + 7].tolist() == [255, 255, 255]
    assert narrow[second_row, 34 + 2].tolist() == [32, 32, 32]
    with pytest.raises(ValueError):
        contact_sheet([[image]], ["a", "b"])
