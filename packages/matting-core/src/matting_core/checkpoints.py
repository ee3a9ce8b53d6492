"""Reading and writing model weights.

- :func:`save_weights` writes ``NAME.safetensors`` and a JSON sidecar ``NAME.json`` (model
  name, config, versions, time, sha256 of the weights), both atomically.
- :func:`load_state_dict` reads ``.safetensors``, or ``.pth``/``.pt``/``.ckpt``/``.bin`` with
  ``torch.load(weights_only=True)``: a pickle that would run code is refused, never executed.
  Training containers (``{"state_dict": ..., "iter": ...}``) are unwrapped and a ``module.``
  prefix (DataParallel) is stripped.
- :func:`load_weights` fits a state dict to a model, applying the model's
  ``ModelInfo.remap_official`` to official-release key names, and says by name what does
  not fit.
- :func:`remap_release_keys` is the building block of those remaps: the conventions the
  authors' trainers leave in their files, plus prefix renames.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import hashlib
import json
import os
import pickle
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import Tensor, nn

from matting_core.errors import CheckpointError
from matting_core.registry import ModelInfo

__all__ = [
    "PICKLE_SUFFIXES",
    "SIDECAR_FORMAT",
    "LoadReport",
    "load_state_dict",
    "load_weights",
    "read_sidecar",
    "remap_release_keys",
    "save_weights",
    "sidecar_path",
]

#: Suffixes read with ``torch.load(weights_only=True)``.
PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")
#: Value of the sidecar's ``"format"`` entry.
SIDECAR_FORMAT = "matting-weights"
_SIDECAR_VERSION = 1
#: Entries of a training checkpoint that hold the model's weights, in the order tried.
_CONTAINER_KEYS = ("state_dict", "model_state_dict", "model", "params")
_PREFIX = "module."
#: How many key names an error message lists before "… and N more".
_MAX_LISTED = 10


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------


def save_weights(
    model_or_state_dict: nn.Module | Mapping[str, Tensor],
    path: str | os.PathLike[str],
    *,
    model_name: str,
    config: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write weights as safetensors plus a JSON sidecar, both atomically.

    Identical weights, name and config give a byte-identical ``.safetensors`` file.

    The weights go to ``path`` with its suffix replaced by ``.safetensors`` (``gca.pth`` →
    ``gca.safetensors``; an unknown suffix is kept: ``run.v1`` → ``run.v1.safetensors``), the
    sidecar to the same stem with ``.json``.  Both are staged in temporary files first, so a
    failure leaves any previous pair untouched; the weights are moved into place first and the
    sidecar second, and the sidecar's sha256 lets :func:`read_sidecar` notice a mismatched pair.

    Tensors are detached, moved to the CPU and made contiguous; tensors sharing memory (tied
    weights) are cloned, since safetensors stores each key separately.

    :param model_or_state_dict: a module (its ``state_dict()`` is saved) or a state dict.
    :param path: where to write the weights; parent directories are created.
    :param model_name: registry name of the model (``"gca"``), recorded in the sidecar.
    :param config: the model's config (a dataclass instance or a mapping), recorded in the
        sidecar so the model can be rebuilt: ``create_model(name, config=sidecar["config"])``.
        Options that only initialise a network (:data:`INITIALISATION_OPTIONS`, e.g.
        ``pretrained_backbone``) are recorded as None.
    :param extra: any other JSON-serialisable information (iteration, metrics).
    :returns: the path of the ``.safetensors`` file.
    :raises CheckpointError: a state-dict entry is not a tensor, or config/extra is not
        JSON-serialisable.
    """
    if isinstance(model_or_state_dict, nn.Module):
        state = model_or_state_dict.state_dict()
    else:
        state = dict(model_or_state_dict)
    tensors = _prepare_for_saving(state)
    target = _weights_path(Path(path))
    data = _sorted_metadata(
        safetensors.torch.save(tensors, metadata={"format": "pt", "model_name": model_name})
    )

    from matting_core import __version__

    sidecar = {
        "format": SIDECAR_FORMAT,
        "format_version": _SIDECAR_VERSION,
        "model_name": model_name,
        "weights": target.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "config": _config_to_dict(config),
        "matting_core_version": __version__,
        "torch_version": torch.__version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "extra": dict(extra) if extra is not None else {},
    }
    try:
        text = json.dumps(sidecar, indent=2, default=_json_default) + "\n"
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"cannot write the sidecar of {target}: {exc}") from exc

    target.parent.mkdir(parents=True, exist_ok=True)
    from matting_data.atomic import atomic_write_many  # lazily: import matting_core stays light

    atomic_write_many([(target, data), (sidecar_path(target), text.encode("utf-8"))])
    return target


