"""golden.ovp against the tables of formats.md, typed here by hand, and hand-worked cases."""

import pytest
import torch

from golden.integer import IntFormat, fake_quantize as int_fake_quantize
from golden.ovp import (OVPFormat, decode, decode_exp_int, dot, encode, fake_quantize, gemm,
                        pack_bytes, quantize, split_mul8, unpack_bytes)

INT4, FLINT4, INT8 = OVPFormat.int4(), OVPFormat.flint4(), OVPFormat.int8()


def test_value_tables_from_the_spec():
    assert INT4.outlier_magnitudes().tolist() == [12, 16, 24, 32, 48, 64, 96]
    assert FLINT4.outlier_magnitudes().tolist() == [24, 32, 48, 64, 96, 128, 192]
    assert INT4.normal_values().tolist() == list(range(-7, 8))
    assert FLINT4.normal_values().tolist() == [-16, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6,
                                               8, 16]
    mags = INT8.outlier_magnitudes()
    assert (mags[0].item(), mags[-1].item(), len(mags)) == (132, 2016, 127)
    assert INT8.normal_values().tolist() == list(range(-127, 128))


def _reference_decode(code, neighbour, fmt_name):
    """Per-element decode written out from formats.md for 4-bit OVP."""
    flint = {0: 0, 1: 1, 2: 2, 3: 3, 4: 16, 5: 8, 6: 4, 7: 6}
    bias = 2 if fmt_name == "int4" else 3
    if code == 0b1000:
        return 0
    if neighbour == 0b1000:
        s, e, m = code >> 3, (code >> 1) & 3, code & 1
        return (-1) ** s * ((2 + m) << (e + bias))
    if fmt_name == "int4":
        return code - 16 if code >= 8 else code
    return -flint[code & 7] if code & 8 else flint[code]


@pytest.mark.parametrize("fmt,name", [(INT4, "int4"), (FLINT4, "flint4")])
def test_all_256_pairs_decode_like_the_spec(fmt, name):
    pairs = torch.tensor([[c0, c1] for c0 in range(16) for c1 in range(16)])
    got = decode(pairs, fmt)
    expected = [[_reference_decode(c0, c1, name), _reference_decode(c1, c0, name)]
                for c0, c1 in pairs.tolist()]
    assert got.tolist() == expected
    exp, integer = decode_exp_int(pairs, fmt)
    assert torch.equal(integer << exp, got)


def test_exp_int_canonical_forms():
    # int4: normals 5, 3 -> <0,5>, <0,3>; outlier 0b0111 next to the identifier ->
    # <3+2, 3> = 96; the identifier -> <0,0>; outlier 0b1011 = -(2+1) << (1+2) -> <3, -3>
    e, i = decode_exp_int(torch.tensor([5, 3, 0b0111, 0b1000, 0b1000, 0b1011]), INT4)
    assert e.tolist() == [0, 0, 5, 0, 0, 3] and i.tolist() == [5, 3, 3, 0, 0, -3]
    # flint4: 6 = <1,3>, 16 = <4,1>, -2 = <1,-1>, 3 = <0,3>
    e, i = decode_exp_int(torch.tensor([0b0111, 0b0100, 0b1010, 0b0011]), FLINT4)
    assert e.tolist() == [1, 4, 1, 0] and i.tolist() == [3, 1, -1, 3]


def test_both_identifiers_decode_to_zero():
    assert decode(torch.tensor([8, 8]), INT4).tolist() == [0, 0]
    assert decode(torch.tensor([0x80, 0x80]), INT8).tolist() == [0, 0]


def test_encode_by_hand():
    # normals round half up (to the larger value): 2.5 -> 3, -2.5 -> -2
    assert decode(encode(torch.tensor([2.5, -2.5]), INT4), INT4).tolist() == [3, -2]
    # 9.5 is nearer 12 (outlier) than 7: outlier 12, neighbour pruned
    assert decode(encode(torch.tensor([9.5, 3.0]), INT4), INT4).tolist() == [12, 0]
    assert decode(encode(torch.tensor([9.4, 3.0]), INT4), INT4).tolist() == [7, 3]
    # tie between 16 and 24 goes to 24; past 96 saturates; the victim can be first
    assert decode(encode(torch.tensor([1.0, 20.0, -500.0, 0.0]), INT4), INT4).tolist() == \
        [0, 24, -96, 0]
    codes = encode(torch.tensor([1.0, 20.0]), INT4).tolist()
    assert codes[0] == INT4.identifier


