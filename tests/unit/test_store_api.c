// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_store_api: what callers see (docs/journal-format.md sections 4, 5, 6, 12):
 * key and host validation, limits with clear errors, batches (atomic, last op on a
 * key wins), tombstones and prefix listing, per-key history, and the Lamport clock
 * (monotonic when the wall clock jumps back, still ordered when it is in the future).
 */
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "test_store_util.h"

static void key_validation(void **state)
{
	static const char *const good[] = {
		"/a", "/res/r0/primary", "/host/@alpha/addr", "/res/r0/@db-1.example/replay",
		"/x/.hidden", "/x/..y", "/a/b-c_d.e~f:g=h,i+j%k",
	};
	static const struct {
		const char *key;
		int code;
	} bad[] = {
		{ "", -EINVAL }, { "/", -EINVAL }, { "a/b", -EINVAL }, { "/a/", -EINVAL },
		{ "//a", -EINVAL }, { "/a//b", -EINVAL }, { "/a/./b", -EINVAL },
		{ "/a/..", -EINVAL }, { "/a b", -EINVAL }, { "/a\tb", -EINVAL },
		{ "/a\x7f", -EINVAL }, { "/\xc3\xa4", -EINVAL }, { "/a@b", -EINVAL },
		{ "/@", -EINVAL }, { "/@-x", -EINVAL }, { "/@a/@b", -EINVAL },
		{ "/@a b", -EINVAL },
	};
	char owner[STORE_HOST_MAX + 1], lng[STORE_KEY_MAX + 2];
	struct store_error e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (store_key_validate(good[i], &e))
			fail_msg("%s rejected: %s", good[i], e.msg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		assert_int_equal(store_key_validate(bad[i].key, &e), bad[i].code);
		assert_int_equal(e.code, bad[i].code);
		assert_non_null(strstr(e.msg, "invalid key"));
		assert_true(e.offset == STORE_NO_OFFSET);
	}
	memset(lng, 'x', sizeof(lng));
	lng[0] = '/';
	lng[STORE_KEY_MAX] = '\0';
	assert_int_equal(store_key_validate(lng, NULL), 0);
	lng[STORE_KEY_MAX] = 'x';
	lng[STORE_KEY_MAX + 1] = '\0';
	assert_int_equal(store_key_validate(lng, &e), -ENAMETOOLONG);
	assert_int_equal(store_key_validate(NULL, &e), -EINVAL);

	assert_int_equal(store_key_owner("/res/r0/primary", owner, sizeof(owner)), 0);
	assert_int_equal(store_key_owner("/host/@alpha/addr", owner, sizeof(owner)), 1);
	assert_string_equal(owner, "alpha");
	assert_int_equal(store_key_owner("/res/r0/@db-1/replay/pos", owner, sizeof(owner)), 1);
	assert_string_equal(owner, "db-1");
	assert_int_equal(store_key_owner("/bad//", owner, sizeof(owner)), -EINVAL);
}

