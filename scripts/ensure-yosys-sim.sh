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
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "yosys sim: installing Yosys (apt-get install yosys)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends yosys >/dev/null; then
    echo "yosys sim: $(yosys -V 2>&1 | head -n 1)"
    exit 0
  fi
  echo "yosys sim: apt-get install yosys failed" >&2
fi
echo "yosys sim: no 'yosys' on PATH: install it (Debian/Ubuntu: apt-get install yosys) for" \
  "the Yosys-simulation portability test (tests/test_yosys_sim.py)" >&2
