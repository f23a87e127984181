"""Batched verification: the vectors live in the simulator, not in Python.

``batch_rtl(rtl, vectors)`` wraps a unit in a generated Verilog testbench module that loads
the stimulus and the golden model's expected outputs with ``$readmemh``, applies one vector
per clock, compares every output at the same point ``sim.benches.stream`` would (``latency``
edges later, don't-cares masked) and counts mismatches. The cocotb bench
``sim.benches.batch`` only runs the clock and reads the verdict, so a cycle costs no Python:
the timing semantics are those of ``sim.drive.drive_and_sample`` (reset for two cycles with
the inputs idle, inputs change and outputs are read on falling edges).
"""

from __future__ import annotations

import json
from pathlib import Path

from quantrtl.base.cache import atomic_write, cache_root, content_key
from quantrtl.hw.rtl import RTL
from quantrtl.sim.vectors import Vectors

__all__ = ["batch_rtl", "RESET_CYCLES"]

RESET_CYCLES = 2


def _hex_file(path: Path, values, width: int):
    mask = (1 << width) - 1
    digits = max(1, (width + 3) // 4)
    atomic_write(path, "".join(f"{(v or 0) & mask:0{digits}x}\n" for v in values))


def batch_rtl(rtl: RTL, vectors: Vectors) -> tuple[RTL, dict]:
    """The unit plus a self-checking testbench top ``tb_<top>``; returns it and the bench
    configuration (cycle count and output names)."""
    if not rtl.clocked:
        raise ValueError(f"{rtl.top}: batched verification needs a clocked unit")
    widths = {p.name: p.width for p in rtl.ports}
    n, latency = len(vectors), vectors.latency
    blob = json.dumps(vectors.to_config(), sort_keys=True)
    folder = cache_root() / "batch" / content_key(rtl.sha, blob)
    for name, values in vectors.stimulus.items():
        _hex_file(folder / f"s_{name}.hex", values, widths[name])
    for name, values in vectors.expected.items():
        _hex_file(folder / f"e_{name}.hex", values, widths[name])
        _hex_file(folder / f"m_{name}.hex", [int(v is not None) for v in values], 1)

    top = f"tb_{rtl.top}"
    inputs = [p for p in rtl.ports if p.direction == "input" and p.name not in ("clk", "rst")]
    outputs = list(vectors.expected)
    driven = set(vectors.stimulus)
    lines = [f"module {top}(input wire clk);"]
    for p in inputs:
        lines.append(f"  reg [{p.width - 1}:0] {p.name};")
    for o in outputs:
        lines.append(f"  wire [{widths[o] - 1}:0] {o};")
    lines.append("  reg rst;")
    for name in driven:
        lines.append(f"  reg [{widths[name] - 1}:0] s_{name} [0:{n - 1}];")
    for o in outputs:
        lines += [f"  reg [{widths[o] - 1}:0] e_{o} [0:{n - 1}];", f"  reg m_{o} [0:{n - 1}];",
                  f"  reg [{widths[o] - 1}:0] bad_{o} = 0;"]
    lines += ["  integer t = 0;", "  integer errors = 0;", "  integer first_bad = -1;",
              "  integer compared = 0;", "  reg done = 1'b0;", "  initial begin"]
    # Inputs and reset get their values after time 0, as events: Icarus evaluates an
    # always @* block only when an input changes, never for an initializer.
    lines.append("    #1 rst = 1'b1;")
    lines += [f"    {p.name} = {p.width}'d{vectors.idle.get(p.name, 0) & ((1 << p.width) - 1)};"
              for p in inputs]
    lines += [f'    $readmemh("{folder / f"s_{name}.hex"}", s_{name});' for name in driven]
    for o in outputs:
        lines += [f'    $readmemh("{folder / f"e_{o}.hex"}", e_{o});',
                  f'    $readmemh("{folder / f"m_{o}.hex"}", m_{o});']
    lines.append("  end")
    ports = [f".{p.name}({p.name})" for p in rtl.ports]
    lines.append(f"  {rtl.top} dut ({', '.join(ports)});")
    # Falling edge k (k = 0, 1, ...): after the reset, read the outputs of the vector applied
    # `latency` falling edges earlier, then apply the next vector (or the idle values).
    first = RESET_CYCLES - 1  # the falling edge that ends the reset and applies vector 0
    checks = []
    for o in outputs:
        checks.append(f"        if (m_{o}[s] && {o} !== e_{o}[s]) begin\n"
                      f"          if (first_bad < 0) begin first_bad = s; bad_{o} = {o}; end\n"
                      f"          errors = errors + 1;\n"
                      f"        end")
    sample = max(latency, 1)
    apply = "\n".join(f"        {name} <= s_{name}[t - {first}];" for name in driven)
    idle = "\n".join(f"        {name} <= {widths[name]}'d"
                     f"{vectors.idle.get(name, 0) & ((1 << widths[name]) - 1)};"
                     for name in driven)
    lines += [
        "  integer s;",
        "  always @(negedge clk) begin",
        f"    if (t >= {first}) begin",
        f"      s = t - {first} - {sample};",
        f"      if (s >= 0 && s < {n}) begin",
        "\n".join(checks),
        "        compared = compared + 1;",
        "      end",
        f"      if (t - {first} < {n}) begin",
        apply,
        "      end else begin",
        idle,
        "      end",
        "    end",
        f"    if (t == {first}) rst <= 1'b0;",
        f"    if (t - {first} >= {n} + {sample}) done <= 1'b1;",
        "    t = t + 1;",
        "  end",
        "endmodule", ""]
    text = rtl.text + "\n" + "\n".join(lines)
    config = {"cycles": n + RESET_CYCLES + sample + 2, "outputs": outputs, "seed": vectors.seed,
              "mode": vectors.mode}
    return RTL(top, text), config