static void host_validation(void **state)
{
	static const char *const good[] = { "alpha", "db-1", "a", "node_7.example.com",
					    "0abc" };
	static const char *const bad[] = { "", "-x", ".x", "_x", "a b", "a/b", "a@b",
					   "\xc3\xa4",
					   "0123456789012345678901234567890123456789012345678901234567890123" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(store_host_validate(good[i], NULL), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(store_host_validate(bad[i], NULL), -EINVAL);
	assert_int_equal(store_host_validate(NULL, NULL), -EINVAL);
}

static void invalid_host_option(void **state)
{
	struct tctx *t = *state;
	struct store_options o;
	struct store_error e;
	struct store *s;

	tu_opts(t, &o, "not a host", STORE_O_CREATE);
	assert_int_equal(store_open(t->path, &o, &s, &e), -EINVAL);
	assert_null(s);
	assert_int_equal(access(t->path, F_OK), -1);
	tu_opts(t, &o, NULL, STORE_O_CREATE);
	assert_int_equal(store_open(t->path, &o, &s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "host name"));
}

static void value_limits(void **state)
{
	struct tctx *t = *state;
	struct store_batch *b = store_batch_new();
	struct store_error e;
	uint8_t *big = calloc(1, STORE_VALUE_MAX + 1);
	struct store_entry en;
	struct store *s = tu_open(t);

	assert_non_null(big);
	assert_int_equal(store_batch_put(b, "/big", big, STORE_VALUE_MAX + 1, &e), -EMSGSIZE);
	assert_non_null(strstr(e.msg, "/big"));
	assert_int_equal(store_batch_count(b), 0);
	big[STORE_VALUE_MAX - 1] = 0x42;
	assert_int_equal(store_batch_put(b, "/big", big, STORE_VALUE_MAX, &e), 0);
	assert_int_equal(store_batch_put(b, "/empty", "", 0, &e), 0);
	assert_int_equal(store_commit(s, b, NULL, &e), 0);
	store_close(s);
	s = tu_open(t);
	assert_int_equal(store_get(s, "/big", 0, &en, NULL), 0);
	assert_int_equal(en.value_len, STORE_VALUE_MAX);
	assert_int_equal(((const uint8_t *)en.value)[STORE_VALUE_MAX - 1], 0x42);
	assert_int_equal(store_get(s, "/empty", 0, &en, NULL), 0);
	assert_int_equal(en.value_len, 0);
	assert_int_equal(en.tombstone, 0);
	store_close(s);
	free(big);
	store_batch_free(b);
}

static void batch_limits(void **state)
{
	struct store_batch *b = store_batch_new();
	uint8_t *v = calloc(1, STORE_VALUE_MAX);
	struct store_error e;
	char key[32];
	size_t i;
	int ret = 0;

	(void)state;
	assert_non_null(v);
	/* 4 MiB of payload: the fourth 1 MiB value no longer fits */
	for (i = 0; i < 4 && !ret; i++) {
		snprintf(key, sizeof(key), "/v%zu", i);
		ret = store_batch_put(b, key, v, STORE_VALUE_MAX, &e);
	}
	assert_int_equal(ret, -E2BIG);
	assert_int_equal(i, 4);
	assert_non_null(strstr(e.msg, "larger than"));
	store_batch_reset(b);
	for (i = 0; i < STORE_BATCH_MAX_OPS; i++) {
		snprintf(key, sizeof(key), "/o%zu", i);
		assert_int_equal(store_batch_delete(b, key, NULL), 0);
	}
	assert_int_equal(store_batch_delete(b, "/one-more", &e), -E2BIG);
	assert_int_equal(store_batch_put(b, "bad", "x", 1, &e), -EINVAL);
	store_batch_free(b);
	free(v);
}

static void big_batch_roundtrip(void **state)
{
	struct tctx *t = *state;
	struct store_batch *b = store_batch_new();
	struct store_stats st;
	struct store *s = tu_open(t);
	char key[32];
	size_t i;

	for (i = 0; i < STORE_BATCH_MAX_OPS; i++) {
		snprintf(key, sizeof(key), "/o/%06zu", i);
		assert_int_equal(store_batch_put(b, key, key, strlen(key), NULL), 0);
	}
	assert_int_equal(store_commit(s, b, NULL, NULL), 0);
	store_batch_free(b);
	store_close(s);
	s = tu_open_ro(t);
	store_stats(s, &st);
	assert_int_equal(st.keys, STORE_BATCH_MAX_OPS);
	assert_int_equal(st.records, 1);
	tu_expect(s, "/o/065535", "/o/065535");
	store_close(s);
}

static void last_op_on_a_key_wins_in_batch(void **state)
{
	struct tctx *t = *state;
	struct store_batch *b = store_batch_new();
	struct store_stats st;
	struct store *s = tu_open(t);

	assert_int_equal(store_batch_put(b, "/a", "1", 1, NULL), 0);
	assert_int_equal(store_batch_put(b, "/b", "1", 1, NULL), 0);
	assert_int_equal(store_batch_delete(b, "/a", NULL), 0);
	assert_int_equal(store_batch_put(b, "/b", "2", 1, NULL), 0);
	assert_int_equal(store_batch_delete(b, "/c", NULL), 0);
	assert_int_equal(store_batch_put(b, "/c", "3", 1, NULL), 0);
	assert_int_equal(store_commit(s, b, NULL, NULL), 0);
	tu_expect(s, "/a", NULL);
	tu_expect(s, "/b", "2");
	tu_expect(s, "/c", "3");
	store_close(s);
	s = tu_open(t);
	tu_expect(s, "/a", NULL);
	tu_expect(s, "/b", "2");
	tu_expect(s, "/c", "3");
	store_stats(s, &st);
	assert_int_equal(st.keys, 3);
	assert_int_equal(st.tombstones, 1);
	store_close(s);
	store_batch_free(b);
}

static void empty_batch_writes_nothing(void **state)
{
	struct tctx *t = *state;
	struct store_batch *b = store_batch_new();
	struct store *s = tu_open(t);
	uint64_t ts = 99;

	assert_int_equal(store_commit(s, b, &ts, NULL), 0);
	assert_int_equal(ts, 0);
	store_close(s);
	assert_int_equal(tu_size(t->path), SJ_HDR_SIZE);
	store_batch_free(b);
}

static void tombstones_and_listing(void **state)
{
	struct tctx *t = *state;
	struct store *s = tu_open(t);
	struct store_entry e;
	struct store_stats st;
	struct tu_list l;

	tu_put(s, "/res/r1/size", "1G");
	tu_put(s, "/res/r0/size", "2G");
	tu_put(s, "/res/r0/primary", "alpha");
	tu_put(s, "/res/r01/size", "3G");
	tu_put(s, "/host/@alpha/addr", "a");
	tu_put(s, "/cluster/uuid", "u");
	tu_del(s, "/res/r0/primary");
	tu_del(s, "/never/existed");

	tu_list(s, "/res/r0/", 0, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.keys[0], "/res/r0/size");
	tu_list(s, "/res/r0/", STORE_F_TOMBSTONES, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.keys[0], "/res/r0/primary!");
	assert_string_equal(l.keys[1], "/res/r0/size");
	tu_list(s, "/res/r0", 0, &l);	/* a byte prefix also matches /res/r01 */
	assert_int_equal(l.n, 2);
	assert_string_equal(l.keys[1], "/res/r01/size");
	tu_list(s, "", 0, &l);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.keys[0], "/cluster/uuid");
	assert_string_equal(l.keys[1], "/host/@alpha/addr");
	assert_string_equal(l.keys[4], "/res/r1/size");
	tu_list(s, "/zzz", 0, &l);
	assert_int_equal(l.n, 0);

	assert_int_equal(store_get(s, "/res/r0/primary", 0, &e, NULL), -ENOENT);
	assert_int_equal(store_get(s, "/res/r0/primary", STORE_F_TOMBSTONES, &e, NULL), 0);
	assert_int_equal(e.tombstone, 1);
	assert_string_equal(e.origin, "alpha");
	assert_int_equal(store_get(s, "/nope", STORE_F_TOMBSTONES, &e, NULL), -ENOENT);
	assert_int_equal(store_get(s, "bad key", 0, &e, NULL), -EINVAL);
	store_stats(s, &st);
	assert_int_equal(st.tombstones, 2);
	assert_int_equal(st.keys, 7);
	store_close(s);

	/* the same after recovery */
	s = tu_open_ro(t);
	tu_list(s, "/", STORE_F_TOMBSTONES, &l);
	assert_int_equal(l.n, 7);
	assert_string_equal(l.keys[1], "/host/@alpha/addr");
	assert_string_equal(l.keys[2], "/never/existed!");
	store_stats(s, &st);
	assert_int_equal(st.tombstones, 2);
	store_close(s);
}

static int stop_after_two(const struct store_entry *e, void *arg)
{
	int *n = arg;

	(void)e;
	return ++*n == 2 ? 42 : 0;
}

static void listing_stops_on_callback(void **state)
{
	struct tctx *t = *state;
	struct store *s = tu_open(t);
	int n = 0;

	tu_put(s, "/a", "1");
	tu_put(s, "/b", "1");
	tu_put(s, "/c", "1");
	assert_int_equal(store_list(s, "/", 0, stop_after_two, &n, NULL), 42);
	assert_int_equal(n, 2);
	store_close(s);
}

static void listing_many_keys_sorted(void **state)
{
	struct tctx *t = *state;
	struct store_batch *b = store_batch_new();
	struct store *s = tu_open(t);
	char key[32];
	unsigned int i, x = 12345;

	/* inserted in a scrambled order */
	for (i = 0; i < 5000; i++) {
		x = x * 1103515245u + 12345u;
		snprintf(key, sizeof(key), "/k/%08x", x);
		assert_int_equal(store_batch_put(b, key, "v", 1, NULL), 0);
	}
	assert_int_equal(store_commit(s, b, NULL, NULL), 0);
	store_batch_free(b);
	store_close(s);
	s = tu_open_ro(t);
	{
		struct sx_iter it;
		struct sx_node *n, *prev = NULL;
		size_t count = 0;

		sx_seek(&it, &s->idx, "", 0);
		while ((n = sx_next(&it))) {
			if (prev)
				assert_true(sx_cmp(prev->key, prev->key_len, n->key, n->key_len) < 0);
			prev = n;
			count++;
		}
		assert_int_equal(count, s->idx.count);
		/* AVL height bound: 1.44 log2(n) */
		assert_true(s->idx.root->height <= 18);
	}
	store_close(s);
}

struct hist {
	char vals[16][32];
	uint64_t ts[16];
	int tomb[16];
	size_t n;
};

static int hist_cb(const struct store_entry *e, void *arg)
{
	struct hist *h = arg;

	assert_true(h->n < 16);
	assert_string_equal(e->key, "/h");
	snprintf(h->vals[h->n], sizeof(h->vals[0]), "%.*s", (int)e->value_len,
		 e->value ? (const char *)e->value : "");
	h->ts[h->n] = e->ts;
	h->tomb[h->n] = e->tombstone;
	h->n++;
	return 0;
}

static void history(void **state)
{
	struct tctx *t = *state;
	struct store *s = tu_open(t);
	struct hist h = { 0 };
	uint64_t ts[4];

	ts[0] = tu_put(s, "/h", "one");
	tu_put(s, "/other", "x");
	ts[1] = tu_put(s, "/h", "two");
	ts[2] = tu_del(s, "/h");
	ts[3] = tu_put(s, "/h", "four");
	tu_put(s, "/hh", "not me");

	assert_int_equal(store_history(s, "/h", 0, hist_cb, &h, NULL), 0);
	assert_int_equal(h.n, 4);
	assert_string_equal(h.vals[0], "one");
	assert_string_equal(h.vals[1], "two");
	assert_int_equal(h.tomb[2], 1);
	assert_string_equal(h.vals[3], "four");
	assert_true(h.ts[0] == ts[0] && h.ts[3] == ts[3]);

	/* bounded: the last two, oldest first */
	memset(&h, 0, sizeof(h));
	assert_int_equal(store_history(s, "/h", 2, hist_cb, &h, NULL), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.tomb[0], 1);
	assert_true(h.ts[0] == ts[2]);
	assert_string_equal(h.vals[1], "four");

	memset(&h, 0, sizeof(h));
	assert_int_equal(store_history(s, "/none", 5, hist_cb, &h, NULL), 0);
	assert_int_equal(h.n, 0);
	assert_int_equal(store_history(s, "/bad/", 5, hist_cb, &h, NULL), -EINVAL);
	store_close(s);

	/* a reader sees the same history */
	s = tu_open_ro(t);
	memset(&h, 0, sizeof(h));
	assert_int_equal(store_history(s, "/h", 3, hist_cb, &h, NULL), 0);
	assert_int_equal(h.n, 3);
	assert_string_equal(h.vals[0], "two");
	store_close(s);
}

static void lamport_monotonic(void **state)
{
	struct tctx *t = *state;
	struct store *s;
	uint64_t a, b, c;

	t->use_clock = true;
	s = tu_open(t);
	a = tu_put(s, "/a", "1");
	assert_true(a == t->now + 1);
	b = tu_put(s, "/a", "2");	/* same wall time: still later */
	assert_true(b == a + 1);
	t->now -= 3600ull * 1000000000ull;	/* the wall clock jumps back an hour */
	c = tu_put(s, "/a", "3");
	assert_true(c == b + 1);
	t->now += 7200ull * 1000000000ull;	/* and forward again */
	assert_true(tu_put(s, "/a", "4") == t->now + 1);
	tu_expect(s, "/a", "4");
	store_close(s);
}

static void lamport_clock_in_the_future(void **state)
{
	struct tctx *t = *state;
	struct store_op op = { "/shared", "from-the-future", 15, 0, "beta", STORE_PUT };
	struct store *s;
	uint64_t ts;

	t->use_clock = true;
	s = tu_open(t);
	tu_put(s, "/shared", "old");
	/* a peer whose clock is a century ahead */
	op.ts = t->now + 100ull * 365 * 24 * 3600 * 1000000000ull;
	assert_int_equal(store_merge(s, &op, 1, NULL, NULL), 0);
	tu_expect(s, "/shared", "from-the-future");
	assert_true(store_clock(s) == op.ts);
	/* a local write after it still wins */
	ts = tu_put(s, "/shared", "local");
	assert_true(ts == op.ts + 1);
	tu_expect(s, "/shared", "local");
	store_close(s);
	s = tu_open(t);
	tu_expect(s, "/shared", "local");
	assert_true(tu_put(s, "/x", "y") == ts + 1);
	store_close(s);
}

static void lamport_clock_exhausted(void **state)
{
	struct tctx *t = *state;
	struct store_op op = { "/x", NULL, 0, STORE_TS_MAX, "beta", STORE_DELETE };
	struct store_batch *b = store_batch_new();
	struct store_error e;
	struct store *s = tu_open(t);

	assert_int_equal(store_merge(s, &op, 1, NULL, NULL), 0);
	assert_int_equal(store_batch_put(b, "/y", "1", 1, NULL), 0);
	assert_int_equal(store_commit(s, b, NULL, &e), -EOVERFLOW);
	assert_non_null(strstr(e.msg, "clock"));
	tu_expect(s, "/y", NULL);
	op.ts = STORE_TS_MAX + 1;
	assert_int_equal(store_merge(s, &op, 1, NULL, &e), -EINVAL);
	store_close(s);
	store_batch_free(b);
}

static void commit_of_a_foreign_owned_key(void **state)
{
	struct tctx *t = *state;
	struct store_batch *b = store_batch_new();
	struct store_error e;
	struct store *s = tu_open(t);

	assert_int_equal(store_batch_put(b, "/host/@alpha/addr", "mine", 4, NULL), 0);
	assert_int_equal(store_batch_put(b, "/host/@beta/addr", "theirs", 6, NULL), 0);
	assert_int_equal(store_commit(s, b, NULL, &e), -EPERM);
	assert_non_null(strstr(e.msg, "owned by host 'beta'"));
	/* nothing of the batch was applied or written */
	tu_expect(s, "/host/@alpha/addr", NULL);
	store_close(s);
	assert_int_equal(tu_size(t->path), SJ_HDR_SIZE);
	store_batch_free(b);
}

static void stats_track_dead_bytes(void **state)
{
	struct tctx *t = *state;
	struct store *s = tu_open(t);
	struct store_stats a, b;

	tu_put(s, "/a", "1234567890");
	store_stats(s, &a);
	assert_int_equal(a.live_bytes, SJ_ENTRY_BYTES(2, 10));
	tu_put(s, "/a", "12345");
	store_stats(s, &b);
	assert_int_equal(b.live_bytes, SJ_ENTRY_BYTES(2, 5));
	assert_true(b.dead_bytes > a.dead_bytes);
	assert_int_equal(b.file_bytes, tu_size(t->path));
	assert_int_equal(b.records, 2);
	store_close(s);
}

/*
 * A write that fails half-way (here: the file size limit, as a full disk would)
 * acknowledges nothing, leaves no partial record behind, and the store goes on.
 */
static void failed_append_leaves_no_trace(void **state)
{
	struct tctx *t = *state;
	struct store *s = tu_open(t);
	int status;
	pid_t pid;

	tu_put(s, "/a", "1");
	store_close(s);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store_batch *b = store_batch_new();
		struct store_error e;
		struct rlimit rl;
		uint64_t size = tu_size(t->path);
		char big[4000];

		memset(big, 'x', sizeof(big));
		signal(SIGXFSZ, SIG_IGN);
		s = tu_open(t);
		getrlimit(RLIMIT_FSIZE, &rl);
		rl.rlim_cur = size + 1000;
		if (setrlimit(RLIMIT_FSIZE, &rl) || !b ||
		    store_batch_put(b, "/big", big, sizeof(big), NULL))
			_exit(10);
		if (store_commit(s, b, NULL, &e) != -EFBIG)
			_exit(11);
		if (tu_size(t->path) != size || tu_get(s, "/big"))
			_exit(12);
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_FSIZE, &rl) || store_commit(s, b, NULL, &e))
			_exit(13);
		store_close(s);
		store_batch_free(b);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	s = tu_open_ro(t);
	tu_expect(s, "/a", "1");
	assert_int_equal(strlen(tu_get(s, "/big")), 4000);
	store_close(s);
}

