"""golden.amx (AMXFP4: E2M1 elements, one FP8 scale for the positive and one for the
negative elements of each block) against hand-worked blocks, an exact rational reference
of the authors' kernel rules, a float32 emulation of the kernel's order of operations
(ml_dtypes casts), error bounds, exact block dot products, and MXFP4."""

from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
import torch

from quantrtl.golden import amx, minifloat, mx

E5M2, E4M3, E2M1 = (minifloat.parse_float(n) for n in ("e5m2", "e4m3", "e2m1"))
SPECS = {"e5m2": E5M2, "e4m3": E4M3}
ONE = {"e5m2": 0x3C, "e4m3": 0x38}  # the code of 1.0


def q(x, **kw):
    return amx.quantize(torch.tensor(x, dtype=torch.float64), block=len(x), **kw)


def values(x, **kw):
    codes, pos, neg = q(x, **kw)
    fmt = kw.get("scale_fmt", "e5m2")
    return amx.dequantize(codes, pos, neg, block=len(x), scale_fmt=fmt).tolist()


def scale(code, fmt="e5m2"):
    return float(amx.scale_values(torch.as_tensor(code), fmt))


# ---------------------------------------------------------------- hand-worked blocks

def test_all_positive_block():
    """max 4 -> 4/6 = 0.667 -> E5M2 0.625 (1.01b * 2^-1; 0.75 is farther); elements
    4/0.625 = 6.4 -> 6 (saturated), 1/0.625 = 1.6 -> 1.5, 0.5/0.625 = 0.8 -> 1. No negative
    element: the negative scale is 1.0."""
    codes, pos, neg = q([4.0, 1.0, 0.5, 4.0])
    assert scale(pos) == 0.625 and int(neg) == ONE["e5m2"]
    assert codes.tolist() == [0x7, 0x3, 0x2, 0x7]
    assert values([4.0, 1.0, 0.5, 4.0]) == [3.75, 0.9375, 0.625, 3.75]


def test_all_negative_block():
    codes, pos, neg = q([-4.0, -1.0, -0.5, -4.0])
    assert scale(neg) == 0.625 and int(pos) == ONE["e5m2"]
    assert codes.tolist() == [0xF, 0xB, 0xA, 0xF]
    assert values([-4.0, -1.0, -0.5, -4.0]) == [-3.75, -0.9375, -0.625, -3.75]


@pytest.mark.parametrize("fmt", ["e5m2", "e4m3"])
def test_zero_blocks(fmt):
    """All-zero block: both scales 1.0, zero codes, the sign of -0.0 kept."""
    codes, pos, neg = q([0.0, -0.0, 0.0, 0.0], scale_fmt=fmt)
    assert int(pos) == int(neg) == ONE[fmt]
    assert codes.tolist() == [0, 8, 0, 0]
    # zeros among positives use the negative scale (1.0 here: the block's min is 0)
    codes, pos, neg = q([3.0, 0.0, -0.0, 1.5], scale_fmt=fmt)
    assert scale(pos, fmt) == 0.5 and int(neg) == ONE[fmt]
    assert codes.tolist() == [0x7, 0x0, 0x8, 0x5]  # 1.5 / 0.5 = 3: code 0b101


def test_one_outlier_each_side():
    """+30 makes the positive scale 5 (exact in E5M2); -0.6 makes the negative scale
    0.6/6 = 0.1 -> E5M2 0.09375 (0.109375 is farther). Small values use the scale of their
    sign: 0.2/5 -> 0, -0.2/0.09375 = -2.13 -> -2, 2.6/5 = 0.52 -> 0.5, -0.6/0.09375 = -6.4
    -> -6 (saturated)."""
    x = [30.0, -0.6, 0.2, -0.2, 2.6, -0.05]
    codes, pos, neg = q(x)
    assert scale(pos) == 5.0 and scale(neg) == 0.09375
    assert values(x) == [30.0, -0.5625, 0.0, -0.1875, 2.5, -0.046875]
    # MXFP4 gives the whole block one scale from |30|: 2^(floor(log2 30) - 2) = 4, so 30
    # saturates to 24 and -0.6 -> -0.0
    mc, ms = mx.quantize(torch.tensor(x + [0.0, 0.0]), "mxfp4-k8")
    assert mx.dequantize(mc, ms, "mxfp4-k8").tolist()[:6] == [24.0, -0.0, 0.0, -0.0, 2.0, -0.0]


