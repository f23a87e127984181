"""pe=sparse24 in a real simulator against golden.sparse: the cell (every input at 2-bit
operands; every position pair x every value pair at INT4; seeded random with extremes at
INT8) and systolic arrays of both dataflows."""

from dataclasses import replace

import pytest
import torch
from checks import verify_array_gemm, verify_design

from quantrtl.designs import array_pe, build
from quantrtl.golden import sparse
from quantrtl.hw.pe_sparse import SparsePE
from quantrtl.sim.harness import VerificationError, run_vectors


def test_cell_every_input_2bit():
    _, vectors = verify_design("array-pe", "pe=sparse24 a=int2 b=int2")
    assert len(vectors) == 1 << 16  # every A lane x every B lane


def test_cell_int4_every_pattern_and_value_pair():
    seed = 2
    _, vectors = verify_design("array-pe", "pe=sparse24 a=int4 b=int4", "random", 4000, seed)
    b_lanes = set(vectors.stimulus["b"])
    assert len(b_lanes) == 1 << 12, f"seed {seed}"  # all 16 position pairs x 256 value pairs


@pytest.mark.parametrize("params, seed", [("pe=sparse24", 3), ("pe=sparse24 a=int8 b=int4", 4),
                                          ("pe=sparse24 a=int4 b=int8", 5)])
def test_cell_random(params, seed):
    verify_design("array-pe", params, "random", 3000, seed)


@pytest.mark.parametrize("params", [
    "rows=2 cols=2 dataflow=os max_k=6", "rows=2 cols=2 dataflow=ws",
    "rows=3 cols=3 dataflow=os a=int4 b=int4 max_k=5", "rows=3 cols=3 dataflow=ws b=int4",
    "rows=2 cols=3 dataflow=os pipeline=1", "rows=3 cols=2 dataflow=ws a=int4 acc=14",
])
def test_arrays_match_golden(params):
    verify_array_gemm("sparse24", params)


def test_a_wrong_golden_step_is_caught():
    d = build("array-pe", "pe=sparse24 a=int2 b=int2".split())
    vectors = d.vectors("exhaustive", 0, 1)
    step = list(vectors.expected["step"])
    step[12345] += 1
    with pytest.raises(VerificationError, match="step"):
        run_vectors(d.rtl, replace(vectors, expected={**vectors.expected, "step": step}))


def test_compressed_weights_run_on_the_array_kind():
    """Weights pruned and compressed by golden.sparse, packed in B lanes, give on the
    sparse24 kind exactly the dense product with the pruned weights."""
    seed = 9
    gen = torch.Generator().manual_seed(seed)
    w = torch.randint(-128, 128, (16, 3), generator=gen)
    x = torch.randint(-128, 128, (2, 16), generator=gen)
    values, positions = sparse.compress(w)
    a, b = sparse.to_lanes(x, values, positions, 8, 8)
    assert a.shape == (2, 4) and b.shape == (4, 3)
    pe, kind = array_pe({"pe": "sparse24", "a": None, "b": None})
    assert pe.elements(pe.modes[0]) == 4 and kind.modes == pe.modes
    assert torch.equal(kind.product(a, b, kind.modes[0]), x @ sparse.prune(w)), f"seed {seed}"


@pytest.mark.parametrize("name, bad", [
    ("array-pe", "pe=sparse24 a=uint8"), ("array-pe", "pe=sparse24 b=uint4"),
    ("array-pe", "pe=sparse24 a=int9"), ("systolic-array", "pe=sparse24 b=ternary"),
])
def test_bad_parameters(name, bad):
    with pytest.raises(ValueError):
        build(name, bad.split())


def test_class_contract():
    pe = SparsePE(a_bits=8, b_bits=8)
    assert (pe.a_width, pe.b_width, pe.step_bound) == (32, 20, 2 * 128 * 128)
    assert SparsePE(a_bits=4, b_bits=4).step_bound == 128
    with pytest.raises(ValueError, match="2..8"):
        SparsePE(a_bits=1)
