// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_mlog: the logfile decoder and encoder (lib/mlog/mlog.c) against
 * docs/log-format.md: the CRC32C check value (3), the worked example of section 12
 * byte for byte with its CRCs and chain entries (11.1), and every outcome of 10.2.
 * Each test is named after what it breaks: it builds a good file in memory with
 * the encoder, damages it with a byte-poking helper, scans it through a read
 * callback, and checks the outcome, its offset and its detail, and that no record
 * after a damaged one is ever delivered.
 *
 * Also writes the seed corpus of tests/fuzz/fuzz_log.c when MARS_FUZZ_SEED_DIR is
 * set (one option byte, then the file).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <isa-l/crc.h>

#include "mlog.h"
#include "mlog_user.h"

#define SALT		0x8badf00ddeadbeefULL
#define LAMPORT0	1732600000000000000ULL
#define MIB		(1024u * 1024u)

static const uint8_t uuid_r0[16] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

/* --- building files ---------------------------------------------------------------- */

/* A logfile being built in memory. */
struct tlog {
	uint8_t *b;
	size_t len, cap;
	struct mlog_fhdr fh;
	uint64_t seq;		/* rec_seq of the next record */
	uint64_t lamport;	/* lamport of the last record */
	size_t off[64];		/* offsets of the first 64 records */
	unsigned int n;		/* records appended */
};

static void tl_reserve(struct tlog *t, size_t more)
{
	if (t->len + more <= t->cap)
		return;
	while (t->len + more > t->cap)
		t->cap = t->cap ? 2 * t->cap : 4096;
	t->b = realloc(t->b, t->cap);
	assert_non_null(t->b);
}

/* Append @n bytes (zero bytes if @p is NULL). */
static void tl_append(struct tlog *t, const void *p, size_t n)
{
	tl_reserve(t, n);
	if (p)
		memcpy(t->b + t->len, p, n);
	else
		memset(t->b + t->len, 0, n);
	t->len += n;
}

/* Encode t->fh into the first 192 bytes again. */
static void tl_header(struct tlog *t)
{
	mlog_fhdr_encode(&t->fh, t->b, mlog_crc_isal);
}

/* A new file with the header of the worked example (section 12). */
static void tl_init(struct tlog *t)
{
	memset(t, 0, sizeof(*t));
	t->fh.version = MLOG_VERSION;
	t->fh.hdr_len = MLOG_HDR_LEN;
	t->fh.salt = SALT;
	t->fh.log_seq = 1;
	t->fh.create_lamport = LAMPORT0;
	t->fh.first_rec_seq = 1;
	t->fh.block_size = 512;
	memcpy(t->fh.res_uuid, uuid_r0, 16);
	strcpy(t->fh.res_name, "r0");
	strcpy(t->fh.host, "alpha");
	t->seq = 1;
	t->lamport = LAMPORT0;
	tl_append(t, NULL, MLOG_HDR_LEN);
	tl_header(t);
}

static void tl_free(struct tlog *t)
{
	free(t->b);
	t->b = NULL;
}

/* Append the record @r (fields as given, CRC computed) with its padding. */
static size_t tl_raw(struct tlog *t, struct mlog_rec *r, const void *payload)
{
	uint8_t h[MLOG_REC_HDR_LEN];
	size_t off = t->len;

	mlog_rec_encode(r, t->fh.salt, payload, h, mlog_crc_isal);
	tl_append(t, h, sizeof(h));
	tl_append(t, payload, r->payload_len);
	tl_append(t, NULL, mlog_rec_size(r->payload_len) - MLOG_REC_HDR_LEN - r->payload_len);
	if (t->n < 64)
		t->off[t->n] = off;
	t->n++;
	return off;
}

/* Append the next record of the sequence: rec_seq + 1, lamport + 1000 ns. */
static size_t tl_rec(struct tlog *t, uint16_t type, uint16_t flags, uint64_t pos, uint32_t len,
		     const void *payload, uint32_t plen)
{
	struct mlog_rec r = {
		.version = MLOG_REC_VERSION, .hdr_len = MLOG_REC_HDR_LEN, .type = type,
		.flags = flags, .rec_seq = t->seq++, .lamport = t->lamport += 1000,
		.pos = pos, .len = len, .payload_len = plen,
	};

	return tl_raw(t, &r, payload);
}

/* A DATA record of @len bytes of @fill at @pos. */
static size_t tl_data(struct tlog *t, uint64_t pos, uint32_t len, uint8_t fill)
{
	uint8_t *p = malloc(len);
	size_t off;

	assert_non_null(p);
	memset(p, fill, len);
	off = tl_rec(t, MLOG_T_DATA, 0, pos, len, p, len);
	free(p);
	return off;
}

static size_t tl_eof(struct tlog *t, uint16_t flags)
{
	return tl_rec(t, MLOG_T_EOF, flags, 0, 0, NULL, 0);
}

/* Byte poking. */
static void poke16(struct tlog *t, size_t off, uint16_t v)
{
	t->b[off] = (uint8_t)v;
	t->b[off + 1] = (uint8_t)(v >> 8);
}

static void poke32(struct tlog *t, size_t off, uint32_t v)
{
	poke16(t, off, (uint16_t)v);
	poke16(t, off + 2, (uint16_t)(v >> 16));
}

static void poke64(struct tlog *t, size_t off, uint64_t v)
{
	poke32(t, off, (uint32_t)v);
	poke32(t, off + 4, (uint32_t)(v >> 32));
}

static uint32_t peek32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Recompute the header CRC after poking header bytes. */
static void fix_hdr_crc(struct tlog *t)
{
	uint32_t c;

	poke32(t, 12, 0);
	c = ~mlog_crc_isal(~0u, t->b, MLOG_HDR_LEN);
	poke32(t, 12, c);
}

/* Recompute the CRC of the record at @off after poking its bytes. */
static void fix_rec_crc(struct tlog *t, size_t off)
{
	uint8_t salt[8];
	uint32_t c, plen = peek32(t->b + off + 44);

	for (int i = 0; i < 8; i++)
		salt[i] = (uint8_t)(t->fh.salt >> (8 * i));
	poke32(t, off + 12, 0);
	c = mlog_crc_isal(~0u, salt, 8);
	c = mlog_crc_isal(c, t->b + off, MLOG_REC_HDR_LEN + plen);
	poke32(t, off + 12, ~c);
}

/* --- scanning ---------------------------------------------------------------------- */

static uint8_t *scanbuf;	/* the payload buffer, MLOG_REC_DATA_MAX bytes */
static const uint8_t zeros[2 * MIB];	/* zero payloads */

struct mem {
	const uint8_t *b;
	size_t len;
	uint64_t fail_at;	/* a read touching this offset fails with -EIO; 0: none */
	uint64_t read;		/* bytes read so far */
	uint64_t read_cap;	/* reads beyond this many bytes fail with -EIO; 0: none */
};

static int mem_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	struct mem *m = ctx;

	if (off > m->len || len > m->len - off)
		return -ERANGE;
	if (m->fail_at && m->fail_at >= off && m->fail_at < off + len)
		return -EIO;
	m->read += len;
	if (m->read_cap && m->read > m->read_cap)
		return -EIO;
	memcpy(buf, m->b + off, len);
	return 0;
}

#define TORN	1
#define GROW	2

static struct mem mem;

/* Prepare a scan of @len bytes at @b; expectations may be set afterwards. */
static void scan_init(struct mlog_scan *s, const uint8_t *b, size_t len, int flags)
{
	memset(s, 0, sizeof(*s));
	mem.b = b;
	mem.len = len;
	mem.fail_at = 0;
	mem.read = 0;
	mem.read_cap = 0;
	s->read = mem_read;
	s->ctx = &mem;
	s->crc = mlog_crc_isal;
	s->end = len;
	s->tail_may_be_torn = flags & TORN;
	s->may_grow = flags & GROW;
	s->buf = scanbuf;
}

/*
 * Run a prepared scan to its end, checking what every caller may rely on: records
 * are delivered in file order, each where the previous one ended, whole and
 * before the end; the outcome lies at or after the last record; later calls
 * return 0. Returns the outcome.
 */
static enum mlog_outcome scan_run(struct mlog_scan *s)
{
	uint64_t next;
	int ret = mlog_scan_begin(s);

