/*
 * test.h - the smallest harness that reports what CI reads.
 *
 * TEST(name) defines a case; CHECK(cond) records a failure with file and
 * line and lets the case go on; RUN(name) runs one case.  TEST_MAIN's
 * closing line is "N passed, N failed" (counted per case), and the exit
 * code is non-zero when anything failed.
 */
#ifndef TIEDOTE_TEST_H
#define TIEDOTE_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed, test_case_failed;

#define TEST(name) static void name(void)
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		test_case_failed = 1;					\
	}								\
} while (0)
#define CHECK_STR(a, b) do {						\
	const char *a_ = (a), *b_ = (b);				\
	if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {		\
		fprintf(stderr, "  FAIL %s:%d: %s == %s\n    got:  %s\n    want: %s\n", \
		    __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
		test_case_failed = 1;					\
	}								\
} while (0)
/* PUT - an append that must fit (buf.h: every result is used); a test's
 * buffers are sized for what it writes, so crossing a ceiling fails the
 * case instead of going on with a truncated text */
#define PUT(x) do {							\
	if ((x) < 0) {							\
		fprintf(stderr, "  FAIL %s:%d: %s: over the ceiling\n",	\
		    __FILE__, __LINE__, #x);				\
		test_case_failed = 1;					\
	}								\
} while (0)
#define RUN(name) do {							\
	test_case_failed = 0;						\
	name();								\
	if (test_case_failed) {						\
		test_failed++;						\
		fprintf(stderr, "not ok - %s\n", #name);		\
	} else {							\
		test_passed++;						\
		printf("ok - %s\n", #name);				\
	}								\
} while (0)
#define TEST_DONE() (printf("%d passed, %d failed\n", test_passed, test_failed), \
	test_failed ? 1 : 0)

#endif