@pytest.mark.parametrize("rounding,expect", [
    ("even", [6.0, 0.0, 1.0, 2.0, 4.0, 1.0, 2.0, 4.0]),
    ("away", [6.0, 0.5, 1.0, 3.0, 6.0, 1.5, 2.0, 4.0])])
def test_element_ties(rounding, expect):
    """max 6 -> scale exactly 1; every other element an E2M1 midpoint."""
    x = [6.0, 0.25, 0.75, 2.5, 5.0, 1.25, 1.75, 3.5]
    assert values(x, rounding=rounding) == expect
    assert values([-v for v in x], rounding=rounding) == [-v for v in expect]


@pytest.mark.parametrize("rounding,expect", [("even", 1.0), ("away", 1.25)])
def test_scale_ties(rounding, expect):
    """6.75 / 6 = 1.125, the E5M2 midpoint of 1.0 and 1.25: the scale uses the element
    rounding's tie rule, as the kernel does."""
    _, pos, _ = q([6.75, 1.0], rounding=rounding)
    assert scale(pos) == expect


def test_zero_scale_e5m2():
    """E5M2: |min| / 6 below 2^-17 rounds to a zero scale, kept (kernel: no 0 -> 1 after
    the FP8 rounding); the negative element divides by 0 -> -inf -> -6 (code 0xF) and
    decodes to -0; the zero element (0/0 in the kernel) gets the zero code. The positive
    scale: 1e-3 / 6 -> 1.25 * 2^-13 (rounded down), so 1e-3 saturates to 6 * that."""
    x = [1e-3, 0.0, -1e-7, 1e-6]
    codes, pos, neg = q(x)
    assert int(neg) == 0 and scale(pos) == 1.25 * 2 ** -13
    assert codes.tolist() == [0x7, 0x0, 0xF, 0x0]
    assert values(x) == [1.25 * 2 ** -13 * 6, 0.0, 0.0, 0.0]


def test_zero_scale_e4m3_becomes_one():
    """E4M3: a scale that rounds to 0 becomes 1.0 (the kernel's second ``scale==0``)."""
    x = [1e-3, 0.0, -1e-7, 1e-6]
    codes, pos, neg = q(x, scale_fmt="e4m3")
    assert int(neg) == ONE["e4m3"] and codes.tolist()[2] == 0x8  # -1e-7 / 1 -> -0
    assert values(x, scale_fmt="e4m3")[2] == 0.0


def test_scale_saturates():
    """Scales saturate: E4M3 at 448 (OCP; the kernel's E4M3 rounding uses 480), E5M2 at
    57344."""
    _, pos, neg = q([6 * 470.0, -6 * 1000.0], scale_fmt="e4m3")
    assert scale(pos, "e4m3") == 448.0 and scale(neg, "e4m3") == 448.0
    _, pos, _ = q([6 * 70000.0, 1.0])
    assert scale(pos) == 57344.0


def test_non_finite_blocks():
    for bad in (float("nan"), float("inf"), -float("inf")):
        for fmt in ("e5m2", "e4m3"):
            codes, pos, neg = q([1.0, bad, -2.0, 0.5], scale_fmt=fmt)
            assert int(pos) == int(neg) == minifloat.nan_code(SPECS[fmt])
            assert codes.tolist() == [0, 0, 0, 0]
            assert all(np.isnan(values([1.0, bad, -2.0, 0.5], scale_fmt=fmt)))


# ---------------------------------------------------------------- exact reference

def _table(spec):
    """(magnitudes ascending, codes) of the positive finite values."""
    codes = torch.arange(1 << (spec.bits - 1))
    fin = minifloat.finite(spec)[codes]
    vals = minifloat.decode(codes[fin], spec)
    return [Fraction(float(v)) for v in vals], codes[fin].tolist()


TABLES = {name: _table(spec) for name, spec in (("e5m2", E5M2), ("e4m3", E4M3),
                                                 ("e2m1", E2M1))}


