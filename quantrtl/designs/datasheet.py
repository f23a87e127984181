"""The datasheet of a generated unit, derived from the design itself: JSON for tools,
Markdown for people, and a FuseSoC CAPI2 core that packages the unit with it.

Every fact comes from the built design: the ports and payload fields (with lanes) from the
component's ``lib.wiring`` signature and ``lib.data`` layouts (``RTL.interface``), checked
against the ports of the generated Verilog; latency, throughput, reset and handshake notes
and derived widths from the component's attributes (``RTL.facts``, see
``quantrtl.hw.rtl.FACT_ATTRIBUTES``); the parameters as built; the quantrtl version. What
holds for every unit (the clock, the synchronous reset, the stream rules of
``amaranth.lib.stream``) is stated here once.
"""

from __future__ import annotations

import json
import re

from quantrtl.base.provenance import package_version
from quantrtl.designs.spec import Design
from quantrtl.designs.xcheck import xcheck_testbench
from quantrtl.hw.rtl import LINT_WAIVERS

__all__ = ["FILES", "datasheet", "datasheet_json", "datasheet_markdown", "core_file",
           "unit_files"]

# The files `quantrtl verilog --out DIR` writes (fixed names: one unit per folder).
FILES = {"verilog": "unit.v", "markdown": "datasheet.md", "json": "datasheet.json",
         "core": "unit.core", "testbench": "xcheck_tb.v"}

CLOCK = ("clk: every register updates on its rising edge. rst: synchronous, active-high, "
         "sampled on the rising edge of clk (hold it high for at least one edge). Every "
         "register also starts at its reset value (Verilog initializers), so a simulation "
         "or an FPGA that loads initial values needs no reset to start from a known state.")
COMBINATIONAL = ("combinational: no clock, no reset, no state; outputs follow the inputs "
                 "(latency 0).")
STREAM_RULES = ("Streams (amaranth.lib.stream): a transfer happens on a rising clk edge "
                "where valid and ready are both high. A sender raises valid without waiting "
                "for ready and, once valid is high, holds valid and the payload unchanged "
                "until the transfer. A stream without a ready port is always ready: its "
                "receiver must take every transfer. Keep every valid low while rst is high.")


def _fields(port) -> list[dict]:
    return [{"name": f.path, "msb": f.msb, "lsb": f.lsb, "width": f.width,
             "signed": f.signed} for f in port.fields]


def _ports(design: Design) -> list[dict]:
    """The ports with their fields; the interface of the component when known, checked
    against the Verilog's declarations (name, direction, width)."""
    rtl = design.rtl
    verilog = [(p.name, p.direction, p.width) for p in rtl.ports]
    if not rtl.interface:
        return [{"name": n, "direction": d, "width": w, "signed": None, "fields": []}
                for n, d, w in verilog]
    declared = {name: (direction, width) for name, direction, width in verilog}
    ports = [{"name": name, "direction": "input", "width": 1, "signed": False, "fields": []}
             for name in ("clk", "rst") if declared.pop(name, None) == ("input", 1)]
    for facts in rtl.interface:  # in the signature's order
        if declared.pop(facts.name, None) != (facts.direction, facts.width):
            raise ValueError(f"{design.label}: port {facts.name} ({facts.direction}, "
                             f"{facts.width} bits) is not so in the Verilog")
        ports.append({"name": facts.name, "direction": facts.direction,
                      "width": facts.width, "signed": facts.signed, "fields": _fields(facts)})
    if declared:
        raise ValueError(f"{design.label}: Verilog ports not in the component's signature: "
                         f"{', '.join(sorted(declared))}")
    return ports


def _streams(ports: list[dict]) -> list[str]:
    names = {p["name"] for p in ports}
    return sorted({n[:-len("__valid")] for n in names if n.endswith("__valid")})


def datasheet(design: Design) -> dict:
    """The datasheet of ``design`` as a JSON-able dict (stable key order)."""
    rtl = design.rtl
    facts = dict(rtl.facts)
    ports = _ports(design)
    clocked = rtl.clocked
    latency = facts.get("latency", 0 if not clocked else None)
    return {
        "design": design.name,
        "params": {k: v for k, v in design.params.items()},
        "command": "quantrtl verilog " + design.label,
        "quantrtl_version": package_version(),
        "top": rtl.top,
        "function": facts.get("summary"),
        "contract": facts.get("contract"),
        "verilog": {"file": FILES["verilog"], "sha256": rtl.sha},
        "clock_and_reset": CLOCK if clocked else COMBINATIONAL,
        "ports": ports,
        "streams": _streams(ports),
        "derived_widths": facts.get("derived_widths", {}),
        "latency": {"cycles": latency, "note": facts.get("latency_note")},
        "throughput": facts.get("throughput_note"),
        "reset": facts.get("reset_note"),
        "handshake": facts.get("handshake_note"),
        "stream_rules": STREAM_RULES if _streams(ports) else None,
    }


def datasheet_json(sheet: dict) -> str:
    return json.dumps(sheet, indent=2) + "\n"


def _signedness(signed) -> str:
    return {True: "signed", False: "unsigned", None: "code"}[signed]