	if (!ret) {
		assert_int_not_equal(s->outcome, MLOG_O_NONE);
		assert_int_equal(s->records, 0);
		return s->outcome;
	}
	assert_int_equal(ret, 1);
	assert_int_equal(s->pos, MLOG_HDR_LEN);
	next = s->pos;
	while (mlog_scan_next(s) == 1) {
		assert_int_equal(s->outcome, MLOG_O_NONE);
		assert_true(s->rec.off == next);
		assert_true(s->rec.off % MLOG_REC_ALIGN == 0);
		assert_true(s->rec.off + MLOG_REC_HDR_LEN + s->rec.payload_len <= s->end);
		next = s->pos;
	}
	assert_int_not_equal(s->outcome, MLOG_O_NONE);
	assert_true(s->pos >= next || s->pos == s->end);
	assert_true(s->pos <= s->end);
	assert_int_equal(mlog_scan_next(s), 0);
	return s->outcome;
}

/* Scan @t whole with @flags. */
static enum mlog_outcome scan_tl(struct mlog_scan *s, const struct tlog *t, int flags)
{
	scan_init(s, t->b, t->len, flags);
	return scan_run(s);
}

/* Assert outcome, offset and (if not NULL) detail, reported at the caller's line. */
static void check_outcome(const struct mlog_scan *s, enum mlog_outcome o, uint64_t off,
			  const char *det, const char *file, int line)
{
	_assert_string_equal(mlog_outcome_name(s->outcome), mlog_outcome_name(o), file, line);
	_assert_int_equal(s->pos, off, file, line);
	if (det)
		_assert_string_equal(s->detail ? s->detail : "(null)", det, file, line);
}

#define expect_outcome(s, o, off, det)	check_outcome(s, o, off, det, __FILE__, __LINE__)

/* --- CRC and the worked example (3, 12) --------------------------------------------- */

/* A bitwise CRC32C (reflected 0x82F63B78), as an independent second implementation. */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

static void crc32c_check_value(void **state)
{
	unsigned char s[] = "123456789";
	uint8_t rnd[1000];
	uint32_t c;

	(void)state;
	assert_int_equal(~crc32_iscsi(s, 9, 0xffffffffu), 0xe3069283u);
	assert_int_equal(~mlog_crc_isal(~0u, s, 9), 0xe3069283u);
	c = mlog_crc_isal(~0u, s, 4);
	assert_int_equal(~mlog_crc_isal(c, s + 4, 5), 0xe3069283u);
	assert_int_equal(crc32c_bitwise(s, 9), 0xe3069283u);
	srand(7);
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)rand();
	for (size_t n = 0; n <= sizeof(rnd); n += 37)
		assert_int_equal(~mlog_crc_isal(~0u, rnd, n), crc32c_bitwise(rnd, n));
}

/* The hexdump of section 12, line by line (zero lines and the payload left out). */
static const struct {
	unsigned int off;
	const char *hex;
} example_lines[] = {
	{ 0x000, "4d4152532d4c4f470100c000805fdcdd" },
	{ 0x010, "efbeadde0df0ad8b0100000000000000" },
	{ 0x020, "0080d731856e0b180100000000000000" },
	{ 0x030, "00000000000200000011223344556677" },
	{ 0x040, "8899aabbccddeeff7230000000000000" },
	{ 0x060, "0000000000000000616c706861000000" },
	{ 0x0c0, "4d524543010030000100010016572b2a" },
	{ 0x0d0, "0100000000000000e883d731856e0b18" },
	{ 0x0e0, "00001000000000000002000000020000" },
	{ 0x2f0, "4d52454301003000060002009a51a0e1" },
	{ 0x300, "0200000000000000d087d731856e0b18" },
};

/* The 800 bytes of the example file with its EOF record, from the table above. */
static void example_bytes(uint8_t *want)
{
	memset(want, 0, 800);
	for (size_t i = 0; i < sizeof(example_lines) / sizeof(example_lines[0]); i++) {
		const char *h = example_lines[i].hex;
		unsigned int o = example_lines[i].off;

		for (; *h; h++) {
			unsigned int v;

			if (*h == ' ')
				continue;
			assert_int_equal(sscanf(h, "%2x", &v), 1);
			want[o++] = (uint8_t)v;
			h++;
		}
	}
	for (unsigned int i = 0; i < 128; i++)
		memcpy(want + 0xf0 + 4 * i, "mars", 4);
}

static void worked_example(void **state)
{
	uint8_t want[800], got[800], payload[512], salt[8];
	struct mlog_fhdr fh = {
		.version = 1, .hdr_len = 192, .salt = SALT, .log_seq = 1,
		.create_lamport = 1732600000000000000ULL, .first_rec_seq = 1,
		.block_size = 512, .res_name = "r0", .host = "alpha",
	};
	struct mlog_rec data = {
		.version = 1, .hdr_len = 48, .type = MLOG_T_DATA, .flags = MLOG_F_SYNC,
		.rec_seq = 1, .lamport = 1732600000000001000ULL, .pos = 1048576, .len = 512,
		.payload_len = 512,
	};
	struct mlog_rec eof = {
		.version = 1, .hdr_len = 48, .type = MLOG_T_EOF, .flags = MLOG_F_DRAINED,
		.rec_seq = 2, .lamport = 1732600000000002000ULL,
	};
	struct mlog_scan s;
	uint32_t c;

	(void)state;
	example_bytes(want);
	memcpy(fh.res_uuid, uuid_r0, 16);
	for (unsigned int i = 0; i < 128; i++)
		memcpy(payload + 4 * i, "mars", 4);
	memset(got, 0xa5, sizeof(got));

	mlog_fhdr_encode(&fh, got, mlog_crc_isal);
	assert_memory_equal(got, want, 192);
	assert_int_equal(peek32(got + 12), 0xdddc5f80u);
	mlog_rec_encode(&data, SALT, payload, got + 192, mlog_crc_isal);
	assert_int_equal(data.crc, 0x2a2b5716u);
	memcpy(got + 240, payload, 512);
	assert_memory_equal(got, want, 752);
	mlog_rec_encode(&eof, SALT, NULL, got + 752, mlog_crc_isal);
	assert_int_equal(eof.crc, 0xe1a0519au);
	assert_memory_equal(got, want, 800);

	/* the same CRCs from the bitwise implementation */
	memcpy(got, want, 800);
	memset(got + 12, 0, 4);
	assert_int_equal(crc32c_bitwise(got, 192), 0xdddc5f80u);
	for (int i = 0; i < 8; i++)
		salt[i] = (uint8_t)(SALT >> (8 * i));
	{
		uint8_t cover[8 + 48 + 512];

		memcpy(cover, salt, 8);
		memcpy(cover + 8, want + 192, 48 + 512);
		memset(cover + 8 + 12, 0, 4);
		assert_int_equal(crc32c_bitwise(cover, sizeof(cover)), 0x2a2b5716u);
		memcpy(cover + 8, want + 752, 48);
		memset(cover + 8 + 12, 0, 4);
		assert_int_equal(crc32c_bitwise(cover, 56), 0xe1a0519au);
	}

	/* a writer with a scattered payload gets the same header */
	memset(got, 0, 48);
	c = mlog_rec_encode_begin(&data, SALT, got, mlog_crc_isal);
	for (int part = 0; part < 4; part++)
		c = mlog_crc_isal(c, payload + 128 * part, 128);
	mlog_rec_set_crc(got, c);
	assert_memory_equal(got, want + 192, 48);

	/* the reader: clean_open at 752, then clean_eof at 800 */
	scan_init(&s, want, 752, 0);
	assert_int_equal(mlog_scan_begin(&s), 1);
	assert_int_equal(s.fh.version, 1);
	assert_int_equal(s.fh.hdr_len, 192);
	assert_int_equal(s.fh.hdr_crc, 0xdddc5f80u);
	assert_true(s.fh.salt == SALT);
	assert_true(s.fh.log_seq == 1 && s.fh.first_rec_seq == 1);
	assert_true(s.fh.create_lamport == 1732600000000000000ULL);
	assert_int_equal(s.fh.block_size, 512);
	assert_memory_equal(s.fh.res_uuid, uuid_r0, 16);
	assert_string_equal(s.fh.res_name, "r0");
	assert_string_equal(s.fh.host, "alpha");
	assert_int_equal(mlog_scan_next(&s), 1);
	assert_int_equal(s.rec.off, 192);
	assert_int_equal(s.rec.type, MLOG_T_DATA);
	assert_int_equal(s.rec.flags, MLOG_F_SYNC);
	assert_int_equal(s.rec.crc, 0x2a2b5716u);
	assert_true(s.rec.lamport == 1732600000000001000ULL);
	assert_true(s.rec.pos == 1048576);
	assert_int_equal(s.rec.len, 512);
	assert_memory_equal(s.buf, payload, 512);
	assert_int_equal(mlog_scan_next(&s), 0);
	expect_outcome(&s, MLOG_O_CLEAN_OPEN, 752, NULL);
	assert_int_equal(s.content_end, 752);
	assert_false(mlog_outcome_fatal(s.outcome));

	scan_init(&s, want, 800, 0);
	assert_int_equal(scan_run(&s), MLOG_O_CLEAN_EOF);
	expect_outcome(&s, MLOG_O_CLEAN_EOF, 800, NULL);
	assert_int_equal(s.records, 2);
	assert_true(s.eof_seen);
	assert_int_equal(s.eof_flags, MLOG_F_DRAINED);
	assert_int_equal(s.content_end, 752);
}

