"""Every registered design, with its default parameters, passes its own golden bench; a unit
added to the registry is verified without anyone listing it here."""

import pytest

from quantrtl.designs import DESIGNS, build
from quantrtl.sim.harness import run_vectors


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_default_design_passes_its_bench(name):
    design = build(name, [])
    mode = "exhaustive" if design.exhaustive_ok else "random"
    vectors = design.vectors(mode, 3000, 1)
    assert run_vectors(design.rtl, vectors).failed == 0


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_default_design_verilog_is_deterministic(name):
    assert build(name, []).rtl.text == build(name, []).rtl.text
