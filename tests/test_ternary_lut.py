"""The table-lookup ternary dot unit ``ternary-lut`` in a real simulator against
``golden.ternary.group_trace`` (exhaustive where small, seeded random otherwise), its proofs
and lint rows, and golden's group helpers against values typed from the base-3 rule."""

from dataclasses import replace

import pytest
import torch
from checks import verify_design

from quantrtl.designs import build
from quantrtl.golden import ternary
from quantrtl.hw.rtl import RTL
from quantrtl.hw.ternary_lut import TernaryLUTDot, index_width
from quantrtl.rigor import lint, prove
from quantrtl.sim.harness import VerificationError, run_vectors


# every (activation pair, group index) once from a clear, then accumulated; narrow
# accumulators wrap or saturate, the pipeline delays the sums
@pytest.mark.parametrize("params, pairs", [
    ("x=int4 acc=8 overflow=saturate", 256 * 16),
    ("x=int4 acc=6", 256 * 16),
    ("x=int4 acc=7 overflow=saturate pipeline=2", 256 * 16),
    ("x=int4 pipeline=1", 256 * 16),
    ("g=3 x=int2 acc=4 overflow=saturate", 64 * 32),   # every index, 3^3 = 27 .. 31 too
    ("g=2 n=2 x=int2 acc=4 pipeline=1", 16 * 256),     # both columns' index pairs
])
def test_exhaustive(params, pairs):
    _, vectors = verify_design("ternary-lut", params)
    assert len(vectors) > 2 * pairs  # every pair twice, plus the fixed cycles


@pytest.mark.parametrize("params, seed", [
    ("g=2 n=4 acc=11 overflow=saturate", 3),
    ("g=3 n=4 acc=12", 4),
    ("g=3 n=3 x=int4 acc=8 overflow=saturate pipeline=1", 5),
    ("g=4 n=16 pipeline=2", 6),
    ("g=4 n=2 x=int4 acc=9 overflow=saturate", 7),
    ("g=2 n=16", 8),              # the report and sweep configuration
    ("g=2 n=16 pipeline=1", 9),
])
def test_random(params, seed):
    verify_design("ternary-lut", params, "random", 2500, seed=seed)


def test_a_wrong_column_is_caught():
    """One sum of column 1 off by one: the packed accumulator word differs."""
    d = build("ternary-lut", ["n=2", "x=int4", "acc=8"])
    vectors = d.vectors("random", 300, 2)
    acc = list(vectors.expected["acc"])
    t = next(i for i, v in enumerate(acc) if v is not None and v >> 8)
    acc[t] ^= 1 << 8
    with pytest.raises(VerificationError, match="acc"):
        run_vectors(d.rtl, replace(vectors, expected={**vectors.expected, "acc": acc}))


def test_a_wrong_table_entry_fails_simulation_and_proof():
    """``x1 + x0`` (entry of index 8, weights +1 +1) turned into ``x1 - x0``."""
    d = build("ternary-lut", ["x=int4", "acc=8"])
    entry = "$signed(x[7:4]) + $signed(x[3:0])"
    assert d.rtl.text.count(entry) == 1
    rtl = RTL(d.rtl.top, d.rtl.text.replace(entry, entry.replace("+", "-")))
    with pytest.raises(VerificationError, match="acc"):
        run_vectors(rtl, d.vectors("exhaustive", 0, 1))
    result = prove("ternary-lut", ["x=int4", "acc=8"], rtl=rtl)
    assert not result.proved and "reference acc'" in result.counterexample


@pytest.mark.parametrize("params", [
    ["x=int4", "acc=8", "overflow=saturate", "pipeline=1"], [], ["g=3", "pipeline=1"],
    ["g=4", "x=int4", "acc=12", "overflow=saturate"],
    ["g=3", "x=int2", "acc=5", "overflow=saturate", "pipeline=1"],
    ["n=2", "x=int2", "acc=4", "pipeline=1"],
    ["n=2", "x=int4", "acc=8", "overflow=saturate", "pipeline=1"],
    ["g=3", "n=2", "x=int4", "acc=10", "pipeline=1"],
])
def test_proves_against_golden(params):
    result = prove("ternary-lut", params)
    assert result.proved, result.counterexample


