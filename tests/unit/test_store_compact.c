// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_store_compact: compaction and repair (docs/journal-format.md sections 6, 10
 * and 11): the ratio trigger, the same state before and after, a crash after every
 * step leaving either the old or the new file valid, tombstones kept until they are
 * both old and acknowledged, no resurrection below the purge floor, and repair
 * keeping the valid prefix while saving the rest aside.
 */
#include <dirent.h>

#include "test_store_util.h"

#define HOUR (3600ull * 1000000000ull)

struct dump {
	char *buf;
	size_t len, cap;
};

static int dump_cb(const struct store_entry *e, void *arg)
{
	struct dump *d = arg;
	char line[256];
	int n = snprintf(line, sizeof(line), "%s=%.*s@%llu/%s%s\n", e->key,
			 (int)(e->value_len > 64 ? 64 : e->value_len),
			 e->value ? (const char *)e->value : "", (unsigned long long)e->ts,
			 e->origin, e->tombstone ? "!" : "");

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

/* Overwrites, deletes and merged entries: a journal with dead records. */
static void fill(struct store *s)
{
	struct store_op op = { "/res/r0/@beta/replay", "77", 2, 0, "beta", STORE_PUT };
	char key[32], val[32];
	int i, round;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < 20; i++) {
			snprintf(key, sizeof(key), "/k/%02d", i);
			snprintf(val, sizeof(val), "r%d-%d", round, i);
			tu_put(s, key, val);
		}
	}
	tu_del(s, "/k/03");
	tu_del(s, "/k/04");
	op.ts = store_clock(s) + 5;
	assert_int_equal(store_merge(s, &op, 1, NULL, NULL), 0);
	tu_put(s, "/host/@alpha/addr", "10.1.1.1");
}