/* Section 11.1 and the values of section 12. */
static void chain_example(void **state)
{
	uint8_t g[32], e[32], x[32], u[16];
	char hex[65], text[37];
	char host64[66];

	(void)state;
	assert_int_equal(mlog_chain_genesis(uuid_r0, g), 0);
	mlog_hex(g, 32, hex);
	assert_string_equal(hex, "0f0ead8e0de511b047f2fc97eb680641000ec3cda3dd5e262b58b8859446b656");
	assert_int_equal(mlog_chain_entry(1, "alpha", 752, g, e), 0);
	mlog_hex(e, 32, hex);
	assert_string_equal(hex, "0d1dae84c410c94dd5ce2538e51af3a4e7b4c72757165da3f728676227e18c82");
	/* every input counts */
	assert_int_equal(mlog_chain_entry(2, "alpha", 752, g, x), 0);
	assert_memory_not_equal(x, e, 32);
	assert_int_equal(mlog_chain_entry(1, "alphb", 752, g, x), 0);
	assert_memory_not_equal(x, e, 32);
	assert_int_equal(mlog_chain_entry(1, "alpha", 800, g, x), 0);
	assert_memory_not_equal(x, e, 32);
	assert_int_equal(mlog_chain_entry(1, "alpha", 752, e, x), 0);
	assert_memory_not_equal(x, e, 32);
	/* a 64-byte host fills the field; a longer one is refused */
	memset(host64, 'h', 64);
	host64[64] = 0;
	assert_int_equal(mlog_chain_entry(1, host64, 752, g, x), 0);
	host64[64] = 'h';
	host64[65] = 0;
	assert_int_equal(mlog_chain_entry(1, host64, 752, g, x), -1);

	/* the text forms */
	assert_int_equal(mlog_unhex("0d1dae84c410c94dd5ce2538e51af3a4e7b4c72757165da3f728676227e18c82",
				    x, 32), 0);
	assert_memory_equal(x, e, 32);
	assert_int_equal(mlog_unhex("0D1DAE84C410C94DD5CE2538E51AF3A4E7B4C72757165DA3F728676227E18C82",
				    x, 32), 0);
	assert_memory_equal(x, e, 32);
	assert_int_equal(mlog_unhex("0d1d", x, 32), -1);
	assert_int_equal(mlog_unhex("zz", x, 1), -1);
	assert_int_equal(mlog_uuid_parse("00112233-4455-6677-8899-aabbccddeeff", u), 0);
	assert_memory_equal(u, uuid_r0, 16);
	assert_int_equal(mlog_uuid_parse("00112233445566778899AABBCCDDEEFF", u), 0);
	assert_memory_equal(u, uuid_r0, 16);
	assert_int_equal(mlog_uuid_parse("00112233-44556677-8899-aabbccddeeff-", u), -1);
	assert_int_equal(mlog_uuid_parse("0011", u), -1);
	mlog_uuid_format(uuid_r0, text);
	assert_string_equal(text, "00112233-4455-6677-8899-aabbccddeeff");
}

/* The chain's end is content_end: PAD and EOF do not move it. */
static void content_end_ignores_pad_and_eof(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	size_t end;

	(void)state;
	tl_init(&t);
	scan_tl(&s, &t, 0);
	assert_int_equal(s.content_end, MLOG_HDR_LEN);
	tl_data(&t, 0, 4096, 1);
	tl_rec(&t, MLOG_T_ZERO, MLOG_F_NOUNMAP, 4096, 8192, NULL, 0);
	tl_rec(&t, MLOG_T_DISCARD, MLOG_F_SYNC, 0, 512, NULL, 0);
	end = t.len;
	tl_rec(&t, MLOG_T_PAD, 0, 0, 0, zeros, 20);
	scan_tl(&s, &t, 0);
	expect_outcome(&s, MLOG_O_CLEAN_OPEN, t.len, NULL);
	assert_int_equal(s.content_end, end);
	tl_eof(&t, MLOG_F_DRAINED | MLOG_F_EMERGENCY);
	scan_tl(&s, &t, 0);
	expect_outcome(&s, MLOG_O_CLEAN_EOF, t.len, NULL);
	assert_int_equal(s.content_end, end);
	assert_int_equal(s.records, 5);
	assert_int_equal(s.eof_flags, MLOG_F_DRAINED | MLOG_F_EMERGENCY);
	tl_free(&t);
}

/* --- clean ends (10.2) ----------------------------------------------------------------- */

static void header_only_is_clean_open(void **state)
{
	struct tlog t;
	struct mlog_scan s;

	(void)state;
	tl_init(&t);
	assert_int_equal(scan_tl(&s, &t, 0), MLOG_O_CLEAN_OPEN);
	expect_outcome(&s, MLOG_O_CLEAN_OPEN, 192, NULL);
	assert_int_equal(s.records, 0);
	assert_int_equal(scan_tl(&s, &t, TORN | GROW), MLOG_O_CLEAN_OPEN);
	tl_free(&t);
}

static void clean_open_and_clean_eof(void **state)
{
	struct tlog t;
	struct mlog_scan s;

	(void)state;
	tl_init(&t);
	for (int i = 0; i < 10; i++)
		tl_data(&t, 4096 * (uint64_t)i, 4096, (uint8_t)i);
	for (int flags = 0; flags < 4; flags++) {
		assert_int_equal(scan_tl(&s, &t, flags), MLOG_O_CLEAN_OPEN);
		expect_outcome(&s, MLOG_O_CLEAN_OPEN, t.len, NULL);
		assert_int_equal(s.records, 10);
		assert_false(s.eof_seen);
	}
	tl_eof(&t, 0);
	for (int flags = 0; flags < 4; flags++) {
		assert_int_equal(scan_tl(&s, &t, flags), MLOG_O_CLEAN_EOF);
		expect_outcome(&s, MLOG_O_CLEAN_EOF, t.len, NULL);
		assert_int_equal(s.records, 11);
		assert_int_equal(s.eof_flags, 0);
	}
	tl_free(&t);
}

static void zeroed_tail(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	size_t end;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 7);
	end = t.len;
	/* fewer zero bytes than a record header, then more than a chunk */
	tl_append(&t, NULL, 5);
	assert_int_equal(scan_tl(&s, &t, 0), MLOG_O_ZERO_TAIL);
	expect_outcome(&s, MLOG_O_ZERO_TAIL, end, NULL);
	assert_int_equal(s.zero_bytes, 5);
	tl_append(&t, NULL, 2 * MIB);
	assert_int_equal(scan_tl(&s, &t, TORN), MLOG_O_ZERO_TAIL);
	expect_outcome(&s, MLOG_O_ZERO_TAIL, end, NULL);
	assert_int_equal(s.zero_bytes, 2 * MIB + 5);
	assert_false(mlog_outcome_fatal(s.outcome));
	/* a non-zero byte at the very end: not a zero tail */
	t.b[t.len - 1] = 1;
	assert_int_equal(scan_tl(&s, &t, 0), MLOG_O_BAD_MAGIC);
	expect_outcome(&s, MLOG_O_BAD_MAGIC, end, "magic");
	tl_free(&t);
}

