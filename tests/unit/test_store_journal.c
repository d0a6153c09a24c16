// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_store_journal: the journal format and recovery (docs/journal-format.md
 * sections 2, 3 and 9). Each test is named after a failure mode: it builds a good
 * journal through the API, damages it with a byte-poking helper, and checks that
 * open either cuts a torn tail cleanly or refuses with the offset of the damage and
 * the repair command.
 *
 * Also writes the fuzz seed corpus when MARS_FUZZ_SEED_DIR is set.
 */
#include "test_store_util.h"

#define NREC 8

static void crc32c_check_value(void **state)
{
	const char *s = "123456789";
	uint32_t c;

	(void)state;
	assert_int_equal(store_crc32c(0, s, 9), 0xe3069283u);
	c = store_crc32c(0, s, 4);
	assert_int_equal(store_crc32c(c, s + 4, 5), 0xe3069283u);
	assert_int_equal(store_crc32c(0, s, 0), 0);
	/* 32 zero bytes: the iSCSI test vector of RFC 3720, B.4 */
	{
		uint8_t z[32] = { 0 };

		assert_int_equal(store_crc32c(0, z, sizeof(z)), 0x8a9136aau);
	}
	/* the mask changes the value and is not the identity on zero */
	assert_int_not_equal(sj_mask(0), 0);
	assert_int_not_equal(sj_mask(0xe3069283u), 0xe3069283u);
}

static void new_journal_has_header(void **state)
{
	struct tctx *t = *state;
	struct store_stats st;
	struct store *s = tu_open(t);
	size_t len;
	uint8_t *buf;

	store_stats(s, &st);
	assert_int_equal(st.file_bytes, SJ_HDR_SIZE);
	assert_int_equal(st.keys, 0);
	assert_string_equal(st.host, "alpha");
	assert_null(st.torn_reason);
	store_close(s);
	buf = tu_read(t->path, &len);
	assert_int_equal(len, SJ_HDR_SIZE);
	assert_memory_equal(buf, "MARSJRNL", 8);
	assert_int_equal(sj_get32(buf + 8), 1);
	assert_int_equal(sj_get32(buf + 12), 128);
	assert_int_equal(buf[56], 5);
	assert_memory_equal(buf + 57, "alpha", 5);
	free(buf);
	/* no tmp file left behind */
	{
		char tmp[PATH_MAX + 16];

		snprintf(tmp, sizeof(tmp), "%s.compact-tmp", t->path);
		assert_int_equal(access(tmp, F_OK), -1);
	}
}

static void missing_journal_without_create(void **state)
{
	struct tctx *t = *state;
	struct store_error e;

	assert_int_equal(tu_open_fail(t, 0, &e), -ENOENT);
	assert_int_equal(tu_open_fail(t, STORE_O_READONLY, &e), -ENOENT);
}

static void empty_file(void **state)
{
	struct tctx *t = *state;
	struct store_stats st;
	struct store *s;

	tu_write(t->path, "", 0);
	s = tu_open_ro(t);
	store_stats(s, &st);
	assert_int_equal(st.keys, 0);
	store_close(s);
	assert_int_equal(tu_size(t->path), 0);	/* the reader wrote nothing */
	s = tu_open(t);
	tu_put(s, "/a", "1");
	store_close(s);
	s = tu_open_ro(t);
	tu_expect(s, "/a", "1");
	store_close(s);
}

static void header_only(void **state)
{
	struct tctx *t = *state;
	struct store_stats st;
	struct store *s = tu_open(t);

	store_close(s);
	s = tu_open(t);
	store_stats(s, &st);
	assert_int_equal(st.keys, 0);
	assert_int_equal(st.records, 0);
	assert_null(st.torn_reason);
	store_close(s);
	assert_int_equal(tu_size(t->path), SJ_HDR_SIZE);
}

static void reopen_and_append(void **state)
{
	struct tctx *t = *state;
	struct store_stats st;
	struct store *s = tu_open(t);
	uint64_t salt = tu_salt(t->path);

	tu_put(s, "/a", "1");
	tu_put(s, "/b", "2");
	store_close(s);
	s = tu_open(t);
	tu_expect(s, "/a", "1");
	tu_put(s, "/c", "3");
	tu_put(s, "/a", "4");
	store_close(s);
	s = tu_open(t);
	store_stats(s, &st);
	assert_int_equal(st.records, 4);
	assert_int_equal(st.keys, 3);
	tu_expect(s, "/a", "4");
	tu_expect(s, "/b", "2");
	tu_expect(s, "/c", "3");
	store_close(s);
	assert_true(tu_salt(t->path) == salt);	/* appending never rewrites */
}

