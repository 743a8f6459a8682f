#!/usr/bin/env bash
# Build and run the core benchmark (no server): sgemm peak, evaluation, iALS.
# Built as the extension is (OPTFLAGS adds flags, e.g. -march=native).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p test/bench/build
gcc -std=gnu11 -O2 ${OPTFLAGS:-} -ftree-vectorize -fassociative-math -fno-signed-zeros \
	-fno-trapping-math -Isrc -o test/bench/build/bench_core test/bench/bench_core.c \
	src/core/*.c -lopenblas -lm -lpthread
test/bench/build/bench_core "$@"
