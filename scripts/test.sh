#!/usr/bin/env bash
# Set up (install, build) and run the whole test suite with CTest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
ctest --preset release --parallel 2
