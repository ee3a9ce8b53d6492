"""Reference training-data pipelines of the papers, built from :mod:`matting_data.augmentation`.

Each function returns a :class:`~matting_data.augmentation.Compose`; call it as
``pipeline(sample, np.random.default_rng(seed))`` on a sample with ``fg``, ``alpha``, ``bg`` (and
``fg2``/``alpha2`` for the two-foreground combination). The output holds ``image``, ``alpha``,
``fg``, ``bg`` (and ``trimap`` for the trimap-based methods) at the training crop size.
Where a paper is silent on an interpolation kernel, fg/alpha use bilinear and bg bicubic.
"""

from __future__ import annotations

from matting_data.augmentation import (
    CombineForegrounds,
    Compose,
    CompositeOnBackground,
    CropCenteredOnUnknown,
    GenerateTrimap,
    Interpolation,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomHSVJitter,
    RandomResize,
    RandomRotation,
    Resize,
)

__all__ = [
    "alphagan_pipeline",
    "gca_pipeline",
    "hattmatting_pipeline",
    "hdmatt_pipeline",
    "hop_pipeline",
]


def gca_pipeline(
    crop_size: int = 512,
    *,
    interpolation: Interpolation = "nearest",
    bg_interpolation: Interpolation = "cubic",
) -> Compose:
    """GCA Matting (Li & Lu, AAAI 2020), "Data Augmentation", in the paper's order.

    Two-foreground combination (p=0.5) -> resize to 640x640 (p=0.25) -> random affine
    (rotation +-30 deg for foregrounds >= 1024 px, per-axis scale 0.8-1.25, shear +-10 deg,
    h/v flips p=0.5) -> trimap by erosion/dilation 5-29 px -> 512 crop centred on an unknown
    pixel -> HSV jitter -> composite on a background. The numbers the paper leaves out come
    from the release (Yaoyi-Li/GCA-Matting, dataloader/data_generator.py), as do the
    resampling kernels: nearest for fg/alpha (``interpolation``), cubic for the background.
    The release trains with batch 10 per GPU on 4 GPUs (40 in total, as the paper says).
    """
    return Compose(
        [
            CombineForegrounds(p=0.5, interpolation=interpolation),
            RandomResize(target=640, p=0.25, interpolation=interpolation),
            RandomAffine(
                degrees=30, scale=(0.8, 1.25), shear=10, flip_p=0.5, interpolation=interpolation
            ),
            GenerateTrimap(kernel_range=(5, 29), mode="erode_dilate"),
            CropCenteredOnUnknown(
                size=crop_size, interpolation=interpolation, bg_interpolation=bg_interpolation
            ),
            RandomHSVJitter(max_hue_degrees=40, sv_ceiling=1.1, sv_fraction=0.1),
            CompositeOnBackground(interpolation=bg_interpolation),
        ]
    )


def hop_pipeline(crop_size: int = 512) -> Compose:
    """HOP Matting (Li et al., 2020): GCA's augmentation ("We follow the basic data augmentation
    proposed in [GCA]") plus *random interpolation* (Sec. 4.1): every resize or warp of fg,
    alpha and bg draws its kernel uniformly, independently per array; the trimap stays nearest.
    """
    return gca_pipeline(crop_size, interpolation="random", bg_interpolation="random")


def alphagan_pipeline() -> Compose:
    """AlphaGAN (Lutz et al., BMVC 2018), Sec. 3.1 "Training dataset".

    Rotation ~ N(0, 5 deg) -> trimap by dilation with kernels 2-20 -> crop of a side drawn
    uniformly in 320..720 centred on an unknown pixel (the background is cut from the same
    window) -> resize to 320x320 -> horizontal flip p=0.5 -> composite.
    """
    return Compose(
        [
            RandomRotation(sigma_degrees=5.0),
            GenerateTrimap(kernel_range=(2, 20), mode="dilate"),
            CropCenteredOnUnknown(size_range=(320, 720)),
            Resize(320),
            RandomHorizontalFlip(p=0.5),
            CompositeOnBackground(),
        ]
    )


def hdmatt_pipeline() -> Compose:
    """HDMatt (Yu et al., AAAI 2021), "Dataset": following Tang et al. 2019.

    Two-foreground combination -> trimap by random dilation -> square patch of side in
    {320, 480, 640} centred on an unknown pixel -> resize to 320x320 -> horizontal flip ->
    rotation by an angle below 15 deg (uniform) -> composite. The paper gives neither the
    combination probability nor the dilation range: p=0.5 and 5-29 px as in GCA, which follows
    the same Tang et al. recipe.
    """
    return Compose(
        [
            CombineForegrounds(p=0.5),
            GenerateTrimap(kernel_range=(5, 29), mode="dilate"),
            CropCenteredOnUnknown(size=(320, 480, 640)),
            Resize(320),
            RandomHorizontalFlip(p=0.5),
            RandomRotation(max_degrees=15.0),
            CompositeOnBackground(),
        ]
    )


def hattmatting_pipeline() -> Compose:
    """HAttMatting (Qiao et al., CVPR 2020), Sec. 3.4: random crops of 512, 640 or 800 ->
    resize to 512x512 -> horizontal flip p=0.5 -> composite. Trimap-free: no trimap is made.
    """
    return Compose(
        [
            RandomCrop(size=(512, 640, 800)),
            Resize(512),
            RandomHorizontalFlip(p=0.5),
            CompositeOnBackground(),
        ]
    )
