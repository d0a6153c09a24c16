/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CHECK(cond), shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): a failed
 * invariant prints where and what, then aborts, which libFuzzer reports as a crash
 * and keeps as a reproducer.
 */
#ifndef MARS_FUZZ_CHECK_H
#define MARS_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: check failed: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#endif /* MARS_FUZZ_CHECK_H */
