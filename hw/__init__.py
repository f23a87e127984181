"""Amaranth HDL generators for quantization hardware (``amaranth.lib.wiring`` Components)."""