static void zeros_after_eof_are_clean_eof(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	size_t end;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 7);
	tl_eof(&t, MLOG_F_DRAINED);
	end = t.len;
	tl_append(&t, NULL, 65536);
	assert_int_equal(scan_tl(&s, &t, 0), MLOG_O_CLEAN_EOF);
	expect_outcome(&s, MLOG_O_CLEAN_EOF, end, NULL);
	assert_int_equal(s.zero_bytes, 65536);
	tl_free(&t);
}

static void garbage_after_eof(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	size_t end;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 7);
	tl_eof(&t, 0);
	end = t.len;
	tl_append(&t, NULL, 1000);
	t.b[end + 999] = 0x42;
	for (int flags = 0; flags < 4; flags++) {
		assert_int_equal(scan_tl(&s, &t, flags), MLOG_O_GARBAGE);
		expect_outcome(&s, MLOG_O_GARBAGE, end, NULL);
		assert_true(mlog_outcome_fatal(s.outcome));
	}
	/* a valid record after EOF is garbage too */
	t.len = end;
	tl_data(&t, 0, 512, 8);
	assert_int_equal(scan_tl(&s, &t, TORN), MLOG_O_GARBAGE);
	expect_outcome(&s, MLOG_O_GARBAGE, end, NULL);
	assert_int_equal(s.records, 2);
	tl_free(&t);
}

/* --- torn tails and damage (10.1) ---------------------------------------------------- */

/* The file cut at every byte of its last record. */
static void truncated_last_record(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	size_t last, full;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	last = tl_data(&t, 512, 1024, 2);
	full = t.len;
	for (size_t cut = last + 1; cut < full; cut++) {
		enum mlog_outcome o = cut - last < MLOG_REC_HDR_LEN ? MLOG_O_SHORT_HEADER :
			MLOG_O_SHORT_RECORD;
		const char *why = o == MLOG_O_SHORT_HEADER ?
			"short_header: the data ends inside a record header" :
			"short_record: the data ends inside the record";

		t.len = cut;
		/* the last record's bytes are non-zero from its magic on */
		assert_int_equal(scan_tl(&s, &t, 0), o);
		expect_outcome(&s, o, last, NULL);
		assert_true(mlog_outcome_fatal(o));
		assert_int_equal(s.records, 1);
		assert_int_equal(scan_tl(&s, &t, TORN), MLOG_O_TORN_TAIL);
		expect_outcome(&s, MLOG_O_TORN_TAIL, last, why);
		assert_int_equal(s.records, 1);
		assert_int_equal(s.valid_after, 0);
		assert_false(mlog_outcome_fatal(s.outcome));
		assert_int_equal(s.content_end, last);
		assert_int_equal(scan_tl(&s, &t, GROW), MLOG_O_INCOMPLETE);
		expect_outcome(&s, MLOG_O_INCOMPLETE, last, NULL);
		assert_false(mlog_outcome_fatal(s.outcome));
		/* may_grow wins: a growing file waits for the rest */
		assert_int_equal(scan_tl(&s, &t, TORN | GROW), MLOG_O_INCOMPLETE);
	}
	tl_free(&t);
}

/* Every bit of the last record flipped: torn_tail with the tail flag, never a record. */
static void flipped_bit_in_last_record(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	size_t last;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	last = tl_data(&t, 512, 512, 2);
	for (size_t byte = last; byte < t.len; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			t.b[byte] ^= (uint8_t)(1 << bit);
			scan_tl(&s, &t, TORN);
			assert_int_equal(s.records, 1);
			expect_outcome(&s, MLOG_O_TORN_TAIL, last, NULL);
			scan_tl(&s, &t, 0);
			assert_true(mlog_outcome_fatal(s.outcome));
			assert_int_equal(s.pos, last);
			t.b[byte] ^= (uint8_t)(1 << bit);
		}
	}
	/* a payload bit: the CRC catches it */
	t.b[last + 100] ^= 1;
	scan_tl(&s, &t, TORN);
	expect_outcome(&s, MLOG_O_TORN_TAIL, last, "bad_crc: crc");
	scan_tl(&s, &t, 0);
	expect_outcome(&s, MLOG_O_BAD_CRC, last, "crc");
	tl_free(&t);
}

/*
 * The same damage more than MLOG_TORN_MAX before the end: fatal even with the tail
 * flag, at the damaged record's offset, and nothing after it is delivered.
 */
static void damage_before_the_tail_is_fatal(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	size_t bad;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	bad = tl_data(&t, 512, 512, 2);
	for (int i = 0; i < 9; i++)
		tl_data(&t, MIB * (uint64_t)i, MIB, (uint8_t)i);
	assert_true(t.len - bad > MLOG_TORN_MAX);
	assert_int_equal(scan_tl(&s, &t, TORN), MLOG_O_CLEAN_OPEN);
	assert_int_equal(s.records, 11);

	t.b[bad + 48 + 3] ^= 0x10;
	for (int flags = 0; flags < 4; flags++) {
		assert_int_equal(scan_tl(&s, &t, flags), MLOG_O_BAD_CRC);
		expect_outcome(&s, MLOG_O_BAD_CRC, bad, "crc");
		assert_int_equal(s.records, 1);
		assert_int_equal(s.content_end, bad);
		assert_true(mlog_outcome_fatal(s.outcome));
	}
	t.b[bad + 48 + 3] ^= 0x10;

	/* a bad length field there: also fatal, not a torn tail */
	poke32(&t, bad + 44, 513);
	assert_int_equal(scan_tl(&s, &t, TORN), MLOG_O_BAD_LENGTH);
	expect_outcome(&s, MLOG_O_BAD_LENGTH, bad, "payload_len");
	poke32(&t, bad + 44, 512);

	/* zeroed in the middle: not a zero tail, the bytes after it are not zero */
	memset(t.b + bad, 0, 560);
	assert_int_equal(scan_tl(&s, &t, TORN), MLOG_O_BAD_MAGIC);
	expect_outcome(&s, MLOG_O_BAD_MAGIC, bad, "magic");

	/* within the window of the same file: a torn tail */
	t.len = bad + MLOG_TORN_MAX;
	assert_int_equal(scan_tl(&s, &t, TORN), MLOG_O_TORN_TAIL);
	expect_outcome(&s, MLOG_O_TORN_TAIL, bad, "bad_magic: magic");
	assert_int_equal(s.valid_after, 7);	/* the whole 1 MiB records up to the cut */
	t.len = bad + MLOG_TORN_MAX + 8;
	assert_int_equal(scan_tl(&s, &t, TORN), MLOG_O_BAD_MAGIC);
	tl_free(&t);
}

/* Records with a valid CRC after a torn record are counted (lost acknowledged writes). */
static void valid_records_after_torn_record(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	size_t bad;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	bad = tl_data(&t, 512, 4096, 2);
	tl_data(&t, 8192, 512, 3);
	tl_rec(&t, MLOG_T_ZERO, 0, 0, 4096, NULL, 0);
	tl_data(&t, 0, 1024, 4);
	tl_eof(&t, MLOG_F_DRAINED);
	t.b[bad + 48 + 4000] ^= 0x80;
	assert_int_equal(scan_tl(&s, &t, TORN), MLOG_O_TORN_TAIL);
	expect_outcome(&s, MLOG_O_TORN_TAIL, bad, "bad_crc: crc");
	assert_int_equal(s.valid_after, 4);
	assert_int_equal(s.records, 1);

	/* a damaged one among them is not counted, the ones behind it are */
	t.b[t.off[3] + 20] ^= 1;
	assert_int_equal(scan_tl(&s, &t, TORN), MLOG_O_TORN_TAIL);
	assert_int_equal(s.valid_after, 3);
	t.b[t.off[3] + 20] ^= 1;

	/* a record inside the payload of a counted one is not counted again */
	{
		struct tlog inner;
		uint8_t *p;

		tl_init(&inner);
		tl_data(&inner, 0, 512, 9);
		p = calloc(1, 4096);
		assert_non_null(p);
		memcpy(p, inner.b + MLOG_HDR_LEN, inner.len - MLOG_HDR_LEN);
		t.len = bad;
		t.seq = 2;
		tl_rec(&t, MLOG_T_DATA, 0, 0, 4096, p, 4096);	/* will be damaged */
		tl_rec(&t, MLOG_T_DATA, 0, 0, 4096, p, 4096);
		t.b[bad + 20] ^= 4;
		assert_int_equal(scan_tl(&s, &t, TORN), MLOG_O_TORN_TAIL);
		/* the damaged record's payload holds a valid record, then the next record */
		assert_int_equal(s.valid_after, 2);
		free(p);
		tl_free(&inner);
	}
	tl_free(&t);
}

