"""golden.mx bit for bit against two independent maintained MX implementations (gfloat, pure
Python, required; torchao.prototype.mx_formats on CPU, optional: skipped when torchao is not
installed), hand-worked blocks, packing, and exact block dot products against Fractions."""

import math
import warnings
from fractions import Fraction

import gfloat
import gfloat.formats as gff
import numpy as np
import pytest
import torch
from gfloat import RoundMode, compute_scale_amax, encode_float, encode_ndarray, round_ndarray

from quantrtl.formats.minifloat import MX_NAMES, FloatSpec, parse_mx
from quantrtl.golden import minifloat, mx

FLOAT_MX = ["mxfp8-e4m3", "mxfp8-e5m2", "mxfp6-e2m3", "mxfp6-e3m2", "mxfp4"]
GFLOAT = {"mxfp8-e4m3": gff.format_info_mxfp8_e4m3,
          "mxfp8-e5m2": gff.format_info_mxfp8_e5m2,
          "mxfp6-e2m3": gff.format_info_mxfp6_e2m3,
          "mxfp6-e3m2": gff.format_info_mxfp6_e3m2,
          "mxfp4": gff.format_info_mxfp4_e2m1,
          "mxint8": gff.format_info_mxint8}
SEEDS = range(4)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tie_blocks(spec, gen, rows=8):
    """Blocks (float32) whose first element fixes ``amax`` at the element's largest power
    of two times ``2^e`` and whose other elements are exact midpoints (ties) between
    neighbouring element values, times ``2^e``."""
    if isinstance(spec.element, FloatSpec):
        vals = minifloat.decode(torch.arange(1 << spec.element.bits), spec.element)
        pos = vals[torch.isfinite(vals) & ~torch.signbit(vals)].unique()
        mids = (pos[:-1] + pos[1:]) / 2
        top = 2.0 ** spec.element.emax
    else:
        mids = (torch.arange(0, 127, dtype=torch.float64) + 0.5) / 64
        top = 1.0
    out = []
    for _ in range(rows):
        e = int(torch.randint(-20, 20, (1,), generator=gen))
        pick = mids[torch.randint(len(mids), (spec.block - 1,), generator=gen)]
        sign = torch.where(torch.rand(spec.block - 1, generator=gen) < 0.5, -1.0, 1.0)
        out.append(torch.cat([torch.tensor([top]), pick * sign]) * 2.0 ** e)
    return torch.stack(out).to(torch.float32)


def mx_tensors(spec, seed):
    """float32 tensors of 32-element rows: Gaussian at several magnitudes, log-normal
    (heavy-tailed), outlier-heavy (1% of elements x 10^2..10^6, one outlier per block),
    exact ties, all-zero and signed-zero blocks, huge values near the float32 maximum."""
    gen = torch.Generator().manual_seed(seed)
    k = spec.block
    gauss = torch.randn(64, 4 * k, generator=gen) * torch.exp(3 * torch.randn(64, 1,
                                                                            generator=gen))
    lognorm = torch.exp(2 * torch.randn(64, 4 * k, generator=gen)) * torch.where(
        torch.rand(64, 4 * k, generator=gen) < 0.5, -1.0, 1.0)
    outl = torch.randn(64, 4 * k, generator=gen)
    mask = torch.rand(64, 4 * k, generator=gen) < 0.01
    outl = torch.where(mask, outl * 10 ** (2 + 4 * torch.rand(64, 4 * k, generator=gen)),
                       outl)
    one = torch.randn(64, k, generator=gen) * 0.01
    one[torch.arange(64), torch.randint(k, (64,), generator=gen)] = 1000 * torch.randn(
        64, generator=gen)
    zeros = torch.zeros(4, k)
    zeros[1] = -0.0
    zeros[2, ::2] = -0.0
    huge = torch.randn(4, k, generator=gen) * 1e37
    ties = tie_blocks(spec, gen)
    rows = [gauss.reshape(-1, k), lognorm.reshape(-1, k), outl.reshape(-1, k), one, zeros,
            huge, ties]
    return torch.cat(rows).to(torch.float32).contiguous()


