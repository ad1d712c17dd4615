#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz, clang) and run each for SECONDS
# (default 60, what CI runs: seven targets, about 7 minutes in all; the session
# reader is the slowest, 1,000-5,000 inputs a second, so 60 s is its floor).
# New inputs go to build/fuzz/corpus/<target> (the committed seeds in
# tests/fuzz/corpus stay as they are); a crash, a
# sanitizer report or a single allocation over 256 MiB fails the run and
# leaves the input in build/fuzz/findings/.
#   scripts/fuzz.sh            # 60 s per target
#   scripts/fuzz.sh 1800       # a longer campaign
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-60}"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --parallel "$(nproc)" >/dev/null
mkdir -p build/fuzz/findings
for target in npy model_card run_recipe session compare_cache lesson train_config; do
  corpus="build/fuzz/corpus/$target"
  mkdir -p "$corpus"
  echo "fuzz: $target for ${seconds}s"
  set +e
  build/fuzz/tests/fuzz/fuzz_"$target" -max_total_time="$seconds" -malloc_limit_mb=256 -rss_limit_mb=2048 \
    -timeout=5 -print_final_stats=1 -artifact_prefix=build/fuzz/findings/"$target"- \
    "$corpus" "tests/fuzz/corpus/$target" 2>&1 | grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|ERROR|SUMMARY|==[0-9]+=="
  status=${PIPESTATUS[0]} # the fuzzer's, not grep's (grep only hides the progress lines)
  set -e
  [ "$status" -eq 0 ] || { echo "fuzz: $target found a problem (exit $status), see build/fuzz/findings/"; exit 1; }
done