static int count_files(const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

static void compaction_keeps_state(void **state)
{
	struct tctx *t = *state;
	struct store_stats a, b;
	struct store *s = tu_open(t);
	char *before, *after;
	uint64_t size;

	fill(s);
	before = dump(s);
	store_stats(s, &a);
	size = tu_size(t->path);
	assert_int_equal(store_compact(s, NULL), 0);
	store_stats(s, &b);
	after = dump(s);
	assert_string_equal(before, after);
	free(after);
	assert_true(tu_size(t->path) < size / 2);
	assert_int_equal(b.file_bytes, tu_size(t->path));
	assert_true(b.salt != a.salt);
	assert_int_equal(b.generation, a.generation + 1);
	assert_int_equal(b.records, 1);
	assert_int_equal(b.keys, a.keys);
	assert_int_equal(b.tombstones, 2);
	assert_true(b.clock == a.clock);
	assert_true(b.dead_bytes < 200);
	/* still writable after the switch */
	tu_put(s, "/after", "1");
	store_close(s);
	assert_int_equal(count_files(t->dir, "journal.compact-tmp"), 0);
	s = tu_open_ro(t);
	after = dump(s);
	assert_non_null(strstr(after, "/after=1@"));
	assert_non_null(strstr(after, "/res/r0/@beta/replay=77@"));
	assert_non_null(strstr(after, "/beta\n"));
	tu_expect(s, "/k/05", "r2-5");
	tu_expect(s, "/k/03", NULL);
	store_close(s);
	free(before);
	free(after);
}

static int count_cb(const struct store_entry *e, void *arg)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

static void compaction_drops_history(void **state)
{
	struct tctx *t = *state;
	struct store *s = tu_open(t);
	int n = 0;

	fill(s);
	assert_int_equal(store_history(s, "/k/05", 0, count_cb, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_compact(s, NULL), 0);
	n = 0;
	assert_int_equal(store_history(s, "/k/05", 0, count_cb, &n, NULL), 0);
	assert_int_equal(n, 1);
	store_close(s);
}

static void ratio_trigger(void **state)
{
	struct tctx *t = *state;
	struct store_options o;
	struct store_stats st;
	struct store *s;
	int done = 0, i, compacted_at = -1;
	char val[64];

	tu_opts(t, &o, "alpha", STORE_O_CREATE);
	o.compact_min_bytes = 4096;
	o.compact_dead_pct = 50;
	assert_int_equal(store_open(t->path, &o, &s, NULL), 0);
	/* live data alone never triggers */
	for (i = 0; i < 200; i++) {
		snprintf(val, sizeof(val), "/live/%03d", i);
		tu_put(s, val, "0123456789012345678901234567890123456789");
	}
	assert_int_equal(store_maybe_compact(s, &done, NULL), 0);
	store_stats(s, &st);
	assert_true(st.file_bytes > 4096);
	assert_true(st.dead_bytes * 100 < 50 * (st.file_bytes - SJ_HDR_SIZE));
	assert_int_equal(done, 0);
	/* overwriting one key: dead bytes grow until the ratio is passed */
	for (i = 0; i < 400 && compacted_at < 0; i++) {
		snprintf(val, sizeof(val), "%040d", i);
		tu_put(s, "/hot", val);
		assert_int_equal(store_maybe_compact(s, &done, NULL), 0);
		if (done)
			compacted_at = i;
	}
	assert_true(compacted_at > 0);
	store_stats(s, &st);
	assert_int_equal(st.records, 1);
	assert_int_equal(st.keys, 201);
	assert_int_equal(store_maybe_compact(s, &done, NULL), 0);
	assert_int_equal(done, 0);
	store_close(s);

	/* below the minimum size nothing happens, whatever the ratio */
	tu_opts(t, &o, "alpha", 0);
	o.compact_min_bytes = 1ull << 30;
	assert_int_equal(store_open(t->path, &o, &s, NULL), 0);
	for (i = 0; i < 50; i++)
		tu_put(s, "/hot", "x");
	assert_int_equal(store_maybe_compact(s, &done, NULL), 0);
	assert_int_equal(done, 0);
	store_close(s);
}

static void crash_at_every_step(void **state)
{
	struct tctx *t = *state;
	int step;

	for (step = 1; step <= 7; step++) {
		struct store_options o;
		struct store_error e;
		struct store *s;
		char *before, *after;
		uint64_t salt;

		unlink(t->path);
		s = tu_open(t);
		fill(s);
		before = dump(s);
		salt = tu_salt(t->path);
		store_close(s);

		tu_opts(t, &o, "alpha", 0);
		o.test_crash_after_step = step;
		assert_int_equal(store_open(t->path, &o, &s, NULL), 0);
		assert_int_equal(store_compact(s, &e), -ECANCELED);
		assert_non_null(strstr(e.msg, "step"));
		/* the "dead" handle refuses writes */
		{
			struct store_batch *b = store_batch_new();

			assert_int_equal(store_batch_put(b, "/x", "1", 1, NULL), 0);
			assert_int_equal(store_commit(s, b, NULL, &e), -EIO);
			store_batch_free(b);
		}
		store_close(s);
		if (step <= 4)
			assert_true(tu_salt(t->path) == salt);	/* the old file */
		else
			assert_true(tu_salt(t->path) != salt);	/* the new file */

		s = tu_open(t);
		after = dump(s);
		assert_string_equal(before, after);
		free(after);
		assert_int_equal(count_files(t->dir, "journal.compact-tmp"), 0);
		tu_put(s, "/x", "after-crash");
		store_close(s);
		s = tu_open_ro(t);
		tu_expect(s, "/x", "after-crash");
		tu_expect(s, "/host/@alpha/addr", "10.1.1.1");
		store_close(s);
		free(before);
	}
}

static void crash_leftover_tmp_is_ignored(void **state)
{
	struct tctx *t = *state;
	char tmp[2400];
	struct store *s = tu_open(t);

	tu_put(s, "/a", "1");
	store_close(s);
	snprintf(tmp, sizeof(tmp), "%s.compact-tmp", t->path);
	tu_write(tmp, "garbage", 7);
	s = tu_open_ro(t);	/* a reader leaves it alone */
	tu_expect(s, "/a", "1");
	store_close(s);
	assert_int_equal(access(tmp, F_OK), 0);
	s = tu_open(t);		/* a writer removes it */
	tu_expect(s, "/a", "1");
	store_close(s);
	assert_int_equal(access(tmp, F_OK), -1);
}

static void tombstones_kept_by_default(void **state)
{
	struct tctx *t = *state;
	struct store_stats st;
	struct store *s;

	t->use_clock = true;
	s = tu_open(t);
	tu_put(s, "/a", "1");
	tu_del(s, "/a");
	t->now += 1000 * HOUR;	/* very old, but no peer acknowledged it */
	assert_int_equal(store_compact(s, NULL), 0);
	store_stats(s, &st);
	assert_int_equal(st.tombstones, 1);
	store_close(s);
	s = tu_open(t);
	store_stats(s, &st);
	assert_int_equal(st.tombstones, 1);
	store_close(s);
}

static void tombstones_dropped_when_old_and_safe(void **state)
{
	struct tctx *t = *state;
	struct store_options o;
	struct store_merge_result r;
	struct store_stats st;
	struct store_op op;
	struct store *s;
	uint64_t ts;

	t->use_clock = true;
	tu_opts(t, &o, "alpha", STORE_O_CREATE);
	o.tombstone_horizon_ns = HOUR;
	assert_int_equal(store_open(t->path, &o, &s, NULL), 0);
	tu_put(s, "/gone", "1");
	tu_put(s, "/stays", "1");
	ts = tu_del(s, "/gone");

	/* acknowledged but too young */
	store_set_tombstone_safe_ts(s, ts + 1);
	t->now += HOUR / 2;
	assert_int_equal(store_compact(s, NULL), 0);
	store_stats(s, &st);
	assert_int_equal(st.tombstones, 1);
	/* old enough but not acknowledged */
	t->now += HOUR;
	store_set_tombstone_safe_ts(s, ts);
	assert_int_equal(store_compact(s, NULL), 0);
	store_stats(s, &st);
	assert_int_equal(st.tombstones, 1);
	/* both */
	store_set_tombstone_safe_ts(s, ts + 1);
	assert_int_equal(store_compact(s, NULL), 0);
	store_stats(s, &st);
	assert_int_equal(st.tombstones, 0);
	assert_int_equal(st.keys, 1);
	assert_true(st.purge_floor == ts);
	store_close(s);

	o.flags = 0;
	assert_int_equal(store_open(t->path, &o, &s, NULL), 0);
	store_stats(s, &st);
	assert_true(st.purge_floor == ts);
	assert_int_equal(st.keys, 1);
	/* a late copy of the deleted put must not bring the key back */
	op = (struct store_op){ "/gone", "1", 1, ts - 1, "beta", STORE_PUT };
	assert_int_equal(store_merge(s, &op, 1, &r, NULL), 0);
	assert_int_equal(r.stale, 1);
	assert_int_equal(r.applied, 0);
	tu_expect(s, "/gone", NULL);
	/* a newer write is fine */
	op.ts = ts + 1;
	assert_int_equal(store_merge(s, &op, 1, &r, NULL), 0);
	assert_int_equal(r.applied, 1);
	tu_expect(s, "/gone", "1");
	/* the clock did not go back with the dropped tombstone */
	assert_true(store_clock(s) > ts);
	store_close(s);
}

static void compaction_of_many_and_big_entries(void **state)
{
	struct tctx *t = *state;
	struct store_batch *b = store_batch_new();
	uint8_t *big = malloc(STORE_VALUE_MAX);
	struct store_stats st;
	struct store *s = tu_open(t);
	char key[32], val[128], *before, *after;
	int i;

	assert_non_null(big);
	memset(big, 'b', STORE_VALUE_MAX);
	assert_int_equal(store_batch_put(b, "/big/1", big, STORE_VALUE_MAX, NULL), 0);
	assert_int_equal(store_batch_put(b, "/big/2", big, STORE_VALUE_MAX, NULL), 0);
	assert_int_equal(store_commit(s, b, NULL, NULL), 0);
	store_batch_reset(b);
	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "/many/%05d", i);
		snprintf(val, sizeof(val), "%0100d", i);
		assert_int_equal(store_batch_put(b, key, val, strlen(val), NULL), 0);
		if (i % 5000 == 4999) {
			assert_int_equal(store_commit(s, b, NULL, NULL), 0);
			store_batch_reset(b);
		}
	}
	before = dump(s);
	assert_int_equal(store_compact(s, NULL), 0);
	store_stats(s, &st);
	assert_true(st.records >= 4);	/* >= 2 MiB + 2.4 MB in <= 1 MiB batches */
	store_close(s);
	s = tu_open_ro(t);
	after = dump(s);
	assert_string_equal(before, after);
	store_close(s);
	free(before);
	free(after);
	free(big);
	store_batch_free(b);
}