def gfloat_quantize(name, x, rounding):
    """gfloat's MX quantization, block by block: compute_scale_amax (floor(log2(amax)) -
    emax, clipped to [-127, 127], 2^-127 for all-zero blocks), saturating rounding."""
    fi = GFLOAT[name]
    rnd = RoundMode.TiesToEven if rounding == "even" else RoundMode.TiesToAway
    blocks = x.numpy().astype(np.float64).reshape(-1, fi.k)
    scales, elems = [], []
    for b in blocks:
        s = compute_scale_amax(fi.etype.emax, b)
        scales.append(encode_float(fi.stype, s))
        elems.append(encode_ndarray(fi.etype, round_ndarray(fi.etype, b / s, rnd, sat=True)))
    return np.array(scales), np.concatenate(elems)


@pytest.mark.parametrize("rounding", ["even", "away"])
@pytest.mark.parametrize("name", list(MX_NAMES))
def test_against_gfloat(name, rounding):
    spec = parse_mx(name)
    kw = {"int_range": "full"} if name == "mxint8" else {}  # gfloat's int8 is -128..127
    for seed in SEEDS:
        x = mx_tensors(spec, seed)
        ref_s, ref_c = gfloat_quantize(name, x, rounding)
        codes, scales = mx.quantize(x, spec, rounding=rounding, **kw)
        if name == "mxint8":
            codes = codes & 0xFF
        assert np.array_equal(scales.flatten().numpy(), ref_s), f"seed {seed}: scales"
        bad = np.nonzero(codes.flatten().numpy() != ref_c)[0]
        assert bad.size == 0, (f"seed {seed}: {name} {rounding} codes differ from gfloat at "
                               f"{x.flatten()[bad[:5]].tolist()}")


def test_mxint8_symmetric_against_gfloat():
    """The default symmetric range is gfloat's full range with -128 moved to -127."""
    spec = parse_mx("mxint8")
    for seed in SEEDS:
        x = mx_tensors(spec, seed)
        _, ref = gfloat_quantize("mxint8", x, "even")
        ref = ref.astype(np.int64)
        ref = np.where(ref >= 128, ref - 256, ref)
        codes, _ = mx.quantize(x, spec)
        assert np.array_equal(codes.flatten().numpy(), np.maximum(ref, -127)), f"seed {seed}"
        assert (ref == -128).any()  # the tie blocks reach it