/* A journal of n one-key records /k0.. /k<n-1>; offs[] gets the record offsets. */
static size_t build(struct tctx *t, size_t n, uint64_t *offs)
{
	struct store *s = tu_open(t);
	char key[32], val[32];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "/k%zu", i);
		snprintf(val, sizeof(val), "value-%zu", i);
		tu_put(s, key, val);
	}
	store_close(s);
	assert_int_equal(tu_records(t->path, offs, NREC + 1), n);
	return n;
}

static void expect_keys(struct store *s, size_t n_present, size_t n_total)
{
	char key[32], val[32];
	size_t i;

	for (i = 0; i < n_total; i++) {
		snprintf(key, sizeof(key), "/k%zu", i);
		snprintf(val, sizeof(val), "value-%zu", i);
		tu_expect(s, key, i < n_present ? val : NULL);
	}
}

/* Open must refuse with -EUCLEAN at @off, name the repair command, and leave the
 * file byte for byte as it was. */
static void expect_corrupt(struct tctx *t, uint64_t off)
{
	struct store_error e;
	size_t l1, l2;
	uint8_t *before = tu_read(t->path, &l1), *after;
	char num[32];

	assert_int_equal(tu_open_fail(t, 0, &e), -EUCLEAN);
	assert_int_equal(e.offset, off);
	assert_non_null(strstr(e.msg, "marsctl store repair"));
	snprintf(num, sizeof(num), "offset %llu", (unsigned long long)off);
	assert_non_null(strstr(e.msg, num));
	assert_int_equal(tu_open_fail(t, STORE_O_READONLY, &e), -EUCLEAN);
	assert_int_equal(e.offset, off);
	after = tu_read(t->path, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(before, after, l1);
	free(before);
	free(after);
}

/* Open must succeed, cut the file at @off, and report a torn tail. */
static struct store *expect_torn(struct tctx *t, uint64_t off, uint64_t size)
{
	struct store_stats st;
	struct store *s;

	s = tu_open_ro(t);
	store_stats(s, &st);
	assert_non_null(st.torn_reason);
	assert_int_equal(st.torn_offset, off);
	assert_int_equal(st.torn_bytes, size - off);
	assert_int_equal(st.file_bytes, off);
	store_close(s);
	assert_int_equal(tu_size(t->path), size);	/* readers never cut */
	s = tu_open(t);
	store_stats(s, &st);
	assert_int_equal(st.torn_offset, off);
	assert_int_equal(tu_size(t->path), off);
	return s;
}

static void truncated_tail(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1], cut;
	char orig[PATH_MAX + 8];
	size_t n = build(t, 3, offs);

	snprintf(orig, sizeof(orig), "%s.orig", t->path);
	tu_copy(t->path, orig);
	for (cut = offs[n - 1] + 1; cut < offs[n]; cut++) {
		struct store *s;

		tu_copy(orig, t->path);
		tu_truncate(t->path, cut);
		s = expect_torn(t, offs[n - 1], cut);
		expect_keys(s, n - 1, n);
		/* the next append goes where the torn record was */
		tu_put(s, "/after", "x");
		store_close(s);
		s = tu_open_ro(t);
		expect_keys(s, n - 1, n);
		tu_expect(s, "/after", "x");
		store_close(s);
	}
	/* cut exactly at a record boundary: clean */
	tu_copy(orig, t->path);
	tu_truncate(t->path, offs[n - 1]);
	{
		struct store_stats st;
		struct store *s = tu_open(t);

		store_stats(s, &st);
		assert_null(st.torn_reason);
		expect_keys(s, n - 1, n);
		store_close(s);
	}
}

