"""The installed models as the page offers them, loaded once and kept, with forward progress."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matting_serve.settings import DEFAULT_MODEL

if TYPE_CHECKING:
    from matting_core import LoadedModel

__all__ = ["Models"]


class Models:
    """Every registered model; loaded ones are kept (the last ``keep``), with their weights.

    ``checkpoint`` belongs to ``model`` (``matting serve --model NAME --checkpoint CKPT``);
    every other model runs on its plugin's bundled weights.
    """

    def __init__(
        self,
        model: str | None = None,
        checkpoint: Path | None = None,
        device: str | None = None,
        keep: int = 2,
    ) -> None:
        self._model, self._checkpoint, self._device, self._keep = model, checkpoint, device, keep
        self._loaded: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        # Module calls of one forward pass, learnt on each model's first run.
        self._calls: dict[str, int] = {}

    def names(self) -> list[str]:
        """Every registered model; a name two plugins register, once per plugin as
        ``PLUGIN:NAME`` (core never picks one of them by itself)."""
        from matting_core.plugins import model_registry

        registry = model_registry()
        return [
            f"{entry.provider}:{entry.name}" if registry.is_ambiguous(entry.name) else entry.name
            for entry in registry.entries()
        ]

    def default(self) -> str | None:
        names = self.names()
        if self._model is not None:
            return self._model
        return DEFAULT_MODEL if DEFAULT_MODEL in names else (names[0] if names else None)

    def catalogue(self) -> list[dict[str, Any]]:
        """What ``GET /models`` returns: one entry per registered model."""
        from matting_core import get_model_info
        from matting_core.plugins import model_registry

        registry = model_registry()
        default = self.default()
        entries = []
        for name in self.names():
            info = get_model_info(name)
            if name == self._model and self._checkpoint is not None:
                weights = f"checkpoint {self._checkpoint.name}"
            elif info.default_weights is not None:
                weights = "bundled"
            else:
                weights = None
            entries.append(
                {
                    "name": name,
                    "provider": registry.provider(name),
                    "paper": info.paper,
                    "description": info.description,
                    "needs_trimap": info.needs_trimap,
                    "weights": weights,
                    "default": name == default,
                }
            )
        return entries

    def load(self, name: str) -> LoadedModel:
        """The model ``name`` with its weights, loaded on first use and then kept."""
        from matting_core import load_model

        with self._lock:
            loaded = self._loaded.get(name)
            if loaded is None:
                checkpoint = self._checkpoint if name == self._model else None
                loaded = load_model(name, checkpoint)
                if self._device:
                    loaded.model.to(self._device)
                self._loaded[name] = loaded
                while len(self._loaded) > self._keep:
                    self._loaded.popitem(last=False)
            self._loaded.move_to_end(name)
            return loaded

    @property
    def device(self) -> str | None:
        return self._device

    @contextmanager
    def progress(
        self, name: str, loaded: LoadedModel, report: Callable[[float], None]
    ) -> Iterator[None]:
        """Report the fraction of a forward pass done, counted in module calls.

        The first run of a model estimates the total as its number of modules; later runs
        use the count the previous run made.  The fraction stops at 0.99 until the end.
        """
        modules = list(loaded.model.modules())
        expected = self._calls.get(name, len(modules))
        calls = 0

        def hook(module: Any, inputs: Any, output: Any) -> None:
            nonlocal calls
            calls += 1
            report(min(calls / max(expected, 1), 0.99))

        handles = [module.register_forward_hook(hook) for module in modules]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()
        if calls:
            self._calls[name] = calls
