"""ResNet and ResNeXt backbones with torchvision's module names, for ImageNet weights.

ResNet (He et al., CVPR 2016) and ResNeXt (Xie et al., CVPR 2017), built so that a state dict
saved from torchvision's ``resnet34``, ``resnet50``, ``resnext50_32x4d`` or
``resnext101_32x8d`` loads with every key matched (:func:`matting_nn.load_pretrained`): the
same modules in the same order under the same names (``conv1``, ``bn1``, ``layer1.0.conv1``,
``layer1.0.downsample.0``, …, ``fc``), the stride on the 3×3 convolution of a bottleneck
(ResNet v1.5, as torchvision), and torchvision's initialisation.

What a matting encoder needs beyond torchvision:

* **Dilation** (DeepLabv3, Chen et al. 2017): ``output_stride`` 16 or 8, or torchvision's
  ``replace_stride_with_dilation``, turns the stride of ``layer4`` (and ``layer3``) into a
  dilation.  The convolution where the stride was keeps the previous dilation and the ones
  after it take the new one, torchvision's rule for bottlenecks; torchvision refuses dilation
  in the basic block of ResNet-18/34, which HDMatt needs, so here the same rule applies to it
  (its first 3×3 convolution holds the stride), as in the dilated residual networks of Yu et
  al. (CVPR 2017).  Dilation changes no parameter, so the ImageNet weights still load.
* **More input channels**: ``in_channels`` 4 or 6 (image plus trimap) widens ``conv1``;
  :func:`~matting_nn.load_pretrained` copies the ImageNet RGB filters into the first three
  input channels and starts the others at zero (AlphaGAN's 4-channel stem).
* **Features for a decoder**: :meth:`ResNet.forward` returns :class:`ResNetFeatures`, the
  output of the stem, the indices of its max-pool (for the max-unpooling of AlphaGAN and
  HDMatt) and of each stage.
* **No classifier** by default (``num_classes=0``): the ImageNet head's ``fc.weight`` and
  ``fc.bias`` are reported as ignored when loading.  ``num_classes=1000`` builds it, with
  exactly torchvision's parameter count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from matting_nn.errors import BlockConfigError

__all__ = [
    "BACKBONES",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "ResNetFeatures",
    "create_backbone",
    "dilation_for_output_stride",
    "resnet34",
    "resnet50",
    "resnext50_32x4d",
    "resnext101_32x8d",
]

#: ``norm_layer(channels)`` builds a normalisation layer (BatchNorm2d by default).
NormLayer = Callable[[int], nn.Module]

#: output stride → which of layer2, layer3, layer4 trade their stride for dilation.
_DILATION_FOR_OUTPUT_STRIDE: dict[int, tuple[bool, bool, bool]] = {
    32: (False, False, False),
    16: (False, False, True),
    8: (False, True, True),
}


def dilation_for_output_stride(output_stride: int) -> tuple[bool, bool, bool]:
    """torchvision's ``replace_stride_with_dilation`` for an output stride of 8, 16 or 32.

    :raises BlockConfigError: any other output stride.
    """
    try:
        return _DILATION_FOR_OUTPUT_STRIDE[output_stride]
    except (KeyError, TypeError):
        raise BlockConfigError(
            f"output_stride must be 8, 16 or 32, got {output_stride!r}"
        ) from None


def _conv3x3(
    in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1
) -> nn.Conv2d:
    return nn.Conv2d(
        in_planes,
        out_planes,
        3,
        stride=stride,
        padding=dilation,
        groups=groups,
        bias=False,
        dilation=dilation,
    )


def _conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions (ResNet-18/34); the first holds the stride.

    :param first_dilation: dilation of ``conv1`` (the stage's previous dilation in its first
        block, where the stride would be).
    :param dilation: dilation of ``conv2``.
    """

    expansion: ClassVar[int] = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        first_dilation: int = 1,
        dilation: int = 1,
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise BlockConfigError("BasicBlock supports only groups=1 and width_per_group=64")
        self.conv1 = _conv3x3(inplanes, planes, stride, dilation=first_dilation)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes, dilation=dilation)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3 (grouped for ResNeXt, holds the stride), 1×1 expand ×4.

    The 3×3 convolution has ``planes * width_per_group / 64 * groups`` channels: ResNet-50 has
    groups 1 and width 64, ResNeXt-50 32×4d groups 32 of width 4, ResNeXt-101 32×8d groups 32
    of width 8.

    :param first_dilation: dilation of ``conv2`` (the only 3×3 convolution).
    :param dilation: unused by this block (its one 3×3 convolution is where the stride is);
        kept so that both blocks take the same arguments.
    """

    expansion: ClassVar[int] = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        first_dilation: int = 1,
        dilation: int = 1,
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = _conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = _conv3x3(width, width, stride, groups, first_dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = _conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNetFeatures(NamedTuple):
    """What :meth:`ResNet.forward` returns for an input (B, C, H, W).

    Strides are for ``output_stride=32``; a dilated stage keeps its input's stride.

    - ``stem``: (B, 64, H/2, W/2), ``relu(bn1(conv1(x)))``, before the max-pool.
    - ``pool_indices``: (B, 64, H/4, W/4) int64, where the 3×3 stride-2 max-pool took each
      value from in ``stem``; ``F.max_unpool2d(y, pool_indices, 3, 2, 1,
      output_size=stem.shape[-2:])`` puts a (B, 64, H/4, W/4) map back
      (:class:`matting_nn.MaxUnpool`).
    - ``layer1``: (B, 64·e, H/4, W/4) with e = 1 (basic blocks) or 4 (bottlenecks).
    - ``layer2``: (B, 128·e, H/8, W/8).
    - ``layer3``: (B, 256·e, H/16, W/16), H/8 when dilated.
    - ``layer4``: (B, 512·e, H/32, W/32), H/16 or H/8 when dilated.
    """

    stem: Tensor
    pool_indices: Tensor
    layer1: Tensor
    layer2: Tensor
    layer3: Tensor
    layer4: Tensor


class ResNet(nn.Module):
    """A ResNet / ResNeXt with torchvision's names; ``forward`` returns the features a matting
    decoder needs.

    :param block: :class:`BasicBlock` or :class:`Bottleneck`.
    :param layers: blocks per stage, e.g. ``(3, 4, 6, 3)`` for ResNet-50.
    :param groups: groups of the 3×3 convolutions (ResNeXt's cardinality).
    :param width_per_group: channels per group at the first stage (ResNeXt's bottleneck
        width; 64 for a plain ResNet).
    :param in_channels: input channels of ``conv1`` (3 for RGB; 4 or 6 with a trimap).
    :param output_stride: 8, 16 or 32 (the default): the stride of ``layer4``'s output, with
        dilation in place of the remaining strides.  Shorthand for
        ``replace_stride_with_dilation``; giving both is allowed only when they agree.
    :param replace_stride_with_dilation: torchvision's three flags for layer2, layer3 and
        layer4.
    :param num_classes: 0 (the default) builds no classifier; otherwise ``avgpool`` and
        ``fc`` as torchvision (1000 for ImageNet).
    :param norm_layer: ``norm_layer(channels)``; BatchNorm2d by default.  A GroupNorm, e.g.
        ``lambda c: nn.GroupNorm(32, c)``, trains at batch size 1 but has no running
        statistics to load.
    :param zero_init_residual: start each block's last norm at zero (torchvision's option).

    Shape:
        input (B, in_channels, H, W) float → :class:`ResNetFeatures`.

    Example:
        >>> net = resnet34(output_stride=8, in_channels=4)
        >>> f = net(torch.zeros(1, 4, 64, 64))
        >>> tuple(f.layer4.shape), net.feature_strides["layer4"]
        ((1, 512, 8, 8), 8)
    """

    #: The state-dict keys of the input convolution (widened by ``in_channels``).
    stem_weight_keys: ClassVar[tuple[str, ...]] = ("conv1.weight",)
    #: The prefix of the ImageNet classifier's keys.
    classifier_prefix: ClassVar[str] = "fc."

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: Sequence[int],
        *,
        groups: int = 1,
        width_per_group: int = 64,
        in_channels: int = 3,
        output_stride: int | None = None,
        replace_stride_with_dilation: Sequence[bool] | None = None,
        num_classes: int = 0,
        norm_layer: NormLayer | None = None,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        if len(layers) != 4 or any(int(n) < 1 for n in layers):
            raise BlockConfigError(f"layers must be 4 block counts >= 1, got {tuple(layers)}")
        if in_channels < 1:
            raise BlockConfigError(f"in_channels must be >= 1, got {in_channels}")
        if num_classes < 0:
            raise BlockConfigError(f"num_classes must be >= 0, got {num_classes}")
        if groups < 1 or width_per_group < 1:
            raise BlockConfigError("groups and width_per_group must be >= 1")
        dilate = self._dilation_flags(output_stride, replace_stride_with_dilation)
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        self._norm_layer = norm_layer
        self.block = block
        self.in_channels = in_channels
        self.inplanes = 64
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group

        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(64)
        self.relu = nn.ReLU(inplace=True)
        # torchvision's max-pool, also returning where each maximum came from (no parameters,
        # so the state dict is unchanged)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1, return_indices=True)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2, dilate=dilate[0])
        self.layer3 = self._make_layer(256, layers[2], stride=2, dilate=dilate[1])
        self.layer4 = self._make_layer(512, layers[3], stride=2, dilate=dilate[2])
        self.num_classes = num_classes
        if num_classes:
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512 * block.expansion, num_classes)

        e = block.expansion
        #: channels of each entry of :class:`ResNetFeatures` (``pool_indices``: of the map it
        #: unpools).
        self.feature_channels: dict[str, int] = {
            "stem": 64,
            "pool_indices": 64,
            "layer1": 64 * e,
            "layer2": 128 * e,
            "layer3": 256 * e,
            "layer4": 512 * e,
        }
        #: stride of each feature with respect to the input.
        self.feature_strides: dict[str, int] = {"stem": 2, "pool_indices": 4, "layer1": 4}
        stride = 4
        for name, dilated in zip(("layer2", "layer3", "layer4"), dilate, strict=True):
            stride = stride if dilated else 2 * stride
            self.feature_strides[name] = stride
        self.output_stride = self.feature_strides["layer4"]
        self._init_weights(zero_init_residual)

    @staticmethod
    def _dilation_flags(
        output_stride: int | None, replace: Sequence[bool] | None
    ) -> tuple[bool, bool, bool]:
        if replace is not None:
            flags = tuple(bool(f) for f in replace)
            if len(flags) != 3:
                raise BlockConfigError(
                    "replace_stride_with_dilation must be 3 flags (layer2, layer3, layer4), "
                    f"got {tuple(replace)}"
                )
            if output_stride is not None and flags != dilation_for_output_stride(output_stride):
                raise BlockConfigError(
                    f"output_stride={output_stride} and replace_stride_with_dilation={flags} "
                    "disagree; give one of them"
                )
            return flags  # type: ignore[return-value]
        return dilation_for_output_stride(32 if output_stride is None else output_stride)

    def _make_layer(
        self, planes: int, blocks: int, stride: int = 1, dilate: bool = False
    ) -> nn.Sequential:
        norm_layer = self._norm_layer
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        out = planes * self.block.expansion
        if stride != 1 or self.inplanes != out:
            downsample = nn.Sequential(_conv1x1(self.inplanes, out, stride), norm_layer(out))
        modules = [
            self.block(
                self.inplanes,
                planes,
                stride,
                downsample,
                self.groups,
                self.base_width,
                first_dilation=previous_dilation,
                dilation=self.dilation,
                norm_layer=norm_layer,
            )
        ]
        self.inplanes = out
        modules += [
            self.block(
                self.inplanes,
                planes,
                groups=self.groups,
                base_width=self.base_width,
                first_dilation=self.dilation,
                dilation=self.dilation,
                norm_layer=norm_layer,
            )
            for _ in range(1, blocks)
        ]
        return nn.Sequential(*modules)

    def _init_weights(self, zero_init_residual: bool) -> None:
        # torchvision's initialisation, so that training from scratch starts alike
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def forward(self, x: Tensor) -> ResNetFeatures:
        """The stem, its max-pool indices and the four stages' outputs for ``x``."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise BlockConfigError(
                f"{type(self).__name__} expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        stem = self.relu(self.bn1(self.conv1(x)))
        pooled, indices = self.maxpool(stem)
        layer1 = self.layer1(pooled)
        layer2 = self.layer2(layer1)
        layer3 = self.layer3(layer2)
        layer4 = self.layer4(layer3)
        return ResNetFeatures(stem, indices, layer1, layer2, layer3, layer4)

    def classify(self, x: Tensor) -> Tensor:
        """ImageNet logits (B, num_classes), as torchvision's ``forward``.

        :raises BlockConfigError: the backbone was built without a classifier.
        """
        if not self.num_classes:
            raise BlockConfigError("this backbone has no classifier; build it with num_classes")
        return self.fc(torch.flatten(self.avgpool(self.forward(x).layer4), 1))


