"""A registered wrapper that makes every timed path of a unit register to register.

All unit inputs except ``clk`` are bits of one shift register loaded from pin ``si``; all
outputs are captured into a register on ``cap`` and shifted out through ``so``. The wrapper
has four pins (``clk``, ``si``, ``cap``, ``so``), so it places on the smallest packages, and
none of the unit's logic can be optimized away. The input register shifts only while
``cap`` is low: without that clock enable its bits would equal the unit's reset-less delay
lines (a register of input bit ``k`` is bit ``k + 1`` of the shift register, one cycle
later), Yosys would merge them, and the unit's pipeline would start in wrapper flip-flops.
"""

from quantrtl.hw.rtl import RTL

__all__ = ["WRAPPER_TOP", "wrapper_verilog"]

WRAPPER_TOP = "qor_wrapper"


def _shift(reg: str, width: int, new_bit: str) -> str:
    return new_bit if width == 1 else f"{{{reg}[{width - 2}:0], {new_bit}}}"


def wrapper_verilog(rtl: RTL) -> str:
    inputs = [p for p in rtl.ports if p.direction == "input" and p.name != "clk"]
    outputs = [p for p in rtl.ports if p.direction == "output"]
    if not outputs:
        raise ValueError(f"{rtl.top} has no outputs to wrap")
    n_in = max(1, sum(p.width for p in inputs))
    n_out = sum(p.width for p in outputs)
    conns, pos = [], 0
    for p in inputs:
        conns.append(f"    .{p.name}(in_sh[{pos + p.width - 1}:{pos}])")
        pos += p.width
    conns.append("    .clk(clk)" if rtl.clocked else None)
    pos = 0
    for p in outputs:
        conns.append(f"    .{p.name}(out_w[{pos + p.width - 1}:{pos}])")
        pos += p.width
    shift_out = "out_sh" if n_out == 1 else f"{{1'b0, out_sh[{n_out - 1}:1]}}"
    return "\n".join([
        f"module {WRAPPER_TOP}(input wire clk, input wire si, input wire cap, output wire so);",
        f"  reg [{n_in - 1}:0] in_sh = 0;",
        f"  reg [{n_out - 1}:0] out_sh = 0;",
        f"  wire [{n_out - 1}:0] out_w;",
        f"  always @(posedge clk) if (!cap) in_sh <= {_shift('in_sh', n_in, 'si')};",
        f"  always @(posedge clk) out_sh <= cap ? out_w : {shift_out};",
        "  assign so = out_sh[0];",
        f"  {rtl.top} unit (",
        ",\n".join(c for c in conns if c),
        "  );",
        "endmodule",
        "",
    ])
