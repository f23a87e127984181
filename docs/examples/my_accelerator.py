"""A user's own Amaranth design built from quantrtl's hardware units.

``MyAccelerator`` holds two units side by side:

* an ``IntMAC`` (INT4 x INT4, 16-bit accumulator) for a plain integer dot product, and
* an ``OVPPE`` with OVP4 weights (int4 normals, E2M1 outliers, bias 2) times signed INT8
  activations (W4A8), 24-bit accumulator.

Both share ``valid`` and ``clear``. The testbench at the bottom drives a few values with
Amaranth's own simulator and checks the accumulators against values worked out by hand.

Run it from the repository root::

    .venv/bin/python docs/examples/my_accelerator.py
"""

from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from quantrtl.hw.mac import IntMAC
from quantrtl.hw.ovp import OVPPE, OVPParams


class MyAccelerator(wiring.Component):
    """``int_acc += a * b`` and ``ovp_acc += decode(w | w_nb) * x`` when ``valid``.

    ``w`` is an OVP4 code and ``w_nb`` the code of its pair neighbour (the decoder needs
    both to tell a normal from an outlier or a victim). Latency 1 (``pipeline=0``).
    """

    a: In(signed(4))
    b: In(signed(4))
    w: In(4)
    w_nb: In(4)
    x: In(signed(8))
    valid: In(1)
    clear: In(1)
    int_acc: Out(signed(16))
    ovp_acc: Out(signed(24))

    def elaborate(self, platform):
        m = Module()
        m.submodules.mac = mac = IntMAC(a_width=4, a_signed=True, b_width=4, b_signed=True,
                                        acc_width=16, pipeline=0, overflow="wrap")
        m.submodules.pe = pe = OVPPE(OVPParams.int4(), act=None, x_width=8, acc_width=24,
                                     pipeline=0, overflow="wrap")
        m.d.comb += [
            mac.a.eq(self.a), mac.b.eq(self.b),
            pe.w.eq(self.w), pe.w_nb.eq(self.w_nb), pe.x.eq(self.x),
            mac.valid.eq(self.valid), mac.clear.eq(self.clear),
            pe.valid.eq(self.valid), pe.clear.eq(self.clear),
            self.int_acc.eq(mac.acc), self.ovp_acc.eq(pe.acc),
        ]
        return m


# One row per cycle: inputs, then the accumulators expected after that cycle's clock edge.
# OVP4 codes (int4 normals): 0b0011 = 3, 0b1111 = -1, 0b1000 = the identifier. A code
# whose neighbour is the identifier is an outlier s|ee|m = (-1)^s * (2 + m) << (e + 2):
# 0b0101 = +(2+1) << (2+2) = 48, 0b1011 = -(2+1) << (1+2) = -24. The identifier itself
# is the victim and counts as 0.
#        a   b   w       w_nb    x    valid clear  int_acc        ovp_acc
STEPS = [
    (3, -2, 0b0011, 0b0001, 10, 1, 1, -6, 30),                 # new sums: 3*-2, 3*10
    (-4, 5, 0b0101, 0b1000, -2, 1, 0, -6 - 20, 30 - 96),       # outlier 48 * -2
    (7, 7, 0b1000, 0b0101, 100, 1, 0, -26 + 49, -66 + 0),      # victim: 0 * 100
    (-8, -8, 0b1011, 0b1000, 3, 1, 0, 23 + 64, -66 - 72),      # outlier -24 * 3
    (5, 5, 0b1111, 0b0010, -128, 0, 0, 87, -138),              # valid = 0: hold
    (2, 3, 0b1111, 0b0010, -128, 1, 0, 87 + 6, -138 + 128),    # normal -1 * -128
    (0, 0, 0, 0, 0, 0, 1, 0, 0),                               # clear alone: empty
]


def simulate(vcd_path=None):
    """Run ``STEPS`` through ``MyAccelerator``; return ``(cycle, name, got, expected)`` rows."""
    dut = MyAccelerator()
    checks = []

    async def testbench(ctx):
        for cycle, (a, b, w, w_nb, x, valid, clear, int_exp, ovp_exp) in enumerate(STEPS):
            for port, value in ((dut.a, a), (dut.b, b), (dut.w, w), (dut.w_nb, w_nb),
                                (dut.x, x), (dut.valid, valid), (dut.clear, clear)):
                ctx.set(port, value)
            await ctx.tick()  # latency 1: the edge that takes this cycle's inputs
            checks.append((cycle, "int_acc", ctx.get(dut.int_acc), int_exp))
            checks.append((cycle, "ovp_acc", ctx.get(dut.ovp_acc), ovp_exp))

    sim = Simulator(dut)
    sim.add_clock(1e-8)  # 100 MHz, the sync domain
    sim.add_testbench(testbench)
    if vcd_path:
        with sim.write_vcd(vcd_path):
            sim.run()
    else:
        sim.run()
    return checks


def main():
    failed = 0
    for cycle, name, got, expected in simulate():
        status = "ok" if got == expected else "MISMATCH"
        failed += got != expected
        print(f"cycle {cycle}: {name} = {got:5d} (expected {expected:5d}) {status}")
    print("all checks passed" if not failed else f"{failed} checks failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
