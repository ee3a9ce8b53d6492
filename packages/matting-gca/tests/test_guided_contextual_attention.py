"""The guided contextual attention op and block: reference, chunking, masking, scales, shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from matting_core.errors import ShapeError
from matting_gca.guided_contextual_attention import (
    GuidedContextualAttention,
    guided_contextual_attention,
)
from matting_nn.contextual_attention import area_scales, source_unknown_mask


def _naive(guidance: torch.Tensor, alpha: torch.Tensor, unknown: torch.Tensor) -> np.ndarray:
    """Loop-by-loop float64 transcription of the paper's Eq. 3-6 with the release's details
    (rate 2): independent of both implementations under test."""
    g = guidance[0, :, ::2, ::2].double().numpy()  # legacy nearest: pixel (2i, 2j)
    u = unknown[0, 0, ::2, ::2].double().numpy()
    a = alpha[0].double().numpy()
    channels, h, w = a.shape[0], g.shape[1], g.shape[2]
    gp = np.pad(g, ((0, 0), (1, 1), (1, 1)), mode="reflect")
    up = np.pad(u, 1, mode="reflect")
    ap = np.pad(a, ((0, 0), (1, 1), (1, 1)), mode="reflect")
    positions = [(y, x) for y in range(h) for x in range(w)]
    patches = [gp[:, y : y + 3, x : x + 3].ravel() for y, x in positions]
    keys = [p / max(np.linalg.norm(p), 1e-4) for p in patches]
    source_unknown = [up[y : y + 3, x : x + 3].mean() > 0 for y, x in positions]
    um = u.mean()
    su = np.clip(np.sqrt(um / (1 - um)) if um < 1 else np.inf, 0.1, 10)
    sk = np.clip(np.sqrt((1 - um) / um) if um > 0 else np.inf, 0.1, 10)
    out = np.zeros((channels, 2 * h + 2, 2 * w + 2))
    for p, (py, px) in enumerate(positions):
        logits = np.array(
            [
                keys[src] @ patches[p] * (su if source_unknown[src] else sk)
                + (-1e4 if (src == p and source_unknown[src]) else 0.0)
                for src in range(len(positions))
            ]
        )
        weights = np.exp(logits - logits.max())
        weights /= weights.sum()
        for src, (ly, lx) in enumerate(positions):
            out[:, 2 * py : 2 * py + 4, 2 * px : 2 * px + 4] += (
                weights[src] * ap[:, 2 * ly : 2 * ly + 4, 2 * lx : 2 * lx + 4]
            )
    return out[:, 1:-1, 1:-1] / 4


def _inputs(batch=2, cg=6, c=5, height=12, width=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    guidance = torch.randn(batch, cg, height, width, generator=gen)
    alpha = torch.randn(batch, c, height, width, generator=gen)
    unknown = (torch.rand(batch, 1, height, width, generator=gen) > 0.6).float()
    return guidance, alpha, unknown


class TestReference:
    @pytest.mark.parametrize("chunk", [None, 1, 7, 1024])
    def test_matches_naive_transcription(self, chunk):
        guidance, alpha, unknown = _inputs()
        result = guided_contextual_attention(guidance, alpha, unknown, chunk=chunk)
        for b in range(guidance.shape[0]):
            expected = _naive(guidance[b : b + 1], alpha[b : b + 1], unknown[b : b + 1])
            np.testing.assert_allclose(result.propagated[b].numpy(), expected, atol=1e-5)


class TestChunking:
    @pytest.mark.parametrize("chunk", [1, 5, 20, 61, 100_000])
    def test_chunked_equals_full(self, chunk):
        guidance, alpha, unknown = _inputs(batch=2, cg=16, c=8, height=40, width=24, seed=1)
        full = guided_contextual_attention(guidance, alpha, unknown, chunk=None)
        part = guided_contextual_attention(guidance, alpha, unknown, chunk=chunk)
        torch.testing.assert_close(part.propagated, full.propagated, atol=1e-5, rtol=1e-5)
        assert torch.equal(part.offsets, full.offsets)
        assert torch.equal(part.scales, full.scales)

    def test_chunked_equals_full_rate_4(self):
        guidance, alpha, unknown = _inputs(batch=1, cg=8, c=4, height=32, width=24, seed=2)
        full = guided_contextual_attention(guidance, alpha, unknown, rate=4, chunk=None)
        part = guided_contextual_attention(guidance, alpha, unknown, rate=4, chunk=3)
        assert part.propagated.shape == alpha.shape
        assert part.offsets.shape == (1, 2, 8, 6)
        torch.testing.assert_close(part.propagated, full.propagated, atol=1e-5, rtol=1e-5)

    def test_gradients_match(self):
        guidance, alpha, unknown = _inputs(batch=2, cg=8, c=4, height=16, width=12, seed=3)
        grads = []
        for chunk in (None, 5):
            g = guidance.clone().requires_grad_()
            a = alpha.clone().requires_grad_()
            out = guided_contextual_attention(g, a, unknown, chunk=chunk).propagated
            (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
            grads.append((g.grad, a.grad))
        torch.testing.assert_close(grads[0][0], grads[1][0], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(grads[0][1], grads[1][1], atol=1e-5, rtol=1e-4)

    def test_largest_allocation_is_linear_in_area(self):
        # 128x128 features -> L = 64*64 = 4096 patches: the full score matrix is 64 MiB.
        guidance, alpha, unknown = _inputs(batch=1, cg=4, c=4, height=128, width=128, seed=4)
        largest = {}
        for chunk in (256, None):
            with torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True
            ) as prof:
                guided_contextual_attention(guidance, alpha, unknown, chunk=chunk)
            largest[chunk] = max(e.cpu_memory_usage for e in prof.events())
        assert largest[None] >= 4096 * 4096 * 4  # the release's way: the whole matrix
        assert 0 < largest[256] <= 4096 * 256 * 4  # one (L, chunk) block at a time


class TestSelfMask:
    def _best_source(self, guidance, unknown):
        alpha = torch.zeros(1, 2, *guidance.shape[2:])
        offsets = guided_contextual_attention(guidance, alpha, unknown, chunk=3).offsets[0]
        h, w = offsets.shape[1:]
        rows, cols = offsets[0] + h // 2, offsets[1] + w // 2
        return rows * w + cols, torch.arange(h * w).view(h, w)

    def test_all_known_attends_to_itself(self):
        # Without the mask a patch is its own best match (Cauchy-Schwarz: the query is the
        # unnormalised key itself) ...
        guidance, _, _ = _inputs(batch=1, cg=8, height=16, width=16, seed=5)
        best, own = self._best_source(guidance, torch.zeros(1, 1, 16, 16))
        assert torch.equal(best, own)

    def test_all_unknown_never_attends_to_itself(self):
        # ... and with the -1e4 punishment it never is.
        guidance, _, _ = _inputs(batch=1, cg=8, height=16, width=16, seed=5)
        best, own = self._best_source(guidance, torch.ones(1, 1, 16, 16))
        assert not (best == own).any()

    def test_mask_only_on_unknown_sources(self):
        guidance, _, _ = _inputs(batch=1, cg=8, height=16, width=16, seed=6)
        unknown = torch.zeros(1, 1, 16, 16)
        unknown[..., 4:8, 4:10] = 1  # a minority, so known sources get the larger weight
        best, own = self._best_source(guidance, unknown)
        masked = source_unknown_mask(unknown[..., ::2, ::2]).view(8, 8)
        assert masked.any() and not masked.all()
        assert torch.equal(best[~masked], own[~masked])
        assert not (best[masked] == own[masked]).any()

    def test_source_unknown_mask_uses_the_3x3_window(self):
        unknown = torch.zeros(1, 1, 6, 6)
        unknown[..., 2, 2] = 1
        mask = source_unknown_mask(unknown).view(6, 6)
        expected = torch.zeros(6, 6, dtype=torch.bool)
        expected[1:4, 1:4] = True
        assert torch.equal(mask, expected)


class TestAreaScales:
    @pytest.mark.parametrize(
        ("unknown_pixels", "expected"),
        [
            (0, (0.1, 10.0)),  # no unknown: both clamped
            (64, (10.0, 0.1)),  # all unknown
            (32, (1.0, 1.0)),
            (16, (np.sqrt(16 / 48), np.sqrt(48 / 16))),
            (1, (np.sqrt(1 / 63), np.sqrt(63))),  # 0.126 and 7.94: inside the clamp
        ],
    )
    def test_hand_made_maps(self, unknown_pixels, expected):
        unknown = torch.zeros(1, 1, 8, 8)
        unknown.view(-1)[:unknown_pixels] = 1
        torch.testing.assert_close(
            area_scales(unknown),
            torch.tensor([expected], dtype=torch.float32),
            rtol=1e-6,
            atol=1e-7,
        )

    def test_clamp_bounds(self):
        # 1 unknown pixel in 10,000: sqrt ratios 0.01 and 100 are clamped to 0.1 and 10.
        unknown = torch.zeros(1, 1, 100, 100)
        unknown[..., 0, 0] = 1
        torch.testing.assert_close(area_scales(unknown), torch.tensor([[0.1, 10.0]]))
        torch.testing.assert_close(area_scales(1 - unknown), torch.tensor([[10.0, 0.1]]))

    def test_scales_come_from_the_downsampled_trimap(self):
        guidance, alpha, _ = _inputs(batch=2, height=16, width=16)
        unknown = torch.zeros(2, 1, 16, 16)
        unknown[0, :, :8] = 1  # half unknown -> 1, 1
        unknown[1, :, 1::2, 1::2] = 1  # odd pixels only: invisible after legacy-nearest x1/2
        scales = guided_contextual_attention(guidance, alpha, unknown).scales
        torch.testing.assert_close(scales, torch.tensor([[1.0, 1.0], [0.1, 10.0]]))

    def test_no_unknown_map_means_scale_one(self):
        guidance, alpha, _ = _inputs(batch=1)
        result = guided_contextual_attention(guidance, alpha, None)
        torch.testing.assert_close(result.scales, torch.ones(1, 2))


class TestShapes:
    def test_output_shapes(self):
        guidance, alpha, unknown = _inputs(batch=3, cg=6, c=5, height=12, width=16)
        result = guided_contextual_attention(guidance, alpha, unknown)
        assert result.propagated.shape == (3, 5, 12, 16)
        assert result.offsets.shape == (3, 2, 6, 8) and result.offsets.dtype == torch.int64
        assert result.scales.shape == (3, 2)

    def test_offsets_are_centred_positions(self):
        guidance, alpha, unknown = _inputs(batch=1, height=12, width=16)
        offsets = guided_contextual_attention(guidance, alpha, unknown).offsets[0]
        assert offsets[0].min() >= -3 and offsets[0].max() <= 2
        assert offsets[1].min() >= -4 and offsets[1].max() <= 3

    @pytest.mark.parametrize(
        ("g_shape", "a_shape", "u_shape"),
        [
            ((1, 4, 12, 16), (1, 5, 12, 14), (1, 1, 12, 16)),  # size mismatch
            ((1, 4, 12, 16), (1, 5, 12, 16), (1, 2, 12, 16)),  # 2-channel unknown
            ((1, 4, 13, 16), (1, 5, 13, 16), (1, 1, 13, 16)),  # odd size
            ((1, 4, 2, 16), (1, 5, 2, 16), (1, 1, 2, 16)),  # too small
            ((4, 12, 16), (1, 5, 12, 16), (1, 1, 12, 16)),  # 3-D
        ],
    )
    def test_bad_shapes_raise(self, g_shape, a_shape, u_shape):
        with pytest.raises(ShapeError):
            guided_contextual_attention(
                torch.zeros(g_shape), torch.zeros(a_shape), torch.zeros(u_shape)
            )

    @pytest.mark.parametrize(("rate", "chunk"), [(3, 8), (2, 0)])
    def test_bad_options_raise(self, rate, chunk):
        guidance, alpha, unknown = _inputs(batch=1)
        with pytest.raises(ValueError):
            guided_contextual_attention(guidance, alpha, unknown, rate=rate, chunk=chunk)


class TestModule:
    def test_parameter_names_follow_the_release(self):
        block = GuidedContextualAttention(128, 128)
        assert {k: tuple(v.shape) for k, v in block.state_dict().items()} == {
            "guidance_conv.weight": (64, 128, 1, 1),
            "guidance_conv.bias": (64,),
            "W.0.weight": (128, 128, 1, 1),
            "W.1.weight": (128,),
            "W.1.bias": (128,),
            "W.1.running_mean": (128,),
            "W.1.running_var": (128,),
            "W.1.num_batches_tracked": (),
        }

    def test_forward_is_residual(self):
        block = GuidedContextualAttention(8, 6, chunk=4).eval()
        image_feature, alpha, unknown = _inputs(batch=2, cg=6, c=8, height=8, width=8)
        out, offsets, scales = block(image_feature, alpha, unknown)
        assert out.shape == alpha.shape and offsets.shape == (2, 2, 4, 4) and scales.shape == (2, 2)
        # BN gain starts at 1e-3: the block starts close to the identity.
        assert (out - alpha).abs().max() < 0.1
        with torch.no_grad():
            block.W[1].weight.zero_()
        out, _, _ = block(image_feature, alpha, unknown)
        torch.testing.assert_close(out, alpha)