def _sorted_metadata(data: bytes) -> bytes:
    """The same safetensors file with its ``__metadata__`` entries in sorted order.

    safetensors writes the metadata from a hash map, so their order (and the file's bytes
    and sha256) changed from one process to the next; the tensors' entries and data are
    already in a fixed order and are kept as they are.
    """
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    metadata = header.pop("__metadata__", None)
    ordered = {"__metadata__": dict(sorted(metadata.items()))} if metadata is not None else {}
    ordered.update(header)
    text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data start stays 8-byte aligned, as safetensors pads
    return len(text).to_bytes(8, "little") + text + data[8 + length :]


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The JSON sidecar that belongs to a weights file: same stem, ``.json``."""
    return Path(path).with_suffix(".json")


def _weights_path(path: Path) -> Path:
    if path.suffix == ".safetensors":
        return path
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return path.with_suffix(".safetensors")
    return path.with_name(path.name + ".safetensors")


def _prepare_for_saving(state: Mapping[str, Any]) -> dict[str, Tensor]:
    tensors: dict[str, Tensor] = {}
    seen_storages: set[int] = set()
    not_tensors = [k for k, v in state.items() if not isinstance(v, Tensor)]
    if not_tensors:
        raise CheckpointError(
            "only tensors can be saved as weights; not tensors: " + _listing(not_tensors)
        )
    for key, value in state.items():
        tensor = value.detach().to("cpu").contiguous()
        storage = tensor.untyped_storage().data_ptr()
        if storage in seen_storages:
            tensor = tensor.clone()
        else:
            seen_storages.add(storage)
        tensors[key] = tensor
    return tensors


#: Model options that only initialise a network before training (matting-nn's
#: ``PretrainedBackbone``: an ImageNet file for the backbone).  Saved weights replace whatever
#: they loaded, so a sidecar records them as None: inference from a checkpoint never looks for
#: the ImageNet file again.
INITIALISATION_OPTIONS: tuple[str, ...] = ("pretrained_backbone", "pretrained_backbone_sha256")


def without_initialisation(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with every :data:`INITIALISATION_OPTIONS` entry it has set to None."""
    return {k: None if k in INITIALISATION_OPTIONS else v for k, v in config.items()}


