// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_store_merge: merging batches from other hosts (docs/journal-format.md
 * section 7): the newer timestamp wins, ties go to the later origin name, a host
 * owns the keys that name it, merged entries keep their own timestamp and origin
 * across a reopen, and merging is idempotent and commutative.
 */
#include "test_store_util.h"

#define T0 1700000000000000000ull

static struct store_op put(const char *key, const char *val, uint64_t ts, const char *origin)
{
	struct store_op op = { key, val, strlen(val), ts, origin, STORE_PUT };

	return op;
}

static struct store_op del(const char *key, uint64_t ts, const char *origin)
{
	struct store_op op = { key, NULL, 0, ts, origin, STORE_DELETE };

	return op;
}

static void merge1(struct store *s, struct store_op op, size_t applied)
{
	struct store_merge_result r;
	struct store_error e = { 0 };

	if (store_merge(s, &op, 1, &r, &e))
		fail_msg("merge %s: %s", op.key, e.msg);
	assert_int_equal(r.applied, applied);
}

/* The whole state as one string, tombstones included. */
struct dump {
	char *buf;
	size_t len, cap;
};

static int dump_cb(const struct store_entry *e, void *arg)
{
	struct dump *d = arg;
	char line[512];
	int n = snprintf(line, sizeof(line), "%s=%.*s@%llu/%s%s\n", e->key,
			 (int)e->value_len, e->value ? (const char *)e->value : "",
			 (unsigned long long)e->ts, e->origin, e->tombstone ? "!" : "");

	if (d->len + (size_t)n + 1 > d->cap) {
		d->cap = (d->cap + (size_t)n + 1) * 2;
		d->buf = realloc(d->buf, d->cap);
		assert_non_null(d->buf);
	}
	memcpy(d->buf + d->len, line, (size_t)n + 1);
	d->len += (size_t)n;
	return 0;
}

static char *dump(struct store *s)
{
	struct dump d = { 0 };

	d.buf = strdup("");
	d.cap = 1;
	assert_int_equal(store_list(s, "", STORE_F_TOMBSTONES, dump_cb, &d, NULL), 0);
	return d.buf;
}

static void newer_timestamp_wins(void **state)
{
	struct tctx *t = *state;
	struct store_merge_result r;
	struct store_entry e;
	struct store *s;
	uint64_t ts;

	t->use_clock = true;
	s = tu_open(t);
	ts = tu_put(s, "/res/r0/primary", "alpha");
	merge1(s, put("/res/r0/primary", "beta", ts + 10, "beta"), 1);
	tu_expect(s, "/res/r0/primary", "beta");
	assert_int_equal(store_get(s, "/res/r0/primary", 0, &e, NULL), 0);
	assert_string_equal(e.origin, "beta");
	assert_true(e.ts == ts + 10);
	merge1(s, put("/res/r0/primary", "gamma", ts + 5, "gamma"), 0);
	tu_expect(s, "/res/r0/primary", "beta");
	/* a local write after the merge is newer than what was merged */
	assert_true(tu_put(s, "/res/r0/primary", "alpha2") > ts + 10);
	tu_expect(s, "/res/r0/primary", "alpha2");
	{
		struct store_op op = put("/res/r0/primary", "old", ts, "beta");

		assert_int_equal(store_merge(s, &op, 1, &r, NULL), 0);
		assert_int_equal(r.older, 1);
	}
	store_close(s);
}

static void tie_broken_by_origin(void **state)
{
	struct tctx *t = *state;
	struct store *s = tu_open(t);
	struct store_entry e;

	merge1(s, put("/k", "from-beta", T0, "beta"), 1);
	merge1(s, put("/k", "from-gamma", T0, "gamma"), 1);
	merge1(s, put("/k", "from-beta", T0, "beta"), 0);
	merge1(s, put("/k", "from-b", T0, "b"), 0);
	tu_expect(s, "/k", "from-gamma");
	/* same timestamp and origin, different kind: ordered anyway (delete last) */
	merge1(s, del("/k", T0, "gamma"), 1);
	merge1(s, put("/k", "zzz", T0, "gamma"), 0);
	assert_int_equal(store_get(s, "/k", STORE_F_TOMBSTONES, &e, NULL), 0);
	assert_int_equal(e.tombstone, 1);
	store_close(s);
}

static void tombstone_against_put(void **state)
{
	struct tctx *t = *state;
	struct store *s = tu_open(t);

	merge1(s, put("/k", "v1", T0 + 1, "beta"), 1);
	merge1(s, del("/k", T0 + 2, "gamma"), 1);
	tu_expect(s, "/k", NULL);
	/* the old put arriving late does not resurrect the key */
	merge1(s, put("/k", "v1", T0 + 1, "beta"), 0);
	tu_expect(s, "/k", NULL);
	/* a newer put does */
	merge1(s, put("/k", "v3", T0 + 3, "beta"), 1);
	tu_expect(s, "/k", "v3");
	store_close(s);
}