def _torchao():
    pytest.importorskip("torchao.prototype.mx_formats",
                        reason="torchao not installed (optional cross-check)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torchao.prototype.mx_formats.mx_tensor import to_mx
    return to_mx


def torchao_quantize(name, x):
    to_mx = _torchao()
    dtype = {"mxfp8-e4m3": torch.float8_e4m3fn, "mxfp8-e5m2": torch.float8_e5m2,
             "mxfp6-e2m3": "fp6_e2m3", "mxfp6-e3m2": "fp6_e3m2",
             "mxfp4": torch.float4_e2m1fn_x2}[name]
    scales, data = to_mx(x, dtype, 32)
    raw = data.view(torch.uint8).to(torch.int64)
    if name == "mxfp4":  # two codes a byte, element 2i in the low nibble
        return scales.view(torch.uint8).to(torch.int64), raw, \
            torch.stack([raw & 15, raw >> 4], -1).reshape(x.shape)
    return scales.view(torch.uint8).to(torch.int64), raw, raw


def _normal_scale(x, spec):
    """Rows whose blocks all have a scale above 2^-127 (torchao divides by 2^-126 there:
    test_torchao_tiny_blocks)."""
    _, scales = mx.quantize(x, spec)
    return (scales > 0).all(-1) | (x.abs().amax(-1) == 0)


@pytest.mark.parametrize("name", FLOAT_MX)
def test_against_torchao(name):
    spec = parse_mx(name)
    for seed in SEEDS:
        x = mx_tensors(spec, seed)
        assert _normal_scale(x, spec).all()
        ref_s, raw, ref_c = torchao_quantize(name, x)
        codes, scales = mx.quantize(x, spec)
        assert torch.equal(scales, ref_s), f"seed {seed}: {name} scales differ from torchao"
        bad = torch.nonzero(codes != ref_c)
        assert len(bad) == 0, f"seed {seed}: {name} codes differ from torchao at {bad[:5]}"
        if name == "mxfp4":  # the packed bytes too
            assert mx.pack(codes, scales, spec)[0] == raw.numpy().astype(np.uint8).tobytes()


def test_torchao_tiny_blocks():
    """Known difference: for a block whose scale clamps to 2^-127 (amax < 2^(emax - 126))
    torchao divides by 2^-126 (its scale_fp32 is clamped at float32's smallest normal),
    so its elements are encode(x / 2^-126); ours are encode(x / 2^-127) (OCP: the scale is
    2^-127). Both write scale code 0."""
    spec = parse_mx("mxfp8-e4m3")
    x = (torch.randn(4, 32, generator=torch.Generator().manual_seed(5)) * 2.0 ** -125)
    ref_s, _, ref_c = torchao_quantize("mxfp8-e4m3", x)
    codes, scales = mx.quantize(x, spec)
    assert (scales == 0).all() and (ref_s == 0).all()
    x64 = x.to(torch.float64)
    assert torch.equal(codes, minifloat.encode(x64 * 2.0 ** 127, spec.element))
    assert torch.equal(ref_c, minifloat.encode(x64 * 2.0 ** 126, spec.element))
    assert not torch.equal(codes, ref_c)


def test_special_blocks_against_references():
    """NaN blocks: scale 255 in ours, torchao and gfloat. Inf blocks: ours 255 (the brief's
    rule: the block is not representable); torchao and gfloat give a finite scale."""
    spec = parse_mx("mxfp8-e4m3")
    x = torch.randn(3, 32, generator=torch.Generator().manual_seed(6))
    x[0, 3] = math.nan
    x[1, 7] = math.inf
    codes, scales = mx.quantize(x, spec)
    assert scales.flatten().tolist()[:2] == [255, 255] and scales[2, 0] < 255
    assert (codes[:2] == 0).all()
    ref_s, _, _ = torchao_quantize("mxfp8-e4m3", x)
    assert ref_s[0, 0] == 255 and ref_s[1, 0] != 255
    g_s, _ = gfloat_quantize("mxfp8-e4m3", x[:1], "even")
    assert g_s[0] == 255


def test_hand_worked_blocks():
    fp4 = parse_mx("mxfp4-k4")
    # all-zero (and -0.0): scale 2^-127, zero codes, sign kept
    codes, scales = mx.quantize(torch.tensor([[0.0, -0.0, 0.0, 0.0]]), fp4)
    assert scales.tolist() == [[0]] and codes.tolist() == [[0, 8, 0, 0]]
    # NaN: scale 255, codes 0, everything decodes to NaN
    codes, scales = mx.quantize(torch.tensor([1.0, math.nan, 2.0, 3.0]), fp4)
    assert scales.tolist() == [255] and codes.tolist() == [0, 0, 0, 0]
    assert torch.isnan(mx.dequantize(codes, scales, fp4)).all()
    # one outlier: amax 100, floor(log2 100) = 6, emax(E2M1) = 2 -> 2^4; 100/16 = 6.25 -> 6
    codes, scales = mx.quantize(torch.tensor([100.0, 1.0, -3.0, 9.0]), fp4)
    assert scales.tolist() == [127 + 4]
    assert mx.dequantize(codes, scales, fp4).tolist() == [96.0, 0.0, -0.0, 8.0]
    # ties at scale 1 (amax 4 -> 2^(2 - 2)): 2.5 -> 2 (even) or 3 (away); 0.25 -> 0 or 0.5
    x = torch.tensor([4.0, 2.5, -0.25, 5.0])
    codes, scales = mx.quantize(x, fp4)
    assert scales.tolist() == [127]
    assert mx.dequantize(codes, scales, fp4).tolist() == [4.0, 2.0, -0.0, 4.0]
    codes, _ = mx.quantize(x, fp4, rounding="away")
    assert mx.dequantize(codes, scales, fp4).tolist() == [4.0, 3.0, -0.5, 6.0]
    # MXINT8: amax 1.5 -> scale 2^0; 1.5 * 64 = 96; -1.9921875 * 64 = -127.5 -> -128 (even;
    # clamped to -127 symmetric), 1/128 * 64 = 0.5 -> 0 (even) or 1 (away)
    i8 = parse_mx("mxint8-k4")
    x = torch.tensor([1.5, -1.9921875, 1 / 128, 0.0])
    codes, scales = mx.quantize(x, i8)
    assert scales.tolist() == [127] and codes.tolist() == [96, -127, 0, 0]
    assert mx.quantize(x, i8, int_range="full")[0].tolist() == [96, -128, 0, 0]
    assert mx.quantize(x, i8, rounding="away")[0].tolist() == [96, -127, 1, 0]
    # clamps: E8M0 floor at 2^-127, ceiling at 2^127 (float64 input above float32's range)
    assert mx.quantize(torch.tensor([2.0 ** -140] * 4, dtype=torch.float64), fp4)[1] \
        .tolist() == [0]
    big = torch.tensor([2.0 ** 200, 1.0, 0.0, 0.0], dtype=torch.float64)
    codes, scales = mx.quantize(big, fp4)
    assert scales.tolist() == [254] and codes.tolist() == [7, 0, 0, 0]  # saturated to 6


def test_axis_and_padding():
    spec = parse_mx("mxfp8-e4m3-k4")
    x = torch.randn(6, 8, generator=torch.Generator().manual_seed(8))
    c0, s0 = mx.quantize(x, spec, axis=0, pad=True)
    assert c0.shape == (8, 8) and s0.shape == (2, 8)
    c1, s1 = mx.quantize(torch.cat([x, torch.zeros(2, 8)]).T.contiguous(), spec)
    assert torch.equal(c0.T, c1) and torch.equal(s0.T, s1)
    assert torch.equal(mx.dequantize(c0, s0, spec, axis=0).T,
                       mx.dequantize(c1, s1, spec, axis=-1))
    with pytest.raises(ValueError, match="does not divide"):
        mx.quantize(x, spec, axis=0)
    for bad in ({"rounding": "up"}, {"int_range": "full"}, {"axis": 2}):
        with pytest.raises(ValueError):
            mx.quantize(x, spec, **bad)
    with pytest.raises(ValueError):
        mx.quantize(torch.tensor([1, 2, 3, 4]), spec)
    with pytest.raises(ValueError):
        mx.dequantize(c0, s0, spec, axis=-1)


@pytest.mark.parametrize("name", list(MX_NAMES))
def test_dequantize_against_gfloat(name):
    """dequantize(quantize(x)) equals gfloat.quantize_block's decoded values (MXINT8: full
    range, as gfloat's)."""
    spec = parse_mx(name)
    fi = GFLOAT[name]
    x = mx_tensors(spec, 9)[::7]
    kw = {"int_range": "full"} if name == "mxint8" else {}
    got = mx.dequantize(*mx.quantize(x, spec, **kw), spec).numpy()
    want = np.stack([gfloat.quantize_block(fi, b, compute_scale_amax)
                     for b in x.numpy().astype(np.float64)])
    assert np.array_equal(got, want), "seed 9"


@pytest.mark.parametrize("name", list(MX_NAMES))
def test_pack_round_trip(name):
    spec = parse_mx(name)
    x = mx_tensors(spec, 10)[:20]
    codes, scales = mx.quantize(x, spec)
    elems, sbytes = mx.pack(codes, scales, spec)
    bits = 8 if name == "mxint8" else spec.element.bits
    assert len(elems) == codes.numel() * bits // 8 and len(sbytes) == scales.numel()
    c, s = mx.unpack(elems, sbytes, spec, codes.numel())
    assert torch.equal(c.reshape(codes.shape), codes) and torch.equal(s.reshape(scales.shape),
                                                                       scales)


def test_pack_hand_worked():
    fp4, fp6 = parse_mx("mxfp4-k4"), parse_mx("mxfp6-e2m3-k4")
    assert mx.pack(torch.tensor([0x1, 0x2, 0xF, 0x8]), torch.tensor([127]), fp4) == \
        (bytes([0x21, 0x8F]), bytes([127]))
    # 6-bit: a=0x3F, b=0x01, c=0x02, d=0x20 -> stream d|c|b|a = 100000 000010 000001 111111
    assert mx.pack(torch.tensor([0x3F, 0x01, 0x02, 0x20]), torch.tensor([0]), fp6)[0] == \
        bytes([0x7F, 0x20, 0x80])
    assert mx.pack(torch.tensor([-1, 127, -128]), torch.tensor([1]), parse_mx("mxint8"))[0] \
        == bytes([0xFF, 0x7F, 0x80])
    assert mx.pack(torch.tensor([5]), torch.tensor([3]), fp4)[0] == bytes([5])  # odd count
    with pytest.raises(ValueError):
        mx.unpack(bytes([1, 2]), b"", fp4, 2)


def _exact_block(a, sa, b, sb, a_spec, b_spec):
    def vals(c, s, spec):
        v = mx._element_values(torch.as_tensor(c), spec).tolist()
        return [Fraction(x) * Fraction(2) ** (s - 127) for x in v]
    return sum(x * y for x, y in zip(vals(a, sa, a_spec), vals(b, sb, b_spec)))


def ref_round_fp32(q: Fraction) -> float:
    """Independent reference: nearest binary32 by exact comparison among the neighbours of
    float(q), ties to the even significand, inf beyond the overflow midpoint 2^128 - 2^103."""
    limit = Fraction(2) ** 128 - Fraction(2) ** 103
    if abs(q) >= limit:
        return math.copysign(math.inf, q)
    c = np.float32(float(q))
    if not np.isfinite(c):
        c = np.float32(np.copysign(np.finfo(np.float32).max, float(q)))
    cands = {c, np.nextafter(c, np.float32(np.inf)), np.nextafter(c, np.float32(-np.inf))}
    cands = [v for v in cands if np.isfinite(v)]
    best = min(abs(Fraction(float(v)) - q) for v in cands)
    near = [v for v in cands if abs(Fraction(float(v)) - q) == best]
    if len(near) > 1:
        near = [v for v in near if int(np.array(v, np.float32).view(np.uint32)) % 2 == 0]
    return float(near[0]) + 0.0


def test_round_fp32_hand_worked():
    assert mx.round_fp32(2 ** 24 + 1, -24) == 1.0                    # tie -> even
    assert mx.round_fp32(2 ** 24 + 3, -24) == 1 + 2 ** -22           # tie -> even (up)
    assert mx.round_fp32(1, -150) == 0.0                             # 2^-150 ties to 0
    assert mx.round_fp32(3, -150) == 2.0 ** -148                     # subnormal tie up
    assert mx.round_fp32(1, -149) == 2.0 ** -149                     # subnormal kept
    assert mx.round_fp32(-(2 ** 24 - 1), 104) == -float(np.finfo(np.float32).max)
    assert mx.round_fp32(2 ** 25 - 1, 103) == math.inf               # overflow midpoint
    assert mx.round_fp32(2 ** 25 - 2, 103) == float(np.finfo(np.float32).max)
    assert mx.round_fp32(0, 10) == 0.0 and mx.round_fp32(0, 10).dtype == np.float32


def test_numpy_float32_rounds_half_even():
    """The FP32 accumulation of dot_fp32 relies on numpy float32 addition being IEEE
    binary32 round-to-nearest-even with subnormals kept (no flush to zero)."""
    one, h = np.float32(1.0), np.float32(2.0 ** -24)
    assert one + h == one
    assert np.float32(1 + 2 ** -23) + h == np.float32(1 + 2 ** -22)
    assert np.float32(2.0 ** -126) - np.float32(2.0 ** -126 - 2.0 ** -149) == \
        np.float32(2.0 ** -149)
    assert np.float32(2.0 ** -149) + np.float32(0) > 0
    with np.errstate(over="ignore"):
        assert np.isinf(np.finfo(np.float32).max + np.float32(2.0 ** 103))


def _random_mx(spec, n_blocks, gen, spread=8):
    x = torch.randn(n_blocks, spec.block, generator=gen) * torch.exp2(
        torch.randint(-spread, spread, (n_blocks, 1), generator=gen).float())
    codes, scales = mx.quantize(x, spec)
    return codes.flatten(), scales.flatten()


@pytest.mark.parametrize("pair", [("mxfp8-e4m3", "mxfp8-e4m3"), ("mxfp8-e5m2", "mxfp8-e5m2"),
                                  ("mxfp4", "mxfp8-e4m3"), ("mxfp6-e3m2", "mxfp6-e2m3"),
                                  ("mxint8", "mxint8"), ("mxint8", "mxfp4")])
def test_block_dot_and_dot_fp32_exact(pair):
    a_spec, b_spec = parse_mx(pair[0]), parse_mx(pair[1])
    seed = 12
    gen = torch.Generator().manual_seed(seed)
    for spread in (2, 40):  # 40: scales far apart, block values over a wide range
        a, sa = _random_mx(a_spec, 16, gen, spread)
        b, sb = _random_mx(b_spec, 16, gen, spread)
        k = a_spec.block
        acc = np.float32(0)
        for i in range(16):
            args = (a[i * k:(i + 1) * k], int(sa[i]), b[i * k:(i + 1) * k], int(sb[i]))
            integer, exponent = mx.block_dot(*args, a_spec, b_spec)
            exact = _exact_block(*args, a_spec, b_spec)
            assert Fraction(integer) * Fraction(2) ** exponent == exact, f"seed {seed}"
            block = mx.round_fp32(integer, exponent)
            assert float(block) == ref_round_fp32(exact), f"seed {seed}, block {i}"
            acc = np.float32(acc + block)
        got = mx.dot_fp32(a, sa, b, sb, a_spec, b_spec)
        assert got == acc and got.dtype == np.float32, f"seed {seed}"


def test_dot_fp32_specials():
    e5 = parse_mx("mxfp8-e5m2-k2")
    one = 0x3C
    fin = torch.tensor([one, one])
    s = torch.tensor([127])
    assert mx.dot_fp32(fin, s, fin, s, e5, e5) == 2.0
    assert np.isnan(mx.dot_fp32(fin, torch.tensor([255]), fin, s, e5, e5))
    inf = torch.tensor([0x7C, one])
    assert mx.dot_fp32(inf, s, fin, s, e5, e5) == np.inf
    assert np.isnan(mx.dot_fp32(inf, s, torch.tensor([0, one]), s, e5, e5))  # inf * 0
    # two blocks: +inf then a NaN block -> NaN; overflow of the fp32 sum -> inf
    big = torch.tensor([0x7B, 0x7B])
    assert mx.dot_fp32(torch.cat([big, big]), torch.tensor([254, 254]), torch.cat([big, big]),
                       torch.tensor([127, 127]), e5, e5) == np.inf
    with pytest.raises(ValueError):
        mx.block_dot(inf, 127, fin, 127, e5, e5)
    with pytest.raises(ValueError):
        mx.block_dot(fin, 255, fin, 127, e5, e5)
    with pytest.raises(ValueError):
        mx.dot_fp32(fin, s, fin, s, e5, parse_mx("mxfp8-e5m2-k4"))
