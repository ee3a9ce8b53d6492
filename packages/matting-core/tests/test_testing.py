"""matting_core.testing: where the suites find shared/data and the parity fixtures."""

from __future__ import annotations

import pytest

from matting_core.testing import SHARED_DATA_ENV, find_shared, require_shared


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """<tmp>/shared/{data,fixtures/x-official} beside <tmp>/repo/packages/p/tests."""
    monkeypatch.delenv(SHARED_DATA_ENV, raising=False)
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "fixtures" / "x-official").mkdir(parents=True)
    (tmp_path / "shared" / "fixtures" / "x-official" / "keys.json").write_text("{}")
    tests = tmp_path / "repo" / "packages" / "p" / "tests"
    tests.mkdir(parents=True)
    return tmp_path, tests / "conftest.py"


def test_found_beside_an_ancestor_of_the_test_file(tree):
    root, start = tree
    assert find_shared("data", start=start) == root / "shared" / "data"
    assert find_shared("fixtures/x-official", start=start) == root / "shared/fixtures/x-official"
    assert find_shared("fixtures/missing", start=start) is None


def test_environment_variables_win(tree, tmp_path_factory, monkeypatch):
    root, start = tree
    other = tmp_path_factory.mktemp("elsewhere")
    (other / "data").mkdir()
    (other / "fixtures" / "x-official").mkdir(parents=True)
    monkeypatch.setenv(SHARED_DATA_ENV, str(other / "data"))
    assert find_shared("data", start=start) == other / "data"
    assert find_shared("fixtures/x-official", start=start) == other / "fixtures" / "x-official"
    monkeypatch.setenv("MATTING_X_FIXTURES", str(root / "shared" / "fixtures" / "x-official"))
    found = find_shared("fixtures/x-official", env="MATTING_X_FIXTURES", start=start)
    assert found == root / "shared" / "fixtures" / "x-official"


def test_require_shared_fails_with_one_sentence(tree):
    _, start = tree
    assert require_shared("fixtures/x-official", must_contain="keys.json", start=start)
    with pytest.raises(pytest.fail.Exception, match="set MATTING_X_FIXTURES to the folder"):
        require_shared(
            "fixtures/x-official",
            must_contain="expected.npz",
            env="MATTING_X_FIXTURES",
            start=start,
        )


def test_levels_match_tolerates_only_pixels_at_a_rounding_boundary():
    import numpy as np

    from matting_core.testing import assert_levels_match

    # 100/255 computed in another summation order can land a hair below the integer level:
    # truncation then gives 99 where the release wrote 100.
    below = np.float32(100 / 255) - np.float32(3e-8)
    alpha = np.array([[below, 0.5, 1.0, 0.0]], np.float32)
    release = np.array([[100, 127, 255, 0]], np.uint8)
    assert np.floor(alpha.astype(np.float64) * 255)[0, 0] == 99  # the old exact check failed
    assert assert_levels_match(alpha, release, atol=1e-5, rounding="floor") == 2  # 100 and 255
    with pytest.raises(AssertionError, match="away from any rounding boundary"):
        assert_levels_match(alpha, np.array([[100, 128, 255, 0]], np.uint8), atol=1e-5)
    # nearest: the boundaries are the halves (0.5 * 255 = 127.5 may go to 127 or 128)
    assert assert_levels_match(alpha, np.array([[100, 127, 255, 0]], np.uint8), atol=1e-5,
                               rounding="nearest") == 1  # fmt: skip
    with pytest.raises(AssertionError, match="levels off"):
        assert_levels_match(alpha, np.array([[98, 127, 255, 0]], np.uint8), atol=1e-5)
