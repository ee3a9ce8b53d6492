"""The plugin contract, as tests: what every registered model must do, checked on a real photo.

A plugin's test suite inherits one class and names its models::

    from matting_core.testing import ModelContract


    class TestContract(ModelContract):
        plugin = "gca"                      # the plugin's entry-point name
        models = ("gca", "gca-small")
        options = {"gca": {"width": 0.25}}  # optional: smaller networks for speed

pytest then runs, for each model, the checks below (each a test of its own, named after the
model).  :func:`check_model_contract` runs all of them for one model in one call; the
``integration`` session calls it for every installed model.

1. **registration**: the plugin's entry point exists in the ``matting`` group, the model is in
   ``list_models()``, and that plugin (not another) provides it;
2. **ModelInfo**: a citation, a description, a config dataclass whose default builds and whose
   every field is documented (``:param name:`` in its or a base's docstring), positive std,
   resolvable bundled weights, and a training recipe that builds a ``TrainingRecipe``;
3. **forward contract on a real photo**: a window of the alphamatting.com photo GT01 with its
   trimap, normalised and padded as ``predict`` does, gives ``{"alpha": (1, 1, H, W)}``
   float32, finite, in [0, 1];
4. **save/load round trip**: ``save_weights`` then ``load_model`` restores every tensor and the
   same prediction (a model without parameters loads without a checkpoint);
5. **predict through the CLI**: ``matting predict`` writes the PNG the API predicts (to 1/255).

The photo comes from ``shared/data`` (see :func:`matting_core.testing.find_shared`).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import inspect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

__all__ = [
    "ModelContract",
    "Photo",
    "check_cli_predict",
    "check_forward_contract",
    "check_model_contract",
    "check_model_info",
    "check_registration",
    "check_round_trip",
    "load_photo",
    "real_photo",
    "shared_data",
    "write_unknown_band_crops",
]

#: The window of GT01 every contract check uses: 64 x 80 pixels of a plush toy's fur (about
#: a third each of background, unknown and foreground), small enough for the slowest model.
PHOTO_WINDOW = ("GT01", 164, 76, 64, 80)


@dataclass(frozen=True)
class Photo:
    """A window of a real photo with its ground truth.

    :param name: ``GTnn[top:bottom, left:right]``.
    :param image: (H, W, 3) float32 RGB in [0, 1], as ``matting_data.read_image`` gives it.
    :param trimap: (H, W) uint8 {0, 128, 255} (Trimap1).
    :param alpha: (H, W) float32 ground truth in [0, 1].
    """

    name: str
    image: np.ndarray
    trimap: np.ndarray
    alpha: np.ndarray

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write the image and trimap as PNG files in ``folder``; return their paths."""
        from matting_data import write_image

        folder.mkdir(parents=True, exist_ok=True)
        return write_image(folder / "image.png", self.image), write_image(
            folder / "trimap.png", self.trimap
        )


def load_photo(
    name: str = PHOTO_WINDOW[0],
    top: int = PHOTO_WINDOW[1],
    left: int = PHOTO_WINDOW[2],
    height: int | None = PHOTO_WINDOW[3],
    width: int | None = PHOTO_WINDOW[4],
    *,
    start: str | Path | None = None,
) -> Photo:
    """A window of the alphamatting.com training photo ``name`` (``GT01``…) from
    ``shared/data``; fails the calling test with one sentence when the data is missing.

    :param start: where the search for ``shared/`` starts (a test file); default the working
        directory.
    """
    from matting_core.testing import require_shared
    from matting_data import read_alpha, read_image, read_trimap

    data = require_shared("data", must_contain="alphamatting_training_lowres", start=start)
    root = data / "alphamatting_training_lowres"
    bottom = None if height is None else top + height
    right = None if width is None else left + width
    window = (slice(top, bottom), slice(left, right))
    return Photo(
        f"{name}[{top}:{bottom}, {left}:{right}]",
        np.ascontiguousarray(read_image(root / "image" / f"{name}.png")[window]),
        np.ascontiguousarray(read_trimap(root / "trimap" / f"{name}.png")[window]),
        np.ascontiguousarray(read_alpha(root / "alpha" / f"{name}.png")[window]),
    )


