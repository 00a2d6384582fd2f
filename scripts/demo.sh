#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs
# `mrnet demo` (synthetic music -> features -> training -> evaluation -> plots).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/mrnet demo -o mrnet-demo "$@"