def resnet34(**kwargs: object) -> ResNet:
    """ResNet-34: basic blocks (3, 4, 6, 3); 21,797,672 parameters with ``num_classes=1000``."""
    return ResNet(BasicBlock, (3, 4, 6, 3), **kwargs)  # type: ignore[arg-type]


def resnet50(**kwargs: object) -> ResNet:
    """ResNet-50: bottlenecks (3, 4, 6, 3); 25,557,032 parameters with ``num_classes=1000``."""
    return ResNet(Bottleneck, (3, 4, 6, 3), **kwargs)  # type: ignore[arg-type]


def resnext50_32x4d(**kwargs: object) -> ResNet:
    """ResNeXt-50 32×4d: bottlenecks (3, 4, 6, 3), 32 groups of width 4; 25,028,904
    parameters with ``num_classes=1000``."""
    return ResNet(Bottleneck, (3, 4, 6, 3), groups=32, width_per_group=4, **kwargs)  # type: ignore[arg-type]


def resnext101_32x8d(**kwargs: object) -> ResNet:
    """ResNeXt-101 32×8d: bottlenecks (3, 4, 23, 3), 32 groups of width 8; 88,791,336
    parameters with ``num_classes=1000``."""
    return ResNet(Bottleneck, (3, 4, 23, 3), groups=32, width_per_group=8, **kwargs)  # type: ignore[arg-type]


#: Backbone name (torchvision's) → constructor.
BACKBONES: dict[str, Callable[..., ResNet]] = {
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnext50_32x4d": resnext50_32x4d,
    "resnext101_32x8d": resnext101_32x8d,
}


def create_backbone(name: str, **kwargs: object) -> ResNet:
    """Build backbone ``name`` (a key of :data:`BACKBONES`) with the constructor's options.

    :raises BlockConfigError: unknown name.
    """
    try:
        factory = BACKBONES[name]
    except KeyError:
        known = ", ".join(BACKBONES)
        raise BlockConfigError(f"unknown backbone {name!r}; known backbones: {known}") from None
    return factory(**kwargs)