def _config_to_dict(config: Any) -> dict[str, Any] | None:
    if config is None:
        return None
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return without_initialisation(dataclasses.asdict(config))
    if isinstance(config, Mapping):
        return without_initialisation(config)
    raise CheckpointError(
        f"config must be a dataclass instance or a mapping, got {type(config).__name__}"
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON-serialisable")


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_state_dict(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """Read the tensors of a checkpoint file onto the CPU, keeping their dtypes.

    ``.safetensors`` files are read with safetensors.  ``.pth``, ``.pt``, ``.ckpt`` and
    ``.bin`` files are read with ``torch.load(weights_only=True)``: tensors and plain
    containers only, so a pickle that references code is refused and nothing in it runs.
    A training container is unwrapped (its ``state_dict``, ``model_state_dict``, ``model``
    or ``params`` entry; other entries such as ``iter`` or optimizer state are ignored) and a
    ``module.`` prefix (from DataParallel) is stripped from the keys that have it.

    :raises CheckpointError: missing file, unknown suffix, corrupt or truncated file, a
        pickle with Python objects, or no tensors in it.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise CheckpointError(f"checkpoint {str(path)!r} {what}")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        state = _read_safetensors(path)
    elif suffix in PICKLE_SUFFIXES:
        state = _unwrap(_read_pickle(path), path)
    else:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has the unknown suffix {path.suffix!r}; "
            f"expected .safetensors or one of {', '.join(PICKLE_SUFFIXES)}"
        )
    return _strip_prefix(state, path)


def _read_safetensors(path: Path) -> dict[str, Tensor]:
    try:
        return safetensors.torch.load_file(path, device="cpu")
    except Exception as exc:
        hint = ""
        with path.open("rb") as file:
            if file.read(24).startswith(b"version https://git-lfs"):
                hint = " (it is a Git LFS pointer, not the weights: run `git lfs pull`)"
        raise CheckpointError(
            f"cannot read safetensors file {str(path)!r}: it is corrupt or truncated{hint} "
            f"({_first_line(exc)})"
        ) from exc


def _read_pickle(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only load failed" not in str(exc).lower():
            raise CheckpointError(
                f"cannot read checkpoint {str(path)!r}: {_first_line(exc)}"
            ) from exc
        match = re.search(
            r"unsupported (?:global:? )?GLOBAL [\w.]+|Unsupported operand \d+", str(exc), re.I
        )
        detail = f" ({match.group(0)})" if match else ""
        raise CheckpointError(
            f"checkpoint {str(path)!r} contains pickled Python objects that are not plain "
            f"tensors{detail}; refusing to load it (only weights_only checkpoints are accepted). "
            "If you trust it, re-save its state dict in a trusted environment, e.g. with "
            "matting_core.save_weights"
        ) from None
    except Exception as exc:
        raise CheckpointError(
            f"cannot read checkpoint {str(path)!r}: it is corrupt, truncated or not a PyTorch "
            f"checkpoint ({_first_line(exc)})"
        ) from exc


def _unwrap(obj: Any, path: Path, depth: int = 0) -> dict[str, Tensor]:
    """The state dict inside what ``torch.load`` returned."""
    if isinstance(obj, Mapping):
        for key in _CONTAINER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping) and depth < 3:
                try:
                    return _unwrap(inner, path, depth + 1)
                except CheckpointError:
                    pass
        tensors = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, Tensor)}
        if tensors or not obj:
            return tensors
        raise CheckpointError(
            f"no tensors found in checkpoint {str(path)!r}; its entries are "
            + _listing([str(k) for k in obj])
        )
    raise CheckpointError(
        f"checkpoint {str(path)!r} holds a {type(obj).__name__}, not a state dict"
    )


def _strip_prefix(state: dict[str, Tensor], path: Path) -> dict[str, Tensor]:
    if not any(key.startswith(_PREFIX) for key in state):
        return state
    stripped: dict[str, Tensor] = {}
    for key, value in state.items():
        new_key = key.removeprefix(_PREFIX)
        if new_key in stripped:
            raise CheckpointError(
                f"checkpoint {str(path)!r} has both {new_key!r} and {_PREFIX + new_key!r}"
            )
        stripped[new_key] = value
    return stripped


# --------------------------------------------------------------------------------------------
# Official releases' key names
# --------------------------------------------------------------------------------------------


def remap_release_keys(
    state_dict: Mapping[str, Tensor], renames: Sequence[tuple[str, str]] = ()
) -> dict[str, Tensor]:
    """Map an official release's state dict to our names; a building block of
    ``ModelInfo.remap_official``.

    * A leading ``module.`` (the DistributedDataParallel wrapper the releases train under) is
      removed -- inner ``.module.`` parts, such as those of spectral-norm convs, stay.
    * ``num_batches_tracked`` arrives as float when a release's loader (which casts every
      value with ``.float()``) re-saved it; it is cast back to int64.
    * Each key starting with one of the ``renames``' old prefixes gets the new prefix instead
      (the first matching pair wins; list longer prefixes first).

    Pure: returns a new dict, never changes the tensors or the input.

    Args:
        state_dict: key -> tensor, with or without the ``module.`` prefix.
        renames: ``(old prefix, new prefix)`` pairs.

    Returns:
        A new dict with the renamed keys, in the input's order.

    Example:
        >>> import torch
        >>> sd = {"module.decoder.gca.scale": torch.ones(1)}
        >>> list(remap_release_keys(sd, [("decoder.gca.", "decoder.global_hop.")]))
        ['decoder.global_hop.scale']
    """
    result: dict[str, Tensor] = {}
    for key, value in state_dict.items():
        key = key.removeprefix(_PREFIX)
        for old, new in renames:
            if key.startswith(old):
                key = new + key[len(old) :]
                break
        if key.endswith("num_batches_tracked") and value.is_floating_point():
            value = value.to(torch.int64)
        result[key] = value
    return result


# --------------------------------------------------------------------------------------------
# Fitting a state dict to a model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_weights` did.

    :param path: the checkpoint file (None when a state dict was passed).
    :param loaded: keys copied into the model.
    :param missing: model keys the checkpoint lacks (only with ``strict=False``).
    :param unexpected: checkpoint keys the model lacks (only with ``strict=False``).
    :param shape_mismatches: ``(key, checkpoint shape, model shape)``, skipped (only with
        ``strict=False``).
    :param remapped: True when ``ModelInfo.remap_official`` was applied.
    :param cast: keys whose floating dtype was converted to the model's.
    :param dtype_mismatches: ``(key, checkpoint dtype, model dtype)`` of tensors of the wrong
        kind (integer or bool where the model has floating point, or the reverse), skipped
        (only with ``strict=False``).
    """

    path: Path | None
    loaded: tuple[str, ...]
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    shape_mismatches: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = ()
    remapped: bool = False
    cast: tuple[str, ...] = ()
    dtype_mismatches: tuple[tuple[str, str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when every model key was loaded and nothing was left over."""
        return not (
            self.missing or self.unexpected or self.shape_mismatches or self.dtype_mismatches
        )


def load_weights(
    model: nn.Module,
    path: str | os.PathLike[str] | Mapping[str, Tensor],
    *,
    info: ModelInfo | None = None,
    strict: bool = True,
    name: str | None = None,
    source: str | os.PathLike[str] | None = None,
) -> LoadReport:
    """Load a checkpoint into ``model``.

    The file is read with :func:`load_state_dict`.  If its keys are not the model's own and
    ``info.remap_official`` is set, the remapped dict is used when it fits the model better
    (more keys with matching shapes) — so our own checkpoints and the official release both
    load.  Floating tensors are cast to the dtype of the model tensor they go into; a tensor
    of another kind (integer or bool weights, which would load silently and give a garbage
    matte) does not fit.

    :param model: the module to load into (on any device).
    :param path: a checkpoint file, or a state dict.
    :param info: the model's info, for ``remap_official``.
    :param strict: when True, any missing or unexpected key, shape or dtype mismatch is an
        error; when False, whatever fits is loaded and the report lists the rest.
    :param name: the model's registry name, for messages (default: its class name).
    :param source: the file a state dict passed as ``path`` was read from, for messages and
        :attr:`LoadReport.path`.
    :returns: a :class:`LoadReport`.
    :raises CheckpointError: the file cannot be read, or (strict) does not fit: the message
        lists up to 10 missing and unexpected keys and the shape and dtype mismatches by name.
    """
    if isinstance(path, Mapping):
        file, state = (Path(source) if source is not None else None), dict(path)
    else:
        file = Path(path)
        state = load_state_dict(file)
    own = model.state_dict()

    remapped = False
    remap_error: Exception | None = None
    if set(state) != set(own) and info is not None and info.remap_official is not None:
        try:
            candidate = info.remap_official(dict(state))
            if not isinstance(candidate, Mapping):
                raise TypeError(f"it returned {type(candidate).__name__}, not a dict")
        except Exception as exc:
            remap_error = exc
        else:
            if _fit(candidate, own) > _fit(state, own):
                state, remapped = dict(candidate), True

    missing = tuple(k for k in own if k not in state)
    unexpected = tuple(k for k in state if k not in own)
    mismatches = tuple(
        (k, tuple(state[k].shape), tuple(own[k].shape))
        for k in own
        if k in state and state[k].shape != own[k].shape
    )
    wrong_kind = tuple(
        (k, _dtype_name(state[k]), _dtype_name(own[k]))
        for k in own
        if k in state and not _fits_kind(state[k], own[k])
    )
    if strict and (missing or unexpected or mismatches or wrong_kind):
        where = f"checkpoint {str(file)!r}" if file is not None else "state dict"
        message = _misfit_message(
            where, name or type(model).__name__, missing, unexpected, mismatches, wrong_kind
        )
        if remap_error is not None:
            message += f"; remap_official failed on it: {_first_line(remap_error)}"
        raise CheckpointError(message)

    skip = {k for k, _, _ in mismatches} | {k for k, _, _ in wrong_kind}
    to_load: dict[str, Tensor] = {}
    cast: list[str] = []
    for key, value in state.items():
        if key not in own or key in skip:
            continue
        target = own[key]
        if value.is_floating_point() and value.dtype != target.dtype:
            value = value.to(target.dtype)  # float precision, or a whole-valued float counter
            cast.append(key)
        to_load[key] = value
    try:
        model.load_state_dict(to_load, strict=strict)
    except RuntimeError as exc:  # should not happen after the checks above
        raise CheckpointError(
            f"cannot load weights into {name or type(model).__name__}: {exc}"
        ) from exc
    return LoadReport(
        path=file,
        loaded=tuple(to_load),
        missing=missing,
        unexpected=unexpected,
        shape_mismatches=mismatches,
        remapped=remapped,
        cast=tuple(cast),
        dtype_mismatches=wrong_kind,
    )


def _kind(tensor: Tensor) -> str:
    """What a tensor holds: floating point, complex, bool or integer."""
    if tensor.is_floating_point():
        return "float"
    if tensor.is_complex():
        return "complex"
    return "bool" if tensor.dtype == torch.bool else "int"


def _fits_kind(value: Tensor, target: Tensor) -> bool:
    """Whether ``value`` may be loaded into ``target``: the same kind, or whole numbers stored
    as floats for an integer buffer (BatchNorm counters re-saved by a loader that cast every
    tensor with ``.float()``)."""
    if _kind(value) == _kind(target):
        return True
    if _kind(target) == "int" and value.is_floating_point():
        return bool(torch.isfinite(value).all() and (value == value.round()).all())
    return False


def _dtype_name(tensor: Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def _fit(state: Mapping[str, Any], own: Mapping[str, Tensor]) -> int:
    """How many model keys ``state`` provides with the right shape."""
    return sum(
        1
        for key, value in state.items()
        if key in own and isinstance(value, Tensor) and value.shape == own[key].shape
    )


def _misfit_message(
    where: str,
    model_name: str,
    missing: tuple[str, ...],
    unexpected: tuple[str, ...],
    mismatches: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...],
    wrong_kind: tuple[tuple[str, str, str], ...] = (),
) -> str:
    parts = []
    if missing:
        parts.append(f"{_count(len(missing), 'missing key')} ({_listing(missing)})")
    if unexpected:
        parts.append(f"{_count(len(unexpected), 'unexpected key')} ({_listing(unexpected)})")
    if mismatches:
        shown = [f"{k}: checkpoint {_shape(a)} vs model {_shape(b)}" for k, a, b in mismatches]
        parts.append(f"{_count(len(mismatches), 'shape mismatch', 'es')} ({_listing(shown)})")
    if wrong_kind:
        shown = [f"{k}: checkpoint {a} vs model {b}" for k, a, b in wrong_kind]
        parts.append(f"{_count(len(wrong_kind), 'tensor')} of the wrong dtype ({_listing(shown)})")
    return f"{where} does not fit model {model_name!r}: " + ", ".join(parts)


def _count(n: int, noun: str, plural: str = "s") -> str:
    return f"{n} {noun}" + ("" if n == 1 else plural)


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ",".join(str(s) for s in shape) + ")"


def _listing(items: Any) -> str:
    items = list(items)
    shown = ", ".join(items[:_MAX_LISTED])
    if len(items) > _MAX_LISTED:
        shown += f", … and {len(items) - _MAX_LISTED} more"
    return shown


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


# --------------------------------------------------------------------------------------------
# Sidecars
# --------------------------------------------------------------------------------------------


def read_sidecar(path: str | os.PathLike[str], *, verify: bool = True) -> dict[str, Any] | None:
    """The JSON sidecar written by :func:`save_weights` beside a weights file.

    :param path: the weights file (or the sidecar itself).
    :param verify: check the sidecar's sha256 against the weights file, so a sidecar left
        over from other weights is not trusted.
    :returns: the sidecar's content (``model_name``, ``config``, ``sha256``, versions,
        ``created``, ``extra``), or None when there is no matting sidecar.
    :raises CheckpointError: the sidecar is not valid JSON, or (verify) the weights file is
        missing or its sha256 differs.
    """
    path = Path(path)
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return None
    try:
        content = json.loads(sidecar.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"sidecar {str(sidecar)!r} is not valid JSON: {exc}") from exc
    if not isinstance(content, dict) or content.get("format") != SIDECAR_FORMAT:
        return None  # some other JSON file that happens to share the stem
    if verify:
        weights = path if path.suffix != ".json" else path.with_name(str(content.get("weights")))
        if not weights.is_file():
            raise CheckpointError(f"sidecar {str(sidecar)!r} has no weights file {str(weights)!r}")
        digest = hashlib.sha256()
        with weights.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != content.get("sha256"):
            raise CheckpointError(
                f"sidecar {str(sidecar)!r} does not belong to {str(weights)!r} (sha256 differs): "
                "the pair was not written together; re-save the weights or delete the sidecar"
            )
    return content
