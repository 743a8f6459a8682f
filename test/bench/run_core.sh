#!/usr/bin/env bash
# Build and run the core benchmark (no server): sgemm peak, evaluation, iALS.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p test/bench/build
gcc -std=gnu11 -O2 -march=native -ftree-vectorize -fassociative-math -fno-signed-zeros \
	-fno-trapping-math -Isrc -o test/bench/build/bench_core test/bench/bench_core.c \
	src/core/*.c -lopenblas -lm -lpthread
test/bench/build/bench_core "$@"
