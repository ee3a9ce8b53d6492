"""Trimap interpretation: every accepted encoding and every rejection."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import matting_data as md


@pytest.fixture(scope="module")
def real_trimap(lowres: Path) -> np.ndarray:
    tri = md.read_trimap(lowres / "trimap" / "GT01.png")
    assert set(np.unique(tri).tolist()) == {0, 128, 255}
    return tri


def _write(path: Path, array: np.ndarray, params: list[int] | None = None) -> Path:
    ok, buf = cv2.imencode(path.suffix, array, params or [])
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def test_exact_values_unchanged(real_trimap: np.ndarray) -> None:
    out = md.normalize_trimap(real_trimap)
    np.testing.assert_array_equal(out, real_trimap)
    assert out is not real_trimap and out.dtype == np.uint8


def test_127_means_unknown(tmp_path: Path, real_trimap: np.ndarray) -> None:
    t127 = np.where(real_trimap == 128, 127, real_trimap).astype(np.uint8)
    np.testing.assert_array_equal(md.read_trimap(_write(tmp_path / "t.png", t127)), real_trimap)


def test_label_indices(tmp_path: Path, real_trimap: np.ndarray) -> None:
    labels = (real_trimap // 127).astype(np.uint8)  # 0, 1, 2
    assert set(np.unique(labels).tolist()) == {0, 1, 2}
    np.testing.assert_array_equal(md.read_trimap(_write(tmp_path / "l.png", labels)), real_trimap)
    np.testing.assert_array_equal(md.normalize_trimap(labels.astype(np.int64)), real_trimap)


def test_16bit(tmp_path: Path, real_trimap: np.ndarray) -> None:
    t16 = real_trimap.astype(np.uint16) * 257  # 0, 32896, 65535
    path = _write(tmp_path / "t16.png", t16)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    np.testing.assert_array_equal(md.read_trimap(path), real_trimap)
    # 8-bit values stored in a 16-bit container are taken as they are.
    np.testing.assert_array_equal(md.normalize_trimap(real_trimap.astype(np.uint16)), real_trimap)


def test_jpeg_noise_snaps(tmp_path: Path, real_trimap: np.ndarray) -> None:
    path = _write(tmp_path / "t.jpg", real_trimap, [cv2.IMWRITE_JPEG_QUALITY, 90])
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert not np.isin(raw, [0, 128, 255]).all()  # the JPEG really is noisy
    np.testing.assert_array_equal(md.read_trimap(path), real_trimap)


def test_rgb_and_palette_equal_channels(tmp_path: Path, real_trimap: np.ndarray) -> None:
    rgb = np.dstack([real_trimap] * 3)
    np.testing.assert_array_equal(md.read_trimap(_write(tmp_path / "rgb.png", rgb)), real_trimap)
    rgba = np.dstack([real_trimap] * 3 + [np.full_like(real_trimap, 255)])
    np.testing.assert_array_equal(md.normalize_trimap(rgba), real_trimap)


def test_float_and_bool_arrays() -> None:
    f = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    np.testing.assert_array_equal(md.normalize_trimap(f), [[0, 128, 255]])
    np.testing.assert_array_equal(md.normalize_trimap(f * 255), [[0, 128, 255]])
    np.testing.assert_array_equal(md.normalize_trimap(np.array([[True, False]])), [[255, 0]])


def test_snap_boundaries() -> None:
    ok = np.array([[0, 32, 96, 127, 160, 223, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(md.normalize_trimap(ok), [[0, 0, 128, 128, 128, 255, 255]])


@pytest.mark.parametrize("bad", [33, 64, 95, 161, 200, 222])
def test_mid_values_rejected(bad: int) -> None:
    arr = np.array([[0, 128, 255, bad, bad]], dtype=np.uint8)
    with pytest.raises(md.TrimapValueError, match=rf"has 2 pixels .* \(e\.g\. {bad}\)"):
        md.normalize_trimap(arr, source="x.png")


def test_mid_values_in_file_rejected(tmp_path: Path, real_trimap: np.ndarray) -> None:
    bad = real_trimap.copy()
    bad[:10, :7] = 64
    path = _write(tmp_path / "mid.png", bad)
    with pytest.raises(md.TrimapValueError) as info:
        md.read_trimap(path)
    msg = str(info.value)
    assert str(path) in msg and "70 pixels" in msg and "e.g. 64" in msg


def test_alpha_matte_given_as_trimap_rejected(lowres: Path) -> None:
    with pytest.raises(md.TrimapValueError, match=r"alpha.GT01\.png has \d+ pixels"):
        md.read_trimap(lowres / "alpha" / "GT01.png")


def test_coloured_trimap_rejected(tmp_path: Path, real_trimap: np.ndarray) -> None:
    rgb = np.dstack([real_trimap] * 3)
    rgb[real_trimap == 128] = (255, 0, 0)  # unknown painted red (RGB)
    path = _write(tmp_path / "colour.png", np.ascontiguousarray(rgb[..., ::-1]))
    n = int(np.count_nonzero(real_trimap == 128))
    with pytest.raises(md.TrimapValueError) as info:
        md.read_trimap(path)
    msg = str(info.value)
    assert str(path) in msg and "colour image" in msg and f"{n} pixels" in msg
    assert "(255, 0, 0)" in msg


def test_other_rejections() -> None:
    with pytest.raises(md.TrimapValueError, match="NaN"):
        md.normalize_trimap(np.array([[0.0, np.nan]]))
    with pytest.raises(md.TrimapValueError, match=r"\[-1, 2\]"):
        md.normalize_trimap(np.array([[-1, 2]]))
    with pytest.raises(md.UnsupportedImageError, match="transparent"):
        md.normalize_trimap(np.zeros((2, 2, 4), np.uint8))
    with pytest.raises(md.UnsupportedImageError, match=r"shape \(1, 2, 2, 3\)"):
        md.normalize_trimap(np.zeros((1, 2, 2, 3), np.uint8))


def test_release_thresholds_read_every_gray_level():
    # The GCA demo's rule: < 85 background, >= 170 foreground, the rest unknown.
    levels = np.array([[0, 84, 85, 169, 170, 255]], np.uint8)
    out = md.normalize_trimap(levels, thresholds=(85, 170))
    assert out.tolist() == [[0, 0, 128, 128, 255, 255]]
    with pytest.raises(ValueError):
        md.normalize_trimap(levels, thresholds=(170, 85))
