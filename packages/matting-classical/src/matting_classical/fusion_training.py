"""Training ``classical-fusion`` on real photos, and measuring it on photos it never saw.

    python -m matting_classical.fusion_training --data DIR --out WEIGHTS.safetensors \\
        [--hold-out GT17 GT18 GT19 GT20] [--steps 1500] [--cache DIR] [--resume]
    python -m matting_classical.fusion_training --data DIR --folds 5 [--cache DIR]

``DIR`` holds ``image/``, ``alpha/`` and one or more trimap folders (``trimap/``,
``trimap2/``: each trimap of a photo is one sample), files matched by name, as the
alphamatting.com training set bundled in ``shared/data`` is laid out.  The classical mattes
are solved once per sample and cached (``--cache``; a rerun reuses them), then
:class:`~matting_classical.fusion.FusionNet` is trained on random crops around the unknown
band (horizontal flips; L1 over the unknown region; Adam with a cosine schedule).  Training
saves its state every ``--save-every`` steps (network, optimiser, schedule, random
generators), so ``--resume`` continues an interrupted run exactly where it stopped.

``--hold-out`` names photos kept out of training; they are scored at the end, next to each
classical method alone.  ``--folds N`` cross-validates: the photos, in name order, are cut
into N consecutive folds and one network is trained per fold on the others; the table gives
every photo's held-out score.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from matting_classical.fusion import ClassicalFusion, FusionConfig
from matting_core.errors import InputError, MattingError

__all__ = ["Sample", "TrainingOptions", "cross_validate", "load_samples", "score", "train"]


@dataclass(frozen=True)
class Sample:
    """One training or test case: a photo with one of its trimaps and its mattes.

    ``image`` (H, W, 3) float32 RGB in [0, 1]; ``trimap`` (H, W) uint8 0 / 128 / 255;
    ``alpha`` (H, W) float32 ground truth; ``mattes`` (K, H, W) float32, the classical mattes
    in the order of :data:`~matting_classical.fusion.FUSED_METHODS`.
    """

    name: str
    trimap_name: str
    image: np.ndarray
    trimap: np.ndarray
    alpha: np.ndarray
    mattes: np.ndarray


@dataclass(frozen=True)
class TrainingOptions:
    """How the network is trained (the defaults made the bundled weights).

    :param steps: optimiser steps.
    :param batch: crops per step.
    :param crop: side of the square crops, centred on a random unknown pixel.
    :param lr: Adam's learning rate at the start of the cosine schedule.
    :param seed: seeds the crops and the network's initialisation.
    :param save_every: steps between saved training states (0: never).
    """

    steps: int = 1500
    batch: int = 4
    crop: int = 160
    lr: float = 1e-3
    seed: int = 0
    save_every: int = 100


def load_samples(
    data: Path,
    names: Sequence[str] | None = None,
    *,
    cache: Path | None = None,
    model: ClassicalFusion | None = None,
    progress: bool = True,
) -> list[Sample]:
    """Every (photo, trimap) of ``data`` (or of the photos ``names``) with its mattes, solved
    or read from ``cache`` (``<cache>/<trimap folder>/<name>.npy``, written atomically).

    :raises InputError: a missing folder or photo, or no trimap folder.
    """
    from tqdm import tqdm

    from matting_data import list_images, read_alpha, read_image, read_trimap

    for sub in ("image", "alpha"):
        if not (data / sub).is_dir():
            raise InputError(f"{data} has no {sub}/ folder: expected image/, alpha/, trimap*/")
    trimap_dirs = sorted(p for p in data.iterdir() if p.is_dir() and p.name.startswith("trimap"))
    if not trimap_dirs:
        raise InputError(f"{data} has no trimap folder (trimap/, trimap2/, …)")
    photos = {path.stem: path for path in list_images(data / "image")}
    names = sorted(photos) if names is None else list(names)
    absent = [name for name in names if name not in photos]
    if absent:
        raise InputError(f"no photo named {', '.join(absent)} in {data / 'image'}")
    model = model if model is not None else ClassicalFusion(FusionConfig(progress=False))
    samples = []
    jobs = [(name, folder) for name in names for folder in trimap_dirs]
    for name, folder in tqdm(
        jobs, desc="classical mattes", unit="sample", disable=not progress, file=sys.stderr
    ):
        image = read_image(photos[name])
        trimap = read_trimap(folder / f"{name}.png")
        alpha = read_alpha(data / "alpha" / f"{name}.png")
        cached = cache / folder.name / f"{name}.npy" if cache is not None else None
        if cached is not None and cached.is_file():
            mattes = np.load(cached)
        else:
            mattes = model.solve(image, trimap)
            if cached is not None:
                _atomic_save(cached, lambda f, m=mattes: np.save(f, m))
        samples.append(Sample(name, folder.name, image, trimap, alpha, mattes))
    return samples


def _atomic_save(path: Path, write) -> None:
    from matting_data.atomic import atomic_write_bytes

    buffer = io.BytesIO()
    write(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())


def _tensors(sample: Sample) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(image, one-hot trimap, mattes, alpha) of one sample, each (C, H, W) float32."""
    image = torch.from_numpy(np.ascontiguousarray(sample.image.transpose(2, 0, 1)))
    trimap = torch.from_numpy(
        np.stack([sample.trimap == 0, sample.trimap == 128, sample.trimap == 255])
    ).float()
    return image, trimap, torch.from_numpy(sample.mattes), torch.from_numpy(sample.alpha)[None]


