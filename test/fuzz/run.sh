#!/usr/bin/env bash
# Build the libFuzzer targets (clang-14 + libclang-rt-14-dev) with ASan and
# UBSan and run each for a bounded time:  test/fuzz/run.sh [seconds-per-target]
# Prints PASS/FAIL lines; crashing inputs are kept in test/fuzz/artifacts/.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
build=test/fuzz/build
mkdir -p "$build" test/fuzz/artifacts
status=0
for target in test/fuzz/fuzz_*.c; do
	name=$(basename "$target" .c)
	corpus_seed=test/fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d)
	if ! clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-Isrc -o "$build/$name" "$target" src/core/embedding_codec.c src/core/agg_state.c -lm 2>"$build/$name.log"; then
		cat "$build/$name.log"
		echo "FAIL fuzz:$name:compile"
		status=1
		continue
	fi
	if "$build/$name" -max_total_time="$seconds" -max_len=70000 -timeout=5 \
		-artifact_prefix=test/fuzz/artifacts/ "$work" "$corpus_seed" >"$build/$name.out" 2>&1; then
		echo "PASS fuzz:$name ($(grep -o "Done [0-9]* runs" "$build/$name.out") in ${seconds}s)"
	else
		tail -30 "$build/$name.out"
		echo "FAIL fuzz:$name"
		status=1
	fi
	rm -rf "$work"
done
exit $status
