#!/usr/bin/env bash
# Build and run every test/core/test_*.c against the plain-C core, twice:
# optimized as the extension is built, and under AddressSanitizer +
# UndefinedBehaviorSanitizer.  Prints PASS/FAIL lines.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=test/core/build
mkdir -p "$build"
core_sources=$(ls src/core/*.c)
flags="-std=gnu11 -O2 -g -ftree-vectorize -fassociative-math -fno-signed-zeros -fno-trapping-math -Isrc -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-unused-function"
libs="-lopenblas -lm -lpthread"
status=0
# the backend runs BLAS single-threaded (DESIGN); test the core the same way
export OPENBLAS_NUM_THREADS=1
for test in test/core/test_*.c; do
	name=$(basename "$test" .c)
	for variant in opt san; do
		if [ "$variant" = opt ]; then
			cc=gcc; extra=""
		else
			cc=clang-14; extra="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
		fi
		exe="$build/$name.$variant"
		if ! $cc $flags $extra -DUNIT_NAME="\"$name.$variant\"" -o "$exe" "$test" $core_sources $libs 2>"$exe.log"; then
			cat "$exe.log"
			echo "FAIL $name.$variant:compile"
			status=1
			continue
		fi
		ASAN_OPTIONS=detect_leaks=1 "$exe" || status=1
	done
done

# The distance kernels must vectorize (DESIGN), in each of their builds
# (vecmath_kernels.h, included by vecmath.c once per instruction set): ask
# the compiler which loops it vectorized, with the flags the Makefile uses.
report=$(gcc -O2 -Isrc -ftree-vectorize -fassociative-math -fno-signed-zeros \
	-fno-trapping-math -fopt-info-vec-optimized -c src/core/vecmath.c -o /dev/null 2>&1)
kernels=src/core/vecmath_kernels.h
for fn in dot dot_s16u8 l2_squared norm_squared dot_double norm_squared_double axpy axpby count_greater count_greater_equal; do
	first=$(grep -n "^KERNEL($fn) (" $kernels | cut -d: -f1)
	last=$(awk -v start="$first" 'NR > start && /^}/ { print NR; exit }' $kernels)
	found=$(echo "$report" | awk -F: -v a="$first" -v b="$last" \
		'$1 ~ /vecmath_kernels.h$/ && /loop vectorized/ && $2 > a && $2 < b { n++ } END { print n + 0 }')
	# one vectorized loop per build (three on x86-64)
	if [ "$found" -ge 3 ]; then
		echo "PASS vectorized:$fn"
	else
		echo "FAIL vectorized:$fn ($found vectorized loops in lines $first-$last, expected one per build)"
		status=1
	fi
done
for fn in vec_l1_distance vec_add vec_sub vec_mul; do
	first=$(grep -n "^$fn(" src/core/vecmath.c | cut -d: -f1)
	last=$(awk -v start="$first" 'NR > start && /^}/ { print NR; exit }' src/core/vecmath.c)
	if echo "$report" | awk -F: -v a="$first" -v b="$last" \
		'$1 ~ /vecmath.c$/ && /loop vectorized/ && $2 > a && $2 < b { found = 1 } END { exit !found }'; then
		echo "PASS vectorized:$fn"
	else
		echo "FAIL vectorized:$fn (no loop in lines $first-$last was vectorized)"
		status=1
	fi
done
# vecexp.c is built with -O3 -ffast-math (Makefile) so that it calls
# glibc's SIMD expf and its reductions vectorize: a SIMD expf in each build
# (vec_exp, vec_exp_sum) and every loop of its five kernels vectorized in
# each of the three builds
vecexp_report=$(gcc -O3 -ffast-math -Isrc -fopt-info-vec-optimized -c src/core/vecexp.c -o "$build/vecexp.o" 2>&1)
if [ "$(nm "$build/vecexp.o" | grep -c "_ZGV.*expf")" -ge 3 ] \
	&& [ "$(echo "$vecexp_report" | grep -c "loop vectorized")" -ge 21 ]; then
	echo "PASS vectorized:vecexp"
else
	echo "FAIL vectorized:vecexp (not a SIMD expf call and vectorized loops in each build)"
	status=1
fi
exit $status