def round_exact(x: Fraction, table, rounding):
    """Nearest positive magnitude of ``|x|`` in a table (saturating), with the tie rule;
    returns (magnitude, code)."""
    mags, codes = table
    m = abs(x)
    if m >= mags[-1]:
        return mags[-1], codes[-1]
    hi = next(i for i, v in enumerate(mags) if v >= m)
    if mags[hi] == m or hi == 0:
        return mags[hi], codes[hi]
    lo = hi - 1
    d_lo, d_hi = m - mags[lo], mags[hi] - m
    if d_lo != d_hi:
        i = lo if d_lo < d_hi else hi
    elif rounding == "away":
        i = hi
    else:
        i = lo if codes[lo] % 2 == 0 else hi
    return mags[i], codes[i]


def reference_block(xs, fmt, rounding):
    """The kernel's rules in exact rational arithmetic (finite input)."""
    fr = [Fraction(v) for v in xs]
    scales = []
    for extreme in (max(max(fr), 0), -min(min(fr), 0)):
        raw = Fraction(1) if extreme == 0 else extreme / 6
        s, code = round_exact(raw, TABLES[fmt], rounding)
        if s == 0 and fmt == "e4m3":
            s, code = Fraction(1), ONE["e4m3"]
        scales.append((s, code))
    codes = []
    for v, x in zip(fr, xs):
        s = scales[0][0] if v > 0 else scales[1][0]
        if s == 0:
            mag_code = 0 if v == 0 else TABLES["e2m1"][1][-1]
        else:
            mag_code = round_exact(v / s, TABLES["e2m1"], rounding)[1]
        codes.append(mag_code | (8 if np.signbit(x) else 0))
    return codes, scales[0][1], scales[1][1]


def random_blocks(seed, k=32):
    gen = torch.Generator().manual_seed(seed)
    rows = [torch.randn(16, k, generator=gen) * torch.exp(4 * torch.randn(16, 1,
                                                                          generator=gen)),
            torch.randn(8, k, generator=gen).abs(), -torch.randn(8, k, generator=gen).abs(),
            torch.randn(8, k, generator=gen) * 1e-6]
    outl = torch.randn(8, k, generator=gen) * 0.05
    outl[:, 3] = 40.0
    outl[:, 7] = -0.7
    rows.append(outl)
    # ties: scale exactly representable (max = 6 * E5M2 value), elements midpoints x scale
    mids = torch.tensor([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0])
    s = 2.0 ** torch.randint(-8, 8, (8, 1), generator=gen).float() * 1.25
    tie = mids[torch.randint(7, (8, k), generator=gen)] * s
    tie = tie * torch.where(torch.rand(8, k, generator=gen) < 0.5, -1.0, 1.0)
    tie[:, 0], tie[:, 1] = 6 * s[:, 0], -6 * s[:, 0]
    rows.append(tie)
    # scale ties: max / 6 exactly an E5M2 midpoint (1.125, 1.375 x 2^e)
    st = torch.randn(8, k, generator=gen) * 0.1
    st[:, 0] = 6 * torch.tensor([1.125, 1.375, 1.625, 1.875] * 2) * 2.0 ** torch.randint(
        -10, 10, (8,), generator=gen).float()
    rows.append(st)
    return torch.cat(rows).to(torch.float32)


@pytest.mark.parametrize("rounding", ["even", "away"])
@pytest.mark.parametrize("fmt", ["e5m2", "e4m3"])
def test_against_exact_reference(fmt, rounding):
    for seed in range(3):
        x = random_blocks(seed)
        codes, pos, neg = amx.quantize(x, scale_fmt=fmt, rounding=rounding)
        for i, row in enumerate(x.tolist()):
            ref = reference_block(row, fmt, rounding)
            got = (codes[i].tolist(), int(pos[i, 0]), int(neg[i, 0]))
            assert got == ref, f"seed {seed} row {i}: {row[:4]}..."


