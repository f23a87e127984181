"""A plain-Verilog X-check testbench for a generated unit (no cocotb, no testbench help).

The bench declares ``reg rst = 1;`` and every other input as a ``reg`` initialised to 0,
holds reset for ``reset_cycles`` clock cycles, then drives every input with values from a
seeded 32-bit xorshift generator written in the bench (not ``$random``, whose sequence
differs between simulators; ``rst`` stays low). At every falling clock edge, from the first cycle
on, it checks each output for X or Z bits and prints one ``TRACE`` line with the cycle and
every output in hex, the same under every simulator for a design that behaves the same
(a two-state simulator such as Verilator cannot show X: runs with different random fills of
uninitialised state must print the same trace instead). It ends
with ``XCHECK PASS`` or ``XCHECK FAIL <count>``.

A combinational unit (no ``clk`` port) is sampled on the bench's own clock the same way.

With ``dump`` the bench also writes the unit's ports, as the bench sees them, to that file
(``$dumpvars``; Icarus writes FST when run as ``vvp -n sim.vvp -fst``), the stimulus and
reference for another simulator. The clock period is ``CLOCK_PERIOD_PS`` (timescale
1ns/1ps): sample ``k`` is taken at ``(k + 1) * CLOCK_PERIOD_PS``, just before the inputs
change.
"""

from __future__ import annotations

from quantrtl.hw.rtl import RTL

__all__ = ["TB_TOP", "CLOCK_PERIOD_PS", "xcheck_testbench"]

TB_TOP = "xcheck_tb"
CLOCK_PERIOD_PS = 10_000


def _ref(name: str) -> str:
    """``name`` as Verilog reads it: an escaped identifier (``\\byte``) ends at a space."""
    return f"{name} " if name.startswith("\\") else name


def _label(name: str) -> str:
    """``name`` in the bench's messages: an escaped identifier without its backslash."""
    return name.removeprefix("\\")


def _randomize(name: str, width: int) -> list[str]:
    """Statements that fill ``name`` with random bits, one xorshift step per 32-bit word, in
    a fixed order (the order of the operands of one expression is up to the simulator)."""
    if width <= 32:
        return [f"      {name} = xcheck_random(0);"]
    return [f"      {name}[{min(width, lo + 32) - 1}:{lo}] = xcheck_random(0);"
            for lo in range(0, width, 32)]


def xcheck_testbench(rtl: RTL, *, cycles: int = 200, reset_cycles: int = 3,
                     seed: int = 1, dump: str = "") -> str:
    """The Verilog text of module ``xcheck_tb`` that instantiates ``rtl.top`` (see the
    module docstring); ``cycles`` counts every sampled cycle, reset included; ``dump``: a
    file to write the ports' waveforms to (none when empty)."""
    if cycles <= reset_cycles or reset_cycles < 1:
        raise ValueError(f"need cycles > reset_cycles >= 1, got {cycles}, {reset_cycles}")
    ports = rtl.ports
    clocked = rtl.clocked
    inputs = [p for p in ports if p.direction == "input" and p.name not in ("clk", "rst")]
    clash = [p.name for p in ports if p.name.startswith("xcheck_")]
    if clash:
        raise ValueError(f"{rtl.top}: port names clash with the bench's: {', '.join(clash)}")
    outputs = [p for p in ports if p.direction == "output"]
    if not outputs:
        raise ValueError(f"{rtl.top} has no outputs to check")

    def decl(kind, p, init=""):
        rng = f"[{p.width - 1}:0] " if p.width > 1 else ""
        return f"  {kind} {rng}{_ref(p.name)}{init};"

    lines = ["`timescale 1ns/1ps", f"module {TB_TOP};", "  reg clk = 0;", "  reg rst = 1;"]
    lines += [decl("reg", p, f" = {p.width}'d0") for p in inputs]
    lines += [decl("wire", p) for p in outputs]
    conns = ([".clk(clk)", ".rst(rst)"] if clocked else []) + \
        [f".{_ref(p.name)}({_ref(p.name)})" for p in inputs + outputs]
    lines.append(f"  {rtl.top} dut (" + ", ".join(conns) + ");")
    if dump:
        if '"' in dump or "\\" in dump:
            raise ValueError(f"dump file name must not hold quotes or backslashes: {dump!r}")
        nets = ", ".join(["clk", "rst"] + [_ref(p.name) for p in inputs + outputs])
        lines.append(f'  initial begin $dumpfile("{dump}"); $dumpvars(1, {nets}); end')
    if not 0 < seed < 2**32:
        raise ValueError(f"seed must be 1..2^32-1, got {seed}")
    lines += ["  integer xcheck_cycle = 0;", "  integer xcheck_errors = 0;",
              f"  reg [31:0] xcheck_state = {seed};",
              "  // xorshift32: the next random word (the argument is unused)",
              "  function [31:0] xcheck_random(input dummy);",
              "    begin",
              "      xcheck_state = xcheck_state ^ (xcheck_state << 13);",
              "      xcheck_state = xcheck_state ^ (xcheck_state >> 17);",
              "      xcheck_state = xcheck_state ^ (xcheck_state << 5);",
              "      xcheck_random = xcheck_state;",
              "    end",
              "  endfunction",
              f"  always #{CLOCK_PERIOD_PS // 2000} clk = ~clk;", "  always @(negedge clk) begin"]
    for p in outputs:
        ref, label = _ref(p.name), _label(p.name)
        lines.append(f"    if ((^{ref}) === 1'bx) begin xcheck_errors = xcheck_errors + 1; "
                     f"$display(\"X on {label} at cycle %0d: %h\", xcheck_cycle, {ref}); end")
    trace = " ".join(f"{_label(p.name)}=%h" for p in outputs)
    lines.append(f"    $display(\"TRACE %0d {trace}\", xcheck_cycle, "
                 + ", ".join(_ref(p.name) for p in outputs) + ");")
    lines += ["    xcheck_cycle = xcheck_cycle + 1;",
              f"    if (xcheck_cycle >= {reset_cycles}) begin", "      rst = 0;"]
    lines += [s for p in inputs for s in _randomize(_ref(p.name), p.width)]
    lines += ["    end",
              f"    if (xcheck_cycle == {cycles}) begin",
              "      if (xcheck_errors == 0) $display(\"XCHECK PASS\");",
              "      else $display(\"XCHECK FAIL %0d\", xcheck_errors);",
              "      $finish;", "    end", "  end", "endmodule", ""]
    return "\n".join(lines)
