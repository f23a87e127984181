"""Ternary hardware in a real simulator against golden.ternary: ``ternary-mac`` (every
weight code x every activation), the base-3 unpacker (every byte), the ``pe=ternary`` cell
(every input) and systolic arrays of both dataflows."""

from dataclasses import replace

import pytest
import torch
from checks import verify_array_gemm, verify_design

from quantrtl.designs import array_pe, build, get_pair
from quantrtl.hw.pe_ternary import TernaryPE
from quantrtl.hw.ternary import TernaryMAC
from quantrtl.sim.harness import VerificationError, run_vectors


# All 4 x 256 (weight code, activation) pairs alone, then accumulated with clears; narrow
# accumulators wrap or saturate (the overflow runs), the pipeline delays the sum.
@pytest.mark.parametrize("params", [
    "", "acc=9 overflow=wrap", "acc=10 overflow=saturate", "pipeline=1",
    "acc=12 overflow=saturate pipeline=3", "x=int4 acc=5 overflow=saturate",
    "x=int2 acc=3",
])
def test_ternary_mac_exhaustive(params):
    d, vectors = verify_design("ternary-mac", params)
    assert len(vectors) > 2 * 4 << int(d.params["x"][3:])  # every pair twice, plus the fixed cycles


def test_ternary_mac_random():
    verify_design("ternary-mac", "acc=16 overflow=saturate pipeline=1", "random", 5000, seed=3)


def test_unpacker_every_byte():
    _, vectors = verify_design("ternary-unpack", "")
    assert vectors.expected["bad"] == [int(b >= 243) for b in range(256)]
    # byte 65 = digits 2, 0, 1, 2, 0 = weights 1, -1, 0, 1, -1 = codes 01 11 00 01 11
    assert vectors.expected["codes"][65] == 0b11_01_00_11_01


@pytest.mark.parametrize("params", ["pe=ternary", "pe=ternary a=int4", "pe=ternary a=int2"])
def test_cell_every_input(params):
    d, vectors = verify_design("array-pe", params)
    x_bits = int((d.params["a"] or "int8")[3:])
    assert len(vectors) == 4 << x_bits  # every (activation, weight code) pair


@pytest.mark.parametrize("params", [
    "rows=2 cols=2 dataflow=os max_k=6", "rows=2 cols=2 dataflow=ws",
    "rows=4 cols=4 dataflow=os max_k=5", "rows=4 cols=4 dataflow=ws",
    "rows=2 cols=3 dataflow=os a=int4 pipeline=1", "rows=3 cols=2 dataflow=ws acc=12",
])
def test_arrays_match_golden(params):
    verify_array_gemm("ternary", params)


def test_a_wrong_golden_value_is_caught():
    d = build("ternary-mac", ["acc=12"])
    vectors = d.vectors("exhaustive", 0, 1)
    acc = list(vectors.expected["acc"])
    t = next(i for i, v in enumerate(acc) if v not in (None, 0))
    acc[t] += 1
    broken = replace(vectors, expected={**vectors.expected, "acc": acc})
    with pytest.raises(VerificationError, match="acc"):
        run_vectors(d.rtl, broken)


@pytest.mark.parametrize("name, bad", [
    ("ternary-mac", "x=uint8"), ("ternary-mac", "acc=8"), ("ternary-mac", "x=int4 acc=4"),
    ("ternary-mac", "pipeline=5"), ("ternary-mac", "overflow=clip"),
    ("array-pe", "pe=ternary b=int2"), ("array-pe", "pe=ternary a=uint8"),
    ("systolic-array", "pe=ternary b=ternary2"),
])
def test_bad_parameters(name, bad):
    with pytest.raises(ValueError):
        build(name, bad.split())


def test_classes_reject_bad_arguments():
    with pytest.raises(ValueError, match="2..8"):
        TernaryMAC(x_width=9)
    with pytest.raises(ValueError, match="accumulator width"):
        TernaryMAC(x_width=8, acc_width=8)
    with pytest.raises(ValueError, match="2..8"):
        TernaryPE(x_width=1)
    assert TernaryPE(x_width=8).step_bound == 128


def test_explore_pair_runs_on_its_array():
    """The ``ternaryxint8`` pair's lanes give, on pe=ternary's golden kind, exactly the
    product of its quantized values, and name a buildable array."""
    seed = 11
    gen = torch.Generator().manual_seed(seed)
    pair = get_pair("ternaryxint8")
    w = torch.randn(3, 20, generator=gen, dtype=torch.float64)
    x = torch.randn(4, 20, generator=gen, dtype=torch.float64)
    w_values, scale, w_codes = pair.quantize_weights(w)
    assert scale.shape == (3, 1) and set(w_values.unique().tolist()) <= {-1.0, 0.0, 1.0}
    x_values, x_codes = pair.quantize_acts(x, pair.calibrate_acts(x))
    a, b = pair.lanes(x_codes, w_codes)
    params = {**dict(pair.array), "rows": 2, "cols": 2}
    build("systolic-array", params)
    _, kind = array_pe(params)
    assert torch.equal(kind.product(a, b, kind.modes[0]).to(torch.float64),
                       x_values @ w_values.T), f"seed {seed}"
