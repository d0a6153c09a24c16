/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the store tests (tests/unit/test_store_*.c): scratch
 * directories, small byte-poking helpers on journal files, and one-line store
 * operations. Everything is static: each test file is linked alone.
 *
 * Scratch space: $MARS_TEST_TMPDIR if set, else a mkdtemp() under /tmp; every test
 * gets its own subdirectory, removed when the test passes.
 */
#ifndef MARS_TEST_STORE_UTIL_H
#define MARS_TEST_STORE_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "store_int.h"

/* Every helper is static and may be unused in a given test file. */
#define TU static __attribute__((unused))

struct tctx {
	char dir[2200];
	char path[2300];	/* dir/journal */
	uint64_t now;		/* the test clock, ns */
	bool use_clock;
};

static char tu_base[2048];

TU void tu_base_cleanup(void)
{
	rmdir(tu_base);
}

TU const char *tu_base_dir(void)
{
	const char *env;

	if (*tu_base)
		return tu_base;
	env = getenv("MARS_TEST_TMPDIR");
	if (env && *env) {
		snprintf(tu_base, sizeof(tu_base), "%.2000s", env);
		mkdir(tu_base, 0700);
	} else {
		snprintf(tu_base, sizeof(tu_base), "/tmp/mars-store-test-XXXXXX");
		if (!mkdtemp(tu_base))
			fail_msg("mkdtemp: %s", strerror(errno));
		atexit(tu_base_cleanup);	/* only if every test cleaned up */
	}
	return tu_base;
}

TU int tu_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

TU void tu_rmrf(const char *dir)
{
	nftw(dir, tu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TU uint64_t tu_clock(void *arg)
{
	return ((struct tctx *)arg)->now;
}

TU int tu_setup(void **state)
{
	struct tctx *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "%.2000s/t-XXXXXX", tu_base_dir());
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/journal", t->dir);
	t->now = 1700000000000000000ull;
	*state = t;
	return 0;
}

TU int tu_teardown(void **state)
{
	struct tctx *t = *state;

	tu_rmrf(t->dir);
	free(t);
	return 0;
}

TU void tu_opts(struct tctx *t, struct store_options *o, const char *host,
		    unsigned int flags)
{
	store_options_init(o);
	o->host = host;
	o->flags = flags;
	if (t->use_clock) {
		o->clock_ns = tu_clock;
		o->clock_arg = t;
	}
}

TU struct store *tu_open_as(struct tctx *t, const char *host)
{
	struct store_options o;
	struct store_error e = { 0 };
	struct store *s = NULL;
	int ret;

	tu_opts(t, &o, host, STORE_O_CREATE);
	ret = store_open(t->path, &o, &s, &e);
	if (ret)
		fail_msg("store_open(%s): %d %s", t->path, ret, e.msg);
	return s;
}

TU struct store *tu_open(struct tctx *t)
{
	return tu_open_as(t, "alpha");
}

TU struct store *tu_open_ro(struct tctx *t)
{
	struct store_options o;
	struct store_error e = { 0 };
	struct store *s = NULL;
	int ret;

	tu_opts(t, &o, NULL, STORE_O_READONLY);
	ret = store_open(t->path, &o, &s, &e);
	if (ret)
		fail_msg("store_open(ro %s): %d %s", t->path, ret, e.msg);
	return s;
}

/* Open expecting failure; returns the error code and fills @e. */
TU int tu_open_fail(struct tctx *t, unsigned int flags, struct store_error *e)
{
	struct store_options o;
	struct store *s = NULL;
	int ret;

	tu_opts(t, &o, flags & STORE_O_READONLY ? NULL : "alpha", flags);
	memset(e, 0, sizeof(*e));
	ret = store_open(t->path, &o, &s, e);
	if (ret == 0) {
		store_close(s);
		fail_msg("store_open unexpectedly succeeded");
	}
	assert_null(s);
	assert_int_equal(e->code, ret);
	assert_true(strlen(e->msg) > 0);
	return ret;
}

TU uint64_t tu_put(struct store *s, const char *key, const char *val)
{
	struct store_batch *b = store_batch_new();
	struct store_error e = { 0 };
	uint64_t ts = 0;
	int ret;

	assert_non_null(b);
	ret = store_batch_put(b, key, val, strlen(val), &e);
	if (!ret)
		ret = store_commit(s, b, &ts, &e);
	if (ret)
		fail_msg("put %s: %d %s", key, ret, e.msg);
	store_batch_free(b);
	return ts;
}

TU uint64_t tu_del(struct store *s, const char *key)
{
	struct store_batch *b = store_batch_new();
	struct store_error e = { 0 };
	uint64_t ts = 0;
	int ret;

	assert_non_null(b);
	ret = store_batch_delete(b, key, &e);
	if (!ret)
		ret = store_commit(s, b, &ts, &e);
	if (ret)
		fail_msg("delete %s: %d %s", key, ret, e.msg);
	store_batch_free(b);
	return ts;
}

/* Value of @key as a string in a static buffer, or NULL if missing/deleted. */
TU const char *tu_get(struct store *s, const char *key)
{
	static char buf[4096];
	struct store_entry e;

	if (store_get(s, key, 0, &e, NULL))
		return NULL;
	assert_true(e.value_len < sizeof(buf));
	memcpy(buf, e.value, e.value_len);
	buf[e.value_len] = '\0';
	return buf;
}

TU void tu_expect(struct store *s, const char *key, const char *val)
{
	const char *got = tu_get(s, key);

	if (!val) {
		if (got)
			fail_msg("%s: expected absent, got '%s'", key, got);
		return;
	}
	if (!got)
		fail_msg("%s: expected '%s', got nothing", key, val);
	assert_string_equal(got, val);
}

/* ---- files ---- */

TU uint8_t *tu_read(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

TU void tu_write(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

TU void tu_append(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

TU uint64_t tu_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

TU void tu_truncate(const char *path, uint64_t len)
{
	assert_int_equal(truncate(path, (off_t)len), 0);
}

TU void tu_poke(const char *path, uint64_t off, uint8_t v)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &v, 1, (off_t)off), 1);
	close(fd);
}

TU uint8_t tu_peek(const char *path, uint64_t off)
{
	uint8_t v = 0;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, 1, (off_t)off), 1);
	close(fd);
	return v;
}

