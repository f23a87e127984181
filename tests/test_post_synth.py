"""``quantrtl verify DESIGN params --post-synth TARGET``: the bench on Yosys's mapped netlist.

The netlist is Yosys's ``write_verilog`` of the area run's mapping (``synth.flow.
mapped_netlist``), simulated under Icarus with the target's cell models from the Yosys share
folder (``synth.flow.cell_models``). The INT MAC, the OVP PE and a 2x2 systolic array pass
on iCE40 and ECP5 (and the INT MAC on xc7); a netlist with one LUT inverted by hand fails;
an edited cached netlist is set aside and rebuilt; an unknown target is one error line.
"""

import re

import pytest

from quantrtl.base.errors import VerificationError
from quantrtl.cli import main
from quantrtl.designs import build
from quantrtl.hw.rtl import RTL
from quantrtl.sim.harness import run_vectors
from quantrtl.synth.flow import cell_models, mapped_netlist

UNITS = {
    "int-mac": ["int-mac", "a=int4", "b=int4"],  # exhaustive: 16,896 cycles
    "ovp-pe": ["ovp-pe", "--mode", "random", "--count", "2000"],
    "array": ["systolic-array", "rows=2", "cols=2", "a=int4", "b=int4", "--count", "200"],
}


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANTRTL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("target", ["ice40-up5k", "ecp5-25k"])
@pytest.mark.parametrize("unit", list(UNITS))
def test_units_pass_after_synthesis(unit, target, capsys):
    assert main(["verify", *UNITS[unit], "--post-synth", target]) == 0, \
        capsys.readouterr().err
    out = capsys.readouterr()
    assert f"after synthesis for {target}:" in out.out and out.out.startswith("PASS ")
    assert f"mapping {UNITS[unit][0]}" in out.err


def test_xc7_netlist_passes(capsys):
    assert main(["verify", "int-mac", "a=int2", "b=int2", "acc=5", "--post-synth",
                 "xc7"]) == 0, capsys.readouterr().err


# one LUT's truth table inverted, per target family's way of writing it
LUT_INIT = {"ice40-up5k": r"\.LUT_INIT\(16'h([0-9a-f]{4})\)",
            "ecp5-25k": r"\.INIT\(16'h([0-9a-f]{4})\)"}


@pytest.mark.parametrize("target", list(LUT_INIT))
def test_a_netlist_broken_by_hand_fails(target):
    design = build("int-mac", ["a=int2", "b=int2", "acc=5"])
    netlist = mapped_netlist(design.rtl, target)
    vectors = design.vectors("exhaustive", 0, 1)
    models = cell_models(target)
    run_vectors(netlist, vectors, libraries=models)  # the netlist as Yosys wrote it passes
    inits = list(re.finditer(LUT_INIT[target], netlist.text))
    assert inits, netlist.text[:2000]
    broken = 0
    for match in inits:  # every LUT, one at a time: the bench catches each inversion
        value = int(match.group(1), 16)
        if value in (0, 0xFFFF):
            continue
        text = (netlist.text[:match.start(1)] + f"{value ^ 0xFFFF:04x}"
                + netlist.text[match.end(1):])
        with pytest.raises(VerificationError, match="bench tests failed"):
            run_vectors(RTL(netlist.top, text), vectors, libraries=models)
        broken += 1
        if broken == 3:
            break
    assert broken >= 1


def test_an_edited_cached_netlist_is_rebuilt(own_cache, capsys):
    design = build("int-mac", ["a=int2", "b=int2", "acc=5"])
    first = mapped_netlist(design.rtl, "ice40-up5k")
    path = next((own_cache / "netlist").glob("*/netlist.v"))
    path.write_text(path.read_text().replace("SB_LUT4", "SB_LUT4 ", 1))
    capsys.readouterr()
    again = mapped_netlist(design.rtl, "ice40-up5k")
    assert again.text == first.text
    assert f"cache entry {path} does not match the checksum" in capsys.readouterr().err
    assert mapped_netlist(design.rtl, "ice40-up5k").text == first.text
    assert capsys.readouterr().err == ""


def test_an_unknown_target_is_one_error_line(own_cache, capsys):
    assert main(["verify", "int-mac", "--post-synth", "ice41"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("quantrtl: error: unknown target 'ice41'") and err.count("\n") == 1
    assert not own_cache.exists()


def test_post_synth_runs_on_icarus_only(capsys):
    assert main(["verify", "int-mac", "--post-synth", "ecp5-25k", "--sim", "verilator"]) == 2
    assert "Icarus" in capsys.readouterr().err
