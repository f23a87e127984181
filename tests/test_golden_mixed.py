"""golden/mixed.py, the spec of the runtime mixed-precision lanes: hand-worked lane words."""

import pytest
import torch

from quantrtl.golden import mixed


@pytest.mark.parametrize("a, b, mode, expected", [
    # 8x8: low bytes only, upper bytes are don't care.
    (0x0003, 0x0005, "8x8", 15),
    (0x00FF, 0x0002, "8x8", -2),            # -1 * 2
    (0x0080, 0x0080, "8x8", 16384),         # -128 * -128
    (0x007F, 0x0080, "8x8", -16256),        # 127 * -128
    (0xAB81, 0xCD7F, "8x8", -16129),        # -127 * 127, garbage above
    # 4x8: a = a1:a0 nibbles in [0, 8), b = b1:b0 bytes.
    (0x0021, 0x0304, "4x8", 1 * 4 + 2 * 3),
    (0x00F8, 0x7F80, "4x8", -8 * -128 + -1 * 127),  # 1024 - 127
    (0xEE12, 0x0201, "4x8", 2 * 1 + 1 * 2),         # a bits 8..15 ignored
    (0x0088, 0x8080, "4x8", 2048),                  # two -8 * -128
    # 4x4: a3..a0 and b3..b0 nibbles.
    (0x4321, 0x1111, "4x4", 1 + 2 + 3 + 4),
    (0x8888, 0x8888, "4x4", 256),                   # four -8 * -8
    (0xF7F7, 0x7878, "4x4", 7 * -8 + -1 * 7 + 7 * -8 + -1 * 7),
    (0x1200, 0x00FF, "4x4", 0),                     # products of zero nibbles
    (0x0F0F, 0x0303, "4x4", -1 * 3 + 0 + -1 * 3 + 0),
])
def test_hand_worked_steps(a, b, mode, expected):
    assert mixed.step(torch.tensor(a), torch.tensor(b), mode).item() == expected


def test_unpack_by_hand():
    assert mixed.unpack(torch.tensor(0x8F7A), "a", "4x4").tolist() == [-6, 7, -1, -8]
    assert mixed.unpack(torch.tensor(0x8F7A), "b", "4x8").tolist() == [122, -113]
    assert mixed.unpack(torch.tensor(0x8F7A), "a", "4x8").tolist() == [-6, 7]
    assert mixed.unpack(torch.tensor(0x8F7A), "b", "8x8").tolist() == [122]
    assert mixed.pack(torch.tensor([-6, 7, -1, -8]), "b", "4x4").item() == 0x8F7A
    assert mixed.pack(torch.tensor([-1, -128]), "b", "4x8").item() == 0x80FF


def test_gemm_by_hand():
    # 4x8, A = 1 x 2 lanes (elements 1, -2 | 3, 4), B = 2 x 1 lanes (5, 6 | -7, 8):
    # 1*5 + -2*6 + 3*-7 + 4*8 = 4
    a = torch.tensor([[0xE1, 0x43]])
    b = torch.tensor([[0x0605], [0x08F9]])
    assert mixed.gemm(a, b, "4x8").tolist() == [[4]]
    # 8x8 is a plain int8 GEMM of the low bytes.
    a = torch.tensor([[0x1102, 0x22FD], [0x0000, 0x0001]])    # [[2, -3], [0, 1]]
    b = torch.tensor([[0x9904, 0x0001], [0x0005, 0xFF80]])    # [[4, 1], [5, -128]]
    assert mixed.gemm(a, b, "8x8").tolist() == [[8 - 15, 2 + 384], [5, -128]]


@pytest.mark.parametrize("mode", mixed.MODES)
@pytest.mark.parametrize("side", ["a", "b"])
def test_unpack_inverts_pack(mode, side):
    lo, hi = mixed.element_range(side, mode)
    gen = torch.Generator().manual_seed(3)
    x = torch.randint(lo, hi + 1, (200, mixed.ELEMENTS[mode]), generator=gen)
    x[0], x[1] = lo, hi
    codes = mixed.pack(x, side, mode)
    assert codes.min() >= 0 and codes.max() < 1 << mixed.used_bits(side, mode)
    assert torch.equal(mixed.unpack(codes, side, mode), x)
    junk = torch.randint(1 << 16, (200,), generator=gen) >> mixed.used_bits(side, mode) \
        << mixed.used_bits(side, mode)
    assert torch.equal(mixed.unpack(codes | junk, side, mode), x)  # don't-care bits


@pytest.mark.parametrize("mode", mixed.MODES)
def test_gemm_is_the_element_gemm(mode):
    gen = torch.Generator().manual_seed(4)
    e = mixed.ELEMENTS[mode]
    (alo, ahi), (blo, bhi) = mixed.element_range("a", mode), mixed.element_range("b", mode)
    ea = torch.randint(alo, ahi + 1, (3, 5, e), generator=gen)
    eb = torch.randint(blo, bhi + 1, (5, 2, e), generator=gen)
    expected = ea.reshape(3, 5 * e) @ eb.permute(0, 2, 1).reshape(5 * e, 2)
    got = mixed.gemm(mixed.pack(ea, "a", mode), mixed.pack(eb, "b", mode), mode)
    assert torch.equal(got, expected)
    # ... and the dot product of one lane pair is the step.
    assert mixed.gemm(mixed.pack(ea, "a", mode)[:1, :1], mixed.pack(eb, "b", mode)[:1, :1],
                      mode).item() == mixed.step(mixed.pack(ea, "a", mode)[0, 0],
                                                 mixed.pack(eb, "b", mode)[0, 0], mode).item()


def test_step_bounds():
    assert [mixed.step_bound(m) for m in mixed.MODES] == [16384, 2048, 256]
    assert mixed.step_bound() == 16384
    for mode in mixed.MODES:  # reached by the all-min lanes
        lo_a, lo_b = mixed.element_range("a", mode)[0], mixed.element_range("b", mode)[0]
        e = mixed.ELEMENTS[mode]
        a = mixed.pack(torch.full((e,), lo_a), "a", mode)
        b = mixed.pack(torch.full((e,), lo_b), "b", mode)
        assert mixed.step(a, b, mode).item() == mixed.step_bound(mode)


@pytest.mark.parametrize("call", [
    lambda: mixed.pack(torch.tensor([8, 0, 0, 0]), "a", "4x4"),
    lambda: mixed.pack(torch.tensor([0, -129]), "b", "4x8"),
    lambda: mixed.pack(torch.tensor([1, 2]), "a", "8x8"),
    lambda: mixed.unpack(torch.tensor(0), "c", "8x8"),
    lambda: mixed.unpack(torch.tensor(0), "a", "2x2"),
    lambda: mixed.gemm(torch.zeros(2, 3), torch.zeros(2, 3), "4x4"),
])
def test_bad_arguments(call):
    with pytest.raises(ValueError):
        call()
