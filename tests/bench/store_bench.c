// SPDX-License-Identifier: GPL-2.0
/*
 * store_bench: drives libmarsstore for the store benchmarks (tests/bench/store) and
 * the kill -9 loop (tests/host/store-killloop.sh).
 *
 *   store_bench batches DIR KEYS N   N batches of KEYS keys, each fsynced; prints
 *                                    "<batches/s>"
 *   store_bench fill DIR NKEYS       NKEYS live keys, 10000 per batch
 *   store_bench open DIR             open + recover; prints "<seconds> <keys>"
 *   store_bench compact DIR          prints "<seconds> <bytes before> <bytes after>"
 *   store_bench stream DIR KEYS      batches of KEYS keys /s/<n>/<k> = "<n>" until
 *                                    killed; prints "ack <n>" after each commit
 *   store_bench verify DIR KEYS      every batch whole or absent; prints the batch
 *                                    numbers present, one a line
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct store *open_dir(const char *dir, int create)
{
	struct store_options o;
	struct store_error se;
	struct store *s;
	char path[4200];

	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/journal", dir);
	store_options_init(&o);
	o.host = "bench";
	o.flags = create ? STORE_O_CREATE : 0;
	o.lock_timeout_ms = 10000;
	o.compact_min_bytes = UINT64_MAX;	/* compaction only when asked */
	if (store_open(path, &o, &s, &se)) {
		fprintf(stderr, "store_bench: %s\n", se.msg);
		exit(1);
	}
	return s;
}

static void commit(struct store *s, struct store_batch *b)
{
	struct store_error se;

	if (store_commit(s, b, NULL, &se)) {
		fprintf(stderr, "store_bench: %s\n", se.msg);
		exit(1);
	}
	store_batch_reset(b);
}

static void put(struct store_batch *b, const char *key, const char *val)
{
	struct store_error se;

	if (store_batch_put(b, key, val, strlen(val), &se)) {
		fprintf(stderr, "store_bench: %s\n", se.msg);
		exit(1);
	}
}

struct verify {
	unsigned long keys;	/* keys per batch */
	unsigned long cur, seen;	/* batch being counted, its keys */
	int bad;
};

static int verify_cb(const struct store_entry *e, void *arg)
{
	struct verify *v = arg;
	unsigned long n = strtoul(e->key + 3, NULL, 10);

	if (n != v->cur) {
		if (v->seen && v->seen != v->keys) {
			printf("partial %lu %lu\n", v->cur, v->seen);
			v->bad = 1;
		} else if (v->seen) {
			printf("%lu\n", v->cur);
		}
		v->cur = n;
		v->seen = 0;
	}
	v->seen++;
	return 0;
}

int main(int argc, char **argv)
{
	struct store_batch *b = store_batch_new();
	struct store_error se;
	struct store *s;
	char key[64], val[64];
	double t0;

	if (argc < 3 || !b) {
		fprintf(stderr, "usage: see the comment at the top of store_bench.c\n");
		return 2;
	}
	if (!strcmp(argv[1], "batches") && argc == 5) {
		unsigned long keys = strtoul(argv[3], NULL, 10), n = strtoul(argv[4], NULL, 10);

		s = open_dir(argv[2], 1);
		t0 = now();
		for (unsigned long i = 0; i < n; i++) {
			for (unsigned long k = 0; k < keys; k++) {
				snprintf(key, sizeof(key), "/b/%lu", k);
				snprintf(val, sizeof(val), "%lu", i);
				put(b, key, val);
			}
			commit(s, b);
		}
		printf("%.1f\n", (double)n / (now() - t0));
	} else if (!strcmp(argv[1], "fill") && argc == 4) {
		unsigned long n = strtoul(argv[3], NULL, 10);

		s = open_dir(argv[2], 1);
		for (unsigned long i = 0; i < n; i++) {
			snprintf(key, sizeof(key), "/res/r%lu/hosts/bench/data", i);
			put(b, key, "/dev/vda");
			if (store_batch_count(b) == 10000)
				commit(s, b);
		}
		commit(s, b);
	} else if (!strcmp(argv[1], "open")) {
		struct store_stats st;

		t0 = now();
		s = open_dir(argv[2], 0);
		store_stats(s, &st);
		printf("%.3f %" PRIu64 "\n", now() - t0, st.keys);
	} else if (!strcmp(argv[1], "compact")) {
		struct store_stats a, c;

		s = open_dir(argv[2], 0);
		store_stats(s, &a);
		t0 = now();
		if (store_compact(s, &se)) {
			fprintf(stderr, "store_bench: %s\n", se.msg);
			return 1;
		}
		store_stats(s, &c);
		printf("%.3f %" PRIu64 " %" PRIu64 "\n", now() - t0, a.file_bytes, c.file_bytes);
	} else if (!strcmp(argv[1], "stream") && argc == 4) {
		unsigned long keys = strtoul(argv[3], NULL, 10);
		struct store_stats st;

		s = open_dir(argv[2], 1);
		store_stats(s, &st);
		setvbuf(stdout, NULL, _IOLBF, 0);
		/* continue after the batches of earlier runs: n from the clock */
		for (unsigned long n = (unsigned long)(st.records + 1) * 1000;; n++) {
			for (unsigned long k = 0; k < keys; k++) {
				snprintf(key, sizeof(key), "/s/%012lu/%lu", n, k);
				snprintf(val, sizeof(val), "%lu", n);
				put(b, key, val);
			}
			commit(s, b);
			printf("ack %lu\n", n);
		}
	} else if (!strcmp(argv[1], "verify") && argc == 4) {
		struct verify v = { .keys = strtoul(argv[3], NULL, 10) };
		struct store_options o;
		char path[4200];

		snprintf(path, sizeof(path), "%s/journal", argv[2]);
		store_options_init(&o);
		o.flags = STORE_O_READONLY;
		if (store_open(path, &o, &s, &se)) {
			fprintf(stderr, "store_bench: %s\n", se.msg);
			return 1;
		}
		if (store_list(s, "/s/", 0, verify_cb, &v, &se) < 0) {
			fprintf(stderr, "store_bench: %s\n", se.msg);
			return 1;
		}
		verify_cb(&(struct store_entry){ .key = "/s/999999999999/0" }, &v);
		store_close(s);
		store_batch_free(b);
		return v.bad;
	} else {
		fprintf(stderr, "usage: see the comment at the top of store_bench.c\n");
		return 2;
	}
	store_close(s);
	store_batch_free(b);
	return 0;
}
