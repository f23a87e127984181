#!/bin/sh
# Install one Debian package when we are root and apt-get is there; say what happens.
# Usage: scripts/apt-install.sh LABEL PACKAGE   (exit 0: installed; 1: could not)
set -eu
label=$1
package=$2
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  exit 1
fi
echo "$label: installing $package (apt-get install $package)"
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq --no-install-recommends "$package" >/dev/null
then
  exit 0
fi
echo "$label: apt-get install $package failed" >&2
exit 1