/*
 * A torn window crafted to make the count of valid records behind a torn record
 * expensive: the record magic at every 8-byte offset (headers that fail the
 * checks), then headers that pass them with a bad CRC and a payload crossing
 * every chunk. The scan still ends as torn_tail, and reads a bounded multiple of
 * the window (each fake magic re-read 1 MiB before: ~1 TiB for this file).
 */
static void crafted_torn_window_is_cheap(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	size_t bad, win, off;
	uint8_t h[MLOG_REC_HDR_LEN];
	struct mlog_rec r = {
		.version = MLOG_REC_VERSION, .hdr_len = MLOG_REC_HDR_LEN, .type = MLOG_T_DATA,
		.rec_seq = 3, .lamport = LAMPORT0 + 3000, .pos = 0, .len = 65536,
		.payload_len = 65536,
	};

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	bad = tl_data(&t, 512, 512, 2);
	t.b[bad + 48 + 3] ^= 0x10;
	win = MLOG_TORN_MAX - (t.len - bad);
	tl_append(&t, NULL, win);
	/* First half: bare magics every 8 bytes. */
	for (off = t.len - win; off < t.len - win / 2; off += 8)
		memcpy(t.b + off, "MREC", 4);
	/* Second half: passing headers with a wrong CRC every 48 bytes. */
	mlog_rec_encode(&r, t.fh.salt, zeros, h, mlog_crc_isal);
	h[12] ^= 1;
	for (off = t.len - win / 2; off + sizeof(h) <= t.len; off += sizeof(h))
		memcpy(t.b + off, h, sizeof(h));
	scan_init(&s, t.b, t.len, TORN);
	mem.read_cap = 16ULL * MLOG_TORN_MAX;
	assert_int_equal(scan_run(&s), MLOG_O_TORN_TAIL);
	expect_outcome(&s, MLOG_O_TORN_TAIL, bad, "bad_crc: crc");
	assert_int_equal(s.valid_after, 0);
	assert_true(mem.read <= 10ULL * MLOG_TORN_MAX);
	tl_free(&t);
}

/* A file cut without the tail flag: short_record, fatal. */
static void truncated_file_without_torn_flag(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	size_t last;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	last = tl_data(&t, 512, 512, 2);
	t.len -= 100;
	assert_int_equal(scan_tl(&s, &t, 0), MLOG_O_SHORT_RECORD);
	expect_outcome(&s, MLOG_O_SHORT_RECORD, last, "the data ends inside the record");
	t.len = last + 10;
	assert_int_equal(scan_tl(&s, &t, 0), MLOG_O_SHORT_HEADER);
	expect_outcome(&s, MLOG_O_SHORT_HEADER, last, "the data ends inside a record header");
	tl_free(&t);
}

/* valid_len (s->end) shorter than the file: the scan never reads beyond it. */
static void valid_len_limits_the_scan(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	size_t second;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	second = tl_data(&t, 512, 512, 2);
	tl_data(&t, 1024, 512, 3);
	scan_init(&s, t.b, t.len, 0);
	s.end = second;
	assert_int_equal(scan_run(&s), MLOG_O_CLEAN_OPEN);
	expect_outcome(&s, MLOG_O_CLEAN_OPEN, second, NULL);
	scan_init(&s, t.b, t.len, GROW);
	s.end = second + 100;
	assert_int_equal(scan_run(&s), MLOG_O_INCOMPLETE);
	expect_outcome(&s, MLOG_O_INCOMPLETE, second, NULL);
	tl_free(&t);
}

/* --- the file header (4) --------------------------------------------------------------- */

static void zero_filled_file_is_empty(void **state)
{
	uint8_t *z = calloc(1, 3 * MIB);
	struct mlog_scan s;

	(void)state;
	assert_non_null(z);
	scan_init(&s, z, 3 * MIB, TORN);
	assert_int_equal(scan_run(&s), MLOG_O_EMPTY);
	expect_outcome(&s, MLOG_O_EMPTY, 0, NULL);
	assert_false(mlog_outcome_fatal(s.outcome));
	scan_init(&s, z, 3 * MIB, 0);
	assert_int_equal(scan_run(&s), MLOG_O_BAD_HEADER);
	expect_outcome(&s, MLOG_O_BAD_HEADER, 0, "magic: all zero");
	assert_true(mlog_outcome_fatal(s.outcome));
	/* a zero header with data behind it is no empty file */
	z[3 * MIB - 1] = 1;
	scan_init(&s, z, 3 * MIB, TORN);
	assert_int_equal(scan_run(&s), MLOG_O_BAD_HEADER);
	expect_outcome(&s, MLOG_O_BAD_HEADER, 0, "magic");
	/* shorter than the header */
	for (size_t n = 0; n < MLOG_HDR_LEN; n += 37) {
		scan_init(&s, z, n, TORN);
		assert_int_equal(scan_run(&s), MLOG_O_EMPTY);
		scan_init(&s, z, n, 0);
		assert_int_equal(scan_run(&s), MLOG_O_BAD_HEADER);
		expect_outcome(&s, MLOG_O_BAD_HEADER, 0, "size: shorter than the file header");
		scan_init(&s, z, n, GROW);
		assert_int_equal(scan_run(&s), MLOG_O_INCOMPLETE);
	}
	free(z);
}

/* Scan @t with expectations of the worked example; returns the outcome. */
static enum mlog_outcome scan_expect(struct mlog_scan *s, const struct tlog *t)
{
	scan_init(s, t->b, t->len, TORN);
	s->expect_seq = 1;
	s->expect_res = "r0";
	s->expect_host = "alpha";
	s->expect_uuid = uuid_r0;
	return scan_run(s);
}

/* Each header field broken on its own: bad_header with the field named, even when torn. */
static void header_field_errors(void **state)
{
	static const struct {
		const char *what;
		size_t off;
		int width;		/* bytes to poke: 1, 2, 4 or 8 */
		uint64_t value;
		bool fix_crc;
		const char *detail;
	} cases[] = {
		{ "magic", 0, 1, 'm', false, "magic" },
		{ "magic end", 7, 1, 'g', true, "magic" },
		{ "version 2", 8, 2, 2, true, "version: not 1" },
		{ "version 0", 8, 2, 0, true, "version: not 1" },
		{ "hdr_len", 10, 2, 200, true, "hdr_len: not 192" },
		{ "hdr_crc", 12, 1, 0x81, false, "hdr_crc" },
		{ "salt without crc", 16, 1, 0, false, "hdr_crc" },
		{ "reserved first", 168, 1, 1, true, "reserved: not zero" },
		{ "reserved last", 191, 1, 0x80, true, "reserved: not zero" },
		{ "flags", 48, 4, 1, true, "flags: not zero" },
		{ "log_seq 0", 24, 8, 0, true, "log_seq: out of range" },
		{ "log_seq max+1", 24, 8, 1000000000, true, "log_seq: out of range" },
		{ "log_seq other", 24, 8, 2, true, "log_seq: not the expected number" },
		{ "res_name empty", 72, 1, 0, true, "res_name: invalid" },
		{ "res_name dot", 72, 1, '.', true, "res_name: invalid" },
		{ "res_name dash", 72, 1, '-', true, "res_name: invalid" },
		{ "res_name char", 73, 1, '/', true, "res_name: invalid" },
		{ "res_name after zero", 80, 1, 'x', true, "res_name: invalid" },
		{ "res_name 27", 72, 8, 0x3132333435363738ULL, true, NULL },
		{ "res_name other", 73, 1, '1', true, "res_name: not the expected resource" },
		{ "host empty", 104, 1, 0, true, "host: invalid" },
		{ "host dash", 104, 1, '-', true, "host: invalid" },
		{ "host underscore", 104, 1, '_', true, "host: invalid" },
		{ "host char", 105, 1, ' ', true, "host: invalid" },
		{ "host after zero", 167, 1, 'x', true, "host: invalid" },
		{ "host other", 108, 1, 'b', true, "host: not the expected host" },
		{ "block_size 1024", 52, 4, 1024, true, "block_size: not 512 or 4096" },
		{ "block_size 0", 52, 4, 0, true, "block_size: not 512 or 4096" },
		{ "res_uuid other", 71, 1, 0xfe, true, "res_uuid: not the expected UUID" },
	};
	struct tlog t;
	struct mlog_scan s;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	assert_int_equal(scan_expect(&s, &t), MLOG_O_CLEAN_OPEN);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tlog c = t;

		c.b = malloc(t.len);
		assert_non_null(c.b);
		memcpy(c.b, t.b, t.len);
		switch (cases[i].width) {
		case 1:
			c.b[cases[i].off] = (uint8_t)cases[i].value;
			break;
		case 2:
			poke16(&c, cases[i].off, (uint16_t)cases[i].value);
			break;
		case 4:
			poke32(&c, cases[i].off, (uint32_t)cases[i].value);
			break;
		default:
			poke64(&c, cases[i].off, cases[i].value);
			break;
		}
		if (!strcmp(cases[i].what, "res_name 27")) {
			/* 27 characters: "r0" + 25 more */
			memset(c.b + 72, 'a', 27);
		}
		if (cases[i].fix_crc)
			fix_hdr_crc(&c);
		print_message("# header: %s\n", cases[i].what);
		assert_int_equal(scan_expect(&s, &c), MLOG_O_BAD_HEADER);
		expect_outcome(&s, MLOG_O_BAD_HEADER, 0,
			       cases[i].detail ? cases[i].detail : "res_name: invalid");
		assert_true(mlog_outcome_fatal(s.outcome));
		tl_free(&c);
	}
	tl_free(&t);
}

