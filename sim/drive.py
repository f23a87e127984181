"""Reusable cocotb stimulus: clock and reset, and cycle-by-cycle driving with sampling."""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

__all__ = ["bench_config", "start_clock", "reset", "drive_and_sample", "drive_comb",
           "to_unsigned"]

CLOCK_NS = 10


def bench_config() -> dict:
    """The configuration ``sim.harness.run_bench`` handed to this simulation."""
    with open(os.environ["QUANTRTL_BENCH_CONFIG"]) as f:
        return json.load(f)


def to_unsigned(value: int, width: int) -> int:
    """A Python integer as the ``width``-bit pattern a port carries."""
    return value & ((1 << width) - 1)


async def start_clock(dut):
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())


async def reset(dut, idle: dict[str, int], cycles: int = 2):
    """Hold ``rst`` for ``cycles`` edges with the inputs at ``idle``; return at a falling edge."""
    for name, value in idle.items():
        getattr(dut, name).value = value
    dut.rst.value = 1
    for _ in range(cycles):
        await FallingEdge(dut.clk)
    dut.rst.value = 0


async def drive_and_sample(dut, stimulus: dict[str, list[int]], outputs: dict[str, bool],
                           latency: int, idle: dict[str, int]) -> dict[str, list[int]]:
    """Apply one stimulus vector per clock cycle; return each output as it was ``latency``
    edges after each vector.

    ``stimulus`` maps input names to equal-length lists of values (negative values are
    written as two's complement); ``outputs`` maps output names to their signedness.
    Inputs change on falling edges, outputs are read on falling edges. After the last vector
    the inputs go to ``idle``. Result ``[name][t]`` is the output after the ``latency``-th
    rising edge following vector ``t``.
    """
    names = list(stimulus)
    length = len(stimulus[names[0]]) if names else 0
    if any(len(v) != length for v in stimulus.values()):
        raise ValueError("stimulus lists differ in length")
    handles = {n: getattr(dut, n) for n in names}
    widths = {n: len(h) for n, h in handles.items()}
    out_handles = {n: getattr(dut, n) for n in outputs}
    samples: dict[str, list[int]] = {n: [] for n in outputs}
    for t in range(length + latency):
        if t < length:
            for n in names:
                handles[n].value = to_unsigned(stimulus[n][t], widths[n])
        else:
            for n, v in idle.items():
                handles[n].value = to_unsigned(v, widths[n])
        await FallingEdge(dut.clk)
        for n, is_signed in outputs.items():
            samples[n].append(_read(out_handles[n], is_signed))
    return {n: s[latency - 1:latency - 1 + length] for n, s in samples.items()}


async def drive_comb(dut, stimulus: dict[str, list[int]],
                     outputs: dict[str, bool]) -> dict[str, list[int]]:
    """For a combinational unit (no clock): apply each vector, settle 1 ns, read outputs."""
    names = list(stimulus)
    handles = {n: getattr(dut, n) for n in names}
    widths = {n: len(h) for n, h in handles.items()}
    out_handles = {n: getattr(dut, n) for n in outputs}
    samples: dict[str, list[int]] = {n: [] for n in outputs}
    for t in range(len(stimulus[names[0]])):
        for n in names:
            handles[n].value = to_unsigned(stimulus[n][t], widths[n])
        await Timer(1, unit="ns")
        for n, is_signed in outputs.items():
            samples[n].append(_read(out_handles[n], is_signed))
    return samples


def _read(handle, is_signed: bool):
    """An output's value as an int, or None while it holds X or Z bits."""
    value = handle.value
    if not value.is_resolvable:
        return None
    if not hasattr(value, "to_unsigned"):  # a 1-bit port reads as a single Logic
        return int(value)
    return value.to_signed() if is_signed else value.to_unsigned()