def test_float32_kernel_order():
    """The kernel's order of operations in float32 (ties to even: ml_dtypes' casts):
    ``s = fp8(float32(max) / 6)``, ``q = e2m1(float32(x) / s)``, ``q * s``. The golden's
    values equal it for float32 input (E5M2 scales, data in range)."""
    for seed in range(3):
        x = random_blocks(seed).numpy()
        blocks = x.reshape(-1, 32)
        mx_ = np.maximum(blocks.max(1), 0)
        mn_ = np.abs(np.minimum(blocks.min(1), 0))
        out = []
        for b, hi, lo in zip(blocks, mx_, mn_):
            sp = np.float32(hi) / np.float32(6) if hi else np.float32(1)
            sn = np.float32(lo) / np.float32(6) if lo else np.float32(1)
            sp = np.float32(np.float32(sp).astype(ml_dtypes.float8_e5m2))
            sn = np.float32(np.float32(sn).astype(ml_dtypes.float8_e5m2))
            s = np.where(b > 0, sp, sn).astype(np.float32)
            with np.errstate(divide="ignore", invalid="ignore"):
                qv = (b / s).astype(np.float32)
            qv = np.where(np.isnan(qv), 0, qv).astype(np.float32)
            qv = qv.astype(ml_dtypes.float4_e2m1fn).astype(np.float32)
            out.append(qv * s)
        want = np.stack(out).astype(np.float64)
        got = amx.fake_quantize(torch.from_numpy(x).double()).numpy()
        assert np.array_equal(got, want), f"seed {seed}"


# ---------------------------------------------------------------- error bounds

HALF_STEP = [(2.0, 0.25), (4.0, 0.5), (6.0, 1.0)]