def test_both_outliers_rule():
    x = torch.tensor([20.0, -90.0])
    assert decode(encode(x, INT4), INT4).tolist() == [24, 0]
    larger = OVPFormat.int4(both_outliers="larger")
    assert decode(encode(x, larger), larger).tolist() == [0, -96]


def test_encode_decode_round_trip_on_the_grid():
    for fmt in (INT4, FLINT4, INT8):
        grid = fmt.grid().to(torch.float64)
        x = torch.stack([grid, torch.zeros_like(grid)], -1).reshape(-1)
        assert torch.equal(decode(encode(x, fmt), fmt), x.to(torch.int64))


def test_flint_zero_is_never_negative_zero():
    codes = encode(torch.tensor([-0.2, 0.2]), FLINT4)
    assert codes.tolist() == [0, 0]


def test_bad_input():
    with pytest.raises(ValueError, match="even length"):
        encode(torch.ones(3), INT4)
    with pytest.raises(ValueError, match="even length"):
        decode(torch.zeros(5, dtype=torch.int64), INT4)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="NaN or Inf"):
            quantize(torch.tensor([1.0, bad]), INT4)
    with pytest.raises(ValueError):
        OVPFormat(4, "flint", 3, 1, 2)
    with pytest.raises(ValueError):
        OVPFormat(8, "flint", 2, 5, 2)


def test_pack_unpack_and_nibble_order():
    codes = torch.tensor([0x1, 0x8, 0xF, 0x3])
    assert pack_bytes(codes, INT4).tolist() == [0x81, 0x3F]
    assert pack_bytes(codes, INT4, "high-first").tolist() == [0x18, 0xF3]
    for order in ("low-first", "high-first"):
        assert torch.equal(unpack_bytes(pack_bytes(codes, INT4, order), INT4, order), codes)


def test_ovp4_beats_int4_on_outliers():
    seed = 17
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 512, generator=gen, dtype=torch.float64)
    mask = torch.rand(x.shape, generator=gen) < 0.005
    x[mask] = torch.sign(x[mask]) * (20 + 30 * torch.rand(int(mask.sum()), generator=gen,
                                                          dtype=torch.float64))
    mse = lambda y: float(((y - x) ** 2).mean())  # noqa: E731
    int4 = mse(int_fake_quantize(x, IntFormat(4)))
    ovp4 = mse(fake_quantize(x, INT4))
    int8 = mse(int_fake_quantize(x, IntFormat(8)))
    assert ovp4 < 0.5 * int4, (ovp4, int4, f"seed {seed}")
    assert int8 < int4


def test_clip_search_scale_in_range_per_channel():
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(8, 64, generator=gen, dtype=torch.float64)
    codes, scale = quantize(w, INT4, axis=0)
    assert scale.shape == (8, 1) and codes.shape == w.shape
    base = torch.maximum((w.mean(1, keepdim=True) + 3 * w.std(1, keepdim=True, correction=0)).abs(),
                         (w.mean(1, keepdim=True) - 3 * w.std(1, keepdim=True, correction=0)).abs())
    ratio = scale * INT4.max_normal / base
    assert bool(((ratio > 0.749) & (ratio < 2.491)).all())


def test_gemm_matches_float_matmul_of_decoded_values():
    seed = 5
    gen = torch.Generator().manual_seed(seed)
    a = encode(torch.randn(6, 32, generator=gen) * 10, INT4)
    b = encode(torch.randn(4, 32, generator=gen) * 10, FLINT4).T  # pairs along K
    ref = decode(a, INT4).double() @ decode(b.T, FLINT4).double().T
    assert torch.equal(gemm(a, INT4, b, FLINT4, acc_width=32), ref.long()), f"seed {seed}"
    x = torch.randint(-128, 128, (32, 3), generator=gen)
    assert torch.equal(gemm(a, INT4, x, None, acc_width=32),
                       (decode(a, INT4).double() @ x.double()).long())
    assert dot(a[0], INT4, x[:, 0], None, acc_width=32).item() == \
        int((decode(a[0], INT4) * x[:, 0]).sum())


def test_split_mul8_exhaustive():
    x = torch.arange(-128, 128).repeat_interleave(256)
    y = torch.arange(-128, 128).repeat(256)
    assert torch.equal(split_mul8(x, y), x * y)