static void reader_keeps_snapshot_across_compaction(void **state)
{
	struct tctx *t = *state;
	struct store *w = tu_open(t), *r;
	int n = 0;

	fill(w);
	r = tu_open_ro(t);
	assert_int_equal(store_compact(w, NULL), 0);
	tu_put(w, "/k/05", "new");
	tu_expect(r, "/k/05", "r2-5");
	/* the reader's file is the old inode, history intact */
	assert_int_equal(store_history(r, "/k/05", 0, count_cb, &n, NULL), 0);
	assert_int_equal(n, 3);
	store_close(r);
	r = tu_open_ro(t);
	tu_expect(r, "/k/05", "new");
	store_close(r);
	store_close(w);
}

static void compaction_needs_a_writer(void **state)
{
	struct tctx *t = *state;
	struct store *s = tu_open(t);
	struct store_error e;

	store_close(s);
	s = tu_open_ro(t);
	assert_int_equal(store_compact(s, &e), -EROFS);
	assert_int_equal(store_maybe_compact(s, NULL, &e), -EROFS);
	store_close(s);
}

static void repair_keeps_prefix_saves_rest(void **state)
{
	struct tctx *t = *state;
	struct store_repair_report rep;
	struct store_error e;
	uint64_t offs[8];
	size_t n, len_all, len_saved;
	uint8_t *all, *saved;
	struct store *s = tu_open(t);
	int i;

	for (i = 0; i < 4; i++) {
		char key[16];

		snprintf(key, sizeof(key), "/k%d", i);
		tu_put(s, key, "v");
	}
	store_close(s);
	n = tu_records(t->path, offs, 7);
	assert_int_equal(n, 4);
	tu_flip(t->path, offs[1] + 30);
	all = tu_read(t->path, &len_all);
	assert_int_equal(tu_open_fail(t, 0, &e), -EUCLEAN);

	assert_int_equal(store_repair(t->path, NULL, &rep, &e), 0);
	assert_int_equal(rep.damaged, 1);
	assert_int_equal(rep.bad_offset, offs[1]);
	assert_int_equal(rep.kept_bytes, offs[1]);
	assert_int_equal(rep.saved_bytes, len_all - offs[1]);
	assert_non_null(strstr(rep.saved_path, "journal.corrupt-"));
	assert_non_null(strstr(rep.reason, "checksum mismatch"));
	assert_int_equal(tu_size(t->path), offs[1]);
	saved = tu_read(rep.saved_path, &len_saved);
	assert_int_equal(len_saved, len_all - offs[1]);
	assert_memory_equal(saved, all + offs[1], len_saved);
	free(saved);
	free(all);

	s = tu_open(t);
	tu_expect(s, "/k0", "v");
	tu_expect(s, "/k1", NULL);
	tu_expect(s, "/k3", NULL);
	tu_put(s, "/k9", "after-repair");
	store_close(s);

	/* a second repair finds nothing to do */
	assert_int_equal(store_repair(t->path, NULL, &rep, &e), 0);
	assert_int_equal(rep.damaged, 0);
	assert_string_equal(rep.saved_path, "");
	assert_int_equal(count_files(t->dir, "journal.corrupt-"), 1);
}

