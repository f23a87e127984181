"""A plain-Verilog X-check testbench for a generated unit (no cocotb, no testbench help).

The bench declares ``reg rst = 1;`` and every other input as a ``reg`` initialised to 0,
holds reset for ``reset_cycles`` clock cycles, then drives every input with seeded
``$random`` values (``rst`` stays low). At every falling clock edge, from the first cycle
on, it checks each output for X or Z bits and prints one ``TRACE`` line with the cycle and
every output in hex (a two-state simulator such as Verilator cannot show X: two runs with
different random fills of uninitialised state must print the same trace instead). It ends
with ``XCHECK PASS`` or ``XCHECK FAIL <count>``.

A combinational unit (no ``clk`` port) is sampled on the bench's own clock the same way.
"""

from __future__ import annotations

from quantrtl.hw.rtl import RTL

__all__ = ["TB_TOP", "xcheck_testbench"]

TB_TOP = "xcheck_tb"


def _random_value(width: int) -> str:
    words = -(-width // 32)
    parts = ", ".join("$random(seed)" for _ in range(words))
    return f"{{{parts}}}" if words > 1 else parts


def xcheck_testbench(rtl: RTL, *, cycles: int = 200, reset_cycles: int = 3,
                     seed: int = 1) -> str:
    """The Verilog text of module ``xcheck_tb`` that instantiates ``rtl.top`` (see the
    module docstring); ``cycles`` counts every sampled cycle, reset included."""
    if cycles <= reset_cycles or reset_cycles < 1:
        raise ValueError(f"need cycles > reset_cycles >= 1, got {cycles}, {reset_cycles}")
    ports = rtl.ports
    clocked = rtl.clocked
    inputs = [p for p in ports if p.direction == "input" and p.name not in ("clk", "rst")]
    outputs = [p for p in ports if p.direction == "output"]
    if not outputs:
        raise ValueError(f"{rtl.top} has no outputs to check")

    def decl(kind, p, init=""):
        rng = f"[{p.width - 1}:0] " if p.width > 1 else ""
        return f"  {kind} {rng}{p.name}{init};"

    lines = ["`timescale 1ns/1ps", f"module {TB_TOP};", "  reg clk = 0;", "  reg rst = 1;"]
    lines += [decl("reg", p, f" = {p.width}'d0") for p in inputs]
    lines += [decl("wire", p) for p in outputs]
    conns = ([".clk(clk)", ".rst(rst)"] if clocked else []) + \
        [f".{p.name}({p.name})" for p in inputs + outputs]
    lines.append(f"  {rtl.top} dut (" + ", ".join(conns) + ");")
    lines += ["  integer cycle = 0;", "  integer errors = 0;", f"  integer seed = {seed};",
              "  always #5 clk = ~clk;", "  always @(negedge clk) begin"]
    for p in outputs:
        lines.append(f"    if ((^{p.name}) === 1'bx) begin errors = errors + 1; "
                     f"$display(\"X on {p.name} at cycle %0d: %h\", cycle, {p.name}); end")
    trace = " ".join(f"{p.name}=%h" for p in outputs)
    lines.append(f"    $display(\"TRACE %0d {trace}\", cycle, "
                 + ", ".join(p.name for p in outputs) + ");")
    lines += ["    cycle = cycle + 1;",
              f"    if (cycle >= {reset_cycles}) begin", "      rst = 0;"]
    lines += [f"      {p.name} = {_random_value(p.width)};" for p in inputs]
    lines += ["    end",
              f"    if (cycle == {cycles}) begin",
              "      if (errors == 0) $display(\"XCHECK PASS\");",
              "      else $display(\"XCHECK FAIL %0d\", errors);",
              "      $finish;", "    end", "  end", "endmodule", ""]
    return "\n".join(lines)
