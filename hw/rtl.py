"""Generated RTL as a value: Verilog text, its top module, its ports and a content hash."""

from __future__ import annotations

import hashlib
import inspect
import re
from dataclasses import dataclass, field
from functools import cached_property

from amaranth.back import verilog
from amaranth.hdl import Shape, Signal, Value
from amaranth.lib import data
from amaranth.lib.wiring import In

__all__ = ["Port", "Field", "PortFacts", "RTL", "from_component", "portable", "LINT_WAIVERS"]

# Verilator -Wall warning code -> why Amaranth's generated Verilog has it by construction
# (quantrtl lint waives these; the FuseSoC core's lint target turns them off). Everything
# else -Wall reports (WIDTHTRUNC, LATCH, MULTIDRIVEN, BLKSEQ, UNDRIVEN, CASEOVERLAP, ...)
# counts.
LINT_WAIVERS = {
    "DECLFILENAME": "Amaranth writes a unit and its submodules (named 'top.sub') into one "
                    "file, named here after the top module, so other module names differ",
    "PROCASSINIT": "Amaranth declares every register with its reset value as initializer "
                   "('reg [n:0] acc = 0') and assigns it in always @(posedge clk)",
    "UNUSEDSIGNAL": "Amaranth keeps named intermediates whose value it inlines at the uses "
                    "and computes full-width arithmetic results that are then sliced",
    "WIDTHEXPAND": "Amaranth's arithmetic relies on Verilog's implicit, sign-correct "
                   "extension of a narrower operand to the expression's width",
    "CASEINCOMPLETE": "Amaranth assigns a combinational signal its default before a switch, "
                      "so case values without an arm keep that default",
}

# Component attributes a datasheet reports when a component has them (hw classes
# document each one): clock edges from input to output, and notes in words. The
# ``summary`` is the component's ``function_note``, else its docstring's first paragraph
# (and ``contract`` the whole docstring).
FACT_ATTRIBUTES = ("latency", "latency_note", "throughput_note", "reset_note",
                   "handshake_note", "derived_widths")

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
class Field:
    """Bits ``[lsb + width - 1 : lsb]`` of a port named ``path`` (``c`` or ``c[3]`` for lane
    3 of field ``c``); ``signed``: two's complement, ``None``: a format code."""

    path: str
    lsb: int
    width: int
    signed: bool | None

    @property
    def msb(self) -> int:
        return self.lsb + self.width - 1


@dataclass(frozen=True)
class PortFacts:
    """A port as the component's signature declares it: its flattened Verilog name, its
    ``lib.wiring`` flow and shape, and its payload fields (with lanes) when it has any."""

    name: str
    direction: str
    width: int
    signed: bool
    fields: tuple[Field, ...] = ()


@dataclass(frozen=True)
class RTL:
    """A synthesizable Verilog module. ``sha`` identifies it by content.

    ``interface`` and ``facts`` (set by ``from_component``, else empty) describe the ports
    and the design-specific attributes of the component it was made from (``FACT_ATTRIBUTES``);
    they take no part in equality or the hash."""

    top: str
    text: str
    interface: tuple[PortFacts, ...] = field(default=(), compare=False, repr=False)
    facts: tuple[tuple[str, object], ...] = field(default=(), compare=False, repr=False)

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


def _fields(layout, prefix: str, offset: int, lanes: dict) -> list[Field]:
    """The fields of a ``lib.data`` layout, nested ones flattened with dots, each split
    into the lanes ``lanes`` gives for its path (``{path: (count, width, signed)}``)."""
    out = []
    for name, member in layout:
        path = f"{prefix}{name}"
        shape = member.shape
        if isinstance(shape, data.Layout):
            out.extend(_fields(shape, f"{path}.", offset + member.offset, lanes))
            continue
        shape = Shape.cast(shape)
        out.append(Field(path, offset + member.offset, shape.width, shape.signed))
        count, width, signed = lanes.get(path, (0, 0, None))
        if count > 1:
            if count * width != shape.width:
                raise ValueError(f"lanes of {path}: {count} x {width} bits != {shape.width}")
            out.extend(Field(f"{path}[{k}]", offset + member.offset + k * width, width,
                             signed) for k in range(count))
    return out


def _interface(component) -> tuple[PortFacts, ...]:
    lanes = dict(getattr(component, "lanes", {}) or {})
    ports = []
    for path, member, value in component.signature.flatten(component):
        name = "__".join(map(str, path))
        direction = "input" if member.flow == In else "output"
        cast = Value.cast(value)
        if not isinstance(cast, Signal):
            continue  # a constant member (an always_ready stream's ready) is no port
        fields = ()
        if isinstance(value, data.View):
            prefix = ".".join(map(str, path[:-1] if path[-1] == "payload" else path))
            fields = tuple(_fields(value.shape(), "", 0,
                                   {k.removeprefix(prefix + "."): v for k, v in lanes.items()}))
        shape = cast.shape()
        ports.append(PortFacts(name, direction, shape.width, shape.signed, fields))
    return tuple(ports)


def _facts(component) -> tuple[tuple[str, object], ...]:
    doc = inspect.getdoc(type(component)) or ""
    note = getattr(component, "function_note", None)
    summary = note or " ".join(doc.split("\n\n")[0].split())
    facts = [("summary", summary)] if summary else []
    if doc and not note:  # the docstring states the contract (ports, latency, signedness)
        facts.append(("contract", doc))
    for name in FACT_ATTRIBUTES:
        value = getattr(component, name, None)
        if value is not None:
            facts.append((name, dict(value) if isinstance(value, dict) else value))
    return tuple(facts)


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
    Icarus (any ``-g`` mode), Verilator and Yosys's ``sim``, with no help from the testbench.

    The RTL also records the component's ``interface`` (each port's flow, shape and
    payload fields, with the lanes of the component's ``lanes`` table) and its ``facts``
    (``FACT_ATTRIBUTES``, summary and contract), from which datasheets are made.
    """
    ports, flows = {}, {}
    for path, member, value in component.signature.flatten(component):
        value = Value.cast(value)
        if isinstance(value, Signal):
            name = "__".join(map(str, path))
            ports[name] = (value, None)
            flows[name] = "input" if member.flow == In else "output"
    text = portable(verilog.convert(component, name=top, emit_src=False, ports=ports))
    rtl = RTL(top, text, _interface(component), _facts(component))
    got = {p.name: p.direction for p in rtl.ports if p.name in flows}
    wrong = sorted(n for n, direction in got.items() if direction != flows[n])
    if wrong:
        raise ValueError(f"{top}: output ports never driven: {', '.join(wrong)}")
    return rtl
