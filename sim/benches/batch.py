"""cocotb bench for ``sim.batch`` testbenches: run the clock, read the verdict.

The generated testbench applies the vectors and compares every output itself; Python only
starts the clock, waits the configured number of cycles and reports the first mismatch.
"""

import cocotb
from cocotb.triggers import Timer

from quantrtl.sim.drive import CLOCK_NS, bench_config, start_clock


@cocotb.test()
async def batch_matches_golden(dut):
    cfg = bench_config()
    await start_clock(dut)
    await Timer(cfg["cycles"] * CLOCK_NS, unit="ns")  # one trigger: no Python per cycle
    assert int(dut.done.value) == 1, "the testbench did not reach its last vector"
    errors, compared = int(dut.errors.value), int(dut.compared.value)
    if errors:
        index = int(dut.first_bad.value)
        got = ", ".join(f"{o}={_show(getattr(dut, f'bad_{o}').value)}" for o in cfg["outputs"])
        message = (f"vector {index}: first of {errors} mismatching vectors (of {compared}); "
                   f"outputs then: {got}; seed={cfg['seed']}")
        dut._log.error("MISMATCH %s", message)
        raise AssertionError(message)
    dut._log.info("%d vectors match the golden model (%s, seed %d, batched)", compared,
                  cfg["mode"], cfg["seed"])


def _show(value) -> str:
    return f"0x{int(value):x}" if value.is_resolvable else str(value)