static void partial_batch(void **state)
{
	struct tctx *t = *state;
	struct store_batch *b = store_batch_new();
	uint64_t offs[NREC + 1], cut;
	char orig[PATH_MAX + 8], key[32];
	struct store *s = tu_open(t);
	size_t i;

	tu_put(s, "/before", "1");
	for (i = 0; i < 6; i++) {
		snprintf(key, sizeof(key), "/batch/%zu", i);
		assert_int_equal(store_batch_put(b, key, "v", 1, NULL), 0);
	}
	assert_int_equal(store_batch_delete(b, "/before", NULL), 0);
	assert_int_equal(store_commit(s, b, NULL, NULL), 0);
	store_batch_free(b);
	store_close(s);
	assert_int_equal(tu_records(t->path, offs, NREC), 2);
	snprintf(orig, sizeof(orig), "%s.orig", t->path);
	tu_copy(t->path, orig);
	for (cut = offs[1] + 1; cut < offs[2]; cut++) {
		struct tu_list l;

		tu_copy(orig, t->path);
		tu_truncate(t->path, cut);
		s = tu_open_ro(t);
		/* all or nothing: no op of the torn batch is visible */
		tu_expect(s, "/before", "1");
		tu_list(s, "/batch/", STORE_F_TOMBSTONES, &l);
		assert_int_equal(l.n, 0);
		store_close(s);
	}
	tu_copy(orig, t->path);
	s = tu_open_ro(t);
	tu_expect(s, "/before", NULL);
	tu_expect(s, "/batch/5", "v");
	store_close(s);
}

static void bad_length_in_middle(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1];
	uint32_t len;

	build(t, 3, offs);
	len = tu_peek32(t->path, offs[1] + 4);
	tu_poke32(t->path, offs[1] + 4, len + 1);
	expect_corrupt(t, offs[1]);
	tu_poke32(t->path, offs[1] + 4, len - 1);
	expect_corrupt(t, offs[1]);
	tu_poke32(t->path, offs[1] + 4, 3);	/* below the minimum */
	expect_corrupt(t, offs[1]);
}

static void huge_length_in_middle(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1];

	build(t, 3, offs);
	tu_poke32(t->path, offs[1] + 4, 0xfffffff0u);
	expect_corrupt(t, offs[1]);
}

static void huge_length_at_tail(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1];
	struct store *s;

	build(t, 3, offs);
	tu_poke32(t->path, offs[2] + 4, 0x7fffffffu);
	s = expect_torn(t, offs[2], offs[3]);
	expect_keys(s, 2, 3);
	store_close(s);
}

static void checksum_mismatch_in_middle(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1];
	struct store_error e;
	char follows[64];

	build(t, 4, offs);
	tu_flip(t->path, offs[1] + SJ_REC_HDR + 20);
	expect_corrupt(t, offs[1]);
	tu_open_fail(t, 0, &e);
	snprintf(follows, sizeof(follows), "valid record follows at offset %llu",
		 (unsigned long long)offs[2]);
	assert_non_null(strstr(e.msg, follows));
	assert_non_null(strstr(e.msg, "checksum mismatch"));
}

static void checksum_mismatch_in_first_record(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1];

	build(t, 2, offs);
	tu_flip(t->path, offs[0]);	/* the stored CRC itself */
	expect_corrupt(t, SJ_HDR_SIZE);
}

static void checksum_mismatch_at_tail(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1], i;
	char orig[PATH_MAX + 8];
	struct store *s;

	build(t, 3, offs);
	snprintf(orig, sizeof(orig), "%s.orig", t->path);
	tu_copy(t->path, orig);
	for (i = offs[2]; i < offs[3]; i++) {
		tu_copy(orig, t->path);
		tu_flip(t->path, i);
		s = expect_torn(t, offs[2], offs[3]);
		expect_keys(s, 2, 3);
		store_close(s);
	}
}

static void stale_salt_in_middle(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1];
	uint8_t rec[512], *buf, *nbuf;
	size_t len, rlen;

	build(t, 3, offs);
	/* a record that would be valid in another incarnation of the journal */
	rlen = tu_make_record(rec, tu_salt(t->path) ^ 0x5a5a5a5aull, 1, "alpha", "/stale", "x");
	buf = tu_read(t->path, &len);
	nbuf = malloc(len + rlen);
	assert_non_null(nbuf);
	memcpy(nbuf, buf, offs[2]);
	memcpy(nbuf + offs[2], rec, rlen);
	memcpy(nbuf + offs[2] + rlen, buf + offs[2], len - offs[2]);
	tu_write(t->path, nbuf, len + rlen);
	free(buf);
	free(nbuf);
	expect_corrupt(t, offs[2]);
}