def _crop_batch(samples: list, rng: np.random.Generator, options: TrainingOptions):
    """A batch of crops centred on random unknown pixels, half of them flipped."""
    batch = [[], [], [], []]
    for _ in range(options.batch):
        tensors, (rows, cols) = samples[rng.integers(len(samples))]
        height, width = tensors[0].shape[-2:]
        side_y, side_x = min(options.crop, height), min(options.crop, width)
        pick = rng.integers(len(rows))
        top = int(np.clip(rows[pick] - side_y // 2, 0, height - side_y))
        left = int(np.clip(cols[pick] - side_x // 2, 0, width - side_x))
        flip = rng.random() < 0.5
        for out, tensor in zip(batch, tensors, strict=True):
            piece = tensor[:, top : top + side_y, left : left + side_x]
            out.append(piece.flip(-1) if flip else piece)
    return [torch.stack(part) for part in batch]


def train(
    samples: Sequence[Sample],
    options: TrainingOptions = TrainingOptions(),
    *,
    config: FusionConfig | None = None,
    state_path: Path | None = None,
    resume: bool = False,
    progress: bool = True,
) -> ClassicalFusion:
    """Train a ``classical-fusion`` network on ``samples``; returns the model in eval mode.

    :param state_path: where the training state is saved every ``options.save_every`` steps
        (atomically; ``torch.save`` of tensors and plain values, read back with
        ``weights_only=True``).
    :param resume: continue from ``state_path``: the same steps, crops and weights as an
        uninterrupted run.
    :raises InputError: no sample has an unknown pixel, or ``resume`` without a state.
    """
    from tqdm import tqdm

    usable = [
        (_tensors(s), np.nonzero(s.trimap == 128)) for s in samples if (s.trimap == 128).any()
    ]
    if not usable:
        raise InputError("no training sample has an unknown pixel to learn from")
    torch.manual_seed(options.seed)
    model = ClassicalFusion(config or FusionConfig(progress=False))
    net = model.fusion
    optimiser = torch.optim.Adam(net.parameters(), lr=options.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, options.steps)
    rng = np.random.default_rng(options.seed)
    start = 0
    if resume:
        if state_path is None or not state_path.is_file():
            raise InputError(f"nothing to resume: no training state at {state_path}")
        state = torch.load(state_path, weights_only=True)
        net.load_state_dict(state["net"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        start = int(state["step"])
    net.train()
    bar = tqdm(
        range(start, options.steps),
        initial=start,
        total=options.steps,
        desc="train classical-fusion",
        unit="step",
        disable=not progress,
        file=sys.stderr,
    )
    for step in bar:
        image, trimap, mattes, alpha = _crop_batch(usable, rng, options)
        pred = model.fuse(image, trimap, mattes)
        unknown = trimap[:, 1:2]
        loss = ((pred - alpha).abs() * unknown).sum() / unknown.sum().clamp(min=1.0)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
        done = step + 1
        if (
            state_path is not None
            and options.save_every
            and (done % options.save_every == 0 or done == options.steps)
        ):
            state = {
                "net": net.state_dict(),
                "optimiser": optimiser.state_dict(),
                "schedule": schedule.state_dict(),
                "numpy_rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "step": done,
            }
            _atomic_save(state_path, lambda f, s=state: torch.save(s, f))
    return model.eval()


def score(model: ClassicalFusion, samples: Sequence[Sample]) -> list[dict]:
    """Per sample: the fused matte's and each classical matte's SAD (thousands) and MSE over
    the unknown region (DIM protocol, 8-bit mattes as ``matting predict`` writes them)."""
    from matting_core.evaluation import alpha_to_uint8, score_alpha

    rows = []
    for sample in samples:
        image, trimap, mattes, _ = (t[None] for t in _tensors(sample))
        with torch.no_grad():
            fused = model.fuse(image, trimap, mattes)[0, 0].numpy()
        truth = alpha_to_uint8(sample.alpha)
        row = {"name": sample.name, "trimap": sample.trimap_name}
        candidates = {"classical-fusion": fused}
        candidates |= {s.name: m for s, m in zip(model.solvers, sample.mattes, strict=True)}
        for method, matte in candidates.items():
            scores = score_alpha(alpha_to_uint8(matte), truth, sample.trimap)
            row[method] = (scores["sad"], scores["mse"])
        rows.append(row)
    return rows


def cross_validate(
    samples: Sequence[Sample],
    folds: int,
    options: TrainingOptions = TrainingOptions(),
    *,
    save: Path | None = None,
    progress: bool = True,
) -> list[dict]:
    """Held-out scores of every sample: the photos (name order) cut into ``folds``
    consecutive folds, one network trained per fold on the other folds' samples.

    :param save: a folder for each fold's weights, ``<first>-<last>-held-out.safetensors``
        after the fold's first and last photo.
    """

    names = sorted({s.name for s in samples})
    if not 2 <= folds <= len(names):
        raise InputError(f"--folds must be between 2 and the {len(names)} photos, got {folds}")
    rows = []
    for fold in np.array_split(np.array(names), folds):
        held = sorted(fold.tolist())
        model = train([s for s in samples if s.name not in held], options, progress=progress)
        if save is not None:
            _save(model, save / f"{held[0]}-{held[-1]}-held-out.safetensors", options, held)
        rows += score(model, [s for s in samples if s.name in held])
    return rows


def _save(model: ClassicalFusion, path: Path, options: TrainingOptions, held: list[str]) -> None:
    from matting_core import save_weights

    config = dataclasses.replace(model.config, progress=True)  # the run's, not the weights'
    extra = {"training": dataclasses.asdict(options), "held_out": held}
    save_weights(model, path, model_name="classical-fusion", config=config, extra=extra)


def format_scores(rows: Sequence[dict], title: str) -> str:
    """Mean SAD / MSE per trimap folder and method, the fused row first."""
    methods = [key for key in rows[0] if key not in ("name", "trimap")]
    lines = [title, f"{'trimap':<10} {'method':<18} {'photos':>6} {'SAD':>7} {'MSE':>8}"]
    for trimap in sorted({row["trimap"] for row in rows}):
        chosen = [row for row in rows if row["trimap"] == trimap]
        for method in methods:
            sad = np.mean([row[method][0] for row in chosen])
            mse = np.mean([row[method][1] for row in chosen])
            lines.append(f"{trimap:<10} {method:<18} {len(chosen):>6} {sad:7.3f} {mse:8.5f}")
    names = ", ".join(sorted({row["name"] for row in rows}))
    lines.append(f"photos: {names}; SAD in thousands over the unknown region, MSE raw")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m matting_classical.fusion_training",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--data", type=Path, required=True, help="image/, alpha/, trimap*/")
    parser.add_argument("--out", type=Path, help="where the trained weights go (.safetensors)")
    parser.add_argument("--hold-out", nargs="+", default=[], metavar="NAME")
    parser.add_argument("--folds", type=int, help="cross-validate over this many folds instead")
    parser.add_argument("--save-folds", type=Path, metavar="DIR", help="keep each fold's weights")
    parser.add_argument("--cache", type=Path, help="folder for the solved mattes")
    parser.add_argument("--resume", action="store_true", help="continue the run of --out")
    parser.add_argument("--no-progress", action="store_true")
    for option in dataclasses.fields(TrainingOptions):
        parser.add_argument(f"--{option.name.replace('_', '-')}", type=type(option.default))
    args = parser.parse_args(argv)
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainingOptions)
        if getattr(args, f.name) is not None
    }
    options = TrainingOptions(**given)
    progress = not args.no_progress
    try:
        if (args.out is None) == (args.folds is None):
            raise InputError("give --out WEIGHTS (train) or --folds N (cross-validate)")
        if args.out is not None and args.out.suffix != ".safetensors":
            raise InputError(f"--out {args.out} must end in .safetensors")
        samples = load_samples(args.data, cache=args.cache, progress=progress)
        if args.folds is not None:
            rows = cross_validate(
                samples, args.folds, options, save=args.save_folds, progress=progress
            )
            print(format_scores(rows, f"held-out scores, {args.folds}-fold cross-validation"))
            return 0
        held = set(args.hold_out)
        unknown = held - {s.name for s in samples}
        if unknown:
            raise InputError(f"--hold-out names no photo of {args.data}: {sorted(unknown)}")
        state = args.out.with_suffix(".state.pt")
        model = train(
            [s for s in samples if s.name not in held],
            options,
            state_path=state,
            resume=args.resume,
            progress=progress,
        )
        _save(model, args.out, options, sorted(held))
        print(f"weights written to {args.out}")
        if held:
            rows = score(model, [s for s in samples if s.name in held])
            print(format_scores(rows, "held-out photos"))
        return 0
    except MattingError as error:
        print(f"fusion_training: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
