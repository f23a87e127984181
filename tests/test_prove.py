"""Formal equivalence of the OVP decoders with a case table built from golden.ovp."""

import dataclasses

import pytest

from hw.rtl import RTL
from quantrtl.designs import build
from quantrtl.prove import prove


@pytest.mark.parametrize("params", ["fmt=ovp4", "fmt=ovp4-flint", "fmt=ovp4 order=high-first"])
def test_ovp4_decoders_are_proved_equal_to_golden(params):
    result = prove(build("ovp-decoder", params.split()))
    assert result.proved and result.cases == 256


def test_a_wrong_bias_is_disproved_with_a_counterexample():
    design = build("ovp-decoder", ["fmt=ovp4"])
    text = design.rtl.text.replace("+ 2'h2;", "+ 2'h1;", 1)  # outlier bias 2 -> 1, lane 0
    assert text != design.rtl.text
    mutant = dataclasses.replace(design, rtl=RTL(design.rtl.top, text))
    result = prove(mutant)
    assert not result.proved
    assert result.counterexample.startswith("pair=0x8") and "golden exp0=" in \
        result.counterexample and "unit exp0=" in result.counterexample


def test_clocked_designs_are_refused():
    with pytest.raises(ValueError, match="combinational"):
        prove(build("int-mac", []))