static void ownership_violation_refused(void **state)
{
	struct tctx *t = *state;
	struct store_op ops[3];
	struct store_error e;
	struct store *s = tu_open(t);
	uint64_t size = tu_size(t->path);

	ops[0] = put("/shared", "x", T0, "gamma");
	ops[1] = put("/host/@beta/addr", "10.0.0.9", T0, "gamma");
	ops[2] = put("/res/r0/@gamma/replay", "42", T0, "gamma");
	assert_int_equal(store_merge(s, ops, 3, NULL, &e), -EPERM);
	assert_non_null(strstr(e.msg, "owned by host 'beta'"));
	assert_non_null(strstr(e.msg, "'gamma'"));
	/* the whole batch is refused, the file unchanged */
	tu_expect(s, "/shared", NULL);
	tu_expect(s, "/res/r0/@gamma/replay", NULL);
	assert_int_equal(tu_size(t->path), size);
	/* nobody else writes alpha's keys, deletes included */
	ops[0] = del("/host/@alpha/addr", T0, "beta");
	assert_int_equal(store_merge(s, ops, 1, NULL, &e), -EPERM);
	/* the owner may */
	ops[1].origin = "beta";
	assert_int_equal(store_merge(s, ops + 1, 2, NULL, &e), 0);
	tu_expect(s, "/host/@beta/addr", "10.0.0.9");
	tu_expect(s, "/res/r0/@gamma/replay", "42");
	store_close(s);
}

static void invalid_ops_refused(void **state)
{
	struct tctx *t = *state;
	struct store *s = tu_open(t);
	struct store_op ops[2];
	struct store_error e;
	static uint8_t big[STORE_VALUE_MAX + 1];

	ops[0] = put("/ok", "x", T0, "beta");
	ops[1] = put("/bad//key", "x", T0, "beta");
	assert_int_equal(store_merge(s, ops, 2, NULL, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "merge op 1"));
	ops[1] = put("/ok2", "x", T0, "bad host");
	assert_int_equal(store_merge(s, ops, 2, NULL, &e), -EINVAL);
	ops[1] = put("/ok2", "x", 0, "beta");
	assert_int_equal(store_merge(s, ops, 2, NULL, &e), -EINVAL);
	ops[1] = del("/ok2", T0, "beta");
	ops[1].value = "x";
	ops[1].value_len = 1;
	assert_int_equal(store_merge(s, ops, 2, NULL, &e), -EINVAL);
	ops[1] = put("/ok2", "x", T0, "beta");
	ops[1].kind = 9;
	assert_int_equal(store_merge(s, ops, 2, NULL, &e), -EINVAL);
	ops[1] = put("/ok2", "x", T0, "beta");
	ops[1].value = big;
	ops[1].value_len = sizeof(big);
	assert_int_equal(store_merge(s, ops, 2, NULL, &e), -EMSGSIZE);
	tu_expect(s, "/ok", NULL);
	assert_int_equal(tu_size(t->path), SJ_HDR_SIZE);
	store_close(s);
}

static void merged_entries_survive_reopen(void **state)
{
	struct tctx *t = *state;
	struct store_op ops[3];
	struct store_merge_result r;
	struct store_entry e;
	struct store *s = tu_open(t);
	char *before, *after;

	ops[0] = put("/a", "1", T0 + 7, "beta");
	ops[1] = put("/b", "2", T0 + 3, "gamma");
	ops[2] = del("/c", T0 + 5, "beta");
	assert_int_equal(store_merge(s, ops, 3, &r, NULL), 0);
	assert_int_equal(r.applied, 3);
	before = dump(s);
	store_close(s);
	s = tu_open_ro(t);
	after = dump(s);
	assert_string_equal(before, after);
	assert_int_equal(store_get(s, "/b", 0, &e, NULL), 0);
	assert_string_equal(e.origin, "gamma");
	assert_true(e.ts == T0 + 3);
	assert_true(store_clock(s) >= T0 + 7);
	store_close(s);
	free(before);
	free(after);
}

static void merge_is_idempotent(void **state)
{
	struct tctx *t = *state;
	struct store_op ops[4];
	struct store_merge_result r;
	struct store *s = tu_open(t);
	uint64_t size;
	char *first, *second;

	ops[0] = put("/a", "1", T0 + 1, "beta");
	ops[1] = put("/b", "2", T0 + 2, "beta");
	ops[2] = del("/a", T0 + 3, "gamma");
	ops[3] = put("/host/@beta/x", "y", T0 + 1, "beta");
	assert_int_equal(store_merge(s, ops, 4, &r, NULL), 0);
	assert_int_equal(r.applied, 3);	/* /a twice in one batch: the later wins */
	assert_int_equal(r.older, 1);
	first = dump(s);
	size = tu_size(t->path);
	assert_int_equal(store_merge(s, ops, 4, &r, NULL), 0);
	assert_int_equal(r.applied, 0);
	assert_int_equal(r.older, 4);
	second = dump(s);
	assert_string_equal(first, second);
	assert_int_equal(tu_size(t->path), size);	/* nothing written */
	store_close(s);
	free(first);
	free(second);
}

