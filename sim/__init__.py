"""Verification: generated Verilog run in a real simulator through cocotb, checked against
``golden/``. ``harness`` builds and runs, ``drive`` moves stimulus, ``scoreboard`` compares."""
