// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_journal: libFuzzer target for the metadata store's journal reader and
 * recovery (docs/journal-format.md section 9).
 *
 * Each input is used as a journal file twice: as it is, and with its header and
 * record checksums recomputed (so that mutations get past the CRCs and reach the
 * batch payload parser). Each time it checks:
 *  - open as a reader never crashes and either succeeds or fails with a negative
 *    errno and a message; it never changes the file;
 *  - after a successful open the index is sorted, every key valid, the counts agree,
 *    and the valid prefix plus the torn tail add up to the file size;
 *  - a writer open sees the same state; a commit, a merge and a compaction work on
 *    it, and a reopen sees their result;
 *  - when open refuses corruption, repair makes the journal openable.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iinclude -Iuserspace/store
 *        tests/fuzz/fuzz_journal.c userspace/store/[a-z]*.c -lisal (all of them)
 * Scratch files go to $MARS_TEST_TMPDIR, else /dev/shm, else /tmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_check.h"
#include "store.h"
#include "store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256], path[320];

static void cleanup(void)
{
	static const char *const suffix[] = { "", ".lock", ".compact-tmp" };
	char p[400];
	size_t i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void setup(void)
{
	const char *base = getenv("MARS_TEST_TMPDIR");
	struct stat st;

	if (*dir)
		return;
	if (!base || !*base)
		base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%.200s/mars-fuzz-XXXXXX", base);
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal", dir);
	atexit(cleanup);
}

static void write_file(const uint8_t *buf, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	CHECK(write(fd, buf, n) == (ssize_t)n);
	close(fd);
}

static uint8_t *read_file(size_t *n)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	CHECK(fstat(fd, &st) == 0);
	buf = malloc((size_t)st.st_size + 1);
	CHECK(buf);
	CHECK(pread(fd, buf, (size_t)st.st_size, 0) == st.st_size);
	close(fd);
	*n = (size_t)st.st_size;
	return buf;
}

/* Make the header and every record frame that the length fields reach valid. */
static void fixup(uint8_t *b, size_t n)
{
	uint64_t salt, off = SJ_HDR_SIZE;

	if (n < SJ_HDR_SIZE)
		return;
	memcpy(b, SJ_MAGIC, 8);
	sj_put32(b + 8, SJ_VERSION);
	sj_put32(b + 12, SJ_HDR_SIZE);
	sj_put32(b + SJ_HDR_CRC_OFF, sj_mask(store_crc32c(0, b, SJ_HDR_CRC_OFF)));
	salt = sj_get64(b + 16);
	while (off + SJ_REC_HDR <= n) {
		uint32_t len = sj_get32(b + off + 4);

		if (len < SJ_REC_MIN || len > n - off - SJ_REC_HDR)
			break;
		sj_put32(b + off, sj_record_crc(salt, b + off, len));
		off += SJ_REC_HDR + len;
	}
}

struct walk {
	char prev[STORE_KEY_MAX + 1];
	size_t prev_len;
	uint64_t n, tombs, hash;
	struct store *s;
};

static int walk_cb(const struct store_entry *e, void *arg)
{
	struct walk *w = arg;
	struct store_entry g;
	size_t i;

	CHECK(e->key_len == strlen(e->key));
	CHECK(store_key_validate(e->key, NULL) == 0);
	if (w->n)
		CHECK(sx_cmp(w->prev, w->prev_len, e->key, e->key_len) < 0);
	memcpy(w->prev, e->key, e->key_len);
	w->prev_len = e->key_len;
	CHECK(e->value_len <= STORE_VALUE_MAX);
	CHECK(!e->tombstone || e->value_len == 0);
	CHECK(e->ts >= 1 && e->ts <= STORE_TS_MAX);
	CHECK(store_host_validate(e->origin, NULL) == 0);
	CHECK(store_get(w->s, e->key, STORE_F_TOMBSTONES, &g, NULL) == 0);
	CHECK(g.ts == e->ts && g.value_len == e->value_len && g.tombstone == e->tombstone);
	w->n++;
	w->tombs += (uint64_t)e->tombstone;
	w->hash = w->hash * 31 + e->ts;
	for (i = 0; i < e->key_len; i++)
		w->hash = w->hash * 131 + (uint8_t)e->key[i];
	for (i = 0; i < e->value_len; i++)
		w->hash = w->hash * 131 + ((const uint8_t *)e->value)[i];
	return 0;
}

static int hist_cb(const struct store_entry *e, void *arg)
{
	(void)arg;
	CHECK(store_key_validate(e->key, NULL) == 0);
	return 0;
}

enum how {
	READER,		/* opened read-only: a torn tail is still in the file */
	WRITER,		/* opened for writing: a torn tail was cut */
	LATER,		/* after writes: the torn tail facts are history */
};