/* A deterministic pseudo-random generator for the commutativity test. */
static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

#define NB	6	/* batches */
#define NOPS	12	/* ops per batch */

static void merge_is_commutative(void **state)
{
	static const char *const hosts[] = { "alpha", "beta", "gamma", "delta" };
	static const char *const keys[] = { "/k/a", "/k/b", "/k/c", "/k/d", "/host/@beta/x",
					    "/res/@gamma/y" };
	static const char *const vals[] = { "", "v1", "v2", "vv" };
	struct tctx *t = *state;
	struct store_op ops[NB][NOPS];
	char *ref = NULL;
	uint32_t x = 2463534242u;
	size_t b, i, perm[NB], round;

	/* batches with colliding timestamps, ties, deletes and owned keys */
	for (b = 0; b < NB; b++) {
		for (i = 0; i < NOPS; i++) {
			const char *key = keys[rnd(&x) % 6];
			const char *origin = hosts[rnd(&x) % 4];
			uint64_t ts = T0 + rnd(&x) % 5;
			char owner[STORE_HOST_MAX + 1];

			if (store_key_owner(key, owner, sizeof(owner)) == 1)
				origin = !strcmp(owner, "beta") ? "beta" : "gamma";
			if (rnd(&x) % 4 == 0)
				ops[b][i] = del(key, ts, origin);
			else
				ops[b][i] = put(key, vals[rnd(&x) % 4], ts, origin);
		}
	}
	for (round = 0; round < 24; round++) {
		struct store_options o;
		struct store *s;
		char path[2400], *got;

		for (b = 0; b < NB; b++)
			perm[b] = b;
		for (b = NB - 1; b > 0; b--) {
			size_t j = rnd(&x) % (b + 1), tmp = perm[b];

			perm[b] = perm[j];
			perm[j] = tmp;
		}
		snprintf(path, sizeof(path), "%s/j%zu", t->dir, round);
		tu_opts(t, &o, "alpha", STORE_O_CREATE);
		assert_int_equal(store_open(path, &o, &s, NULL), 0);
		for (b = 0; b < NB; b++) {
			/* every other round merges some batches twice */
			assert_int_equal(store_merge(s, ops[perm[b]], NOPS, NULL, NULL), 0);
			if (round % 2)
				assert_int_equal(store_merge(s, ops[perm[(b + 1) % NB]], NOPS,
							     NULL, NULL), 0);
		}
		got = dump(s);
		store_close(s);
		/* and the recovered state is the same as the live one */
		o.flags = STORE_O_READONLY;
		assert_int_equal(store_open(path, &o, &s, NULL), 0);
		{
			char *again = dump(s);

			assert_string_equal(got, again);
			free(again);
		}
		store_close(s);
		if (!ref)
			ref = got;
		else {
			assert_string_equal(ref, got);
			free(got);
		}
	}
	assert_true(strlen(ref) > 0);
	free(ref);
}

static void merge_needs_a_writer(void **state)
{
	struct tctx *t = *state;
	struct store_op op = put("/a", "1", T0, "beta");
	struct store_error e;
	struct store *s = tu_open(t);

	store_close(s);
	s = tu_open_ro(t);
	assert_int_equal(store_merge(s, &op, 1, NULL, &e), -EROFS);
	store_close(s);
}

static void many_origins(void **state)
{
	struct tctx *t = *state;
	struct store_op ops[300];
	char names[300][16];
	struct store_stats st;
	struct store *s = tu_open(t);
	size_t i;

	for (i = 0; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "h%zu", i);
		ops[i] = put("/k", names[i], T0 + i % 7, names[i]);
	}
	assert_int_equal(store_merge(s, ops, 300, NULL, NULL), 0);
	store_close(s);
	s = tu_open_ro(t);
	store_stats(s, &st);
	assert_int_equal(st.keys, 1);
	/* greatest (ts, origin): ts T0+6 from i = 6, 13, ..., 293: "h97" sorts last */
	tu_expect(s, "/k", "h97");
	store_close(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tu_setup, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(newer_timestamp_wins),
		T(tie_broken_by_origin),
		T(tombstone_against_put),
		T(ownership_violation_refused),
		T(invalid_ops_refused),
		T(merged_entries_survive_reopen),
		T(merge_is_idempotent),
		T(merge_is_commutative),
		T(merge_needs_a_writer),
		T(many_origins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