static void repair_of_a_torn_tail(void **state)
{
	struct tctx *t = *state;
	struct store_repair_report rep;
	struct store *s = tu_open(t);
	uint64_t size;

	tu_put(s, "/a", "1");
	store_close(s);
	size = tu_size(t->path);
	tu_append(t->path, "\x10\x20\x30", 3);
	assert_int_equal(store_repair(t->path, NULL, &rep, NULL), 0);
	assert_int_equal(rep.damaged, 0);
	assert_int_equal(rep.torn_bytes, 3);
	assert_int_equal(tu_size(t->path), size);
	assert_int_equal(count_files(t->dir, "journal.corrupt-"), 0);
}

static void repair_of_a_damaged_header(void **state)
{
	struct tctx *t = *state;
	struct store_repair_report rep;
	struct store_options o;
	struct store_error e;
	struct store_stats st;
	struct store *s = tu_open(t);
	uint64_t size;

	tu_put(s, "/a", "1");
	store_close(s);
	size = tu_size(t->path);
	tu_flip(t->path, 20);	/* the salt */
	/* without the host name it cannot write a new header */
	assert_int_equal(store_repair(t->path, NULL, &rep, &e), -EINVAL);
	assert_int_equal(tu_size(t->path), size);
	tu_opts(t, &o, "alpha", 0);
	assert_int_equal(store_repair(t->path, &o, &rep, &e), 0);
	assert_int_equal(rep.damaged, 1);
	assert_int_equal(rep.saved_bytes, size);
	assert_int_equal(count_files(t->dir, "journal.corrupt-"), 1);
	s = tu_open(t);
	store_stats(s, &st);
	assert_int_equal(st.keys, 0);
	store_close(s);
}

