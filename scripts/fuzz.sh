#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz, clang) and run each for SECONDS
# (default 60, what CI runs: seven targets, one per core at a time, about 4
# minutes in all on 2 cores; the session reader is the slowest, 1,000-5,000
# inputs a second, so 60 s is its floor).
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
mkdir -p build/fuzz/findings build/fuzz/logs
targets=(npy model_card run_recipe session compare_cache lesson train_config)
jobs="$(nproc)" # one fuzzer per core: the time per target is fixed, so this shortens the stage

fuzz_one() { # target: its fuzzer's exit status; the summary lines in build/fuzz/logs/<target>.log
  set +e # runs in its own subshell (&): keep going to write the summary
  local target="$1" corpus="build/fuzz/corpus/$1"
  mkdir -p "$corpus"
  build/fuzz/tests/fuzz/fuzz_"$target" -max_total_time="$seconds" -malloc_limit_mb=256 -rss_limit_mb=2048 \
    -timeout=5 -print_final_stats=1 -artifact_prefix=build/fuzz/findings/"$target"- \
    "$corpus" "tests/fuzz/corpus/$target" > build/fuzz/logs/"$target".full 2>&1
  local status=$?
  grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|ERROR|SUMMARY|==[0-9]+==" \
    build/fuzz/logs/"$target".full > build/fuzz/logs/"$target".log
  return $status
}

failed=()
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
  batch=("${targets[@]:i:jobs}")
  pids=()
  for target in "${batch[@]}"; do
    echo "fuzz: $target for ${seconds}s"
    fuzz_one "$target" &
    pids+=($!)
  done
  for k in "${!batch[@]}"; do
    set +e
    wait "${pids[$k]}"
    status=$?
    set -e
    echo "fuzz: ${batch[$k]} done (exit $status)"
    cat build/fuzz/logs/"${batch[$k]}".log 2>/dev/null || true
    [ "$status" -eq 0 ] || failed+=("${batch[$k]}")
  done
done
if ((${#failed[@]})); then
  echo "fuzz: ${failed[*]} found a problem, see build/fuzz/findings/ and build/fuzz/logs/<target>.full"
  exit 1
fi