static void stale_salt_at_tail(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1];
	uint8_t rec[512];
	size_t rlen;
	struct store *s;

	build(t, 3, offs);
	rlen = tu_make_record(rec, tu_salt(t->path) + 1, 1, "alpha", "/stale", "x");
	tu_append(t->path, rec, rlen);
	s = expect_torn(t, offs[3], offs[3] + rlen);
	tu_expect(s, "/stale", NULL);
	expect_keys(s, 3, 3);
	store_close(s);
}

static void zeroed_tail(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1];
	uint8_t zero[8192] = { 0 };
	struct store_stats st;
	struct store *s;

	build(t, 3, offs);
	tu_append(t->path, zero, sizeof(zero));
	s = expect_torn(t, offs[3], offs[3] + sizeof(zero));
	store_stats(s, &st);
	assert_string_equal(st.torn_reason, "zero-filled tail");
	expect_keys(s, 3, 3);
	store_close(s);
}

static void zeroed_last_record(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1], i;
	struct store *s;

	build(t, 3, offs);
	/* the file size grew but only the second half of the record reached disk */
	for (i = offs[2]; i < offs[2] + (offs[3] - offs[2]) / 2; i++)
		tu_poke(t->path, i, 0);
	s = expect_torn(t, offs[2], offs[3]);
	expect_keys(s, 2, 3);
	store_close(s);
}

static void garbage_tail(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1];
	uint8_t junk[3000];
	struct store *s;
	size_t i;

	build(t, 2, offs);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	junk[8] = 1;	/* looks like a frame header of a batch */
	junk[9] = junk[10] = junk[11] = 0;
	tu_append(t->path, junk, sizeof(junk));
	s = expect_torn(t, offs[2], offs[2] + sizeof(junk));
	expect_keys(s, 2, 2);
	store_close(s);
}

static void garbage_larger_than_a_record(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1];
	size_t n = SJ_REC_HDR + SJ_REC_MAX + 100;
	uint8_t *junk = malloc(n);

	assert_non_null(junk);
	build(t, 2, offs);
	memset(junk, 0xab, n);
	tu_append(t->path, junk, n);
	free(junk);
	expect_corrupt(t, offs[2]);
}

static void valid_checksum_invalid_record(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1];
	uint8_t rec[512];
	size_t rlen;
	struct store_error e;

	build(t, 2, offs);
	/* sealed with the right salt, at the tail, but its key is invalid: a buggy
	 * writer, never a torn append */
	rlen = tu_make_record(rec, tu_salt(t->path), 5, "alpha", "/bad//key", "x");
	tu_append(t->path, rec, rlen);
	expect_corrupt(t, offs[2]);
	tu_open_fail(t, 0, &e);
	assert_non_null(strstr(e.msg, "invalid record"));
	/* an owned key written by the wrong host */
	tu_truncate(t->path, offs[2]);
	rlen = tu_make_record(rec, tu_salt(t->path), 5, "alpha", "/host/@beta/addr", "x");
	tu_append(t->path, rec, rlen);
	expect_corrupt(t, offs[2]);
	/* an op timestamp above the batch timestamp */
	tu_truncate(t->path, offs[2]);
	rlen = tu_make_record(rec, tu_salt(t->path), 5, "alpha", "/ok", "x");
	sj_put64(rec + SJ_REC_HDR, 4);
	sj_put32(rec, sj_record_crc(tu_salt(t->path), rec, (uint32_t)(rlen - SJ_REC_HDR)));
	tu_append(t->path, rec, rlen);
	expect_corrupt(t, offs[2]);
}

static void unknown_record_type(void **state)
{
	struct tctx *t = *state;
	uint64_t offs[NREC + 1];

	build(t, 3, offs);
	tu_poke(t->path, offs[2] + 8, 7);
	tu_reseal(t->path, offs[2]);
	expect_corrupt(t, offs[2]);
}

static void bad_magic(void **state)
{
	struct tctx *t = *state;
	struct store_error e;
	char junk[300];

	memset(junk, 'x', sizeof(junk));
	tu_write(t->path, junk, sizeof(junk));
	assert_int_equal(tu_open_fail(t, 0, &e), -EUCLEAN);
	assert_non_null(strstr(e.msg, "not a mars store journal"));
	assert_int_equal(tu_size(t->path), sizeof(junk));
}

static void unsupported_version(void **state)
{
	struct tctx *t = *state;
	struct store_error e;
	struct store *s = tu_open(t);

	store_close(s);
	tu_poke32(t->path, 8, 2);
	assert_int_equal(tu_open_fail(t, 0, &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "version 2"));
}

