"""golden.sparse against hand-typed examples and a dense computation."""

import pytest
import torch

from quantrtl.golden import sparse

W = torch.tensor([3, -5, 3, 3, 1, 0, 0, -1, 0, 0, 0, 0, 2, -7, 7, 1])


def test_pruning_hand_typed():
    # group 0: |3| = |3| = |3| < |-5|: -5 and the lowest-index 3; group 2: all zero -> 0, 1;
    # group 3: |-7| = |7| both stay
    assert sparse.prune(W).tolist() == [3, -5, 0, 0, 1, 0, 0, -1, 0, 0, 0, 0, 0, -7, 7, 0]
    values, positions = sparse.compress(W)
    assert values.tolist() == [3, -5, 1, -1, 0, 0, -7, 7]
    assert positions.tolist() == [0, 1, 0, 3, 0, 1, 1, 2]
    assert sparse.decompress(values, positions).tolist() == sparse.prune(W).tolist()
    assert sparse.keep_mask(W).sum().item() == 8


def test_ties_lower_index_wins():
    assert sparse.compress(torch.tensor([4, 4, 4, 4]))[1].tolist() == [0, 1]
    assert sparse.compress(torch.tensor([1.0, -2.0, 2.0, 0.5]))[1].tolist() == [1, 2]
    assert sparse.compress(torch.tensor([0, 0, -9, 9]))[1].tolist() == [2, 3]


def test_sparse_dot_hand_typed():
    x = torch.arange(1, 17)
    values, positions = sparse.compress(W)
    # 3*1 - 5*2 + 1*5 - 1*8 - 7*14 + 7*15
    assert sparse.sparse_dot(x, values, positions) == 3 - 10 + 5 - 8 - 98 + 105


def test_axis_and_float_weights():
    w = torch.tensor([[0.1, -0.9], [0.5, 0.2], [-0.4, 0.3], [0.05, -0.2]])
    values, positions = sparse.compress(w, axis=0)
    assert positions.T.tolist() == [[1, 2], [0, 2]]
    assert torch.equal(sparse.decompress(values, positions, axis=0), sparse.prune(w, axis=0))
    assert torch.equal(sparse.prune(w.T, axis=1), sparse.prune(w, axis=0).T)


@pytest.mark.parametrize("seed", range(5))
def test_gemm_against_dense(seed):
    gen = torch.Generator().manual_seed(seed)
    m, k, n = 3, 4 * (seed + 1), 5
    w = torch.randint(-128, 128, (k, n), generator=gen)
    x = torch.randint(-128, 128, (m, k), generator=gen)
    values, positions = sparse.compress(w)
    dense = sparse.prune(w)
    assert ((dense != 0).sum(dim=0) <= k // 2).all(), f"seed {seed}"
    # every kept magnitude >= every dropped one in its group
    groups, kept = w.abs().reshape(-1, 4, n), sparse.keep_mask(w).reshape(-1, 4, n)
    assert torch.equal(torch.where(sparse.keep_mask(w), w, 0), dense), f"seed {seed}"
    low = torch.where(kept, groups, 1 << 20).amin(dim=1)
    high = torch.where(kept, -1, groups).amax(dim=1)
    assert (low >= high).all(), f"seed {seed}"
    assert torch.equal(sparse.sparse_gemm(x, values, positions), x @ dense), f"seed {seed}"
    assert sparse.sparse_dot(x[0], values[:, 0], positions[:, 0]) == int(x[0] @ dense[:, 0])


def test_padding():
    w = torch.tensor([[5], [-1], [2], [0], [3], [-4]])
    with pytest.raises(ValueError, match="divisible by 4"):
        sparse.compress(w)
    values, positions = sparse.compress(w, pad=True)
    assert values.T.tolist() == [[5, 2, 3, -4]] and positions.T.tolist() == [[0, 2, 0, 1]]
    x = torch.tensor([[1, 2, 3, 4, 5, 6]])
    with pytest.raises(ValueError, match="pad=True"):
        sparse.sparse_gemm(x, values, positions)
    assert sparse.sparse_gemm(x, values, positions, pad=True).tolist() == [[5 + 6 + 15 - 24]]
    assert sparse.prune(w, pad=True).shape == (8, 1)


@pytest.mark.parametrize("values, positions, match", [
    ([1, 2], [0, 4], "0..3"), ([1, 2], [-1, 2], "0..3"), ([1, 2], [2, 1], "ascending"),
    ([1, 2], [3, 3], "distinct"), ([1, 2, 3], [0, 1, 2], "two entries"),
    ([1, 2], [0], "shape"),
])
def test_bad_compressed_form(values, positions, match):
    with pytest.raises(ValueError, match=match):
        sparse.decompress(torch.tensor(values), torch.tensor(positions))


def test_bad_inputs():
    with pytest.raises(ValueError, match="NaN"):
        sparse.prune(torch.tensor([1.0, float("nan"), 0.0, 0.0]))
    with pytest.raises(ValueError, match="integer codes"):
        sparse.sparse_gemm(torch.ones(1, 4), torch.ones(2, 1, dtype=torch.int64),
                           torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="reduction length"):
        sparse.sparse_dot(torch.ones(8, dtype=torch.int64), torch.tensor([1, 1]),
                          torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="to_lanes"):
        sparse.to_lanes(torch.ones(2, 6, dtype=torch.int64), torch.ones(3, 1),
                        torch.zeros(3, 1), 8, 8)


def test_lanes_round_trip_and_hardware_reading():
    x = torch.tensor([[-8, 7, 0, -1]])
    a = sparse.pack_a_lane(x, 4)
    assert a.tolist() == [0xF078] and torch.equal(sparse.unpack_a_lane(a, 4), x)
    b = sparse.pack_b_lane(torch.tensor([[-3, 5]]), torch.tensor([[1, 3]]), 4)
    assert b.tolist() == [0b11_01_0101_1101]
    values, positions = sparse.unpack_b_lane(b, 4)
    assert values.tolist() == [[-3, 5]] and positions.tolist() == [[1, 3]]
    assert sparse.lane_gemm(a.reshape(1, 1), b.reshape(1, 1), 4, 4).item() == -3 * 7 - 5
    # equal positions add (the cell reads any pair; decompress refuses it)
    b2 = sparse.pack_b_lane(torch.tensor([2, 3]), torch.tensor([0, 0]), 4)
    assert sparse.lane_gemm(a.reshape(1, 1), b2.reshape(1, 1), 4, 4).item() == 5 * -8

