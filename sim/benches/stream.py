"""cocotb bench for any unit checked cycle by cycle against precomputed golden vectors.

Its configuration is ``sim.vectors.Vectors.to_config()``: after a reset with the inputs
idle, one stimulus vector is applied per cycle and every output is compared, ``latency``
edges later, with the golden model's value. ``latency`` 0 means a combinational unit:
each vector is applied, settles for 1 ns, and the outputs are compared. No torch in here:
the simulator only drives and compares.
"""

import cocotb

from quantrtl.sim.drive import bench_config, drive_and_sample, drive_comb, reset, start_clock
from quantrtl.sim.scoreboard import check_trace


@cocotb.test()
async def outputs_match_golden(dut):
    cfg = bench_config()
    if cfg["latency"] == 0:  # combinational: no clock, no reset
        got = await drive_comb(dut, cfg["stimulus"], cfg["signed_outputs"])
    else:
        await start_clock(dut)
        await reset(dut, cfg["idle"])
        got = await drive_and_sample(dut, cfg["stimulus"], cfg["signed_outputs"],
                                     cfg["latency"], cfg["idle"])
    for name, expected in cfg["expected"].items():
        checked = check_trace(name, got[name], expected, inputs=cfg["stimulus"],
                              seed=cfg["seed"], log=dut._log)
        dut._log.info("%s: %d cycles match the golden model (%s, seed %d)", name, checked,
                      cfg["mode"], cfg["seed"])