/* Names at their limits, expectations that do not apply. */
static void header_names_and_uuid(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	uint8_t other[16];
	char longer[70];

	(void)state;
	tl_init(&t);
	memset(t.fh.res_name, 'a', 26);
	memset(t.fh.host, 'h', 63);
	strcpy(t.fh.res_name + 20, "_x.y-z");
	tl_header(&t);
	scan_init(&s, t.b, t.len, 0);
	s.expect_res = t.fh.res_name;
	s.expect_host = t.fh.host;
	assert_int_equal(scan_run(&s), MLOG_O_CLEAN_OPEN);
	assert_string_equal(s.fh.res_name, t.fh.res_name);
	assert_string_equal(s.fh.host, t.fh.host);
	/* a prefix of the name is not the name, nor is a longer one */
	scan_init(&s, t.b, t.len, 0);
	s.expect_res = "aaaa";
	assert_int_equal(scan_run(&s), MLOG_O_BAD_HEADER);
	scan_init(&s, t.b, t.len, 0);
	memset(longer, 'h', 64);
	longer[64] = 0;
	s.expect_host = longer;
	assert_int_equal(scan_run(&s), MLOG_O_BAD_HEADER);
	expect_outcome(&s, MLOG_O_BAD_HEADER, 0, "host: not the expected host");
	/* 64 host characters: the field is full, too long for a host name */
	memset(t.b + 104, 'h', 64);
	fix_hdr_crc(&t);
	assert_int_equal(scan_tl(&s, &t, 0), MLOG_O_BAD_HEADER);
	expect_outcome(&s, MLOG_O_BAD_HEADER, 0, "host: invalid");
	assert_int_equal(strlen(s.fh.host), 64);

	/* an unknown (all zero) UUID matches any expected one; block size 4096 */
	tl_free(&t);
	tl_init(&t);
	memset(t.fh.res_uuid, 0, 16);
	t.fh.block_size = 4096;
	tl_header(&t);
	tl_data(&t, 4096, 4096, 1);
	memset(other, 0x77, 16);
	scan_init(&s, t.b, t.len, 0);
	s.expect_uuid = other;
	assert_int_equal(scan_run(&s), MLOG_O_CLEAN_OPEN);
	/* 512-aligned is not enough with 4096-byte blocks */
	tl_data(&t, 512, 4096, 1);
	assert_int_equal(scan_tl(&s, &t, 0), MLOG_O_BAD_FIELD);
	expect_outcome(&s, MLOG_O_BAD_FIELD, t.off[1], "pos: not a multiple of block_size");
	tl_free(&t);
}

/* --- records (5, 6) ---------------------------------------------------------------------- */

/* A bad record as the second of three: @want at its offset, also with the tail flag. */
static void expect_bad_record(struct tlog *t, size_t off, enum mlog_outcome want,
			      const char *detail)
{
	struct mlog_scan s;

	assert_int_equal(scan_tl(&s, t, 0), want);
	expect_outcome(&s, want, off, detail);
	assert_true(mlog_outcome_fatal(want));
	assert_true(s.content_end <= off);
	if (t->len - off <= MLOG_TORN_MAX) {
		char torn[200];

		snprintf(torn, sizeof(torn), "%s: %s", mlog_outcome_name(want), detail);
		assert_int_equal(scan_tl(&s, t, TORN), MLOG_O_TORN_TAIL);
		expect_outcome(&s, MLOG_O_TORN_TAIL, off, torn);
	}
}

/* Append the record @r after a good one, then a good one; check it is refused. */
static void one_bad_record(struct mlog_rec r, const void *payload, enum mlog_outcome want,
			   const char *detail)
{
	struct tlog t;
	size_t off;

	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	if (!r.version)
		r.version = MLOG_REC_VERSION;
	if (!r.hdr_len)
		r.hdr_len = MLOG_REC_HDR_LEN;
	r.rec_seq = t.seq++;
	r.lamport = t.lamport += 1000;
	off = tl_raw(&t, &r, payload);
	tl_data(&t, 512, 512, 3);
	print_message("# record: type %u flags %#x pos %llu len %u payload_len %u -> %s\n",
		      r.type, r.flags, (unsigned long long)r.pos, r.len, r.payload_len,
		      detail);
	expect_bad_record(&t, off, want, detail);
	tl_free(&t);
}

#define REC(...)	((struct mlog_rec){ __VA_ARGS__ })

static void record_header_errors(void **state)
{
	struct tlog t;
	size_t off;

	(void)state;
	one_bad_record(REC(.version = 2, .type = MLOG_T_ZERO, .len = 512), NULL,
		       MLOG_O_BAD_VERSION, "version");
	one_bad_record(REC(.hdr_len = 56, .type = MLOG_T_ZERO, .len = 512), NULL,
		       MLOG_O_BAD_LENGTH, "hdr_len");
	/* version is checked before hdr_len, hdr_len before the fields */
	one_bad_record(REC(.version = 2, .hdr_len = 56, .type = 99), NULL,
		       MLOG_O_BAD_VERSION, "version");
	one_bad_record(REC(.hdr_len = 40, .type = 99), NULL, MLOG_O_BAD_LENGTH, "hdr_len");

	/* magic */
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	off = tl_data(&t, 512, 512, 2);
	tl_data(&t, 1024, 512, 3);
	t.b[off + 3] = 'D';
	expect_bad_record(&t, off, MLOG_O_BAD_MAGIC, "magic");
	tl_free(&t);
}

static void record_type_and_flags(void **state)
{
	uint8_t gap[8] = { 1 };

	(void)state;
	one_bad_record(REC(.type = 0), NULL, MLOG_O_BAD_FIELD, "type");
	one_bad_record(REC(.type = 7), NULL, MLOG_O_BAD_FIELD, "type");
	one_bad_record(REC(.type = 0xffff), NULL, MLOG_O_BAD_FIELD, "type");
	one_bad_record(REC(.type = MLOG_T_ZERO, .flags = 0x10, .len = 512), NULL,
		       MLOG_O_BAD_FIELD, "flags: reserved bit set");
	one_bad_record(REC(.type = MLOG_T_EOF, .flags = 0x8000), NULL,
		       MLOG_O_BAD_FIELD, "flags: reserved bit set");
	one_bad_record(REC(.type = MLOG_T_DATA, .flags = MLOG_F_NOUNMAP, .len = 512,
			   .payload_len = 512), zeros, MLOG_O_BAD_FIELD,
		       "flags: not allowed on this type");
	one_bad_record(REC(.type = MLOG_T_DISCARD, .flags = MLOG_F_DRAINED, .len = 512), NULL,
		       MLOG_O_BAD_FIELD, "flags: not allowed on this type");
	one_bad_record(REC(.type = MLOG_T_EOF, .flags = MLOG_F_SYNC), NULL,
		       MLOG_O_BAD_FIELD, "flags: not allowed on this type");
	one_bad_record(REC(.type = MLOG_T_PAD, .flags = MLOG_F_SYNC), NULL,
		       MLOG_O_BAD_FIELD, "flags: not allowed on this type");
	one_bad_record(REC(.type = MLOG_T_GAP, .flags = MLOG_F_DRAINED, .payload_len = 8), gap,
		       MLOG_O_BAD_FIELD, "flags: not allowed on this type");
	one_bad_record(REC(.type = MLOG_T_EOF, .flags = MLOG_F_EMERGENCY), NULL,
		       MLOG_O_BAD_FIELD, "flags: EMERGENCY without DRAINED");
	/* type before flags */
	one_bad_record(REC(.type = 8, .flags = 0x10), NULL, MLOG_O_BAD_FIELD, "type");
}

