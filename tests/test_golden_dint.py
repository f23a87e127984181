"""golden.dint against the spec's table, typed here by hand, and hand-worked cases."""

import random

import pytest
import torch

from golden.dint import (DIntFormat, aqas_quantize, decode, decode_fixed, encode,
                         fake_quantize, mac_trace, product_fixed, quantize)
from golden.integer import IntFormat, fake_quantize as int_fake_quantize

DINT4 = DIntFormat()


def test_spec_table():
    # s|mmm: 000 0, 001 0.5, 010 1, 011 2, 100 3, 101 4, 110 5, 111 6; 1xxx negative
    table = [0, 0.5, 1, 2, 3, 4, 5, 6, 0, -0.5, -1, -2, -3, -4, -5, -6]
    assert decode(torch.arange(16), DINT4).tolist() == table
    assert DINT4.frac_bits == 1 and DINT4.max_value == 6 and DINT4.name == "dint4"
    assert decode_fixed(torch.arange(8), DINT4).tolist() == [0, 1, 2, 4, 6, 8, 10, 12]


def test_two_denormal_levels():
    fmt = DIntFormat(4, (0.5, 0.25))
    assert decode(torch.arange(8), fmt).tolist() == [0, 0.25, 0.5, 1, 2, 3, 4, 5]
    assert fmt.frac_bits == 2


def test_rounding_ties_to_even_code():
    x = torch.tensor([0.75, 2.5, 0.25, -0.75, 5.5, 9.0, -9.0, 0.1, -0.1])
    # 0.75: 0.5 (code 1) vs 1 (code 2) -> 1; 2.5: 2 (3) vs 3 (4) -> 3; 0.25: 0 (0) vs 0.5 (1)
    # -> 0; 5.5: 5 (6) vs 6 (7) -> 5; saturation at +-6; tiny negatives give code 0
    assert decode(encode(x, DINT4), DINT4).tolist() == [1, 3, 0, -1, 5, 6, -6, 0, 0]
    assert encode(torch.tensor([-0.1]), DINT4).tolist() == [0]  # never negative zero


def test_exhaustive_fixed_point_products():
    w = torch.arange(16).repeat_interleave(256)
    x = torch.arange(-128, 128).repeat(16)
    expected = (decode(w, DINT4) * x.double() * 2).long()  # exact in float64
    assert torch.equal(product_fixed(w, x, DINT4), expected)


@pytest.mark.parametrize("bad", [(0.3,), (1.0,), (2.0,), (-0.5,), (0.5, 0.5),
                                 (0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125)])
def test_bad_denormals(bad):
    with pytest.raises(ValueError):
        DIntFormat(4, bad)


def test_nan_weight_is_rejected():
    with pytest.raises(ValueError, match="NaN or Inf"):
        quantize(torch.tensor([[0.1, float("nan")]]), DINT4)


@pytest.mark.parametrize("overflow", ["wrap", "saturate"])
def test_mac_trace_matches_python_loop(overflow):
    seed = 77
    rng = random.Random(seed)
    n, width = 2000, 12
    w = [rng.randrange(16) for _ in range(n)]
    x = [rng.randint(-128, 127) for _ in range(n)]
    valid = [rng.random() < 0.8 for _ in range(n)]
    clear = [rng.random() < 0.02 for _ in range(n)]
    fixed = [0, 1, 2, 4, 6, 8, 10, 12]
    acc, expected = 0, []
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    for wi, xi, v, c in zip(w, x, valid, clear):
        base = 0 if c else acc
        if v:
            p = (-1 if wi & 8 else 1) * fixed[wi & 7] * xi
            s = base + p
            acc = min(hi, max(lo, s)) if overflow == "saturate" else (s - lo) % (1 << width) + lo
        else:
            acc = base
        expected.append(acc)
    got = mac_trace(torch.tensor(w), torch.tensor(x), torch.tensor(valid), torch.tensor(clear),
                    DINT4, acc_width=width, overflow=overflow)
    assert got.tolist() == expected, f"seed {seed}"


def _small_weights(seed):
    gen = torch.Generator().manual_seed(seed)
    w = torch.distributions.Laplace(0.0, 0.02).sample((64, 256)).double()
    w[:, :4] = 0.3 * torch.randn(64, 4, generator=gen, dtype=torch.float64)  # a few large
    return w


def _int4_same_clip_search(w):
    """INT4 with dINT's clip grid: the fair baseline (only the level set differs)."""
    from golden.dint import CLIP_RATIOS
    amax = w.abs().amax(dim=1, keepdim=True)
    errs, qs = [], []
    for ratio in CLIP_RATIOS:
        scale = amax * ratio / 7
        q = (w / scale).round().clamp(-7, 7) * scale
        qs.append(q)
        errs.append(((q - w) ** 2).sum(dim=1, keepdim=True))
    best = torch.stack(errs).argmin(0)  # per channel
    return torch.stack(qs).gather(0, best[None].expand(1, *w.shape))[0]


def test_dint4_lowers_error_of_small_weights():
    seed = 11
    torch.manual_seed(seed)
    w = _small_weights(seed)
    x = torch.randint(-127, 128, (256, 32), generator=torch.Generator().manual_seed(seed))
    int4_minmax = int_fake_quantize(w, IntFormat(4), axis=0)
    int4 = _int4_same_clip_search(w)
    dint4 = fake_quantize(w, DINT4)
    small = w.abs() < 0.02
    err = lambda q: float(((q - w)[small] ** 2).mean())  # noqa: E731
    p_err = lambda q: float(((q @ x.double() - w @ x.double()) ** 2).mean())  # noqa: E731
    assert err(dint4) < 0.9 * err(int4) < err(int4_minmax), f"seed {seed}"
    assert p_err(dint4) < 0.9 * p_err(int4), f"seed {seed}"


def test_aqas_product_error_not_worse_than_weight_mse_search():
    seed = 12
    torch.manual_seed(seed)
    w = _small_weights(seed)
    x = torch.randn(128, 256, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    x[:, 7] *= 20  # an activation outlier channel
    ref = w @ x.T
    c1, s1 = quantize(w, DINT4)
    c2, s2 = aqas_quantize(w, x, DINT4)
    from golden.integer import compute_qparams, dequantize, quantize as iq
    qp = compute_qparams(x, IntFormat(8))
    xq = dequantize(iq(x, IntFormat(8), qp), qp)
    err = lambda c, s: float((((decode(c, DINT4) * s) @ xq.T - ref) ** 2).sum())  # noqa
    assert err(c2, s2) <= err(c1, s1), f"seed {seed}"
