"""golden.ternary against hand-typed tables (docs/formats.md, section Ternary): the absmean
quantizer, the INT8 absmax activation quantizer, the 2-bit codes and both packings."""

import itertools

import pytest
import torch

from quantrtl.golden import ternary


def test_absmean_quantizer_hand_table():
    # mean |w| = (0.2 + 0.5 + 1.0 + 1.5 + 0.1 + 2.7) / 6 = 1.0
    w = torch.tensor([0.2, -0.5, 1.0, -1.5, 0.1, 2.7], dtype=torch.float64)
    q, scale = ternary.quantize(w)
    assert float(scale) == pytest.approx(1.0)
    # 0.2 -> 0; -0.5 ties to even 0; 1.0 -> 1; -1.5 -> -2 (even) -> clipped -1; 2.7 -> 1
    assert q.tolist() == [0, 0, 1, -1, 0, 1]
    assert ternary.dequantize(q, scale).tolist() == [0.0, 0.0, 1.0, -1.0, 0.0, 1.0]


def test_absmean_ties_go_to_even():
    # mean |w| = 2 for each: w / scale = 0.5, 1.5, 2.5, -0.5 ...
    w = torch.tensor([1.0, 3.0, -1.0, -3.0], dtype=torch.float64)
    q, scale = ternary.quantize(w)
    assert float(scale) == 2.0
    assert q.tolist() == [0, 1, 0, -1]


def test_per_output_channel_and_all_zero_rows():
    w = torch.tensor([[4.0, -4.0, 1.0, 3.0], [0.0, 0.0, 0.0, 0.0], [0.1, -0.3, 0.0, 0.2]],
                     dtype=torch.float64)
    q, scale = ternary.quantize(w, axis=0)
    assert scale.shape == (3, 1)
    assert scale.reshape(-1).tolist() == pytest.approx([3.0, ternary.EPS, 0.15])
    # row 0: 4/3 -> 1, -4/3 -> -1, 1/3 -> 0, 1 -> 1; row 2: 0.67 -> 1, -2 -> -1, 0, 1.33 -> 1
    assert q.tolist() == [[1, -1, 0, 1], [0, 0, 0, 0], [1, -1, 0, 1]]


def test_matches_the_bitnet_reference_formula():
    """microsoft/BitNet utils/preprocess-huggingface-bitnet.py (quant_weight_fp16):
    multiply by 1 / clamp(mean|W|, 1e-5), round, clamp to [-1, 1], written out here."""
    gen = torch.Generator().manual_seed(19)
    w = torch.randn(64, 96, generator=gen, dtype=torch.float64) * 0.02
    inv = 1.0 / w.abs().mean().clamp(min=1e-5)
    reference = (w * inv).round().clamp(-1, 1).to(torch.int64)
    q, _ = ternary.quantize(w)
    assert torch.equal(q, reference), "seed 19"


def test_activation_quantizer_per_token():
    x = torch.tensor([[1.0, -0.5, 0.25, 0.0], [0.0, 0.0, 0.0, 0.0], [-2.54, 1.27, 0.01, 2.0]],
                     dtype=torch.float64)
    q, scale = ternary.quantize_acts(x)
    assert scale.reshape(-1).tolist() == pytest.approx([1 / 127, ternary.EPS / 127,
                                                        2.54 / 127])
    # 0.5 * 127 = 63.5 -> 64 (even); 0.25 * 127 = 31.75 -> 32; -2.54 -> -127; 1.27 -> 63.5
    # -> 64; 0.01 -> 0.5 -> 0; 2.0 -> 100
    assert q.tolist() == [[127, -64, 32, 0], [0, 0, 0, 0], [-127, 64, 0, 100]]
    assert int(q.min()) >= -128 and int(q.max()) <= 127


def test_codes_hand_table():
    assert ternary.encode_codes([0, 1, -1]).tolist() == [0b00, 0b01, 0b11]
    assert ternary.decode_codes([0b00, 0b01, 0b11]).tolist() == [0, 1, -1]
    assert ternary.code_value([0, 1, 2, 3]).tolist() == [0, 1, 0, -1]


def test_pack2_hand_table():
    # weights 1, -1, 0, 1 -> codes 01, 11, 00, 01 at bits 0, 2, 4, 6 -> 0b01_00_11_01
    assert ternary.pack2([1, -1, 0, 1]).tolist() == [0b01001101]
    # five weights: a second byte, zero padded
    assert ternary.pack2([1, -1, 0, 1, -1]).tolist() == [0b01001101, 0b11]
    assert ternary.unpack2(torch.tensor([0b01001101, 0b11]), 5).tolist() == [1, -1, 0, 1, -1]


