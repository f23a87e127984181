"""dINT x INT8 MAC in a real simulator against golden.dint, and its QoR against INT8."""

import pytest

from quantrtl.designs import build
from quantrtl.sim.harness import run_vectors
from quantrtl.synth.flow import SynthFlags, synthesize


def verify(params, mode="exhaustive", count=0, seed=1):
    d = build("dint-mac", params)
    vectors = d.vectors(mode, count, seed)
    result = run_vectors(d.rtl, vectors)
    assert result.failed == 0
    return vectors


# All 16 x 256 (weight code, activation) pairs alone, then accumulated with clears;
# narrow accumulators force wrap-around and saturation.
@pytest.mark.parametrize("params", [
    "acc=16 overflow=wrap", "acc=13 overflow=saturate", "acc=24 pipeline=1",
    "acc=14 overflow=saturate pipeline=2",
])
def test_dint4_int8_exhaustive(params):
    vectors = verify(params.split())
    assert len(vectors) > 2 * 16 * 256  # plus the overflow runs


def test_two_denormal_levels_exhaustive():
    verify(["denormals=0.25,0.5", "acc=16", "overflow=saturate"])


def test_wide_dint_random():
    verify(["w_bits=6", "denormals=0.125", "acc=20"], mode="random", count=20000, seed=4)


@pytest.mark.parametrize("bad", ["denormals=0.3", "denormals=1", "denormals=0.5,0.5",
                                 "denormals=0.5,0.25,0.125,0.0625,0.03125,0.015625,0.0078125",
                                 "x=uint8", "acc=11"])
def test_bad_dint_parameters(bad):
    with pytest.raises(ValueError):
        build("dint-mac", [bad])


def test_dint_mac_is_smaller_than_int8_mac():
    dint = build("dint-mac", ["acc=24"]).rtl
    int8 = build("int-mac", ["acc=24"]).rtl
    flags = SynthFlags(pnr=False)
    d, i = synthesize(dint, "ice40-up5k", flags), synthesize(int8, "ice40-up5k", flags)
    assert d["luts"] < 0.75 * i["luts"], (d["luts"], i["luts"])