def datasheet_markdown(sheet: dict) -> str:
    """``sheet`` (from ``datasheet``) as a Markdown page."""
    params = " ".join(f"{k}={v}" for k, v in sheet["params"].items() if v is not None)
    lines = [f"# `{sheet['top']}`: {sheet['design']} {params}".rstrip(), "",
             f"Generated by quantrtl {sheet['quantrtl_version']} with "
             f"`{sheet['command']}`; Verilog `{sheet['verilog']['file']}`, module "
             f"`{sheet['top']}`, SHA-256 `{sheet['verilog']['sha256'][:16]}...`.", ""]
    if sheet["function"]:
        lines += [f"{sheet['function']}.".replace("..", "."), ""]
    lines += ["## Parameters", "", "| parameter | value |", "|---|---|"]
    lines += [f"| {k} | {'(default)' if v is None else v} |" for k, v in sheet["params"].items()]
    lines += ["", "## Ports", "", "| port | direction | bits | signedness |", "|---|---|---|---|"]
    for p in sheet["ports"]:
        bits = f"[{p['width'] - 1}:0]" if p["width"] > 1 else "1"
        lines.append(f"| `{p['name']}` | {p['direction']} | {bits} | "
                     f"{_signedness(p['signed'])} |")
    with_fields = [p for p in sheet["ports"] if p["fields"]]
    if with_fields:
        lines += ["", "## Payload fields", "",
                  "Bit ranges within the port; `x[k]` is lane k of field x (\"code\": a "
                  "number-format code, see the parameters).", "",
                  "| port | field | bits | width | signedness |", "|---|---|---|---|---|"]
        for p in with_fields:
            for f in p["fields"]:
                lines.append(f"| `{p['name']}` | `{f['name']}` | [{f['msb']}:{f['lsb']}] | "
                             f"{f['width']} | {_signedness(f['signed'])} |")
    if sheet["derived_widths"]:
        lines += ["", "## Derived widths", "", "| quantity | bits |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sheet["derived_widths"].items()]
    lines += ["", "## Timing", ""]
    lat = sheet["latency"]
    if lat["cycles"] is not None:
        lines.append(f"* Latency: {lat['cycles']} clock cycle(s)" +
                     (f"; {lat['note']}." if lat["note"] else "."))
    if sheet["throughput"]:
        lines.append(f"* Throughput: {sheet['throughput']}.")
    lines += ["", "## Clock, reset and handshake", "", f"* {sheet['clock_and_reset']}"]
    if sheet["reset"]:
        lines.append(f"* Reset: {sheet['reset']}.")
    if sheet["stream_rules"]:
        lines.append(f"* {sheet['stream_rules']} Streams: "
                     + ", ".join(f"`{s}`" for s in sheet["streams"]) + ".")
    if sheet["handshake"]:
        lines.append(f"* Handshake: {sheet['handshake']}.")
    if sheet["contract"]:
        lines += ["", "## Contract", "", "From the component's docstring:", "", "```text",
                  sheet["contract"], "```"]
    return "\n".join(lines) + "\n"


def _core_name(sheet: dict) -> str:
    tag = sheet["verilog"]["sha256"][:8]
    version = re.sub(r"[^0-9.]", "", sheet["quantrtl_version"]) or "0"
    return f"quantrtl:unit:{sheet['top']}_{tag}:{version}"


def core_file(sheet: dict) -> str:
    """A FuseSoC CAPI2 core for the unit: the Verilog, the datasheet as documentation, and
    targets ``default`` (the unit), ``lint`` (Verilator lint) and ``sim`` (the X-check
    testbench on Icarus)."""
    top = sheet["top"]
    desc = f"{sheet['command']} (quantrtl {sheet['quantrtl_version']})"
    return "\n".join([
        "CAPI=2:",
        f"name: {_core_name(sheet)}",
        f"description: {json.dumps(desc)}",
        "",
        "filesets:",
        "  rtl:",
        "    files:",
        f"      - {FILES['verilog']}",
        "    file_type: verilogSource",
        "  xcheck:",
        "    files:",
        f"      - {FILES['testbench']}",
        "    file_type: verilogSource",
        "  doc:",
        "    files:",
        f"      - {FILES['markdown']}",
        f"      - {FILES['json']}",
        "    file_type: user",
        "",
        "targets:",
        "  default:",
        "    filesets: [rtl, doc]",
        f"    toplevel: {top}",
        "  lint:",
        "    default_tool: verilator",
        "    filesets: [rtl]",
        f"    toplevel: {top}",
        "    tools:",
        "      verilator:",
        "        mode: lint-only",
        f"        verilator_options: [-Wall, {', '.join(f'-Wno-{c}' for c in LINT_WAIVERS)}]",
        "  sim:",
        "    default_tool: icarus",
        "    filesets: [rtl, xcheck]",
        "    toplevel: xcheck_tb",
        "",
    ])


def unit_files(design: Design) -> dict[str, str]:
    """``{file name: text}`` of everything ``quantrtl verilog --out`` writes for
    ``design`` (``FILES``)."""
    sheet = datasheet(design)
    return {FILES["verilog"]: design.rtl.text,
            FILES["markdown"]: datasheet_markdown(sheet),
            FILES["json"]: datasheet_json(sheet),
            FILES["core"]: core_file(sheet),
            FILES["testbench"]: xcheck_testbench(design.rtl)}
