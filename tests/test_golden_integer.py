"""golden.integer against hand-worked examples and numpy's rounding."""

import numpy as np
import pytest
import torch

from quantrtl.golden.integer import (
    IntFormat,
    QuantParams,
    compute_qparams,
    dequantize,
    fake_quantize,
    parse_int_format,
    quantize,
)


@pytest.mark.parametrize("name,qmin,qmax", [
    ("int2", -2, 1), ("int4", -8, 7), ("int8", -128, 127),
    ("uint2", 0, 3), ("uint4", 0, 15), ("uint8", 0, 255)])
def test_format_ranges(name, qmin, qmax):
    fmt = parse_int_format(name)
    assert (fmt.qmin, fmt.qmax, fmt.name) == (qmin, qmax, name)
    assert fmt.codes().tolist() == list(range(qmin, qmax + 1))


@pytest.mark.parametrize("bad", ["int0", "int1", "int9", "uint16", "float8", "int", "", "8"])
def test_bad_format_names(bad):
    with pytest.raises(ValueError):
        parse_int_format(bad)


@pytest.mark.parametrize("bits", [0, 1, 9, 2.0, True])
def test_bad_widths(bits):
    with pytest.raises(ValueError):
        IntFormat(bits)


def test_symmetric_per_tensor_rounds_half_to_even():
    x = torch.tensor([-1.0, -0.5, 0.25, 1.0])
    qp = compute_qparams(x, IntFormat(4))
    assert torch.allclose(qp.scale, torch.tensor(1 / 7, dtype=torch.float64))
    # x / s = -7, -3.5, 1.75, 7  ->  -3.5 rounds to the even -4
    assert quantize(x, IntFormat(4), qp).tolist() == [-7, -4, 2, 7]


def test_symmetric_saturates_and_skips_most_negative_code():
    qp = QuantParams(torch.tensor(1 / 7, dtype=torch.float64), torch.tensor(0))
    x = torch.tensor([-2.0, 5.0])
    assert quantize(x, IntFormat(4), qp).tolist() == [-7, 7]
    assert quantize(x, IntFormat(4), qp, restrict_range=False).tolist() == [-8, 7]


def test_per_channel_scales():
    x = torch.tensor([[1.0, 2.0], [4.0, -8.0]])
    qp = compute_qparams(x, IntFormat(8), axis=0)
    assert qp.scale.shape == (2, 1)
    assert torch.allclose(qp.scale.flatten(), torch.tensor([2 / 127, 8 / 127],
                                                           dtype=torch.float64))
    # 1 / (2/127) = 63.5 -> 64 (even); 4 / (8/127) = 63.5 -> 64
    assert quantize(x, IntFormat(8), qp).tolist() == [[64, 127], [64, -127]]


def test_asymmetric_uint8_zero_point():
    x = torch.tensor([-1.0, 0.0, 1.0])
    fmt = IntFormat(8, signed=False)
    qp = compute_qparams(x, fmt, symmetric=False)
    assert qp.zero_point.item() == 128  # round(127.5) -> 128 (even)
    assert quantize(x, fmt, qp).tolist() == [0, 128, 255]  # 256 saturates to 255
    assert dequantize(quantize(x, fmt, qp), qp)[1].item() == 0.0  # zero is exact


def test_rounding_matches_numpy_rint():
    seed = 1234
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(10000, generator=gen, dtype=torch.float64) * 3
    x[::7] = torch.round(x[::7] * 2) / 2  # plenty of exact ties
    qp = QuantParams(torch.tensor(0.5, dtype=torch.float64), torch.tensor(0))
    got = quantize(x, IntFormat(8), qp, restrict_range=False).numpy()
    ref = np.clip(np.rint(x.numpy() / 0.5), -128, 127)
    assert (got == ref).all(), f"seed {seed}"


def test_fake_quantize_error_shrinks_with_width():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(4096, generator=gen)
    errors = [float(((fake_quantize(x, IntFormat(b)) - x) ** 2).mean()) for b in (2, 4, 8)]
    assert errors[0] > errors[1] > errors[2] > 0


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_input_is_rejected(bad):
    x = torch.tensor([0.5, bad])
    with pytest.raises(ValueError, match="NaN or Inf"):
        compute_qparams(x, IntFormat(8))


def test_symmetric_unsigned_and_empty_are_rejected():
    with pytest.raises(ValueError, match="signed"):
        compute_qparams(torch.ones(3), IntFormat(4, signed=False))
    with pytest.raises(ValueError, match="empty"):
        compute_qparams(torch.ones(0), IntFormat(4))
    with pytest.raises(ValueError, match="floating"):
        compute_qparams(torch.ones(3, dtype=torch.int64), IntFormat(4))