static void record_per_type_rules(void **state)
{
	const uint8_t *pad = zeros;

	(void)state;
	/* alignment to block_size (512 here) */
	one_bad_record(REC(.type = MLOG_T_DATA, .pos = 100, .len = 512, .payload_len = 512),
		       zeros, MLOG_O_BAD_FIELD, "pos: not a multiple of block_size");
	one_bad_record(REC(.type = MLOG_T_DATA, .len = 500, .payload_len = 500),
		       zeros, MLOG_O_BAD_FIELD, "len: not a multiple of block_size");
	one_bad_record(REC(.type = MLOG_T_ZERO, .pos = 512, .len = 1000), NULL,
		       MLOG_O_BAD_FIELD, "len: not a multiple of block_size");
	one_bad_record(REC(.type = MLOG_T_DISCARD, .pos = 1, .len = 512), NULL,
		       MLOG_O_BAD_FIELD, "pos: not a multiple of block_size");
	/* lengths */
	one_bad_record(REC(.type = MLOG_T_DATA), NULL, MLOG_O_BAD_FIELD,
		       "len: out of range for the type");
	one_bad_record(REC(.type = MLOG_T_DATA, .len = MIB + 512, .payload_len = MIB + 512),
		       zeros, MLOG_O_BAD_FIELD, "len: out of range for the type");
	one_bad_record(REC(.type = MLOG_T_ZERO), NULL, MLOG_O_BAD_FIELD,
		       "len: out of range for the type");
	one_bad_record(REC(.type = MLOG_T_DISCARD, .len = MLOG_REC_RANGE_MAX + 512), NULL,
		       MLOG_O_BAD_FIELD, "len: out of range for the type");
	/* pos + len <= 2^63 */
	one_bad_record(REC(.type = MLOG_T_ZERO, .pos = 1ULL << 63, .len = 512), NULL,
		       MLOG_O_BAD_FIELD, "pos + len: beyond 2^63");
	one_bad_record(REC(.type = MLOG_T_DISCARD, .pos = UINT64_MAX - 511, .len = 512), NULL,
		       MLOG_O_BAD_FIELD, "pos + len: beyond 2^63");
	/* PAD, GAP, EOF have no range */
	one_bad_record(REC(.type = MLOG_T_PAD, .pos = 512), NULL, MLOG_O_BAD_FIELD,
		       "pos, len: not zero");
	one_bad_record(REC(.type = MLOG_T_EOF, .len = 512), NULL, MLOG_O_BAD_FIELD,
		       "pos, len: not zero");
	one_bad_record(REC(.type = MLOG_T_GAP, .pos = 512, .payload_len = 8), pad,
		       MLOG_O_BAD_FIELD, "pos, len: not zero");
	/* payload_len per type */
	one_bad_record(REC(.type = MLOG_T_DATA, .len = 512, .payload_len = 1024), pad,
		       MLOG_O_BAD_LENGTH, "payload_len");
	one_bad_record(REC(.type = MLOG_T_DATA, .len = 1024, .payload_len = 512), pad,
		       MLOG_O_BAD_LENGTH, "payload_len");
	one_bad_record(REC(.type = MLOG_T_ZERO, .len = 512, .payload_len = 8), pad,
		       MLOG_O_BAD_LENGTH, "payload_len");
	one_bad_record(REC(.type = MLOG_T_DISCARD, .len = 512, .payload_len = 8), pad,
		       MLOG_O_BAD_LENGTH, "payload_len");
	one_bad_record(REC(.type = MLOG_T_EOF, .payload_len = 8), pad,
		       MLOG_O_BAD_LENGTH, "payload_len");
	one_bad_record(REC(.type = MLOG_T_GAP, .payload_len = 16), pad,
		       MLOG_O_BAD_LENGTH, "payload_len");
	one_bad_record(REC(.type = MLOG_T_GAP), NULL, MLOG_O_BAD_LENGTH, "payload_len");
	one_bad_record(REC(.type = MLOG_T_PAD, .payload_len = MLOG_REC_DATA_MAX + 8), pad,
		       MLOG_O_BAD_LENGTH, "payload_len");
}

/* The largest records of each kind, at their limits, are good. */
static void records_at_their_limits(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	uint8_t *big = calloc(1, MLOG_REC_DATA_MAX);

	(void)state;
	assert_non_null(big);
	tl_init(&t);
	tl_rec(&t, MLOG_T_DATA, MLOG_F_SYNC, (1ULL << 63) - MIB, MIB, big, MIB);
	tl_rec(&t, MLOG_T_ZERO, MLOG_F_SYNC | MLOG_F_NOUNMAP, 0, MLOG_REC_RANGE_MAX, NULL, 0);
	tl_rec(&t, MLOG_T_DISCARD, MLOG_F_SYNC, (1ULL << 63) - 512, 512, NULL, 0);
	tl_rec(&t, MLOG_T_PAD, 0, 0, 0, big, MLOG_REC_DATA_MAX);
	tl_rec(&t, MLOG_T_PAD, 0, 0, 0, NULL, 0);
	tl_rec(&t, MLOG_T_PAD, 0, 0, 0, big, 3);	/* 5 bytes of padding */
	tl_eof(&t, MLOG_F_DRAINED | MLOG_F_EMERGENCY);
	assert_int_equal(scan_tl(&s, &t, 0), MLOG_O_CLEAN_EOF);
	assert_int_equal(s.records, 7);
	free(big);
	tl_free(&t);
}

/* A file that ends inside the zero padding of a PAD record ends there, cleanly. */
static void end_inside_padding(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	uint8_t three[3] = { 0 };

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	tl_rec(&t, MLOG_T_PAD, 0, 0, 0, three, 3);
	t.len -= 2;
	assert_int_equal(scan_tl(&s, &t, 0), MLOG_O_CLEAN_OPEN);
	expect_outcome(&s, MLOG_O_CLEAN_OPEN, t.len, NULL);
	assert_int_equal(s.records, 2);
	tl_free(&t);
}

static void seq_jump(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	size_t off;

	(void)state;
	/* within the file */
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	t.seq++;
	off = tl_data(&t, 512, 512, 2);
	tl_data(&t, 1024, 512, 3);
	expect_bad_record(&t, off, MLOG_O_SEQ_JUMP, "rec_seq");
	tl_free(&t);

	/* backwards */
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	t.seq--;
	off = tl_data(&t, 512, 512, 2);
	expect_bad_record(&t, off, MLOG_O_SEQ_JUMP, "rec_seq");
	tl_free(&t);

	/* the first record against first_rec_seq */
	tl_init(&t);
	t.fh.first_rec_seq = 1000;
	tl_header(&t);
	t.seq = 1000;
	tl_data(&t, 0, 512, 1);
	tl_data(&t, 512, 512, 1);
	assert_int_equal(scan_tl(&s, &t, 0), MLOG_O_CLEAN_OPEN);
	t.fh.first_rec_seq = 999;
	tl_header(&t);
	expect_bad_record(&t, MLOG_HDR_LEN, MLOG_O_SEQ_JUMP, "rec_seq");
	tl_free(&t);
}