@pytest.mark.parametrize("fmt", ["e5m2", "e4m3"])
def test_error_bounds(fmt):
    """Per element with scale ``s``: ``|x| <= 6s`` -> ``|x - q| <= s * (half E2M1 step at
    |x|/s)``; ``|x| > 6s`` (scale rounded down) -> ``q = ±6s`` and, for a normal scale
    below the FP8 maximum (a saturated scale clips further),
    ``|x - q| <= extreme / 8`` (E5M2: a normal scale is within 1/8 of ``extreme / 6``;
    E4M3 within 1/16), ``extreme`` the block's largest magnitude of that sign."""
    x = random_blocks(7).double()
    codes, pos, neg = amx.quantize(x, scale_fmt=fmt)
    got = amx.dequantize(codes, pos, neg, scale_fmt=fmt)
    sp, sn = amx.scale_values(pos, fmt), amx.scale_values(neg, fmt)
    s = torch.where(x > 0, sp.expand_as(x), sn.expand_as(x))
    err = (got - x).abs()
    inside = x.abs() <= 6 * s
    half = torch.full_like(x, 1.0)
    for limit, h in reversed(HALF_STEP):
        half = torch.where(x.abs() / s < limit, h, half)
    assert bool((err[inside] <= (half * s)[inside]).all())
    assert bool((got[~inside].abs() == 6 * s[~inside]).all())
    extreme = torch.where(x > 0, x.amax(1, keepdim=True).expand_as(x),
                          -x.amin(1, keepdim=True).expand_as(x))
    spec = SPECS[fmt]
    clipped = ~inside & (s >= 2.0 ** (1 - spec.bias)) & (s < spec.max_normal)
    assert bool(clipped.any())
    assert bool((err[clipped] <= extreme[clipped] / 2 ** (spec.man_bits + 1)).all())
    # overall: relative MSE of Gaussian blocks is small
    g = torch.randn(512, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    rel = float(((amx.fake_quantize(g, scale_fmt=fmt) - g) ** 2).mean() / (g ** 2).mean())
    assert rel < 0.02


# ---------------------------------------------------------------- AMXFP4 vs MXFP4

def mxfp4(x):
    c, s = mx.quantize(x, "mxfp4")
    return mx.dequantize(c, s, "mxfp4")


def test_amxfp4_not_always_better_than_mxfp4():
    """Checked, not assumed: AMXFP4's error is NOT never worse than MXFP4's. A block that
    MXFP4's power-of-two scale fits exactly (4 and 1 with scale 1) loses under AMXFP4's
    4/6 -> 0.625 scale."""
    x = torch.tensor([4.0, 1.0] * 16, dtype=torch.float64)
    assert torch.equal(mxfp4(x), x)
    assert float(((amx.fake_quantize(x) - x) ** 2).sum()) > 0


@pytest.mark.parametrize("fmt", ["e5m2", "e4m3"])
def test_amxfp4_better_on_average(fmt):
    """On seeded Gaussian blocks AMXFP4's mean squared error is below MXFP4's (about 0.7x),
    although some blocks (15-20% here) are worse; with one outlier of 20..50 sigma per
    block it is far below (MXFP4's floor(log2) scale saturates the outlier)."""
    gen = torch.Generator().manual_seed(2026)
    g = torch.randn(2048, 32, generator=gen, dtype=torch.float64)
    outl = g.clone()
    outl[:, 5] = (20 + 30 * torch.rand(2048, generator=gen, dtype=torch.float64)) * \
        torch.where(torch.rand(2048, generator=gen) < 0.5, -1.0, 1.0)
    for x, ratio in ((g, 0.8), (outl, 0.5)):
        ea = ((amx.fake_quantize(x, scale_fmt=fmt) - x) ** 2).sum(1)
        em = ((mxfp4(x) - x) ** 2).sum(1)
        assert float(ea.mean()) < ratio * float(em.mean())
        if x is g:
            assert 0.05 < float((ea > em).double().mean()) < 0.5


# ---------------------------------------------------------------- layout, dot products

def test_axis_and_padding():
    x = random_blocks(3)[:8].double()  # 8 x 32
    c0, p0, n0 = amx.quantize(x.T, axis=0)
    c1, p1, n1 = amx.quantize(x)
    assert torch.equal(c0, c1.T) and torch.equal(p0, p1.T) and torch.equal(n0, n1.T)
    with pytest.raises(ValueError, match="pad=True"):
        amx.quantize(x[:, :30])
    c, p, n = amx.quantize(x[:, :30], pad=True)
    assert c.shape == (8, 32) and torch.equal(c[:, 30:], torch.zeros(8, 2, dtype=torch.int64))
    assert amx.fake_quantize(x[:, :30]).shape == (8, 30)
    assert torch.equal(amx.fake_quantize(x[:, :30], block=10),
                       amx.dequantize(*amx.quantize(x[:, :30], block=10), block=10))


def test_argument_checks():
    x = torch.ones(32)
    with pytest.raises(ValueError, match="e5m2"):
        amx.quantize(x, scale_fmt="e8m0")
    with pytest.raises(ValueError, match="rounding"):
        amx.quantize(x, rounding="floor")
    with pytest.raises(ValueError, match="floating"):
        amx.quantize(torch.ones(32, dtype=torch.int64))
    with pytest.raises(ValueError, match="block size"):
        amx.quantize(x, block=0)
    c, p, n = amx.quantize(x)
    with pytest.raises(ValueError, match="do not match"):
        amx.dequantize(c, p, n, block=16)
    with pytest.raises(ValueError, match="codes are"):
        amx.dequantize(c + 16, p, n)


@pytest.mark.parametrize("fa,fb", [("e5m2", "e5m2"), ("e4m3", "e5m2"), ("e4m3", "e4m3")])
def test_block_dot_exact(fa, fb):
    x = random_blocks(5).double()
    ca, pa, na = amx.quantize(x, scale_fmt=fa)
    cb, pb, nb = amx.quantize(x.flip(0), scale_fmt=fb)
    va = amx.dequantize(ca, pa, na, scale_fmt=fa)
    vb = amx.dequantize(cb, pb, nb, scale_fmt=fb)
    for i in range(x.shape[0]):
        integer, exponent = amx.block_dot(ca[i], int(pa[i, 0]), int(na[i, 0]), cb[i],
                                          int(pb[i, 0]), int(nb[i, 0]),
                                          a_scale_fmt=fa, b_scale_fmt=fb)
        want = sum(Fraction(a) * Fraction(b) for a, b in zip(va[i].tolist(), vb[i].tolist()))
        assert Fraction(integer) * Fraction(2) ** exponent == want
    with pytest.raises(ValueError, match="NaN"):
        amx.block_dot(ca[0], minifloat.nan_code(SPECS[fa]), int(na[0, 0]), cb[0],
                      int(pb[0, 0]), int(nb[0, 0]), a_scale_fmt=fa, b_scale_fmt=fb)
