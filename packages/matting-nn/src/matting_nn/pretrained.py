"""Load ImageNet weights saved in torchvision's format into a backbone, and say what loaded.

A backbone whose ImageNet weights silently did not load is the most common reason ports of
the matting papers miss the papers' numbers (an AlphaGAN port renamed the stem and trained
from scratch without noticing).  :func:`load_pretrained` therefore never loads quietly: it
returns a :class:`PretrainedReport` of every key, and by default refuses a file that leaves
any weight of the backbone unloaded.

* The file is a local ``.safetensors`` file, or a ``.pth``/``.pt``/``.bin``/``.ckpt`` file read
  with ``torch.load(weights_only=True)`` (a pickle that would run code is refused); a trainer's
  container (``{"state_dict": …}``, ``{"model": …}``) is unwrapped and a DataParallel
  ``module.`` prefix removed.  With ``sha256`` given, the file's digest must equal it.
* Keys are matched by name and shape.  The stem's ``conv1.weight`` of a backbone built with
  ``in_channels`` > 3 is *adapted*: the ImageNet RGB filters go to the first three input
  channels and the extra channels (trimap, …) start at zero, so the widened network computes
  exactly the ImageNet features of the image at the start (AlphaGAN, Sec. 3.2.1: "initializing
  the extra channel in the convolution layer with zeros").
* ``fc.*`` in the file when the backbone has no classifier is *ignored*; BatchNorm's
  ``num_batches_tracked`` counters are not weights and are not required.

:class:`PretrainedBackbone` is the config option a plugin's model gets
(``pretrained_backbone = "PATH"``) and :func:`load_backbone_option` the call its model makes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from matting_nn.errors import PretrainedWeightsError

__all__ = [
    "PretrainedBackbone",
    "PretrainedReport",
    "file_sha256",
    "load_backbone_option",
    "load_pretrained",
    "read_weights",
]

log = logging.getLogger(__name__)

PICKLE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
_CONTAINER_KEYS = ("state_dict", "model", "model_state_dict")
_DDP_PREFIX = "module."
_COUNTER = "num_batches_tracked"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_LISTED = 8  # keys named in one error message before "and N more"


@dataclass(frozen=True)
class PretrainedReport:
    """What :func:`load_pretrained` did with every key.

    :param path: the file.
    :param sha256: its SHA-256 digest (hex), for the run's records.
    :param matched: backbone keys loaded as they are.
    :param adapted: backbone keys loaded after adaptation (a widened stem).
    :param missing: backbone keys the file lacks (left as they were).
    :param unexpected: file keys the backbone does not have.
    :param mismatched: ``(key, shape in the file, shape in the backbone)`` for keys both
        have with shapes that cannot be adapted (left as they were).
    :param ignored: file keys of the ImageNet classifier, which the backbone was built without.
    """

    path: str
    sha256: str
    matched: tuple[str, ...] = ()
    adapted: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    mismatched: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = ()
    ignored: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Every weight of the backbone came from the file, and the file held nothing else
        (besides the ignored classifier)."""
        return not (self.missing or self.unexpected or self.mismatched)

    @property
    def loaded(self) -> int:
        """Number of tensors loaded (matched + adapted)."""
        return len(self.matched) + len(self.adapted)

    @property
    def expected(self) -> int:
        """Number of tensors the backbone wanted (its state dict less BN counters)."""
        return self.loaded + len(self.missing) + len(self.mismatched)

    def problems(self) -> str:
        """One line per kind of problem, each naming the keys; empty when complete."""
        lines = []
        if self.missing:
            lines.append(f"missing from the file: {_listing(self.missing)}")
        if self.mismatched:
            shapes = [f"{k} (file {list(a)}, backbone {list(b)})" for k, a, b in self.mismatched]
            lines.append(f"shapes that do not fit: {_listing(shapes)}")
        if self.unexpected:
            lines.append(f"not in the backbone: {_listing(self.unexpected)}")
        return "; ".join(lines)

    def summary(self) -> str:
        """One line: how many tensors loaded, adapted and ignored, and any problem."""
        text = f"loaded {self.loaded}/{self.expected} tensors from {self.path}"
        if self.adapted:
            text += f" (adapted: {', '.join(self.adapted)})"
        if self.ignored:
            text += f"; ignored the classifier {', '.join(self.ignored)}"
        if not self.complete:
            text += f"; {self.problems()}"
        return text


