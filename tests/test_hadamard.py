"""golden.hadamard: the Sylvester Walsh–Hadamard transform against hand-typed H4 and H8,
scipy.linalg.hadamard (when installed), butterfly vs matrix form, exact integer inverse,
output growth of log2 n bits, the orthonormal form, and bad input."""

import pytest
import torch

from quantrtl.golden import hadamard

H4 = [[1, 1, 1, 1],
      [1, -1, 1, -1],
      [1, 1, -1, -1],
      [1, -1, -1, 1]]

H8 = [[1, 1, 1, 1, 1, 1, 1, 1],
      [1, -1, 1, -1, 1, -1, 1, -1],
      [1, 1, -1, -1, 1, 1, -1, -1],
      [1, -1, -1, 1, 1, -1, -1, 1],
      [1, 1, 1, 1, -1, -1, -1, -1],
      [1, -1, 1, -1, -1, 1, -1, 1],
      [1, 1, -1, -1, -1, -1, 1, 1],
      [1, -1, -1, 1, -1, 1, 1, -1]]

LENGTHS = (2, 4, 8, 16, 32, 64)


def test_matrix_equals_hand_typed_h4_h8():
    assert hadamard.hadamard_matrix(2).tolist() == [[1, 1], [1, -1]]
    assert hadamard.hadamard_matrix(4).tolist() == H4
    assert hadamard.hadamard_matrix(8).tolist() == H8


def test_transform_of_hand_worked_vectors():
    # [1, 2, 3, 4]: 1+2+3+4, 1-2+3-4, 1+2-3-4, 1-2-3+4
    assert hadamard.transform(torch.tensor([1, 2, 3, 4])).tolist() == [10, -2, -4, 0]
    assert hadamard.transform(torch.tensor([-128] * 8)).tolist() == [-1024] + [0] * 7
    assert hadamard.transform(torch.tensor([0, 0, 0, 5, 0, 0, 0, 0])).tolist() == \
        [5 * row[3] for row in H8]


@pytest.mark.parametrize("n", LENGTHS)
def test_matrix_equals_scipy(n):
    linalg = pytest.importorskip("scipy.linalg")
    assert hadamard.hadamard_matrix(n).tolist() == linalg.hadamard(n).tolist()


@pytest.mark.parametrize("n", LENGTHS)
def test_butterflies_equal_matrix_form_and_inverse(n):
    seed = 100 + n
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(-128, 128, (3, 50, n), generator=gen)
    y = hadamard.transform(x)
    assert y.dtype == torch.int64
    assert torch.equal(y, hadamard.matrix_transform(x)), f"seed {seed}"
    assert torch.equal(hadamard.inverse(y), x), f"seed {seed}"
    h = hadamard.hadamard_matrix(n)
    assert torch.equal(h @ h, n * torch.eye(n, dtype=torch.int64))


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("bits", (2, 8, 16))
def test_outputs_grow_by_log2_n_bits(n, bits):
    k = n.bit_length() - 1
    assert hadamard.stages(n) == k and hadamard.output_bits(bits, n) == bits + k
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    h = hadamard.hadamard_matrix(n)
    # each row's worst case: min where H is +1, max where it is -1 (and the reverse)
    x = torch.cat([torch.where(h > 0, lo, hi), torch.where(h > 0, hi, lo),
                   torch.full((1, n), lo), torch.full((1, n), hi)])
    y = hadamard.transform(x)
    out = bits + k
    assert int(y.min()) == n * lo  # all-min through row 0: exactly the smallest code
    assert int(y.min()) >= -(1 << (out - 1)) and int(y.max()) <= (1 << (out - 1)) - 1
    assert int(y.abs().max()) > (1 << (out - 2))  # one bit fewer would not do


def test_floats_and_orthonormal_form():
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(20, 64, generator=gen, dtype=torch.float64)
    y = hadamard.orthonormal(x)
    assert torch.allclose(y.norm(dim=-1), x.norm(dim=-1))  # a rotation
    assert torch.allclose(hadamard.orthonormal(y), x)       # its own inverse
    assert torch.allclose(hadamard.inverse(hadamard.transform(x)), x)
    assert torch.allclose(hadamard.transform(x), hadamard.matrix_transform(x))
    # the 1/sqrt(n) folds into a scale: H x / sqrt(n) = (H x) * (1 / 8) for n = 64
    assert torch.allclose(y, hadamard.transform(x) / 8)


@pytest.mark.parametrize("n", [0, 1, 3, 6, 12, 48, 128, -4, 2.0, True, "8"])
def test_bad_lengths(n):
    with pytest.raises(ValueError, match="power of two in 2..64"):
        hadamard.stages(n)
    if isinstance(n, int) and not isinstance(n, bool) and n > 0:
        with pytest.raises(ValueError, match="power of two in 2..64"):
            hadamard.transform(torch.zeros(n, dtype=torch.int64))
        with pytest.raises(ValueError, match="power of two in 2..64"):
            hadamard.hadamard_matrix(n)


def test_bad_tensors():
    with pytest.raises(ValueError, match="at least one dimension"):
        hadamard.transform(torch.tensor(3))
    with pytest.raises(ValueError, match="finite"):
        hadamard.transform(torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="integer or real"):
        hadamard.transform(torch.tensor([True, False]))
    with pytest.raises(ValueError, match="not the Hadamard transform of an integer"):
        hadamard.inverse(torch.tensor([1, 0, 0, 0]))


@pytest.mark.parametrize("n", LENGTHS)
def test_stages_compose_to_matrix_and_transform(n):
    """Stage s of n pairs lanes (j, j + 2^s), bit s of j clear, into (a + b, a - b); the
    stages 0 .. k-1 in order are the matrix form and ``transform``."""
    k = hadamard.stages(n)
    product = torch.eye(n, dtype=torch.int64)
    for s in range(k):
        m = hadamard.stage_matrix(n, s)
        h = 1 << s
        for j in range(n):  # each output lane: exactly its pair, with the documented signs
            low = j & ~h
            row = {i: int(m[j, i]) for i in range(n) if m[j, i]}
            assert row == ({low: 1, low + h: 1} if j == low else {low: 1, low + h: -1}), \
                (n, s, j)
        product = m @ product
    assert torch.equal(product, hadamard.hadamard_matrix(n))
    seed = 300 + n
    x = torch.randint(-(1 << 15), 1 << 15, (4, 20, n),
                      generator=torch.Generator().manual_seed(seed))
    y = x
    for s in range(k):
        y = hadamard.butterfly_stage(y, s)
        assert y.dtype == torch.int64
    assert torch.equal(y, hadamard.transform(x)), f"seed {seed}"
    assert torch.equal(y, hadamard.matrix_transform(x)), f"seed {seed}"


def test_stage_of_hand_worked_vector_and_bad_stage():
    x = torch.tensor([1, 2, 3, 4])
    assert hadamard.butterfly_stage(x, 0).tolist() == [3, -1, 7, -1]
    assert hadamard.butterfly_stage(x, 1).tolist() == [4, 6, -2, -2]
    assert hadamard.butterfly_stage(torch.tensor([0.5, 0.25]), 0).tolist() == [0.75, 0.25]
    for s in (-1, 2, 1.0, True):
        with pytest.raises(ValueError, match="stage of length 4 must be 0..1"):
            hadamard.butterfly_stage(x, s)
    with pytest.raises(ValueError, match="power of two"):
        hadamard.butterfly_stage(torch.zeros(6), 0)
