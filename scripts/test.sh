#!/usr/bin/env bash
# Set up (install, build) and run the whole test suite with CTest, then the
# hardening checks: each parser fuzzed for 60 s (scripts/fuzz.sh) and the core
# and CLI tests again under AddressSanitizer + UBSan (preset asan-core, no GUI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --tests
ctest --preset release --parallel 2

bash scripts/fuzz.sh 60

cmake --preset asan-core >/dev/null
cmake --build --preset asan-core --parallel "$(nproc)"
ctest --preset asan-core --parallel 2