def _listing(keys: tuple[str, ...] | list[str]) -> str:
    shown = ", ".join(keys[:_LISTED])
    return shown + (f" and {len(keys) - _LISTED} more" if len(keys) > _LISTED else "")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 digest of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_weights(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """The tensors of a weights file, on the CPU.

    :raises PretrainedWeightsError: no such file, an unknown suffix, a corrupt or truncated
        file, a pickle with Python objects, or no tensors in it.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise PretrainedWeightsError(f"pretrained weights {str(path)!r} {what}")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(path, device="cpu")
        except (SafetensorError, OSError, ValueError) as exc:
            raise PretrainedWeightsError(
                f"cannot read pretrained weights {str(path)!r}: not a valid safetensors file "
                f"({_first_line(exc)})"
            ) from None
    if suffix not in PICKLE_SUFFIXES:
        raise PretrainedWeightsError(
            f"pretrained weights {str(path)!r}: unknown suffix {path.suffix!r}; expected "
            f".safetensors or one of {', '.join(PICKLE_SUFFIXES)}"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only load failed" in str(exc).lower():
            raise PretrainedWeightsError(
                f"refusing pretrained weights {str(path)!r}: it holds pickled Python objects, "
                "not only tensors (read with weights_only=True); re-save its state dict in a "
                "trusted environment"
            ) from None
        raise PretrainedWeightsError(
            f"cannot read pretrained weights {str(path)!r}: {_first_line(exc)}"
        ) from None
    except Exception as exc:  # torch raises RuntimeError, EOFError, … for broken files
        raise PretrainedWeightsError(
            f"cannot read pretrained weights {str(path)!r}: corrupt, truncated or not a "
            f"PyTorch file ({_first_line(exc)})"
        ) from None
    return _state_dict_in(obj, path)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _state_dict_in(obj: Any, path: Path) -> dict[str, Tensor]:
    for key in _CONTAINER_KEYS:
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping):
        raise PretrainedWeightsError(
            f"pretrained weights {str(path)!r} hold a {type(obj).__name__}, not a state dict"
        )
    state = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, Tensor)}
    others = [str(k) for k, v in obj.items() if not isinstance(v, Tensor)]
    if others:
        raise PretrainedWeightsError(
            f"pretrained weights {str(path)!r}: entries that are not tensors: {_listing(others)}"
        )
    if not state:
        raise PretrainedWeightsError(f"pretrained weights {str(path)!r} hold no tensors")
    if all(k.startswith(_DDP_PREFIX) for k in state):
        state = {k.removeprefix(_DDP_PREFIX): v for k, v in state.items()}
    return state


def _adapt_stem(weight: Tensor, target: torch.Size) -> Tensor | None:
    """RGB filters (O, 3, k, k) widened to (O, C > 3, k, k) with zeros, or None if they do not
    widen to ``target``."""
    if (
        weight.ndim == 4
        and len(target) == 4
        and weight.shape[1] == 3
        and target[1] > 3
        and weight.shape[0] == target[0]
        and weight.shape[2:] == target[2:]
    ):
        wide = weight.new_zeros(target)
        wide[:, :3] = weight
        return wide
    return None


def load_pretrained(
    backbone: nn.Module,
    path: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    strict: bool = True,
) -> PretrainedReport:
    """Load a torchvision-format state dict into ``backbone`` and report every key.

    :param backbone: any module; a :class:`matting_nn.ResNet` gets its stem adapted and its
        missing classifier ignored (its ``stem_weight_keys`` and ``classifier_prefix``).
    :param path: a ``.pth``/``.pt``/``.bin``/``.ckpt`` (``weights_only``) or ``.safetensors``
        file.
    :param sha256: the file's expected SHA-256 (64 hex digits); checked before reading.
    :param strict: refuse (and load nothing) unless the report is complete: every backbone
        weight in the file with a shape that fits, and no key the backbone lacks.  With
        ``strict=False`` what fits is loaded and the report says what did not.
    :returns: the :class:`PretrainedReport`; its :meth:`~PretrainedReport.summary` is also
        logged (logger ``matting_nn.pretrained``).
    :raises PretrainedWeightsError: a file that cannot be read or fails its sha256, a
        non-finite value in a loaded tensor, or (strict) an incomplete report; the message
        names the file and the keys.

    Example:
        >>> import tempfile, torch
        >>> from matting_nn import resnet34
        >>> path = tempfile.mkdtemp() + "/resnet34.pth"
        >>> torch.save(resnet34(num_classes=1000).state_dict(), path)
        >>> report = load_pretrained(resnet34(in_channels=4), path)
        >>> report.complete, report.adapted, report.ignored
        (True, ('conv1.weight',), ('fc.bias', 'fc.weight'))
    """
    path = Path(path)
    expected_digest = None
    if sha256 is not None:
        expected_digest = sha256.strip().lower()
        if not _SHA256.fullmatch(expected_digest):
            raise PretrainedWeightsError(
                f"sha256 for {str(path)!r} must be 64 hexadecimal digits, got {sha256!r}"
            )
    state = read_weights(path)
    digest = file_sha256(path)
    if expected_digest is not None and digest != expected_digest:
        raise PretrainedWeightsError(
            f"pretrained weights {str(path)!r} have sha256 {digest}, expected "
            f"{expected_digest}: the file is corrupt or not the one asked for"
        )

    own = backbone.state_dict()
    stem_keys = set(getattr(backbone, "stem_weight_keys", ()))
    classifier = getattr(backbone, "classifier_prefix", None)
    to_load: dict[str, Tensor] = {}
    matched, adapted, unexpected, ignored = [], [], [], []
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []
    for key in sorted(state):
        value = state[key]
        if key not in own:
            if classifier and key.startswith(classifier):
                ignored.append(key)
            elif not key.endswith(_COUNTER):
                unexpected.append(key)
            continue
        target = own[key]
        if value.shape == target.shape:
            to_load[key] = value
            if not key.endswith(_COUNTER):
                matched.append(key)
        elif key in stem_keys and (wide := _adapt_stem(value, target.shape)) is not None:
            to_load[key] = wide
            adapted.append(key)
        else:
            mismatched.append((key, tuple(value.shape), tuple(target.shape)))
    missing = [k for k in own if k not in state and not k.endswith(_COUNTER)]
    report = PretrainedReport(
        path=str(path),
        sha256=digest,
        matched=tuple(matched),
        adapted=tuple(adapted),
        missing=tuple(missing),
        unexpected=tuple(unexpected),
        mismatched=tuple(mismatched),
        ignored=tuple(ignored),
    )
    if strict and not report.complete:
        raise PretrainedWeightsError(
            f"pretrained weights {str(path)!r} do not fit {type(backbone).__name__} "
            f"({report.loaded} of {report.expected} tensors fit): {report.problems()}"
        )
    broken = [k for k, v in to_load.items() if v.is_floating_point() and not v.isfinite().all()]
    if broken:
        raise PretrainedWeightsError(
            f"pretrained weights {str(path)!r} hold NaN or infinite values in {_listing(broken)}"
        )
    with torch.no_grad():
        for key, value in to_load.items():
            # copy_ casts to the backbone's dtype and device and keeps its parameters' identity
            own[key].copy_(value)
    log.info("%s", report.summary())
    return report


@dataclass(frozen=True)
class PretrainedBackbone:
    """A model-config mixin: the option ``pretrained_backbone`` (and its checksum).

    A plugin's config dataclass inherits it (``@dataclass(frozen=True) class
    AlphaGANConfig(PretrainedBackbone): …``), so that ``--set pretrained_backbone=PATH`` and
    ``[model] options`` reach it, and its model's constructor calls
    :func:`load_backbone_option` on its backbone.

    :param pretrained_backbone: a torchvision-format ImageNet state dict for the backbone;
        None (the default) keeps the random initialisation.
    :param pretrained_backbone_sha256: its expected SHA-256, checked before loading.
    """

    pretrained_backbone: str | None = field(default=None, kw_only=True)
    pretrained_backbone_sha256: str | None = field(default=None, kw_only=True)


def load_backbone_option(backbone: nn.Module, config: Any) -> PretrainedReport | None:
    """Load ``config.pretrained_backbone`` (if set) into ``backbone``, strictly.

    The call a model makes in its constructor, for a config with the
    :class:`PretrainedBackbone` fields.  The weights of a checkpoint loaded later replace
    these, as they should; a config restored from a checkpoint should not name the file
    again.

    :returns: the report, or None when the option is not set.
    :raises PretrainedWeightsError: see :func:`load_pretrained`.
    """
    path = getattr(config, "pretrained_backbone", None)
    if not path:
        return None
    return load_pretrained(
        backbone, path, sha256=getattr(config, "pretrained_backbone_sha256", None)
    )