def test_a_wrong_second_column_is_disproved_in_that_column():
    """Column 1 no longer reads index 4 (all weights 0) as zero: the counterexample names
    column 1 and its own accumulator."""
    d = build("ternary-lut", ["n=2", "x=int4", "acc=8"])
    zero = "w[7:4] == 3'h4"
    assert d.rtl.text.count(zero) == 1
    rtl = RTL(d.rtl.top, d.rtl.text.replace(zero, "w[7:4] == 3'h5"))
    result = prove("ternary-lut", ["n=2", "x=int4", "acc=8"], rtl=rtl)
    assert not result.proved
    assert result.counterexample.startswith("column 1: from acc=")
    assert " w=4 " in result.counterexample


@pytest.mark.parametrize("params", [[], ["g=3", "n=4", "x=int4", "acc=16", "overflow=saturate"],
                                    ["g=4", "n=2", "pipeline=2"]])
def test_lint_clean(params):
    d = build("ternary-lut", params)
    assert lint(d.rtl, design=d.label).warnings == []


@pytest.mark.parametrize("bad, message", [
    ("g=1", "2, 3, 4"), ("g=5", "2, 3, 4"), ("n=0", "1..16"), ("n=17", "1..16"),
    ("x=uint8", "signed"), ("g=4 acc=10", "accumulator width"), ("x=int4 acc=5", "accumulator"),
    ("pipeline=5", "pipeline"), ("overflow=clip", "overflow"), ("x=int9", "int"),
])
def test_bad_parameters(bad, message):
    with pytest.raises(ValueError, match=message):
        build("ternary-lut", bad.split())


def test_exhaustive_is_refused_where_large():
    d = build("ternary-lut", ["n=2"])
    assert not d.exhaustive_ok
    with pytest.raises(ValueError, match="use random"):
        d.vectors("exhaustive", 0, 1)


def test_class_rejects_bad_arguments():
    with pytest.raises(ValueError, match="group size"):
        TernaryLUTDot(group=True)
    with pytest.raises(ValueError, match="columns"):
        TernaryLUTDot(columns=2.0)
    build("ternary-lut", ["g=4", "acc=11"])  # a group sum is +-512 at most: 11 bits
    build("ternary-lut", ["g=3", "acc=10"])  # +-384: 10 bits
    assert [index_width(g) for g in (2, 3, 4)] == [4, 5, 7]


# -- golden: typed from idx = sum_i (w_i + 1) * 3^i, first weight least significant --------

def test_group_values_by_hand():
    got = ternary.group_values(torch.tensor([0, 1, 3, 4, 5, 7, 8, 9, 15]), 2).tolist()
    assert got == [[-1, -1], [0, -1], [-1, 0], [0, 0], [1, 0], [0, 1], [1, 1],
                   [0, 0], [0, 0]]  # 9..15 hold no weights
    assert ternary.group_values(torch.tensor([26, 21, 13, 27, 31]), 3).tolist() == [
        [1, 1, 1], [-1, 0, 1], [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    assert ternary.group_values(torch.tensor([80, 40]), 4).tolist() == [[1] * 4, [0] * 4]


def test_group_values_of_five_are_base3_bytes():
    b = torch.arange(243)
    assert torch.equal(ternary.group_values(b, 5), ternary.byte_digits(b))


@pytest.mark.parametrize("index, group", [(16, 2), (-1, 2), (32, 3), (128, 4), (0, 0)])
def test_group_values_refuses_bad_input(index, group):
    with pytest.raises(ValueError):
        ternary.group_values(torch.tensor([index]), group)


def test_group_trace_by_hand():
    x = torch.tensor([[3, -2], [1, 1], [-8, -8], [7, 7]])
    index = torch.tensor([[8, 0], [5, 3], [0, 0], [8, 6]])  # [[+1 +1, -1 -1], [+1 0, -1 0], ...
    valid = torch.tensor([1, 1, 1, 0])
    clear = torch.tensor([1, 0, 0, 1])
    # column 0: 1, 1 + 1 = 2, 2 + 16, clear alone -> 0; column 1: -1, -2, 14, 0
    assert ternary.group_trace(x, index, valid, clear, acc_width=8).tolist() == [
        [1, -1], [2, -2], [18, 14], [0, 0]]
    # a 5-bit accumulator wraps 18 to -14; a 4-bit one saturates both at 7
    assert ternary.group_trace(x, index, valid, clear, acc_width=5)[2].tolist() == [-14, 14]
    assert ternary.group_trace(x, index, valid, clear, acc_width=4,
                               overflow="saturate")[2].tolist() == [7, 7]
