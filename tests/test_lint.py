"""Every generated design passes Verilator -Wall (waivers justified in quantrtl.lint)."""

import pytest

from hw.rtl import RTL
from quantrtl.designs import DESIGNS as DESIGN_SPECS, build
from quantrtl.lint import WAIVERS, lint
from sim.harness import simulator_available

pytestmark = pytest.mark.skipif(not simulator_available("verilator"),
                                reason="Verilator not installed")

DESIGNS = ["int-mac", "int-mac a=uint3 b=int8 acc=20 overflow=saturate pipeline=3",
           "baseline-mac", "dint-mac", "dint-mac denormals=0.25,0.5 pipeline=1",
           "ovp-decoder", "ovp-decoder fmt=ovp4-flint", "ovp-decoder fmt=ovp8",
           "ovp-pe", "ovp-pe w=ovp4 act=int8", "ovp-pe w=ovp8 act=ovp8 split=1"]


@pytest.mark.parametrize("spec", DESIGNS)
def test_generated_verilog_is_lint_clean(spec):
    name, *params = spec.split()
    result = lint(build(name, params).rtl)
    assert result.warnings == (), result.warnings


def test_waivers_are_justified():
    assert all(len(why) > 30 for why in WAIVERS.values())


def test_lint_catches_a_truncation():
    bad = RTL("bad", "module bad(input wire [7:0] a, output wire [3:0] y);\n"
                     "  assign y = a + 8'd1;\nendmodule\n")
    result = lint(bad)
    assert any(w.startswith("WIDTHTRUNC") for w in result.warnings), result.warnings


@pytest.mark.parametrize("name", sorted(DESIGN_SPECS))
def test_every_registered_design_lints_clean_with_defaults(name):
    """A new design in the registry is linted without anyone listing it here."""
    assert lint(build(name, []).rtl).warnings == ()