def test_base3_hand_table():
    # digits w + 1, first weight least significant: [1, -1, 0, 1, -1] -> 2, 0, 1, 2, 0
    # = 2 + 0*3 + 1*9 + 2*27 + 0*81 = 65
    assert ternary.pack_base3([1, -1, 0, 1, -1]).tolist() == [65]
    assert ternary.pack_base3([-1] * 5).tolist() == [0]
    assert ternary.pack_base3([0] * 5).tolist() == [121]
    assert ternary.pack_base3([1] * 5).tolist() == [242]
    assert ternary.pack_base3([1, 1]).tolist() == [2 + 2 * 3 + 1 * 9 + 1 * 27 + 1 * 81]
    assert ternary.byte_digits(65).tolist() == [1, -1, 0, 1, -1]


def test_every_five_weights_round_trip_through_one_byte():
    groups = torch.tensor(list(itertools.product([-1, 0, 1], repeat=5)))
    packed = ternary.pack_base3(groups)
    assert sorted(packed.tolist()) == list(range(243))  # a bijection onto 0..242
    assert torch.equal(ternary.unpack_base3(packed, groups.numel()), groups.reshape(-1))
    assert torch.equal(ternary.unpack2(ternary.pack2(groups), groups.numel()),
                       groups.reshape(-1))


@pytest.mark.parametrize("count", [1, 4, 5, 6, 19, 20, 21])
def test_random_round_trips(count):
    gen = torch.Generator().manual_seed(count)
    w = torch.randint(-1, 2, (count,), generator=gen)
    assert torch.equal(ternary.unpack2(ternary.pack2(w), count), w), f"seed {count}"
    assert torch.equal(ternary.unpack_base3(ternary.pack_base3(w), count), w), f"seed {count}"
    assert len(ternary.pack_base3(w)) == -(-count // 5)
    assert len(ternary.pack2(w)) == -(-count // 4)


def test_gemm_uses_the_code_values():
    x = torch.tensor([[3, -128], [127, 5]])
    w = torch.tensor([[0b01, 0b11], [0b11, 0b10]])  # [[1, -1], [-1, 0]]
    assert ternary.gemm(x, w).tolist() == [[3 + 128, -3], [127 - 5, -127]]


@pytest.mark.parametrize("byte", [243, 250, 255])
def test_bytes_above_242_are_refused(byte):
    with pytest.raises(ValueError, match=f"0..242, got {byte}"):
        ternary.unpack_base3(torch.tensor([65, byte]), 10)
    with pytest.raises(ValueError, match="0..242"):
        ternary.byte_digits(byte)


@pytest.mark.parametrize("bad", [[2], [0, -2], [0.5], [1, 0, 3]])
def test_weights_outside_ternary_are_refused(bad):
    with pytest.raises(ValueError, match="ternary"):
        ternary.pack2(bad)
    with pytest.raises(ValueError, match="ternary"):
        ternary.pack_base3(bad)
    with pytest.raises(ValueError, match="ternary"):
        ternary.encode_codes(bad)


def test_reserved_code_and_bad_packed_data_are_refused():
    with pytest.raises(ValueError, match="not a ternary 2-bit code: 2"):
        ternary.unpack2(torch.tensor([0b10]), 1)
    with pytest.raises(ValueError, match="not a ternary 2-bit code"):
        ternary.decode_codes([4])
    with pytest.raises(ValueError, match="bytes hold"):
        ternary.unpack2(torch.tensor([1]), 5)
    with pytest.raises(ValueError, match="bytes hold"):
        ternary.unpack_base3(torch.tensor([1, 2]), 5)
    with pytest.raises(ValueError, match="bytes, 0..255"):
        ternary.unpack2(torch.tensor([256]), 1)


@pytest.mark.parametrize("x", [torch.tensor([1.0, float("nan")]), torch.tensor([float("inf")]),
                               torch.tensor([1, 2]), torch.tensor([])])
def test_bad_quantizer_input(x):
    with pytest.raises(ValueError):
        ternary.quantize(x)
    with pytest.raises(ValueError):
        ternary.quantize_acts(x)


def test_bad_arguments():
    with pytest.raises(ValueError, match="axis"):
        ternary.quantize(torch.ones(2, 2), axis=2)
    with pytest.raises(ValueError, match="bits"):
        ternary.quantize_acts(torch.ones(2), bits=9)
