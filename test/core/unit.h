/*
 * unit.h
 *		A minimal unit-test harness for the plain-C core.
 *
 * Each test is a function; RUN_TEST prints "PASS name" or "FAIL name" (the
 * lines test/run_tests.sh counts) and every failed CHECK prints where.
 */
#ifndef IREC_UNIT_H
#define IREC_UNIT_H

#include <math.h>
#include <stdio.h>

static int unit_failures;
static int unit_tests_failed;

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			unit_failures++; \
		} \
	} while (0)

#define CHECK_NEAR(a, b, tol) \
	do { \
		double unit_a_ = (a), unit_b_ = (b); \
		if (!(fabs(unit_a_ - unit_b_) <= (tol))) { \
			fprintf(stderr, "%s:%d: %s = %.9g, expected %.9g (tol %g)\n", \
					__FILE__, __LINE__, #a, unit_a_, unit_b_, (double) (tol)); \
			unit_failures++; \
		} \
	} while (0)

#define RUN_TEST(fn) \
	do { \
		int unit_before_ = unit_failures; \
		fn(); \
		if (unit_failures == unit_before_) \
			printf("PASS %s:%s\n", UNIT_NAME, #fn); \
		else { \
			printf("FAIL %s:%s\n", UNIT_NAME, #fn); \
			unit_tests_failed++; \
		} \
	} while (0)

/* A small deterministic generator so tests never depend on libc's rand(). */
static inline unsigned long long
unit_rand_next(unsigned long long *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return *state >> 11;
}

static inline double
unit_rand_uniform(unsigned long long *state)
{
	return (double) unit_rand_next(state) / 9007199254740992.0;
}

#endif
