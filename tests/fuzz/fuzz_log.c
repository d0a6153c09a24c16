// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_log: libFuzzer target for the logfile decoder (lib/mlog/mlog.c,
 * docs/log-format.md section 10).
 *
 * The first input byte chooses how the rest is scanned as a logfile:
 *   bit 0  tail_may_be_torn
 *   bit 1  may_grow
 *   bit 2  expectations: log_seq 1, resource r0, host alpha, the UUID of section 12
 *   bit 3  the header CRC and every record CRC the length fields reach are made
 *          valid first (and magic, version and hdr_len of the header), so that
 *          mutations get past the checksums to the field checks
 *   bit 4  valid_len: only the first half of the file may be read
 * Seeds (tests/fuzz/corpus/log/) come from tests/unit/test_mlog.c with
 * MARS_FUZZ_SEED_DIR set.
 *
 * For every input it checks what consumers rely on:
 *  - the decoder never reads outside [0, end) and never crashes or hangs;
 *  - records come in file order, 8-aligned, each where the previous ended, whole
 *    before the end, with valid header fields and a continuous rec_seq; GAP only
 *    first; nothing after EOF; content_end only grows and stays behind the scan;
 *  - exactly one outcome, consistent with the flags and the counters (torn_tail
 *    only when the tail may be torn and within MLOG_TORN_MAX, incomplete only for
 *    a growing file, zero_bytes and valid_after only where they apply);
 *  - scanning again gives the same result, and the prefix up to a non-clean
 *    outcome's offset scans clean with the same records: the log ends there.
 *
 * Build: see tests/run-fuzz (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "mlog.h"
#include "mlog_user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OPT_TORN	0x01
#define OPT_GROW	0x02
#define OPT_EXPECT	0x04
#define OPT_FIXUP	0x08
#define OPT_HALF	0x10

static const uint8_t uuid_r0[16] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

static uint8_t *payload_buf;

struct mem {
	const uint8_t *b;
	uint64_t end;		/* what the scan may read */
};

static int mem_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	const struct mem *m = ctx;

	CHECK(off <= m->end && len <= m->end - off);
	memcpy(buf, m->b + off, len);
	return 0;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Make the header and every record frame that the length fields reach checksum right. */
static void fixup(uint8_t *b, size_t n)
{
	uint64_t off = MLOG_HDR_LEN;
	uint32_t c;

	if (n < MLOG_HDR_LEN)
		return;
	memcpy(b, MLOG_MAGIC, 8);
	b[8] = MLOG_VERSION;
	b[9] = 0;
	b[10] = MLOG_HDR_LEN;
	b[11] = 0;
	put32(b + 12, 0);
	put32(b + 12, ~mlog_crc_isal(~0u, b, MLOG_HDR_LEN));
	while (off + MLOG_REC_HDR_LEN <= n) {
		uint32_t plen = get32(b + off + 44);

		if (plen > MLOG_REC_DATA_MAX || plen > n - off - MLOG_REC_HDR_LEN)
			break;
		put32(b + off + 12, 0);
		c = mlog_crc_isal(~0u, b + 16, 8);	/* the salt */
		c = mlog_crc_isal(c, b + off, MLOG_REC_HDR_LEN + plen);
		put32(b + off + 12, ~c);
		off += mlog_rec_size(plen);
	}
}

struct result {
	enum mlog_outcome outcome;
	uint64_t pos, records, content_end, zero_bytes, valid_after, time_backward;
	bool eof_seen;
};

static void scan_init(struct mlog_scan *s, struct mem *m, uint8_t opt)
{
	memset(s, 0, sizeof(*s));
	s->read = mem_read;
	s->ctx = m;
	s->crc = mlog_crc_isal;
	s->end = m->end;
	s->buf = payload_buf;
	s->tail_may_be_torn = opt & OPT_TORN;
	s->may_grow = opt & OPT_GROW;
	if (opt & OPT_EXPECT) {
		s->expect_seq = 1;
		s->expect_res = "r0";
		s->expect_host = "alpha";
		s->expect_uuid = uuid_r0;
	}
}

/* Scan, checking every record and the outcome. */
static void scan(struct mlog_scan *s, struct result *r)
{
	uint64_t next = MLOG_HDR_LEN, content_end = MLOG_HDR_LEN;
	int ret = mlog_scan_begin(s);

	CHECK(ret == 0 || ret == 1);
	if (!ret) {
		CHECK(s->outcome != MLOG_O_NONE && s->pos == 0 && s->records == 0);
		CHECK(s->outcome == MLOG_O_BAD_HEADER || s->outcome == MLOG_O_EMPTY ||
		      s->outcome == MLOG_O_INCOMPLETE);
		CHECK(s->outcome != MLOG_O_EMPTY || s->tail_may_be_torn);
		CHECK(s->outcome != MLOG_O_INCOMPLETE || (s->may_grow && s->end < MLOG_HDR_LEN));
		CHECK(s->detail);
	} else {
		CHECK(s->end >= MLOG_HDR_LEN && s->pos == MLOG_HDR_LEN);
		CHECK(s->fh.block_size == 512 || s->fh.block_size == 4096);
		CHECK(s->fh.log_seq >= 1 && s->fh.log_seq <= MLOG_SEQ_MAX);
	}
	while (ret && mlog_scan_next(s) == 1) {
		const struct mlog_rec *rec = &s->rec;

		CHECK(s->outcome == MLOG_O_NONE);
		CHECK(rec->off == next && rec->off % MLOG_REC_ALIGN == 0);
		CHECK(rec->payload_len <= MLOG_REC_DATA_MAX);
		CHECK(rec->off + MLOG_REC_HDR_LEN + rec->payload_len <= s->end);
		CHECK(rec->version == MLOG_REC_VERSION && rec->hdr_len == MLOG_REC_HDR_LEN);
		CHECK(rec->type >= MLOG_T_DATA && rec->type <= MLOG_T_EOF);
		CHECK(rec->rec_seq == s->fh.first_rec_seq + s->records - 1);
		CHECK(rec->type != MLOG_T_GAP || s->records == 1);
		CHECK(rec->type != MLOG_T_DATA || rec->payload_len == rec->len);
		if (rec->type <= MLOG_T_DISCARD)
			CHECK(rec->pos % s->fh.block_size == 0 && rec->len % s->fh.block_size == 0);
		CHECK(s->content_end >= content_end && s->content_end <= s->pos);
		CHECK(s->time_backward < s->records);
		content_end = s->content_end;
		next = s->pos;
		CHECK(next > rec->off && next <= s->end);
	}
	CHECK(s->outcome != MLOG_O_NONE && s->outcome != MLOG_O_READ_ERROR);
	CHECK(mlog_scan_next(s) == 0);
	memset(r, 0, sizeof(*r));	/* the padding too: results are compared whole */
	CHECK(s->pos <= s->end);
	if (ret)
		CHECK(s->pos == next);
	CHECK(s->valid_after == 0 || s->outcome == MLOG_O_TORN_TAIL);
	switch (s->outcome) {
	case MLOG_O_CLEAN_OPEN:
		CHECK(s->pos == s->end && !s->eof_seen);
		break;
	case MLOG_O_CLEAN_EOF:
		CHECK(s->eof_seen && s->zero_bytes == s->end - s->pos);
		break;
	case MLOG_O_ZERO_TAIL:
		CHECK(!s->eof_seen && s->zero_bytes == s->end - s->pos && s->zero_bytes);
		break;
	case MLOG_O_TORN_TAIL:
		CHECK(s->tail_may_be_torn && s->end - s->pos <= MLOG_TORN_MAX && s->detail);
		CHECK(!s->eof_seen);
		break;
	case MLOG_O_INCOMPLETE:
		CHECK(s->may_grow && s->detail);
		break;
	case MLOG_O_GARBAGE:
		CHECK(s->eof_seen && s->pos < s->end);
		break;
	default:
		CHECK(mlog_outcome_fatal(s->outcome) || s->outcome == MLOG_O_EMPTY);
		CHECK(s->detail && !s->eof_seen);
		break;
	}
	r->outcome = s->outcome;
	r->pos = s->pos;
	r->records = s->records;
	r->content_end = s->content_end;
	r->zero_bytes = s->zero_bytes;
	r->valid_after = s->valid_after;
	r->time_backward = s->time_backward;
	r->eof_seen = s->eof_seen;
}

static void one(const uint8_t *file, size_t len, uint8_t opt)
{
	struct mem m = { file, opt & OPT_HALF ? len / 2 : len };
	struct mlog_scan s;
	struct result a, b;

	scan_init(&s, &m, opt);
	scan(&s, &a);
	scan_init(&s, &m, opt);
	scan(&s, &b);
	CHECK(!memcmp(&a, &b, sizeof(a)));

	/* The log ends at a non-clean outcome: the prefix before it is clean. */
	if (a.pos >= MLOG_HDR_LEN && a.outcome != MLOG_O_CLEAN_OPEN &&
	    a.outcome != MLOG_O_CLEAN_EOF) {
		m.end = a.pos;
		scan_init(&s, &m, opt & OPT_EXPECT);
		scan(&s, &b);
		CHECK(b.outcome == (a.eof_seen ? MLOG_O_CLEAN_EOF : MLOG_O_CLEAN_OPEN));
		CHECK(b.pos == a.pos && b.records == a.records);
		CHECK(b.content_end == a.content_end && b.time_backward == a.time_backward);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t opt, *copy;

	if (!payload_buf) {
		payload_buf = malloc(MLOG_REC_DATA_MAX);
		CHECK(payload_buf);
	}
	if (!size)
		return 0;
	opt = data[0];
	copy = malloc(size - 1 ? size - 1 : 1);	/* exact size: ASan sees reads past it */
	CHECK(copy);
	memcpy(copy, data + 1, size - 1);
	if (opt & OPT_FIXUP)
		fixup(copy, size - 1);
	one(copy, size - 1, opt);
	free(copy);
	return 0;
}
