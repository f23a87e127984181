"""golden.minifloat against ml_dtypes (every code of every format, encode on random, tie,
subnormal and overflow inputs), torch's float8 casts, tables typed here by hand from the
OCP specs, and a brute-force MAC in Python integers."""

import math
import random

import ml_dtypes
import numpy as np
import pytest
import torch

from quantrtl.formats.minifloat import FLOAT_NAMES, parse_float
from quantrtl.golden import arith
from quantrtl.golden.minifloat import (
    decode,
    encode,
    finite,
    fixed_values,
    mac_trace,
    nan_code,
    product_fixed,
)

ML = {"e4m3": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2,
      "e3m2": ml_dtypes.float6_e3m2fn, "e2m3": ml_dtypes.float6_e2m3fn,
      "e2m1": ml_dtypes.float4_e2m1fn}
TORCH = {"e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2}
NAMES = list(FLOAT_NAMES)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def ml_decode(name, codes):
    """ml_dtypes' value of each code (its sub-byte types hold one code per byte)."""
    return np.asarray(codes, dtype=np.uint8).view(ML[name]).astype(np.float64)


def ml_encode(name, x):
    return np.asarray(x, dtype=np.float64).astype(ML[name]).view(np.uint8).astype(np.int64)


def same(a, b):
    """Bitwise equality of float64 arrays, -0.0 differing from 0.0; NaN equals any NaN
    (payload and sign of a NaN carry nothing)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    nan = np.isnan(a)
    return np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan].view(np.int64),
                                                               b[~nan].view(np.int64))


@pytest.mark.parametrize("name", NAMES)
def test_every_code_against_ml_dtypes(name):
    fmt = parse_float(name)
    codes = np.arange(1 << fmt.bits)
    ours = decode(torch.tensor(codes), fmt).numpy()
    ref = ml_decode(name, codes)
    nan = np.isnan(ref)
    assert np.array_equal(np.isnan(ours), nan)
    assert same(ours[~nan], ref[~nan])
    assert finite(fmt).numpy().tolist() == np.isfinite(ref).tolist()
    fixed, fb = fixed_values(fmt)
    fin = np.isfinite(ref)
    assert np.array_equal(fixed.numpy()[fin], ref[fin] * 2.0 ** fb)
    assert (fixed.numpy()[~fin] == 0).all() and fixed.dtype == torch.int64
    assert fixed.abs().min() == 0 and int(fixed[1]) == 1  # smallest subnormal is 1


@pytest.mark.parametrize("name", ["e4m3", "e5m2"])
def test_every_code_against_torch(name):
    fmt = parse_float(name)
    codes = torch.arange(256, dtype=torch.uint8)
    ref = codes.view(TORCH[name]).to(torch.float64)
    assert same(decode(codes.to(torch.int64), fmt).numpy(), ref.numpy())


def test_hand_tables():
    e2m1 = [0, 0.5, 1, 1.5, 2, 3, 4, 6]
    assert decode(torch.arange(16), parse_float("e2m1")).tolist() == \
        e2m1 + [-v for v in e2m1]
    assert math.copysign(1, decode(torch.tensor(8), parse_float("e2m1"))) == -1  # -0.0
    assert fixed_values(parse_float("e2m1"))[0].tolist() == \
        [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]
    e4m3, e5m2 = parse_float("e4m3"), parse_float("e5m2")
    assert decode(torch.tensor([0x7E, 0xFE, 0x01, 0x08, 0x38]), e4m3).tolist() == \
        [448, -448, 2 ** -9, 2 ** -6, 1]
    assert math.isnan(decode(torch.tensor(0x7F), e4m3)) and math.isnan(
        decode(torch.tensor(0xFF), e4m3))
    assert decode(torch.tensor([0x7B, 0x01, 0x04, 0x3C, 0x7C, 0xFC]), e5m2).tolist() == \
        [57344, 2 ** -16, 2 ** -14, 1, math.inf, -math.inf]
    assert all(math.isnan(v) for v in decode(torch.tensor([0x7D, 0x7E, 0x7F, 0xFD]),
                                             e5m2).tolist())
    for name, top, frac in [("e3m2", 28, 4), ("e2m3", 7.5, 3), ("e2m1", 6, 1),
                            ("e4m3", 448, 9), ("e5m2", 57344, 16)]:
        fmt = parse_float(name)
        values = decode(torch.arange(1 << fmt.bits), fmt)
        assert values[torch.isfinite(values)].max() == top == fmt.max_normal
        assert fixed_values(fmt)[1] == frac
    assert finite(e4m3).sum() == 254 and finite(e5m2).sum() == 248
    assert finite(parse_float("e2m1")).all()


def test_decode_rejects_bad_codes():
    fmt = parse_float("e4m3")
    for bad in (torch.tensor([256]), torch.tensor([-1]), torch.tensor([1.0])):
        with pytest.raises(ValueError):
            decode(bad, fmt)


def _encode_inputs(fmt, seed):
    """float32 values (ml_dtypes and torch cast float64 through float32, so an input that is
    not a float32 would be rounded twice by them): random values over the whole range
    (log-uniform magnitudes, both signs), every exact midpoint between neighbouring codes
    (ties), the midpoints' float32 neighbours, values in the subnormal range and below the
    smallest subnormal, every code's value; returned as float64."""
    gen = torch.Generator().manual_seed(seed)
    lo, hi = math.log2(fmt.min_subnormal) - 2, math.log2(fmt.max_normal) + 2
    mags = 2.0 ** (lo + (hi - lo) * torch.rand(4000, generator=gen, dtype=torch.float64))
    signs = torch.where(torch.rand(4000, generator=gen) < 0.5, -1.0, 1.0)
    values = decode(torch.arange(1 << fmt.bits), fmt)
    pos = values[torch.isfinite(values) & (values >= 0)].unique()
    mids = ((pos[:-1] + pos[1:]) / 2).to(torch.float32)  # exact: a few significant bits
    near = torch.cat([torch.nextafter(mids, torch.full_like(mids, math.inf)),
                      torch.nextafter(mids, torch.full_like(mids, -math.inf))])
    sub = fmt.min_subnormal * torch.rand(500, generator=gen, dtype=torch.float64) * (
        1 << fmt.man_bits)
    tiny = torch.tensor([fmt.min_subnormal / 2, fmt.min_subnormal / 4, 3 * fmt.min_subnormal
                         / 4, 0.0, -0.0], dtype=torch.float64)
    x = torch.cat([(mags * signs).float(), mids, -mids, near, -near, sub.float(), -sub.float(),
                   tiny.float(), -tiny.float(), values[torch.isfinite(values)].float()])
    return x.to(torch.float64)


@pytest.mark.parametrize("name", NAMES)
def test_encode_against_ml_dtypes(name):
    """Below the overflow threshold (max_normal plus half an ulp), bit for bit with
    ml_dtypes' round-to-nearest-even cast."""
    fmt = parse_float(name)
    for seed in range(3):
        x = _encode_inputs(fmt, seed)
        ulp = 2.0 ** (fmt.emax - fmt.man_bits)
        x = x[x.abs() < fmt.max_normal + ulp / 2]
        ours = encode(x, fmt).numpy()
        ref = ml_encode(name, x.numpy())
        bad = np.nonzero(ours != ref)[0]
        assert bad.size == 0, (f"seed {seed}: {name} encode differs from ml_dtypes at "
                               f"{x[bad[:5]].tolist()}: {ours[bad[:5]]} vs {ref[bad[:5]]}")


@pytest.mark.parametrize("name", ["e4m3", "e5m2"])
def test_encode_against_torch(name):
    fmt = parse_float(name)
    for seed in range(3):
        x = _encode_inputs(fmt, 100 + seed)
        if name == "e5m2":  # torch overflows E5M2 to inf (checked in test_overflow)
            x = x[x.abs() < 61440]
        ours = encode(x, fmt)
        ref = x.to(TORCH[name]).view(torch.uint8).to(torch.int64)
        bad = torch.nonzero(ours != ref).flatten()
        assert len(bad) == 0, (f"seed {100 + seed}: {name} encode differs from torch at "
                               f"{x[bad[:5]].tolist()}")


def test_overflow():
    """Saturation, and where the reference casts differ from it."""
    e4m3, e5m2 = parse_float("e4m3"), parse_float("e5m2")
    big = torch.tensor([448.0, 449, 463.99, 464, 464.01, 480, 1e6, 1e300, math.inf])
    assert encode(big, e4m3).tolist() == [0x7E] * 9
    assert encode(-big, e4m3).tolist() == [0xFE] * 9
    # torch's CPU E4M3 cast saturates as encode does, infinities included ...
    assert big.to(torch.float32).to(torch.float8_e4m3fn).view(torch.uint8).tolist() == \
        [0x7E] * 9
    assert (-big).to(torch.float8_e4m3fn).view(torch.uint8).tolist() == [0xFE] * 9
    # ... ml_dtypes rounds 448..464 (464 ties to the even 448) and gives NaN above.
    ref = ml_encode("e4m3", big.numpy())
    assert ref.tolist() == [0x7E] * 4 + [0x7F] * 5
    # E5M2: both references overflow to inf from 61440 (midpoint of 57344 and 65536, tied to
    # the even 65536 = inf); encode saturates.
    big = torch.tensor([57344.0, 61439, 61440, 1e9, math.inf])
    assert encode(big, e5m2).tolist() == [0x7B] * 5
    assert encode(-big, e5m2).tolist() == [0xFB] * 5
    inf = [0x7B, 0x7B, 0x7C, 0x7C, 0x7C]
    assert big.to(torch.float8_e5m2).view(torch.uint8).tolist() == inf
    assert ml_encode("e5m2", big.numpy()).tolist() == inf
    for name in ("e3m2", "e2m3", "e2m1"):  # ml_dtypes' narrow casts saturate
        fmt = parse_float(name)
        x = np.array([fmt.max_normal * 1.5, 1e30, np.inf, -np.inf])
        assert encode(torch.tensor(x), fmt).tolist() == ml_encode(name, x).tolist()


def test_nan():
    for name in ("e4m3", "e5m2"):
        fmt = parse_float(name)
        code = encode(torch.tensor([math.nan, -math.nan]), fmt)
        assert code.tolist() == [nan_code(fmt)] * 2
        assert code[0] == ml_encode(name, [math.nan])[0]
        assert torch.isnan(decode(code, fmt)).all()
    for name in ("e3m2", "e2m3", "e2m1"):
        with pytest.raises(ValueError, match="no NaN"):
            encode(torch.tensor([1.0, math.nan]), parse_float(name))


def test_ties_hand_worked():
    e2m1 = parse_float("e2m1")
    x = torch.tensor([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, -5.0, -0.25, 0.1, 6.5, 100])
    assert decode(encode(x, e2m1), e2m1).tolist() == \
        [0, 1, 1, 2, 2, 4, 4, -4, -0.0, 0, 6, 6]
    assert decode(encode(x, e2m1, rounding="away"), e2m1).tolist() == \
        [0.5, 1, 1.5, 2, 3, 4, 6, -6, -0.5, 0, 6, 6]
    assert math.copysign(1, decode(encode(torch.tensor(-0.1), e2m1), e2m1)) == -1
    e4m3 = parse_float("e4m3")  # 1 + 1/16 is the midpoint of 1 and 1.125: even is 1
    assert decode(encode(torch.tensor([1 + 1 / 16, 1 + 3 / 16]), e4m3), e4m3).tolist() == \
        [1, 1.25]
    # subnormal ties: 2^-10 is the midpoint of 0 and 2^-9 (-> 0), 3 * 2^-10 (-> 2^-8)
    assert encode(torch.tensor([2.0 ** -10, 3 * 2.0 ** -10]), e4m3).tolist() == [0, 2]
    assert encode(torch.tensor([2.0 ** -10, 3 * 2.0 ** -10]), e4m3,
                  rounding="away").tolist() == [1, 2]


@pytest.mark.parametrize("name", NAMES)
def test_encode_away_brute_force(name):
    """rounding="away" against a brute-force nearest search over every finite value."""
    fmt = parse_float(name)
    seed = 7
    x = _encode_inputs(fmt, seed)
    values = decode(torch.arange(1 << fmt.bits), fmt)
    codes = torch.nonzero(torch.isfinite(values) & ~torch.signbit(values)).flatten()
    pos = values[codes]
    a = x.abs().clamp(max=fmt.max_normal)
    dist = (a[:, None] - pos[None, :]).abs()
    best = dist.min(1, keepdim=True).values
    # among the nearest, the larger magnitude (ties away); magnitudes ascend with the code
    choice = torch.where(dist == best, codes[None, :], -1).max(1).values
    want = choice | (torch.signbit(x).to(torch.int64) << (fmt.bits - 1))
    assert torch.equal(encode(x, fmt, rounding="away"), want), f"seed {seed}"


def test_encode_rejects():
    fmt = parse_float("e4m3")
    with pytest.raises(ValueError):
        encode(torch.tensor([1, 2]), fmt)
    with pytest.raises(ValueError):
        encode(torch.tensor([1.0]), fmt, rounding="up")


def test_encode_from_low_precision_dtypes():
    x = torch.tensor([0.3, -1.7, 300.0, 1e-3], dtype=torch.float32)
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        y = x.to(dtype)
        assert torch.equal(encode(y, parse_float("e4m3")),
                           encode(y.to(torch.float64), parse_float("e4m3")))


def _brute_mac(w, x, valid, clear, wfmt, xfmt, acc_width, overflow):
    fw, bw = fixed_values(wfmt)
    fx, bx = fixed_values(xfmt)
    lo, hi = arith.acc_range(acc_width)
    acc, out = 0, []
    for wi, xi, v, c in zip(w.tolist(), x.tolist(), valid.tolist(), clear.tolist()):
        base = 0 if c else acc
        if v:
            s = base + int(fw[wi]) * int(fx[xi])  # Python ints: never overflow
            if overflow == "wrap":
                s = (s - lo) % (1 << acc_width) + lo
            else:
                s = min(max(s, lo), hi)
            acc = s
        else:
            acc = base
        out.append(acc)
    return out


@pytest.mark.parametrize("pair", [("e4m3", "e4m3"), ("e5m2", "e5m2"), ("e4m3", "e5m2"),
                                  ("e2m1", "e4m3"), ("e3m2", "e2m3")])
@pytest.mark.parametrize("overflow", ["wrap", "saturate"])
def test_mac_trace_brute_force(pair, overflow):
    wfmt, xfmt = parse_float(pair[0]), parse_float(pair[1])
    seed = 11
    gen = torch.Generator().manual_seed(seed)
    wc = torch.nonzero(finite(wfmt)).flatten()
    xc = torch.nonzero(finite(xfmt)).flatten()
    n = 300
    w = wc[torch.randint(len(wc), (n,), generator=gen)]
    x = xc[torch.randint(len(xc), (n,), generator=gen)]
    valid = torch.rand(n, generator=gen) < 0.8
    clear = torch.rand(n, generator=gen) < 0.1
    for acc_width in (12, 24, 40, 62):
        got = mac_trace(w, x, valid, clear, wfmt, xfmt, acc_width=acc_width,
                        overflow=overflow)
        want = _brute_mac(w, x, valid, clear, wfmt, xfmt, acc_width, overflow)
        assert got.tolist() == want, f"seed {seed}, {pair}, {overflow}, acc {acc_width}"


def test_mac_trace_hand_worked():
    e4m3 = parse_float("e4m3")
    one, half, big = 0x38, 0x30, 0x7E  # 1, 0.5, 448
    w = torch.tensor([one, half, big, one])
    x = torch.tensor([half, half, big, one])
    got = mac_trace(w, x, torch.tensor([1, 1, 1, 1]), torch.tensor([0, 0, 0, 1]), e4m3,
                    e4m3, acc_width=40)
    unit = 1 << 18  # 2^(9 + 9)
    assert got.tolist() == [unit // 2, 3 * unit // 4, 3 * unit // 4 + 448 * 448 * unit, unit]
    sat = mac_trace(w[2:3], x[2:3], torch.tensor([1]), torch.tensor([0]), e4m3, e4m3,
                    acc_width=20, overflow="saturate")
    assert sat.tolist() == [(1 << 19) - 1]


def test_mac_trace_rejects_non_finite():
    e5m2 = parse_float("e5m2")
    for bad in (0x7C, 0x7E):
        with pytest.raises(ValueError, match="NaN/inf"):
            mac_trace(torch.tensor([0x3C, bad]), torch.tensor([0x3C, 0x3C]),
                      torch.tensor([1, 0]), torch.tensor([0, 0]), e5m2, e5m2, acc_width=40)
    with pytest.raises(ValueError):
        mac_trace(torch.tensor([1]), torch.tensor([1, 2]), torch.tensor([1]),
                  torch.tensor([0]), e5m2, e5m2, acc_width=40)


def test_product_fixed():
    e4m3, e5m2 = parse_float("e4m3"), parse_float("e5m2")
    w = torch.arange(256)
    w = w[finite(e4m3)]
    x = torch.tensor(0x38)  # 1.0
    assert torch.equal(product_fixed(w, x, e4m3, e4m3), fixed_values(e4m3)[0][w] << 9)
    with pytest.raises(ValueError):
        product_fixed(torch.tensor(0x7B), torch.tensor(0x7B), e5m2, e5m2)


def test_random_python_reference():
    """decode/encode round trip for every finite code of every format."""
    rng = random.Random(3)
    for name in NAMES:
        fmt = parse_float(name)
        codes = [c for c in range(1 << fmt.bits) if bool(finite(fmt)[c])]
        rng.shuffle(codes)
        t = torch.tensor(codes)
        got = encode(decode(t, fmt), fmt)
        assert torch.equal(got, t), f"seed 3, {name}"


def test_float64_input_rounds_once():
    """ml_dtypes and torch cast float64 through float32 (two roundings): 1 + 2^-4 + 2^-40 is
    just above the midpoint of 1 and 1.125 in E4M3, encode gives 1.125, both references 1
    (their float32 step makes it the exact tie, which goes to the even 1)."""
    e4m3 = parse_float("e4m3")
    x = torch.tensor([1 + 2 ** -4 + 2 ** -40], dtype=torch.float64)
    assert decode(encode(x, e4m3), e4m3).tolist() == [1.125]
    assert x.to(torch.float8_e4m3fn).to(torch.float64).tolist() == [1.0]
    assert ml_decode("e4m3", ml_encode("e4m3", x.numpy())).tolist() == [1.0]
