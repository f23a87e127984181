"""Datasheets: every bit range agrees with the generated Verilog, and `quantrtl verilog
--out` writes the unit beside its datasheet."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from quantrtl.designs import build
from quantrtl.designs.datasheet import FILES, datasheet, datasheet_markdown, unit_files

CASES = [("systolic-array", ["dataflow=ws"]), ("systolic-array", ["dataflow=os"]),
         ("systolic-array", ["dataflow=os", "rows=2", "cols=3", "pe=ovp"]),
         ("systolic-array", ["dataflow=ws", "pe=mixed", "rows=2", "cols=2"]),
         ("ovp-pe", []), ("int-mac", ["a=uint4", "b=int8", "acc=14"]), ("dint-mac", []),
         ("array-pe", ["pe=ovp"]), ("ovp-encoder", [])]

# Amaranth names each payload field in the Verilog: `wire [w-1:0] \port.field ;` and, when
# the field is read from the port, `assign \port.field = port[msb:lsb];` (`= port;` whole)
_FIELD_WIRE = re.compile(r"^\s*wire (?:\[(\d+):0\] )?\\(\w+)\.(\w+) ;$", re.M)
_FIELD = re.compile(r"^\s*assign \\(\w+)\.(\w+)\s*= \1(?:\[(\d+)(?::(\d+))?\])?;$", re.M)


def _label(case):
    return " ".join([case[0], *case[1]])


@pytest.mark.parametrize("case", CASES, ids=_label)
def test_bit_ranges_match_the_verilog(case):
    design = build(*case)
    sheet = datasheet(design)
    verilog = {p.name: (p.direction, p.width) for p in design.rtl.ports}
    assert {p["name"]: (p["direction"], p["width"]) for p in sheet["ports"]} == verilog
    widths = {(port, field): int(msb or 0) + 1
              for msb, port, field in _FIELD_WIRE.findall(design.rtl.text)}
    named = {(port, field): (int(msb), int(lsb or msb)) if msb else None
             for port, field, msb, lsb in _FIELD.findall(design.rtl.text)}
    ranges = 0
    for port in sheet["ports"]:
        top = [f for f in port["fields"] if "[" not in f["name"]]
        if top:  # fields tile the port from bit 0 up, with no gap or overlap
            spans = sorted((f["lsb"], f["msb"]) for f in top)
            assert spans[0][0] == 0 and spans[-1][1] == port["width"] - 1, spans
            assert all(b[0] == a[1] + 1 for a, b in zip(spans, spans[1:])), spans
        for f in top:
            key = port["name"], f["name"]
            assert widths.get(key) == f["width"], (key, f)
            if key in named:
                whole = (port["width"] - 1, 0)
                assert (named[key] or whole) == (f["msb"], f["lsb"]), (key, f)
                ranges += 1
        for f in port["fields"]:  # lanes lie inside their field
            if "[" in f["name"]:
                parent = next(g for g in top if g["name"] == f["name"].split("[")[0])
                assert parent["lsb"] <= f["lsb"] <= f["msb"] <= parent["msb"]
    if any(p["fields"] and p["direction"] == "input" for p in sheet["ports"]):
        assert ranges, "no field's bit range found in the Verilog"


def test_ws_datasheet_states_the_derived_facts():
    design = build("systolic-array", ["dataflow=ws"])
    sheet = datasheet(design)
    assert sheet["derived_widths"]["accumulator (result lane)"] == 18
    assert sheet["latency"]["cycles"] == 4 + 4 + 1
    assert "2R + C = 12 rows" in sheet["throughput"]
    fields = {f["name"]: (f["msb"], f["lsb"]) for p in sheet["ports"] for f in p["fields"]
              if p["name"] == "a__payload"}
    assert fields["swap"] == (32, 32) and fields["a[3]"] == (31, 24)
    text = datasheet_markdown(sheet)
    assert "| `c__payload` | `c[3]` | [71:54] | 18 | signed |" in text
    assert "synchronous, active-high" in text


# Widths worked out by hand. FP8 MAC: E4M3's largest magnitude 448 = 0b111 << 6 is 18 bits
# in units of 2^-9 (frac 9), E5M2's 57344 = 0b111 << 13 is 32 bits in units of 2^-16 (frac
# 16); a product is both plus a sign, the accumulator 12 bits more (at most 62). AMX dot
# (k = 32): an E2M1 product is at most 6 * 6 = 144 in units of 1/4, 32 of them 4,608 (13
# bits); times both largest scales (57344 * 2^16 = 7 * 2^29 for E5M2, 448 * 2^9 = 7 * 2^15
# for E4M3): 4,608 * 49 * 2^58 needs 76 bits, 4,608 * 49 * 2^44 62, plus a sign.
FRAC_AMX = "fractional bits of sum (2 + frac_a_scale + frac_b_scale)"
FRAC_FP8 = "fractional bits of acc (frac_w + frac_x)"
CLASS_AMX = "sign class sum (unsigned, units of 1/4)"
FACT_CASES = [
    (("amx-dot", []), {"sum (signed)": 77, FRAC_AMX: 34, CLASS_AMX: 13}, 0, "sum"),
    (("amx-dot", ["pipeline=2", "a_scale=e4m3"]), {"sum (signed)": 63, FRAC_AMX: 27,
                                                   CLASS_AMX: 13}, 2, "sum"),
    (("fp8-mac", []), {"product (signed bits)": 37, "accumulator": 49, FRAC_FP8: 18}, 1, "acc"),
    (("fp8-mac", ["w=e5m2", "pipeline=2"]), {"product (signed bits)": 51, "accumulator": 62,
                                            FRAC_FP8: 25}, 3, "acc"),
]


@pytest.mark.parametrize("case,widths,latency,result", FACT_CASES,
                         ids=[_label(c[0]) for c in FACT_CASES])
def test_amx_and_fp8_datasheets_state_the_derived_facts(case, widths, latency, result):
    design = build(*case)
    sheet = datasheet(design)
    assert {k: sheet["derived_widths"].get(k) for k in widths} == widths
    ports = {p.name: p.width for p in design.rtl.ports}
    assert ports[result] == widths.get("sum (signed)", widths.get("accumulator"))
    assert sheet["latency"]["cycles"] == latency
    if latency:
        assert "rst" in ports and sheet["reset"].startswith("rst clears")
        assert f"{latency} rising edge(s) later" in sheet["latency"]["note"]
    else:
        assert "clk" not in ports and "no clock or reset" in sheet["reset"]
        assert sheet["latency"]["note"].startswith("combinational")
    assert "per cycle" in sheet["throughput"]
    text = datasheet_markdown(sheet)
    assert f"* Reset: {sheet['reset']}." in text
    assert all(f"| {k} | {v} |" in text for k, v in widths.items())


def test_os_result_fields_are_c_then_row():
    sheet = datasheet(build("systolic-array", []))
    o = next(p for p in sheet["ports"] if p["name"] == "o__payload")
    spans = {f["name"]: (f["msb"], f["lsb"]) for f in o["fields"]}
    assert spans["c"] == (87, 0) and spans["row"] == (89, 88)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "quantrtl.cli", *args], capture_output=True,
                          text=True)


def test_out_writes_the_unit_and_refuses_a_foreign_folder(tmp_path):
    out = tmp_path / "ws"
    params = ["systolic-array", "dataflow=ws"]
    run = _cli("verilog", *params, "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == \
        sorted(FILES.values())
    design = build(*params[:1], params[1:])
    assert (out / FILES["verilog"]).read_text() == design.rtl.text
    assert json.loads((out / FILES["json"]).read_text()) == datasheet(design)
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert _cli("verilog", *params, "--out", str(out)).returncode == 0  # its own folder
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first  # deterministic
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    run = _cli("verilog", "int-mac", "--out", str(foreign))
    assert run.returncode == 2 and run.stderr.startswith("quantrtl: error:"), run.stderr
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    assert _cli("verilog", "int-mac", "--out", str(foreign), "--force").returncode == 0
    assert (foreign / "notes.txt").read_text() == "keep"
    assert _cli("verilog", "int-mac", "--force").returncode == 2


DOCS = Path(__file__).resolve().parent.parent / "docs" / "datasheets"


@pytest.mark.parametrize("folder,words", [("ws4x4_int8", ["systolic-array", "dataflow=ws"]),
                                          ("ovp4_pe", ["ovp-pe"])])
def test_docs_datasheets_are_current(folder, words):
    """docs/datasheets.md links these; regenerate with the command it shows."""
    files = unit_files(build(words[0], words[1:]))
    for name, text in files.items():
        assert (DOCS / folder / name).read_text() == text, \
            f"docs/datasheets/{folder}/{name} is stale: quantrtl verilog {' '.join(words)} " \
            f"--out docs/datasheets/{folder} --force"
