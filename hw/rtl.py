"""Generated RTL as a value: Verilog text, its top module, its ports and a content hash."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property

from amaranth.back import verilog
from amaranth.hdl import Signal, Value
from amaranth.lib.wiring import In

__all__ = ["Port", "RTL", "from_component", "portable"]

_PORT_DECL = re.compile(
    r"^\s*(input|output)\s+(?:wire\s+|reg\s+)?(signed\s+)?(?:\[(\d+):(\d+)\]\s*)?"
    r"(\\?[\w$]+)\s*[;,)]", re.M)

_FUNCTION = re.compile(r"^\s*function\b.*?^\s*endfunction\b", re.M | re.S)


# Yosys's Verilog backend gives each module with ``always @*`` processes one trigger register,
# declared with an initializer (``reg \$auto$verilog_backend.cc:N:dump_module$M = 0;``) and
# read by every such process, so that a time-0 event runs them once. Under SystemVerilog
# semantics (Icarus -g2009 and later, other simulators) a declaration initializer makes no
# event: the processes then wait for their first input change, and registers that hold their
# value load X on the first clock edge.
_TRIGGER = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;$",
                      re.M)


@dataclass(frozen=True)
class Port:
    name: str
    direction: str  # "input" or "output"
    width: int


@dataclass(frozen=True)
class RTL:
    """A synthesizable Verilog module. ``sha`` identifies it by content."""

    top: str
    text: str

    @cached_property
    def sha(self) -> str:
        return hashlib.sha256(f"{self.top}\n{self.text}".encode()).hexdigest()

    @cached_property
    def ports(self) -> tuple[Port, ...]:
        """Ports of the top module (from its ``input``/``output`` declarations, those inside
        ``function`` blocks left out)."""
        start = re.search(rf"^module\s+{re.escape(self.top)}\b", self.text, re.M)
        if not start:
            raise ValueError(f"no module {self.top} in its Verilog")
        body = self.text[start.start():self.text.index("endmodule", start.start())]
        body = _FUNCTION.sub("", body)  # a function's `input`s are not ports of the module
        ports = []
        for direction, _sign, msb, lsb, name in _PORT_DECL.findall(body):
            width = abs(int(msb) - int(lsb)) + 1 if msb else 1
            ports.append(Port(name, direction, width))
        if not ports:
            raise ValueError(f"no ports found in the Verilog of {self.top}")
        return tuple(ports)

    @property
    def clocked(self) -> bool:
        return any(p.name == "clk" for p in self.ports)


def portable(text: str) -> str:
    """``text`` with each trigger register of Yosys's Verilog backend set by a non-blocking
    assignment in an ``initial`` block instead of an initializer.

    A non-blocking update at time 0 happens after every process has started and waits at
    its ``@*``, so every combinational process runs once at time 0 under any Verilog or
    SystemVerilog simulator, whatever its language mode or process order. The trigger is
    read by nothing but empty ``if``s: synthesis is unchanged. Verilator calls a non-blocking
    assignment in ``initial`` INITIALDLY; the pragma around it says it is meant.
    """
    return _TRIGGER.sub(
        lambda m: (f"{m[1]}reg {m[2]};\n{m[1]}/* verilator lint_off INITIALDLY */\n"
                   f"{m[1]}initial {m[2]}<= 1'h0;\n{m[1]}/* verilator lint_on INITIALDLY */"),
        text)


def from_component(component, top: str) -> RTL:
    """Convert an Amaranth component to Verilog.

    Source-location attributes are left out, so the text depends only on the design and its
    parameters, not on where the code lies: the same inputs give byte-identical Verilog.
    Constant members of the signature (the ``ready`` of an ``always_ready`` stream) are not
    ports (``verilog.convert`` would otherwise pass them on and refuse them).

    Each port is named by its signature path and given no explicit direction: Amaranth makes
    a driven signal an output and an undriven one an input. That equals the members' flows
    unless an ``Out`` member is never driven, which is checked here (an undriven output would
    silently become an input).

    The Verilog is made ``portable``: every combinational process runs at time 0, so
    registers load their reset or initial values and no output is X after reset, under
    Icarus (any ``-g`` mode) and Verilator, with no help from the testbench.
    """
    ports, flows = {}, {}
    for path, member, value in component.signature.flatten(component):
        value = Value.cast(value)
        if isinstance(value, Signal):
            name = "__".join(map(str, path))
            ports[name] = (value, None)
            flows[name] = "input" if member.flow == In else "output"
    rtl = RTL(top, portable(verilog.convert(component, name=top, emit_src=False,
                                            ports=ports)))
    got = {p.name: p.direction for p in rtl.ports if p.name in flows}
    wrong = sorted(n for n, direction in got.items() if direction != flows[n])
    if wrong:
        raise ValueError(f"{top}: output ports never driven: {', '.join(wrong)}")
    return rtl