def write_unknown_band_crops(
    out: Path,
    names: tuple[str, ...],
    height: int,
    width: int,
    *,
    start: str | Path | None = None,
) -> Path:
    """A small dataset folder of real photos: ``out/image``, ``out/alpha``, ``out/trimap``
    (Trimap1), one ``height x width`` window of each photo ``names`` centred on the mean
    position of its unknown pixels (moved inside the photo), as PNGs named ``<name>.png``.

    :param start: as :func:`load_photo`'s.
    :returns: ``out``.
    """
    from matting_data import write_alpha, write_image

    for name in names:
        whole = load_photo(name, 0, 0, None, None, start=start)
        rows, cols = np.nonzero(whole.trimap == 128)
        top = int(np.clip(rows.mean() - height // 2, 0, whole.trimap.shape[0] - height))
        left = int(np.clip(cols.mean() - width // 2, 0, whole.trimap.shape[1] - width))
        box = np.s_[top : top + height, left : left + width]
        write_image(out / "image" / f"{name}.png", whole.image[box])
        write_alpha(out / "alpha" / f"{name}.png", whole.alpha[box])
        write_alpha(out / "trimap" / f"{name}.png", whole.trimap[box])
    return out


# --------------------------------------------------------------------------------------------
# The checks, one function each
# --------------------------------------------------------------------------------------------


def check_registration(name: str, plugin: str | None = None) -> None:
    """``name`` is registered; with ``plugin``, that plugin provides it, and unless it is one
    of core's built-ins, it is an entry point of the ``matting`` group."""
    from matting_core import list_models
    from matting_core.plugins import DEFAULT_PLUGINS, ENTRY_POINT_GROUP, model_registry

    assert name in list_models(), f"model {name!r} is not registered"
    if plugin is None:
        return
    provider = model_registry().provider(name)
    assert provider == plugin, f"model {name!r} comes from plugin {provider!r}, not {plugin!r}"
    if plugin not in DEFAULT_PLUGINS:
        names = [ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)]
        assert plugin in names, f"no entry point {plugin!r} in the group {ENTRY_POINT_GROUP!r}"


def check_model_info(name: str) -> None:
    """The model's :class:`~matting_core.ModelInfo` says everything core and users read."""
    from matting_core import get_model_info
    from matting_core.training import TrainingRecipe

    info = get_model_info(name)
    assert info.paper.strip(), f"{name}: ModelInfo.paper is empty"
    assert info.description.strip(), f"{name}: ModelInfo.description (matting list) is empty"
    assert info.input_channels >= 3
    config = info.default_config
    assert dataclasses.is_dataclass(config), f"{name}: the default config is not a dataclass"
    docs = "".join(inspect.getdoc(cls) or "" for cls in info.config_class.__mro__)
    undocumented = [
        f.name for f in dataclasses.fields(config) if f.init and f":param {f.name}:" not in docs
    ]
    assert not undocumented, f"{name}: options without a ':param NAME:' line: {undocumented}"
    if info.default_weights is not None:
        assert info.default_weights_path().is_file()
    if info.training_recipe is not None:
        recipe = info.training_recipe()
        assert isinstance(recipe, TrainingRecipe), f"{name}: training_recipe built {recipe!r}"


def _network_inputs(info: Any, photo: Photo) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The photo as ``predict`` gives it to the network: normalised, one-hot, padded."""
    from matting_core.inference import Padding, prepare_inputs

    trimap_in = photo.trimap if info.needs_trimap else None
    image, trimap, _ = prepare_inputs(photo.image, trimap_in, info)
    padding = Padding.for_size(
        *photo.image.shape[:2], info.pad_multiple, info.pad_margin, info.min_size
    )
    image = padding.apply(image, info.pad_mode)
    trimap = padding.apply(trimap, info.pad_mode) if trimap is not None else None
    return image, trimap


def _build(name: str, options: Mapping[str, Any]) -> torch.nn.Module:
    """The model with fixed random weights, in eval mode."""
    from matting_core import create_model

    torch.manual_seed(0)
    return create_model(name, **dict(options)).eval()


def check_forward_contract(
    name: str,
    photo: Photo,
    options: Mapping[str, Any] = (),
    *,
    model: torch.nn.Module | None = None,
) -> None:
    """``forward(image, trimap)`` on ``photo`` returns ``{"alpha": (1, 1, H, W)}`` float32,
    finite, in [0, 1]; a model has parameters exactly when its ``needs_weights`` says so.

    :param model: the model to check; default a freshly built one (eval mode).
    """
    from matting_core import get_model_info

    info = get_model_info(name)
    model = model if model is not None else _build(name, options)
    has_parameters = any(True for _ in model.parameters())
    assert has_parameters == info.needs_weights, (
        f"{name}: ModelInfo.needs_weights is {info.needs_weights} but the model has "
        f"{'' if has_parameters else 'no '}parameters"
    )
    image, trimap = _network_inputs(info, photo)
    with torch.inference_mode():
        outputs = model(image, trimap)
    assert isinstance(outputs, Mapping), f"{name}: forward returned {type(outputs).__name__}"
    assert "alpha" in outputs, f"{name}: forward's dict has no 'alpha' ({sorted(outputs)})"
    alpha = outputs["alpha"]
    assert tuple(alpha.shape) == (1, 1, *image.shape[-2:]), (name, tuple(alpha.shape))
    assert alpha.dtype == torch.float32, (name, alpha.dtype)
    assert torch.isfinite(alpha).all(), f"{name}: alpha holds NaN or inf"
    assert alpha.min() >= 0 and alpha.max() <= 1, (name, alpha.min(), alpha.max())


def check_round_trip(
    name: str,
    photo: Photo,
    folder: Path,
    options: Mapping[str, Any] = (),
    *,
    model: torch.nn.Module | None = None,
) -> tuple[Path | None, np.ndarray]:
    """``save_weights`` then ``load_model`` gives back every tensor and the same alpha (a
    model without parameters loads without a checkpoint).

    :param model: the model to save; default a freshly built one.
    :returns: the weights file (None for a model without parameters) and the alpha
        ``predict`` gives with the loaded model.
    """
    from matting_core import get_model_info, load_model, predict, save_weights
    from matting_core.models import get_model_config

    info = get_model_info(name)
    model = model if model is not None else _build(name, options)
    path = None
    if info.needs_weights:
        path = save_weights(
            model,
            folder / f"{name}.safetensors",
            model_name=name,
            config=get_model_config(name, **dict(options)),
        )
    loaded = load_model(name, path, **({} if path is not None else dict(options)))
    if path is None:
        assert loaded.weights is None, name
    else:
        before, after = model.state_dict(), loaded.model.state_dict()
        assert before.keys() == after.keys(), name
        different = [k for k in before if not torch.equal(before[k], after[k])]
        assert not different, f"{name}: {different} changed in the round trip"
    trimap = photo.trimap if info.needs_trimap else None
    expected = predict(model, photo.image, trimap, info=info)
    again = predict(loaded.model, photo.image, trimap, info=loaded.info)
    np.testing.assert_allclose(again, expected, atol=1e-5, err_msg=name)
    return path, again


def check_cli_predict(
    name: str,
    photo: Photo,
    folder: Path,
    options: Mapping[str, Any] = (),
    *,
    saved: tuple[Path | None, np.ndarray] | None = None,
) -> None:
    """``matting predict --model NAME [--checkpoint W] IMAGE TRIMAP -o OUT`` exits 0 and
    writes the alpha that :func:`matting_core.predict` gives, to the PNG's 1/255.

    :param saved: :func:`check_round_trip`'s result (weights and their alpha), to reuse;
        default: a round trip in ``folder`` first.
    """
    from matting_core import get_model_info
    from matting_core.cli import main
    from matting_data import read_alpha

    info = get_model_info(name)
    path, expected = saved if saved is not None else check_round_trip(name, photo, folder, options)
    image_path, trimap_path = photo.write(folder / "photo")
    out = folder / f"{name}-alpha.png"
    args = ["predict", "--model", name, str(image_path)]
    args += [str(trimap_path)] if info.needs_trimap else []
    args += ["-o", str(out)]
    if path is not None:
        args += ["--checkpoint", str(path)]
    else:  # a weightless model's options go on the command line
        args += [f"--set={key}={value}" for key, value in dict(options).items()]
    assert main(args) == 0, f"matting {' '.join(args)} failed"
    np.testing.assert_allclose(read_alpha(out), expected, atol=1 / 255 + 1e-6, err_msg=name)


def check_model_contract(
    name: str,
    folder: Path,
    *,
    plugin: str | None = None,
    options: Mapping[str, Any] = (),
    photo: Photo | None = None,
) -> None:
    """Every check of the plugin contract for model ``name``, in order (see the module
    docstring), building the network once for all of them.

    :param folder: an empty folder for the weights, the photo's files and the output.
    :param plugin: the plugin that must provide the model (None: any provider).
    :param options: config overrides (a smaller network for speed).
    :param photo: the photo to use; default :func:`load_photo`'s window of GT01.
    """
    photo = photo if photo is not None else load_photo()
    check_registration(name, plugin)
    check_model_info(name)
    model = _build(name, options)
    check_forward_contract(name, photo, options, model=model)
    saved = check_round_trip(name, photo, folder, options, model=model)
    check_cli_predict(name, photo, folder, options, saved=saved)


# --------------------------------------------------------------------------------------------
# pytest: fixtures and the class a plugin's suite inherits
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def shared_data(request: pytest.FixtureRequest) -> Path:
    """The project's real data (``shared/data``, holding ``alphamatting_training_lowres/``).

    Import it into a ``conftest.py`` (``from matting_core.testing import shared_data``).
    """
    from matting_core.testing import require_shared

    return require_shared(
        "data", must_contain="alphamatting_training_lowres", start=request.config.rootpath
    )


@pytest.fixture(scope="session")
def real_photo(request: pytest.FixtureRequest) -> Photo:
    """:func:`load_photo`'s window of GT01, loaded once per session."""
    return load_photo(start=request.config.rootpath)


class ModelContract:
    """Inherit as ``class TestContract(ModelContract)`` and set :attr:`plugin` and
    :attr:`models`; every ``test_*`` method runs once per model (see the module docstring).

    Plugins are loaded afresh from their entry points around every test, with
    ``MATTING_DISABLE_PLUGIN_AUTOLOAD`` unset.
    """

    #: The entry-point name of the plugin under test (None: any provider is accepted).
    plugin: ClassVar[str | None] = None
    #: The registry names of its models.
    models: ClassVar[tuple[str, ...]] = ()
    #: Config overrides per model name, e.g. ``{"gca": {"width": 0.25}}`` for speed.
    options: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    @classmethod
    def pytest_generate_tests(cls, metafunc: pytest.Metafunc) -> None:
        if "model_name" in metafunc.fixturenames:
            if not cls.models:
                raise TypeError(f"{cls.__name__}.models names no model")
            metafunc.parametrize("model_name", list(cls.models))

    @pytest.fixture(autouse=True)
    def _fresh_plugins(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        from matting_core.plugins import DISABLE_AUTOLOAD_ENV, reset_plugins

        monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
        reset_plugins()
        yield
        reset_plugins()

    def _options(self, model_name: str) -> Mapping[str, Any]:
        return self.options.get(model_name, {})

    def test_registration(self, model_name: str) -> None:
        check_registration(model_name, self.plugin)

    def test_model_info(self, model_name: str) -> None:
        check_model_info(model_name)

    def test_forward_contract_on_a_real_photo(self, model_name: str, real_photo: Photo) -> None:
        check_forward_contract(model_name, real_photo, self._options(model_name))

    def test_save_load_round_trip(self, model_name: str, real_photo: Photo, tmp_path: Path) -> None:
        check_round_trip(model_name, real_photo, tmp_path, self._options(model_name))

    def test_predict_through_the_cli(
        self, model_name: str, real_photo: Photo, tmp_path: Path
    ) -> None:
        check_cli_predict(model_name, real_photo, tmp_path, self._options(model_name))