static void repair_refuses_what_is_not_a_journal(void **state)
{
	struct tctx *t = *state;
	struct store_repair_report rep;
	struct store_error e;
	char junk[200];

	memset(junk, 'j', sizeof(junk));
	tu_write(t->path, junk, sizeof(junk));
	assert_int_equal(store_repair(t->path, NULL, &rep, &e), -EUCLEAN);
	assert_non_null(strstr(e.msg, "not a mars store journal"));
	assert_int_equal(tu_size(t->path), sizeof(junk));
	assert_int_equal(count_files(t->dir, "journal.corrupt-"), 0);
}

static void repair_needs_the_writer_lock(void **state)
{
	struct tctx *t = *state;
	struct store_repair_report rep;
	struct store_error e;
	struct store *s = tu_open(t);

	assert_int_equal(store_repair(t->path, NULL, &rep, &e), -EBUSY);
	store_close(s);
	assert_int_equal(store_repair(t->path, NULL, &rep, &e), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tu_setup, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(compaction_keeps_state),
		T(compaction_drops_history),
		T(ratio_trigger),
		T(crash_at_every_step),
		T(crash_leftover_tmp_is_ignored),
		T(tombstones_kept_by_default),
		T(tombstones_dropped_when_old_and_safe),
		T(compaction_of_many_and_big_entries),
		T(reader_keeps_snapshot_across_compaction),
		T(compaction_needs_a_writer),
		T(repair_keeps_prefix_saves_rest),
		T(repair_of_a_torn_tail),
		T(repair_of_a_damaged_header),
		T(repair_refuses_what_is_not_a_journal),
		T(repair_needs_the_writer_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
