// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_store_lock: one writer, many readers (docs/journal-format.md section 8).
 * A second writer is refused with -EBUSY and a message naming the holder, or waits
 * up to its timeout; readers take no lock, see a consistent snapshot while a writer
 * appends and compacts (in another process), and ignore a record in flight.
 */
#include <sys/wait.h>
#include <time.h>

#include "test_store_util.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void second_writer_refused(void **state)
{
	struct tctx *t = *state;
	struct store_options o;
	struct store_error e;
	struct store *s1 = tu_open(t), *s2 = NULL;
	char pid[32];

	tu_opts(t, &o, "alpha", 0);
	assert_int_equal(store_open(t->path, &o, &s2, &e), -EBUSY);
	assert_null(s2);
	assert_non_null(strstr(e.msg, "in use by another writer"));
	snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
	assert_non_null(strstr(e.msg, pid));
	assert_non_null(strstr(e.msg, ".lock"));
	/* a reader is fine meanwhile */
	s2 = tu_open_ro(t);
	store_close(s2);
	store_close(s1);
	assert_int_equal(store_open(t->path, &o, &s2, &e), 0);
	store_close(s2);
}

static void second_writer_waits_for_the_lock(void **state)
{
	struct tctx *t = *state;
	struct store_options o;
	struct store_error e;
	struct store *s;
	int pfd[2], status;
	uint64_t t0;
	pid_t pid;
	char c;

	s = tu_open(t);
	store_close(s);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *w = NULL;

		close(pfd[0]);
		tu_opts(t, &o, "alpha", 0);
		if (store_open(t->path, &o, &w, NULL))
			_exit(1);
		if (write(pfd[1], "x", 1) != 1)
			_exit(2);
		usleep(400 * 1000);
		store_close(w);
		_exit(0);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);

	tu_opts(t, &o, "alpha", 0);
	o.lock_timeout_ms = 50;
	t0 = mono_ms();
	assert_int_equal(store_open(t->path, &o, &s, &e), -EBUSY);
	assert_true(mono_ms() - t0 >= 40);
	o.lock_timeout_ms = 10000;
	assert_int_equal(store_open(t->path, &o, &s, &e), 0);
	assert_true(mono_ms() - t0 >= 200);
	tu_put(s, "/got-it", "1");
	store_close(s);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void reader_cannot_write(void **state)
{
	struct tctx *t = *state;
	struct store_batch *b = store_batch_new();
	struct store_error e;
	struct store *w = tu_open(t), *r = tu_open_ro(t);

	assert_int_equal(store_batch_put(b, "/a", "1", 1, NULL), 0);
	assert_int_equal(store_commit(r, b, NULL, &e), -EROFS);
	assert_non_null(strstr(e.msg, "read-only"));
	assert_int_equal(store_commit(w, b, NULL, &e), 0);
	store_close(r);
	store_close(w);
	store_batch_free(b);
}

static void reader_snapshot_while_writer_appends(void **state)
{
	struct tctx *t = *state;
	struct store *w = tu_open(t), *r;
	struct store_stats st;

	tu_put(w, "/a", "1");
	r = tu_open_ro(t);
	tu_put(w, "/a", "2");
	tu_put(w, "/b", "2");
	tu_expect(r, "/a", "1");
	tu_expect(r, "/b", NULL);
	store_stats(r, &st);
	assert_int_equal(st.records, 1);
	store_close(r);
	r = tu_open_ro(t);
	tu_expect(r, "/a", "2");
	tu_expect(r, "/b", "2");
	store_close(r);
	store_close(w);
}

static void reader_ignores_record_in_flight(void **state)
{
	struct tctx *t = *state;
	struct store *w = tu_open(t), *r;
	struct store_stats st;
	uint8_t rec[256];
	uint64_t size;
	size_t len, cut;

	tu_put(w, "/a", "1");
	size = tu_size(t->path);
	len = tu_make_record(rec, tu_salt(t->path), store_clock(w) + 1, "alpha", "/a", "2");
	/* every prefix of the record a writer is appending right now */
	for (cut = 1; cut < len; cut++) {
		tu_truncate(t->path, size);
		tu_append(t->path, rec, cut);
		r = tu_open_ro(t);
		tu_expect(r, "/a", "1");
		store_stats(r, &st);
		assert_int_equal(st.torn_offset, size);
		store_close(r);
		assert_int_equal(tu_size(t->path), size + cut);
	}
	tu_truncate(t->path, size);
	store_close(w);
}

/*
 * A writer process commits batches that set /t/a and /t/b to the same counter and
 * compacts now and then, while this process keeps opening readers: every reader
 * must see a == b (a batch is atomic) and the counter never goes back.
 */
static void readers_consistent_while_writer_runs(void **state)
{
	struct tctx *t = *state;
	struct store *s;
	int status, opens = 0, last = -1, done = 0;
	pid_t pid;

	s = tu_open(t);
	tu_put(s, "/t/a", "0");
	tu_put(s, "/t/b", "0");
	store_close(s);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store_options o;
		struct store_batch *b = store_batch_new();
		struct store *w = NULL;
		char v[16];
		int i;

		tu_opts(t, &o, "alpha", 0);
		if (!b || store_open(t->path, &o, &w, NULL))
			_exit(1);
		for (i = 1; i <= 300; i++) {
			snprintf(v, sizeof(v), "%d", i);
			store_batch_reset(b);
			if (store_batch_put(b, "/t/a", v, strlen(v), NULL) ||
			    store_batch_put(b, "/t/b", v, strlen(v), NULL) ||
			    store_commit(w, b, NULL, NULL))
				_exit(2);
			if (i % 40 == 0 && store_compact(w, NULL))
				_exit(3);
		}
		store_close(w);
		store_batch_free(b);
		_exit(0);
	}
	while (!done) {
		struct store_options o;
		struct store_error e;
		struct store *r;
		char a[32], b[32];
		const char *v;

		done = waitpid(pid, &status, WNOHANG) == pid;
		tu_opts(t, &o, NULL, STORE_O_READONLY);
		if (store_open(t->path, &o, &r, &e))
			fail_msg("reader open %d: %s", opens, e.msg);
		v = tu_get(r, "/t/a");
		assert_non_null(v);
		snprintf(a, sizeof(a), "%s", v);
		v = tu_get(r, "/t/b");
		assert_non_null(v);
		snprintf(b, sizeof(b), "%s", v);
		assert_string_equal(a, b);
		assert_true(atoi(a) >= last);
		last = atoi(a);
		store_close(r);
		opens++;
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(last, 300);
	assert_true(opens > 1);
	print_message("# %d reader opens during 300 batches\n", opens);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tu_setup, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(second_writer_refused),
		T(second_writer_waits_for_the_lock),
		T(reader_cannot_write),
		T(reader_snapshot_while_writer_appends),
		T(reader_ignores_record_in_flight),
		T(readers_consistent_while_writer_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