TU uint32_t tu_peek32(const char *path, uint64_t off)
{
	uint8_t b[4];
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, 4, (off_t)off), 4);
	close(fd);
	return sj_get32(b);
}

TU void tu_flip(const char *path, uint64_t off)
{
	tu_poke(path, off, (uint8_t)(tu_peek(path, off) ^ 0x40));
}

TU void tu_poke32(const char *path, uint64_t off, uint32_t v)
{
	uint8_t b[4];
	int fd = open(path, O_WRONLY);

	sj_put32(b, v);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, b, 4, (off_t)off), 4);
	close(fd);
}

/* Offsets of the records of a well-formed journal, by walking the length fields;
 * offs[n] is the end. Returns n. */
TU size_t tu_records(const char *path, uint64_t *offs, size_t max)
{
	size_t len, n = 0;
	uint8_t *buf = tu_read(path, &len);
	uint64_t off = SJ_HDR_SIZE;

	while (off + SJ_REC_HDR <= len && n < max) {
		offs[n++] = off;
		off += SJ_REC_HDR + sj_get32(buf + off + 4);
	}
	offs[n] = off;
	free(buf);
	return n;
}

TU uint64_t tu_salt(const char *path)
{
	size_t len;
	uint8_t *buf = tu_read(path, &len);
	uint64_t salt;

	assert_true(len >= SJ_HDR_SIZE);
	salt = sj_get64(buf + 16);
	free(buf);
	return salt;
}

/* Build a one-op record sealed with @salt: a hand-made record for tests. */
TU size_t tu_make_record(uint8_t *rec, uint64_t salt, uint64_t ts, const char *origin,
			     const char *key, const char *val)
{
	struct sj_name n = { origin, (uint8_t)strlen(origin) };
	size_t vlen = val ? strlen(val) : 0;
	size_t payload = sj_batch_size_hdr(&n, 1) + SJ_ENTRY_BYTES(strlen(key), vlen);
	struct sj_enc e;

	sj_enc_begin(&e, rec, payload, ts, 1, 0, &n, 1);
	sj_enc_op(&e, ts, 0, val ? STORE_PUT : STORE_DELETE, key, (uint16_t)strlen(key),
		  val, (uint32_t)vlen);
	return sj_enc_seal(&e, salt);
}

/* Re-seal the record at @off after its bytes were changed on purpose. */
TU void tu_reseal(const char *path, uint64_t off)
{
	size_t len;
	uint8_t *buf = tu_read(path, &len);
	uint32_t plen = sj_get32(buf + off + 4);

	sj_put32(buf + off, sj_record_crc(sj_get64(buf + 16), buf + off, plen));
	tu_write(path, buf, len);
	free(buf);
}

TU void tu_copy(const char *from, const char *to)
{
	size_t len;
	uint8_t *buf = tu_read(from, &len);

	tu_write(to, buf, len);
	free(buf);
}

struct tu_list {
	char keys[64][128];
	size_t n;
};

TU int tu_list_cb(const struct store_entry *e, void *arg)
{
	struct tu_list *l = arg;

	assert_true(l->n < 64);
	snprintf(l->keys[l->n++], sizeof(l->keys[0]), "%s%s", e->key, e->tombstone ? "!" : "");
	return 0;
}

TU void tu_list(struct store *s, const char *prefix, unsigned int flags,
		    struct tu_list *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(store_list(s, prefix, flags, tu_list_cb, l, NULL), 0);
}

#endif /* MARS_TEST_STORE_UTIL_H */