/* Check a successfully opened store; returns a hash of its state. */
static uint64_t check_store(struct store *s, uint64_t file_size, enum how how)
{
	struct walk w;
	struct store_stats st;

	memset(&w, 0, sizeof(w));
	w.s = s;
	CHECK(store_list(s, "", STORE_F_TOMBSTONES, walk_cb, &w, NULL) == 0);
	store_stats(s, &st);
	CHECK(st.keys == w.n);
	CHECK(st.tombstones == w.tombs);
	CHECK(st.file_bytes <= file_size);
	if (how == READER && st.torn_reason)
		CHECK(st.torn_offset == st.file_bytes &&
		      st.file_bytes + st.torn_bytes == file_size);
	else if (how == WRITER && st.torn_reason)
		CHECK(st.torn_offset == st.file_bytes && st.file_bytes == file_size);
	else if (file_size)
		CHECK(st.file_bytes == file_size);
	if (w.n)
		CHECK(store_history(s, w.prev, 4, hist_cb, NULL, NULL) == 0);
	return w.hash ^ w.n;
}

static void one(const uint8_t *data, size_t size)
{
	struct store_options o;
	struct store_error e;
	struct store *s = NULL, *w = NULL;
	uint64_t hash = 0, keys;
	struct store_stats st;
	size_t n;
	uint8_t *back;
	int ret;

	write_file(data, size);
	store_options_init(&o);
	o.flags = STORE_O_READONLY;
	memset(&e, 0, sizeof(e));
	ret = store_open(path, &o, &s, &e);
	back = read_file(&n);
	CHECK(n == size && (size == 0 || memcmp(back, data, size) == 0));
	free(back);
	if (ret) {
		struct store_repair_report rep;

		CHECK(ret < 0 && e.code == ret && e.msg[0] && !s);
		if (ret != -EUCLEAN)
			return;
		o.flags = 0;
		ret = store_repair(path, &o, &rep, &e);
		if (ret == -EINVAL) {
			/* a damaged header: repair needs a host name for the new one */
			o.host = "fuzz";
			ret = store_repair(path, &o, &rep, &e);
		}
		if (rep.saved_path[0])
			unlink(rep.saved_path);
		if (ret)
			return;	/* e.g. the journal belongs to another host */
		o.host = NULL;
		o.flags = STORE_O_READONLY;
		ret = store_open(path, &o, &s, &e);
		if (ret)
			fprintf(stderr, "open after repair: %s\n", e.msg);
		CHECK(ret == 0);
		back = read_file(&n);
		free(back);
		check_store(s, n, READER);
		store_close(s);
		return;
	}
	hash = check_store(s, size, READER);
	store_stats(s, &st);
	keys = st.keys;
	store_close(s);

	/* The writer sees the same, then commits, merges and compacts. */
	o.flags = 0;
	o.host = size ? NULL : "fuzz";
	ret = store_open(path, &o, &w, &e);
	if (ret)
		fprintf(stderr, "writer open: %s\n", e.msg);
	CHECK(ret == 0);
	back = read_file(&n);
	free(back);
	CHECK(check_store(w, n, WRITER) == hash);
	{
		struct store_batch *b = store_batch_new();
		struct store_op op = { "/fuzz/merged", "m", 1, 1, "fuzzpeer", STORE_PUT };
		struct store_merge_result mr;
		uint64_t ts = 0;

		CHECK(b);
		CHECK(store_batch_put(b, "/fuzz/local", "v", 1, NULL) == 0);
		ret = store_commit(w, b, &ts, &e);
		CHECK(ret == 0 || ret == -EOVERFLOW);
		store_batch_free(b);
		op.ts = store_clock(w) < STORE_TS_MAX ? store_clock(w) + 1 : STORE_TS_MAX;
		ret = store_merge(w, &op, 1, &mr, &e);
		CHECK(ret == 0 || ret == -E2BIG);
		if (ts)
			CHECK(store_get(w, "/fuzz/local", 0, &(struct store_entry){ 0 }, NULL) == 0);
		CHECK(store_compact(w, &e) == 0);
		store_stats(w, &st);
		CHECK(st.keys >= keys);
		keys = st.keys;
		hash = check_store(w, st.file_bytes, LATER);
	}
	store_close(w);
	o.flags = STORE_O_READONLY;
	ret = store_open(path, &o, &s, &e);
	if (ret)
		fprintf(stderr, "reopen: %s\n", e.msg);
	CHECK(ret == 0);
	back = read_file(&n);
	free(back);
	CHECK(check_store(s, n, LATER) == hash);
	store_stats(s, &st);
	CHECK(st.keys == keys);
	store_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	setup();
	one(data, size);
	copy = malloc(size + 1);
	CHECK(copy);
	memcpy(copy, data, size);
	fixup(copy, size);
	one(copy, size);
	free(copy);
	return 0;
}
