#!/bin/sh
# Make sure a Yosys with the `sim` command is there (the portability test runs the generated
# Verilog under Yosys's own simulation; the YoWASP Yosys in the venv has no `sim`): Debian's
# yosys when we are root and it is missing, otherwise a message saying how to install it.
# Usage: scripts/ensure-yosys-sim.sh
set -eu
if command -v yosys >/dev/null 2>&1; then
  echo "yosys sim: $(yosys -V 2>&1 | head -n 1)"
  exit 0
fi
if sh "$(dirname "$0")/apt-install.sh" "yosys sim" yosys; then
  echo "yosys sim: $(yosys -V 2>&1 | head -n 1)"
  exit 0
fi
echo "yosys sim: no 'yosys' on PATH: install it (Debian/Ubuntu: apt-get install yosys) for" \
  "the Yosys-simulation portability test (tests/test_yosys_sim.py)" >&2
