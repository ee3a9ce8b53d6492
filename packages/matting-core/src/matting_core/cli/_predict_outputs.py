"""``matting predict``'s outputs besides the alpha: the RGBA cutout, the composite over a new
background and the pictures of the model's extra outputs.

The same options mean a file in the single-image form (``--cutout C.png``, ``--composite
OUT.jpg``) and a folder in the folder form (``--cutout DIR``: ``DIR/<name>.png``);
``--save-extras DIR`` is a folder in both (``DIR/<name>/``). Everything is checked before any
work: the flags that go together, the extensions, no output replacing an input or another
output.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from matting_core.errors import InputError

#: Options of this module, for the parser of ``matting predict``.
FOREGROUND_METHODS = ("multilevel", "blur_fusion")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The cutout, composite and extras options of ``matting predict``."""
    group = parser.add_argument_group("cutouts, composites and pictures")
    group.add_argument(
        "--cutout",
        type=Path,
        metavar="PATH",
        help=(
            "also write an RGBA PNG cutout whose colours are the estimated foreground (no "
            "background colour at the edges): a .png file, or a folder with --images"
        ),
    )
    group.add_argument(
        "--composite",
        type=Path,
        metavar="PATH",
        help="also write the foreground over --background: a file, or a folder with --images",
    )
    group.add_argument(
        "--background",
        metavar="PHOTO|COLOR",
        help=(
            "the new background of --composite: a photo (scaled to cover, centred) or a "
            "colour (#RRGGBB, R,G,B, white, black, ...)"
        ),
    )
    group.add_argument(
        "--foreground-method",
        choices=FOREGROUND_METHODS,
        default=None,
        help="foreground estimation of --cutout/--composite: multilevel (default) or blur_fusion",
    )
    group.add_argument(
        "--save-extras",
        type=Path,
        metavar="DIR",
        help=(
            "also draw what the model shows besides alpha (attention offsets as colour-coded "
            "flow, scale and propagation maps) into DIR/<image name>/"
        ),
    )


@dataclass(frozen=True)
class ImageOutputs:
    """Everything ``matting predict`` writes for one image."""

    alpha: Path
    cutout: Path | None = None
    composite: Path | None = None
    extras: Path | None = None

    def files(self) -> list[Path]:
        """The files that exist once this image is done (the extras' summary is written last)."""
        from matting_core.extras import SUMMARY_FILE

        files = [self.alpha, self.cutout, self.composite]
        if self.extras is not None:
            files.append(self.extras / SUMMARY_FILE)
        return [f for f in files if f is not None]

    def done(self) -> bool:
        return all(path.exists() for path in self.files())


def plan(
    args: argparse.Namespace, jobs: list[tuple[Path, Path | None, Path]]
) -> list[ImageOutputs]:
    """The outputs of every job, after checking the options (one sentence on misuse)."""
    if args.background is not None and args.composite is None:
        raise InputError("--background goes with --composite PATH (where to write it)")
    if args.composite is not None and args.background is None:
        raise InputError("--composite needs --background PHOTO|COLOR")
    if args.foreground_method is not None and args.cutout is None and args.composite is None:
        raise InputError("--foreground-method goes with --cutout or --composite")
    single = args.image is not None
    if single:
        _check_single_file(args.cutout, "--cutout", (".png",))
        from matting_data import WRITE_EXTENSIONS

        _check_single_file(args.composite, "--composite", WRITE_EXTENSIONS)
    outputs = []
    for image, _, alpha in jobs:
        stem = image.stem
        if single:
            cutout, composite = args.cutout, args.composite
        else:
            cutout = args.cutout / f"{stem}.png" if args.cutout is not None else None
            composite = args.composite / f"{stem}.png" if args.composite is not None else None
        extras = args.save_extras / stem if args.save_extras is not None else None
        outputs.append(ImageOutputs(alpha, cutout, composite, extras))
    _refuse_collisions(outputs)
    return outputs


def output_dirs(args: argparse.Namespace) -> list[Path]:
    """The folders the extra outputs are written into (made before any work)."""
    folders = [args.save_extras] if args.save_extras is not None else []
    if args.image is None:
        folders += [p for p in (args.cutout, args.composite) if p is not None]
    return folders


def _check_single_file(path: Path | None, option: str, extensions: tuple[str, ...]) -> None:
    if path is not None and path.suffix.lower() not in extensions:
        raise InputError(f"{option} {path} must end in {' or '.join(extensions)}")


def _refuse_collisions(outputs: list[ImageOutputs]) -> None:
    seen: dict[Path, str] = {}
    for image in outputs:
        for role in ("alpha", "cutout", "composite"):
            path = getattr(image, role)
            if path is None:
                continue
            key = path.resolve()
            if key in seen and seen[key] != role:
                raise InputError(f"the {role} and the {seen[key]} would both be written to {path}")
            seen[key] = role