static void gap_only_first(void **state)
{
	struct tlog t;
	struct mlog_scan s;
	uint8_t prev[8] = { 5 };
	size_t off;

	(void)state;
	tl_init(&t);
	t.fh.log_seq = 7;
	tl_header(&t);
	tl_rec(&t, MLOG_T_GAP, 0, 0, 0, prev, 8);
	tl_data(&t, 0, 512, 1);
	scan_init(&s, t.b, t.len, 0);
	s.expect_seq = 7;
	assert_int_equal(scan_run(&s), MLOG_O_CLEAN_OPEN);
	assert_int_equal(s.records, 2);
	off = tl_rec(&t, MLOG_T_GAP, 0, 0, 0, prev, 8);
	tl_data(&t, 512, 512, 1);
	expect_bad_record(&t, off, MLOG_O_BAD_FIELD, "type: GAP not the first record");
	/* a GAP record alone ends the content */
	t.len = t.off[1];
	scan_tl(&s, &t, 0);
	assert_int_equal(s.content_end, t.off[1]);
	tl_free(&t);
}

static void time_backward_is_a_warning(void **state)
{
	struct tlog t;
	struct mlog_scan s;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	t.lamport -= 5000;
	tl_data(&t, 512, 512, 2);
	t.lamport -= 1000;		/* equal to the previous one: not increasing either */
	tl_data(&t, 1024, 512, 3);
	tl_data(&t, 1536, 512, 4);
	assert_int_equal(scan_tl(&s, &t, 0), MLOG_O_CLEAN_OPEN);
	assert_int_equal(s.records, 4);
	assert_int_equal(s.time_backward, 2);
	/* the first record is not compared with the header's create_lamport */
	tl_free(&t);
	tl_init(&t);
	t.lamport = 5;
	tl_data(&t, 0, 512, 1);
	assert_int_equal(scan_tl(&s, &t, 0), MLOG_O_CLEAN_OPEN);
	assert_int_equal(s.time_backward, 0);
	tl_free(&t);
}

/* A record whose CRC is good in another file (other salt): bad_crc. */
static void stale_salt(void **state)
{
	struct tlog t;
	size_t off;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	t.fh.salt ^= 1;
	off = tl_data(&t, 512, 512, 2);
	t.fh.salt ^= 1;
	expect_bad_record(&t, off, MLOG_O_BAD_CRC, "crc");
	tl_free(&t);
}

/* The CRC covers the header: a changed field with the old CRC is bad_crc. */
static void crc_covers_header_fields(void **state)
{
	static const size_t offs[] = { 16, 24, 32 };	/* rec_seq, lamport, pos */
	struct tlog t;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	tl_data(&t, 512, 512, 2);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		size_t off = t.off[1];

		/* pos stays 512-aligned: the CRC is what fails */
		t.b[off + offs[i] + 1] ^= 0x04;
		expect_bad_record(&t, off, MLOG_O_BAD_CRC, "crc");
		t.b[off + offs[i] + 1] ^= 0x04;
	}
	/* a fixed CRC makes the same change pass the CRC and fail later */
	poke64(&t, t.off[1] + 16, 7);
	fix_rec_crc(&t, t.off[1]);
	expect_bad_record(&t, t.off[1], MLOG_O_SEQ_JUMP, "rec_seq");
	tl_free(&t);
}

static int fail_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	(void)ctx;
	(void)off;
	(void)buf;
	(void)len;
	return -EIO;
}

static void read_errors(void **state)
{
	struct tlog t;
	struct mlog_scan s;

	(void)state;
	tl_init(&t);
	tl_data(&t, 0, 512, 1);
	tl_data(&t, 512, 512, 2);
	scan_init(&s, t.b, t.len, 0);
	s.read = fail_read;
	assert_int_equal(scan_run(&s), MLOG_O_READ_ERROR);
	assert_int_equal(s.err, -EIO);
	assert_true(mlog_outcome_fatal(s.outcome));
	/* in the second record's payload */
	scan_init(&s, t.b, t.len, TORN);
	mem.fail_at = t.off[1] + 100;
	assert_int_equal(scan_run(&s), MLOG_O_READ_ERROR);
	expect_outcome(&s, MLOG_O_READ_ERROR, t.off[1], "read");
	assert_int_equal(s.records, 1);
	tl_free(&t);
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(mlog_outcome_name(MLOG_O_CLEAN_EOF), "clean_eof");
	assert_string_equal(mlog_outcome_name(MLOG_O_TORN_TAIL), "torn_tail");
	assert_string_equal(mlog_outcome_name(MLOG_O_READ_ERROR), "read_error");
	assert_string_equal(mlog_outcome_name((enum mlog_outcome)99), "unknown");
	assert_string_equal(mlog_type_name(MLOG_T_DISCARD), "DISCARD");
	assert_string_equal(mlog_type_name(0), "invalid");
	assert_string_equal(mlog_type_name(7), "reserved");
	for (int o = MLOG_O_NONE; o <= MLOG_O_READ_ERROR; o++) {
		bool fatal = o >= MLOG_O_BAD_HEADER;

		assert_int_equal(mlog_outcome_fatal((enum mlog_outcome)o), fatal);
	}
}

/* --- fuzz seeds --------------------------------------------------------------------------- */

/* Write @opt followed by the file @t as the seed @name in @dir. */
static void write_seed(const char *dir, const char *name, uint8_t opt, const uint8_t *b,
		       size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(&opt, 1, 1, f), 1);
	assert_int_equal(fwrite(b, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Writes the seed corpus of tests/fuzz/fuzz_log.c when asked to. */
static void write_fuzz_seeds(void **state)
{
	const char *dir = getenv("MARS_FUZZ_SEED_DIR");
	uint8_t example[800], three[3] = { 0 }, gap[8] = { 6 };
	struct tlog t;

	(void)state;
	if (!dir || !*dir) {
		print_message("# skipped: set MARS_FUZZ_SEED_DIR to write the fuzz seeds\n");
		skip();
	}
	example_bytes(example);
	write_seed(dir, "example-open", 0, example, 752);
	write_seed(dir, "example-eof", 4, example, 800);
	write_seed(dir, "example-torn", 1, example, 700);

	tl_init(&t);
	t.fh.log_seq = 8;
	t.fh.first_rec_seq = 40;
	t.seq = 40;
	tl_header(&t);
	tl_rec(&t, MLOG_T_GAP, 0, 0, 0, gap, 8);
	tl_rec(&t, MLOG_T_ZERO, MLOG_F_NOUNMAP, 512, 4096, NULL, 0);
	tl_rec(&t, MLOG_T_DISCARD, MLOG_F_SYNC, 8192, 1024, NULL, 0);
	tl_rec(&t, MLOG_T_PAD, 0, 0, 0, three, 3);
	tl_data(&t, 1024, 512, 'x');
	tl_eof(&t, MLOG_F_DRAINED | MLOG_F_EMERGENCY);
	tl_append(&t, NULL, 24);
	write_seed(dir, "mixed-eof", 8, t.b, t.len);
	tl_free(&t);

	tl_init(&t);
	write_seed(dir, "header-only", 2, t.b, t.len);
	tl_free(&t);
}

#define T(f) cmocka_unit_test(f)

static int group_setup(void **state)
{
	(void)state;
	scanbuf = malloc(MLOG_REC_DATA_MAX);
	return scanbuf ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	free(scanbuf);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(crc32c_check_value),
		T(worked_example),
		T(chain_example),
		T(content_end_ignores_pad_and_eof),
		T(header_only_is_clean_open),
		T(clean_open_and_clean_eof),
		T(zeroed_tail),
		T(zeros_after_eof_are_clean_eof),
		T(garbage_after_eof),
		T(truncated_last_record),
		T(flipped_bit_in_last_record),
		T(damage_before_the_tail_is_fatal),
		T(valid_records_after_torn_record),
		T(crafted_torn_window_is_cheap),
		T(truncated_file_without_torn_flag),
		T(valid_len_limits_the_scan),
		T(zero_filled_file_is_empty),
		T(header_field_errors),
		T(header_names_and_uuid),
		T(record_header_errors),
		T(record_type_and_flags),
		T(record_per_type_rules),
		T(records_at_their_limits),
		T(end_inside_padding),
		T(seq_jump),
		T(gap_only_first),
		T(time_backward_is_a_warning),
		T(stale_salt),
		T(crc_covers_header_fields),
		T(read_errors),
		T(names),
		T(write_fuzz_seeds),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