static int count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Every path through open, compaction and repair gives its descriptors back. */
static void no_descriptor_leaks(void **state)
{
	struct tctx *t = *state;
	struct store_repair_report rep;
	struct store_options o;
	struct store *s, *s2;
	int before = count_fds();

	s = tu_open(t);
	tu_put(s, "/a", "1");
	tu_put(s, "/b", "1");
	tu_opts(t, &o, "alpha", 0);
	assert_int_equal(store_open(t->path, &o, &s2, NULL), -EBUSY);
	assert_int_equal(store_compact(s, NULL), 0);
	tu_put(s, "/c", "1");
	store_close(s);
	tu_flip(t->path, SJ_HDR_SIZE + 20);
	assert_int_equal(store_open(t->path, &o, &s2, NULL), -EUCLEAN);
	o.flags = STORE_O_READONLY;
	assert_int_equal(store_open(t->path, &o, &s2, NULL), -EUCLEAN);
	assert_int_equal(store_repair(t->path, NULL, &rep, NULL), 0);
	s = tu_open_ro(t);
	store_close(s);
	unlink(t->path);
	assert_int_equal(store_open(t->path, &o, &s2, NULL), -ENOENT);
	assert_int_equal(count_fds(), before);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tu_setup, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(key_validation),
		T(host_validation),
		T(invalid_host_option),
		T(value_limits),
		T(batch_limits),
		T(big_batch_roundtrip),
		T(last_op_on_a_key_wins_in_batch),
		T(empty_batch_writes_nothing),
		T(tombstones_and_listing),
		T(listing_stops_on_callback),
		T(listing_many_keys_sorted),
		T(history),
		T(lamport_monotonic),
		T(lamport_clock_in_the_future),
		T(lamport_clock_exhausted),
		T(commit_of_a_foreign_owned_key),
		T(stats_track_dead_bytes),
		T(failed_append_leaves_no_trace),
		T(no_descriptor_leaks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
