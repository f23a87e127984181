"""golden.arith against hand-worked examples and plain-Python reference loops."""

import random

import pytest
import torch

from quantrtl.golden.arith import dot, gemm, mac_trace, saturate, wrap


def test_wrap_and_saturate_by_hand():
    assert wrap(torch.tensor([127, 128, -129, 255, 256]), 8).tolist() == [127, -128, 127, -1, 0]
    assert wrap(torch.tensor([256, 257]), 8, signed=False).tolist() == [0, 1]
    assert saturate(torch.tensor([200, -200]), 8).tolist() == [127, -128]
    assert saturate(torch.tensor([300, -1]), 8, signed=False).tolist() == [255, 0]


def test_saturating_dot_is_order_dependent():
    a, b = torch.tensor([100, 100, -100]), torch.tensor([1, 1, 1])
    # 100 -> 200 clamps to 127 -> 27
    assert dot(a, b, acc_width=8, overflow="saturate").item() == 27
    # modulo 256 the order does not matter: 100
    assert dot(a, b, acc_width=8, overflow="wrap").item() == 100


def test_gemm_matches_float_matmul_when_wide():
    seed = 99
    gen = torch.Generator().manual_seed(seed)
    a = torch.randint(-128, 128, (7, 33), generator=gen)
    b = torch.randint(-128, 128, (33, 5), generator=gen)
    ref = (a.double() @ b.double()).long()
    assert torch.equal(gemm(a, b, acc_width=32), ref), f"seed {seed}"
    assert torch.equal(gemm(a, b, acc_width=12), wrap(ref, 12)), f"seed {seed}"


def _python_saturating_gemm(a, b, width):
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    out = []
    for row in a:
        out_row = []
        for col in zip(*b):
            acc = 0
            for x, y in zip(row, col):
                acc = min(hi, max(lo, acc + x * y))
            out_row.append(acc)
        out.append(out_row)
    return out


def test_saturating_gemm_matches_python_loop():
    seed = 7
    rng = random.Random(seed)
    a = [[rng.randint(-8, 7) for _ in range(16)] for _ in range(4)]
    b = [[rng.randint(-128, 127) for _ in range(3)] for _ in range(16)]
    got = gemm(torch.tensor(a), torch.tensor(b), acc_width=12, overflow="saturate")
    assert got.tolist() == _python_saturating_gemm(a, b, 12), f"seed {seed}"


def test_gemm_with_initial_accumulator():
    a, b = torch.tensor([[1, 2]]), torch.tensor([[3], [4]])
    assert gemm(a, b, acc_width=16, c=torch.tensor([[5]])).tolist() == [[16]]


def test_mac_trace_by_hand():
    a, b = [2, 3, 4, 5, 6], [1, 1, 1, 1, 1]
    valid, clear = [1, 1, 0, 1, 1], [0, 0, 1, 0, 1]
    # 2, 5, clear alone -> 0, 5, clear with valid -> 6
    assert mac_trace(a, b, valid, clear, acc_width=8).tolist() == [2, 5, 0, 5, 6]


@pytest.mark.parametrize("overflow", ["wrap", "saturate"])
@pytest.mark.parametrize("signed", [True, False])
def test_mac_trace_matches_python_loop(overflow, signed):
    seed = 2024
    rng = random.Random(seed)
    n, width = 3000, 10
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    a = [rng.randint(-8 if signed else 0, 7 if signed else 15) for _ in range(n)]
    b = [rng.randint(-8 if signed else 0, 7 if signed else 15) for _ in range(n)]
    valid = [rng.random() < 0.8 for _ in range(n)]
    clear = [rng.random() < 0.02 for _ in range(n)]
    acc, expected = 0, []
    for x, y, v, c in zip(a, b, valid, clear):
        base = 0 if c else acc
        if v:
            s = base + x * y
            if overflow == "saturate":
                s = min(hi, max(lo, s))
            else:
                s = (s - lo) % (1 << width) + lo
            acc = s
        else:
            acc = base
        expected.append(acc)
    got = mac_trace(a, b, valid, clear, acc_width=width, overflow=overflow, signed=signed)
    assert got.tolist() == expected, f"seed {seed}"


def test_bad_arguments():
    with pytest.raises(ValueError):
        dot(torch.ones(3, dtype=torch.int64), torch.ones(4, dtype=torch.int64), acc_width=8)
    with pytest.raises(ValueError):
        gemm(torch.ones(2, 3), torch.ones(2, 3), acc_width=8)
    with pytest.raises(ValueError):
        dot(torch.ones(3), torch.ones(3), acc_width=0)
    with pytest.raises(ValueError):
        dot(torch.ones(3), torch.ones(3), acc_width=8, overflow="clip")