static void header_checksum_mismatch(void **state)
{
	struct tctx *t = *state;
	struct store_error e;
	struct store *s = tu_open(t);

	store_close(s);
	tu_flip(t->path, 60);
	assert_int_equal(tu_open_fail(t, 0, &e), -EUCLEAN);
	assert_non_null(strstr(e.msg, "header checksum"));
}

static void short_header(void **state)
{
	struct tctx *t = *state;
	struct store_error e;
	struct store *s = tu_open(t);

	store_close(s);
	tu_truncate(t->path, 50);
	assert_int_equal(tu_open_fail(t, 0, &e), -EUCLEAN);
	assert_non_null(strstr(e.msg, "truncated"));
	assert_int_equal(tu_size(t->path), 50);
}

static void journal_of_another_host(void **state)
{
	struct tctx *t = *state;
	struct store_options o;
	struct store_error e;
	struct store *s = tu_open(t);

	store_close(s);
	tu_opts(t, &o, "beta", 0);
	assert_int_equal(store_open(t->path, &o, &s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "belongs to host 'alpha'"));
	/* without a host name the header's is taken */
	tu_opts(t, &o, NULL, 0);
	assert_int_equal(store_open(t->path, &o, &s, &e), 0);
	assert_string_equal(store_host(s), "alpha");
	store_close(s);
}

static void clock_recovered_from_journal(void **state)
{
	struct tctx *t = *state;
	struct store *s;
	uint64_t ts;

	t->use_clock = true;
	s = tu_open(t);
	tu_put(s, "/a", "1");
	ts = tu_put(s, "/b", "2");
	store_close(s);
	t->now = 1000;	/* the wall clock went far back */
	s = tu_open(t);
	assert_true(store_clock(s) == ts);
	assert_true(tu_put(s, "/c", "3") == ts + 1);
	store_close(s);
}

/* Writes the seed corpus of tests/fuzz/fuzz_journal.c when asked to. */
static void write_fuzz_seeds(void **state)
{
	struct tctx *t = *state;
	const char *dir = getenv("MARS_FUZZ_SEED_DIR");
	struct store_op op = { "/res/r0/primary", "beta", 4, 4000000000000000000ull, "beta",
				 STORE_PUT };
	char dst[PATH_MAX + 64];
	struct store *s;

	if (!dir || !*dir) {
		print_message("# skipped: set MARS_FUZZ_SEED_DIR to write the fuzz seeds\n");
		skip();
	}
	s = tu_open(t);
	tu_put(s, "/res/r0/primary", "alpha");
	tu_put(s, "/host/@alpha/addr", "10.0.0.1:7777");
	tu_del(s, "/res/r0/primary");
	store_close(s);
	snprintf(dst, sizeof(dst), "%s/three-batches", dir);
	tu_copy(t->path, dst);
	s = tu_open(t);
	assert_int_equal(store_merge(s, &op, 1, NULL, NULL), 0);
	assert_int_equal(store_compact(s, NULL), 0);
	store_close(s);
	snprintf(dst, sizeof(dst), "%s/compacted", dir);
	tu_copy(t->path, dst);
	tu_truncate(t->path, SJ_HDR_SIZE);
	snprintf(dst, sizeof(dst), "%s/header-only", dir);
	tu_copy(t->path, dst);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tu_setup, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(crc32c_check_value),
		T(new_journal_has_header),
		T(missing_journal_without_create),
		T(empty_file),
		T(header_only),
		T(reopen_and_append),
		T(truncated_tail),
		T(partial_batch),
		T(bad_length_in_middle),
		T(huge_length_in_middle),
		T(huge_length_at_tail),
		T(checksum_mismatch_in_middle),
		T(checksum_mismatch_in_first_record),
		T(checksum_mismatch_at_tail),
		T(stale_salt_in_middle),
		T(stale_salt_at_tail),
		T(zeroed_tail),
		T(zeroed_last_record),
		T(garbage_tail),
		T(garbage_larger_than_a_record),
		T(valid_checksum_invalid_record),
		T(unknown_record_type),
		T(bad_magic),
		T(unsupported_version),
		T(header_checksum_mismatch),
		T(short_header),
		T(journal_of_another_host),
		T(clock_recovered_from_journal),
		T(write_fuzz_seeds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
