#!/usr/bin/env bash
# Build and run the core benchmark (no server): sgemm peak, evaluation, iALS.
# Built as the extension is (OPTFLAGS adds flags, e.g. -march=native).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p test/bench/build
flags="-std=gnu11 -O2 ${OPTFLAGS:-} -ftree-vectorize -fassociative-math -fno-signed-zeros -fno-trapping-math -Isrc"
# vecexp.c as the Makefile builds it: -ffast-math lets gcc call libmvec's expf
gcc $flags -O3 -ffast-math -c -o test/bench/build/vecexp.o src/core/vecexp.c
gcc $flags -o test/bench/build/bench_core test/bench/bench_core.c \
	$(ls src/core/*.c | grep -v vecexp.c) test/bench/build/vecexp.o -lopenblas -lm -lpthread
test/bench/build/bench_core "$@"
