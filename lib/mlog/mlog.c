// SPDX-License-Identifier: GPL-2.0
/*
 * mlog: the one implementation of the transaction logfile checks
 * (docs/log-format.md, sections 4, 5, 6 and 10). The interface is mlog.h.
 *
 * Compiled unchanged into three places: the kernel module (through a symlink in
 * kmod/; replay), marsctl (`marsctl log dump`) and the libFuzzer
 * target. Hence the rules of this file:
 *  - no libc and no kernel API: the CRC32C update step comes in as a function
 *    pointer, file bytes through a read callback, and the only large memory is
 *    the caller's payload buffer (s->buf, MLOG_REC_DATA_MAX bytes);
 *  - integers are decoded and encoded byte by byte (little endian), never through
 *    casts of the file bytes, so CPU byte order and struct packing do not matter;
 *  - no recursion, no variable length arrays, no floating point, small frames:
 *    the largest local is one 48-byte record header.
 *
 * Scanning (10.1). mlog_scan_begin() reads and checks the file header;
 * mlog_scan_next() checks one record per call and delivers it, until the scan ends
 * with exactly one outcome at a file offset (10.2). Every check is done in the order
 * the format lists; the first failure decides. No damaged byte is ever skipped to
 * look for the next good record: the scan stops at the first bad one. Work per
 * file is linear in its size: the "only zero bytes follow" checks run once, when a
 * record position starts with zero bytes (a valid record never does) or after the
 * EOF record, and both end the scan.
 *
 * Choices the format leaves open, made here and documented in log-format.md 10.2:
 *  - a file shorter than its header that may still grow (may_grow) ends as
 *    `incomplete` at offset 0; may_grow wins over tail_may_be_torn for short
 *    reads, because waiting for more bytes is the answer for a growing file;
 *  - a file that ends inside the zero padding of its last record (only a PAD
 *    record can have padding) ends at the file end as if at a boundary: padding
 *    is not covered by the CRC and readers ignore it;
 *  - `time_backward` compares each record with the previous record, not with the
 *    header's create_lamport;
 *  - torn_tail's detail is the failing check's outcome name, then ": " and the
 *    check's own detail (e.g. "bad_crc: crc").
 */
#include "mlog.h"

/* Longest resource name (architecture.md 4.2; MARS_NAME_LEN of the uapi header). */
#define MLOG_RES_NAME_MAX	26
/* Largest chunk read at once into s->buf by the zero checks and the tail search. */
#define MLOG_CHUNK		MLOG_REC_DATA_MAX
/* Bytes the torn tail's count of valid records may read and checksum at most. */
#define MLOG_VALID_AFTER_WORK	(8ULL * MLOG_TORN_MAX)
/* A read callback that returned a positive value: reported as -EIO. */
#define MLOG_EIO		5
/* The largest pos + len of a DATA, ZERO or DISCARD record (5.2). */
#define MLOG_POS_END_MAX	0x8000000000000000ULL

/* Offsets of the file header fields (4). */
#define FH_MAGIC		0
#define FH_VERSION		8
#define FH_HDR_LEN		10
#define FH_HDR_CRC		12
#define FH_SALT			16
#define FH_LOG_SEQ		24
#define FH_CREATE_LAMPORT	32
#define FH_FIRST_REC_SEQ	40
#define FH_FLAGS		48
#define FH_BLOCK_SIZE		52
#define FH_RES_UUID		56
#define FH_RES_NAME		72
#define FH_HOST			104
#define FH_RESERVED		168
#define FH_RESERVED_LEN		24

/* Offsets of the record header fields (5.1). */
#define RH_MAGIC		0
#define RH_VERSION		4
#define RH_HDR_LEN		6
#define RH_TYPE			8
#define RH_FLAGS		10
#define RH_CRC			12
#define RH_REC_SEQ		16
#define RH_LAMPORT		24
#define RH_POS			32
#define RH_LEN			40
#define RH_PAYLOAD_LEN		44

/* The flags each record type may carry (5.3); all other bits are bad_field. */
#define MLOG_F_ALL		(MLOG_F_SYNC | MLOG_F_DRAINED | MLOG_F_EMERGENCY | MLOG_F_NOUNMAP)

static const uint8_t mlog_zero4[4];

/* --- bytes ------------------------------------------------------------------------ */

/* Little endian loads and stores, byte by byte. */
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* Set @n bytes at @p to zero (no memset: this file uses no library). */
static void bytes_zero(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = 0;
}

/* Copy @n bytes from @src to @dst; the ranges do not overlap. */
static void bytes_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = src[i];
}

/* True if the @n bytes at @a and @b are equal. */
static bool bytes_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (a[i] != b[i])
			return false;
	}
	return true;
}

/* True if the @n bytes at @p are all zero. */
static bool bytes_all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

/* --- names (1, 4) ----------------------------------------------------------------- */

/*
 * Length of the zero-padded string in the @n-byte field @f: the index of its
 * first zero byte, or @n if it fills the field.
 */
static size_t field_len(const uint8_t *f, size_t n)
{
	size_t i;

	for (i = 0; i < n && f[i]; i++)
		;
	return i;
}

/* True for the characters of names: [A-Za-z0-9._-]. */
static bool name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/*
 * Check a zero-padded name field of @n bytes: 1..@max characters of
 * [A-Za-z0-9._-], the rest of the field zero. @alnum_first: the first character
 * must be a letter or a digit (host names); else it must not be '.' or '-'
 * (resource names).
 */
static bool name_field_valid(const uint8_t *f, size_t n, size_t max, bool alnum_first)
{
	size_t len = field_len(f, n), i;

	if (len < 1 || len > max || !bytes_all_zero(f + len, n - len))
		return false;
	if (alnum_first ? !name_char(f[0]) || f[0] == '_' || f[0] == '.' || f[0] == '-' :
			  f[0] == '.' || f[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		if (!name_char(f[i]))
			return false;
	}
	return true;
}

/* True if the zero-padded @n-byte field @f holds exactly the C string @want. */
static bool name_field_equal(const uint8_t *f, size_t n, const char *want)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		if (i == n || f[i] != (uint8_t)want[i])
			return false;
	}
	return i == n || !f[i];
}

/* Copy the zero-padded @n-byte field @f into the C string @dst (@n + 1 bytes). */
static void name_copy(char *dst, const uint8_t *f, size_t n)
{
	size_t len = field_len(f, n), i;

	for (i = 0; i < len; i++)
		dst[i] = (char)f[i];
	dst[len] = 0;
}

/* --- CRCs (3) --------------------------------------------------------------------- */

/* The file header's CRC: over its MLOG_HDR_LEN bytes, with hdr_crc taken as zero. */
static uint32_t fhdr_crc(const uint8_t *b, mlog_crc_fn crc)
{
	uint32_t c = crc(~0U, b, FH_HDR_CRC);

	c = crc(c, mlog_zero4, sizeof(mlog_zero4));
	c = crc(c, b + FH_HDR_CRC + 4, MLOG_HDR_LEN - FH_HDR_CRC - 4);
	return ~c;
}

/*
 * The running CRC register of a record over the file's salt and its 48 header
 * bytes at @h, with the crc field taken as zero: the caller continues it over the
 * payload and inverts it.
 */
static uint32_t rec_crc_head(uint64_t salt, const uint8_t *h, mlog_crc_fn crc)
{
	uint8_t sb[8];
	uint32_t c;

	put64(sb, salt);
	c = crc(~0U, sb, sizeof(sb));
	c = crc(c, h, RH_CRC);
	c = crc(c, mlog_zero4, sizeof(mlog_zero4));
	return crc(c, h + RH_CRC + 4, MLOG_REC_HDR_LEN - RH_CRC - 4);
}

/* --- names of things -------------------------------------------------------------- */

/*
 * mlog_outcome_name() - the name of an outcome as log-format.md 10.2 spells it
 * ("clean_eof", "bad_crc", ...), "none" for a scan not finished, "unknown" for a
 * value outside the enum.
 */
const char *mlog_outcome_name(enum mlog_outcome o)
{
	switch (o) {
	case MLOG_O_NONE:
		return "none";
	case MLOG_O_CLEAN_EOF:
		return "clean_eof";
	case MLOG_O_CLEAN_OPEN:
		return "clean_open";
	case MLOG_O_ZERO_TAIL:
		return "zero_tail";
	case MLOG_O_INCOMPLETE:
		return "incomplete";
	case MLOG_O_TORN_TAIL:
		return "torn_tail";
	case MLOG_O_EMPTY:
		return "empty";
	case MLOG_O_BAD_HEADER:
		return "bad_header";
	case MLOG_O_SHORT_HEADER:
		return "short_header";
	case MLOG_O_SHORT_RECORD:
		return "short_record";
	case MLOG_O_BAD_MAGIC:
		return "bad_magic";
	case MLOG_O_BAD_VERSION:
		return "bad_version";
	case MLOG_O_BAD_LENGTH:
		return "bad_length";
	case MLOG_O_BAD_FIELD:
		return "bad_field";
	case MLOG_O_BAD_CRC:
		return "bad_crc";
	case MLOG_O_SEQ_JUMP:
		return "seq_jump";
	case MLOG_O_GARBAGE:
		return "garbage";
	case MLOG_O_READ_ERROR:
		return "read_error";
	}
	return "unknown";
}

/*
 * mlog_outcome_fatal() - true for the outcomes that stop every consumer at the
 * outcome's offset (10.2): a damaged header or record, garbage after EOF, a failed
 * read. The clean ends, zero_tail, incomplete, torn_tail and empty are not fatal;
 * neither is MLOG_O_NONE (a scan that has not ended).
 */
bool mlog_outcome_fatal(enum mlog_outcome o)
{
	switch (o) {
	case MLOG_O_BAD_HEADER:
	case MLOG_O_SHORT_HEADER:
	case MLOG_O_SHORT_RECORD:
	case MLOG_O_BAD_MAGIC:
	case MLOG_O_BAD_VERSION:
	case MLOG_O_BAD_LENGTH:
	case MLOG_O_BAD_FIELD:
	case MLOG_O_BAD_CRC:
	case MLOG_O_SEQ_JUMP:
	case MLOG_O_GARBAGE:
	case MLOG_O_READ_ERROR:
		return true;
	default:
		return false;
	}
}

/*
 * mlog_type_name() - the name of a record type as 5.2 spells it ("DATA", ...);
 * "invalid" for 0 and "reserved" for the values no version 1 record may have.
 */
const char *mlog_type_name(uint16_t type)
{
	switch (type) {
	case 0:
		return "invalid";
	case MLOG_T_DATA:
		return "DATA";
	case MLOG_T_ZERO:
		return "ZERO";
	case MLOG_T_DISCARD:
		return "DISCARD";
	case MLOG_T_PAD:
		return "PAD";
	case MLOG_T_GAP:
		return "GAP";
	case MLOG_T_EOF:
		return "EOF";
	default:
		return "reserved";
	}
}

/* --- record check failures (10.1) ------------------------------------------------- */

/* Every way a record check can fail, in the order of the checks. */
enum mlog_fail {
	F_SHORT_HEADER,
	F_MAGIC,
	F_VERSION,
	F_HDR_LEN,
	F_TYPE,
	F_FLAGS_RESERVED,
	F_FLAGS_TYPE,
	F_FLAGS_EMERGENCY,
	F_POS_ALIGN,
	F_LEN_ALIGN,
	F_LEN_RANGE,
	F_POS_END,
	F_POS_LEN_NONZERO,
	F_PAYLOAD_LEN,
	F_SHORT_RECORD,
	F_CRC,
	F_SEQ,
	F_GAP_NOT_FIRST,
	F_COUNT,
};

/*
 * Outcome, detail, and the detail that torn_tail reports instead (the outcome's
 * name, then the detail): all static strings.
 */
struct mlog_fail_desc {
	enum mlog_outcome outcome;
	const char *detail;
	const char *torn_detail;
};

static const struct mlog_fail_desc mlog_fails[F_COUNT] = {
	[F_SHORT_HEADER] = { MLOG_O_SHORT_HEADER, "the data ends inside a record header",
		"short_header: the data ends inside a record header" },
	[F_MAGIC] = { MLOG_O_BAD_MAGIC, "magic", "bad_magic: magic" },
	[F_VERSION] = { MLOG_O_BAD_VERSION, "version", "bad_version: version" },
	[F_HDR_LEN] = { MLOG_O_BAD_LENGTH, "hdr_len", "bad_length: hdr_len" },
	[F_TYPE] = { MLOG_O_BAD_FIELD, "type", "bad_field: type" },
	[F_FLAGS_RESERVED] = { MLOG_O_BAD_FIELD, "flags: reserved bit set",
		"bad_field: flags: reserved bit set" },
	[F_FLAGS_TYPE] = { MLOG_O_BAD_FIELD, "flags: not allowed on this type",
		"bad_field: flags: not allowed on this type" },
	[F_FLAGS_EMERGENCY] = { MLOG_O_BAD_FIELD, "flags: EMERGENCY without DRAINED",
		"bad_field: flags: EMERGENCY without DRAINED" },
	[F_POS_ALIGN] = { MLOG_O_BAD_FIELD, "pos: not a multiple of block_size",
		"bad_field: pos: not a multiple of block_size" },
	[F_LEN_ALIGN] = { MLOG_O_BAD_FIELD, "len: not a multiple of block_size",
		"bad_field: len: not a multiple of block_size" },
	[F_LEN_RANGE] = { MLOG_O_BAD_FIELD, "len: out of range for the type",
		"bad_field: len: out of range for the type" },
	[F_POS_END] = { MLOG_O_BAD_FIELD, "pos + len: beyond 2^63",
		"bad_field: pos + len: beyond 2^63" },
	[F_POS_LEN_NONZERO] = { MLOG_O_BAD_FIELD, "pos, len: not zero",
		"bad_field: pos, len: not zero" },
	[F_PAYLOAD_LEN] = { MLOG_O_BAD_LENGTH, "payload_len", "bad_length: payload_len" },
	[F_SHORT_RECORD] = { MLOG_O_SHORT_RECORD, "the data ends inside the record",
		"short_record: the data ends inside the record" },
	[F_CRC] = { MLOG_O_BAD_CRC, "crc", "bad_crc: crc" },
	[F_SEQ] = { MLOG_O_SEQ_JUMP, "rec_seq", "seq_jump: rec_seq" },
	[F_GAP_NOT_FIRST] = { MLOG_O_BAD_FIELD, "type: GAP not the first record",
		"bad_field: type: GAP not the first record" },
};

/* --- reading ---------------------------------------------------------------------- */

/* End the scan with outcome @o at @pos. Returns 0, for the callers' returns. */
static int scan_end(struct mlog_scan *s, enum mlog_outcome o, uint64_t pos, const char *detail)
{
	s->outcome = o;
	s->pos = pos;
	s->detail = detail;
	return 0;
}

/* Read @len bytes at @off; a failure ends the scan as read_error at @at. 0 or -errno. */
static int scan_read(struct mlog_scan *s, uint64_t off, void *buf, uint32_t len, uint64_t at)
{
	int err = s->read(s->ctx, off, buf, len);

	if (err) {
		s->err = err < 0 ? err : -MLOG_EIO;
		scan_end(s, MLOG_O_READ_ERROR, at, "read");
		return s->err;
	}
	return 0;
}

/*
 * Find out whether the bytes [@from, @to) of the file are all zero, reading them
 * in chunks into s->buf. Returns 1 (all zero), 0 (not), or -errno after a failed
 * read (the scan then ended as read_error at @from).
 */
static int range_zero(struct mlog_scan *s, uint64_t from, uint64_t to)
{
	uint64_t off = from;
	uint32_t n;
	int err;

	while (off < to) {
		n = to - off < MLOG_CHUNK ? (uint32_t)(to - off) : MLOG_CHUNK;
		err = scan_read(s, off, s->buf, n, from);
		if (err)
			return err;
		if (!bytes_all_zero(s->buf, n))
			return 0;
		off += n;
	}
	return 1;
}

/* --- the file header (4) ---------------------------------------------------------- */

/* Decode the header bytes @b into @h. Decodes whatever is there; checks nothing. */
static void fhdr_decode(const uint8_t *b, struct mlog_fhdr *h)
{
	h->version = get16(b + FH_VERSION);
	h->hdr_len = get16(b + FH_HDR_LEN);
	h->hdr_crc = get32(b + FH_HDR_CRC);
	h->salt = get64(b + FH_SALT);
	h->log_seq = get64(b + FH_LOG_SEQ);
	h->create_lamport = get64(b + FH_CREATE_LAMPORT);
	h->first_rec_seq = get64(b + FH_FIRST_REC_SEQ);
	h->flags = get32(b + FH_FLAGS);
	h->block_size = get32(b + FH_BLOCK_SIZE);
	bytes_copy(h->res_uuid, b + FH_RES_UUID, sizeof(h->res_uuid));
	name_copy(h->res_name, b + FH_RES_NAME, MLOG_RES_NAME_LEN);
	name_copy(h->host, b + FH_HOST, MLOG_HOST_LEN);
}

/*
 * The header checks of section 4 on the MLOG_HDR_LEN bytes @b, in the order listed
 * there (the size, and the all-zero header, are checked by the caller). Returns
 * NULL if the header is good, else the detail of the first failure: the field's
 * name, then why.
 */
static const char *fhdr_check(const struct mlog_scan *s, const uint8_t *b)
{
	uint64_t seq = get64(b + FH_LOG_SEQ);
	uint32_t bs = get32(b + FH_BLOCK_SIZE);

	if (!bytes_equal(b + FH_MAGIC, (const uint8_t *)MLOG_MAGIC, 8))
		return "magic";
	if (get16(b + FH_VERSION) != MLOG_VERSION)
		return "version: not 1";
	if (get16(b + FH_HDR_LEN) != MLOG_HDR_LEN)
		return "hdr_len: not 192";
	if (get32(b + FH_HDR_CRC) != fhdr_crc(b, s->crc))
		return "hdr_crc";
	if (!bytes_all_zero(b + FH_RESERVED, FH_RESERVED_LEN))
		return "reserved: not zero";
	if (get32(b + FH_FLAGS))
		return "flags: not zero";
	if (seq < 1 || seq > MLOG_SEQ_MAX)
		return "log_seq: out of range";
	if (s->expect_seq && seq != s->expect_seq)
		return "log_seq: not the expected number";
	if (!name_field_valid(b + FH_RES_NAME, MLOG_RES_NAME_LEN, MLOG_RES_NAME_MAX, false))
		return "res_name: invalid";
	if (s->expect_res && !name_field_equal(b + FH_RES_NAME, MLOG_RES_NAME_LEN, s->expect_res))
		return "res_name: not the expected resource";
	if (!name_field_valid(b + FH_HOST, MLOG_HOST_LEN, MLOG_HOST_LEN - 1, true))
		return "host: invalid";
	if (s->expect_host && !name_field_equal(b + FH_HOST, MLOG_HOST_LEN, s->expect_host))
		return "host: not the expected host";
	if (bs != 512 && bs != 4096)
		return "block_size: not 512 or 4096";
	if (s->expect_uuid && !bytes_all_zero(b + FH_RES_UUID, 16) &&
	    !bytes_equal(b + FH_RES_UUID, s->expect_uuid, 16))
		return "res_uuid: not the expected UUID";
	return NULL;
}

/*
 * mlog_scan_begin() - start scanning a file: reset the outputs, read the file
 * header and check it (section 4).
 * @s: inputs set (read, ctx, crc, end, flags, expectations, buf); outputs are
 *     overwritten.
 *
 * s->fh is filled with whatever the header bytes hold as soon as they could be
 * read, also when a check fails (so that a dump can show them).
 *
 * Return: 1 if the header is good and records may follow (s->pos = hdr_len);
 * 0 if the scan ended: s->outcome is bad_header (s->detail names the field), empty
 * (a file shorter than the header or all zero, only with tail_may_be_torn),
 * incomplete (shorter than the header, with may_grow) or read_error.
 */
int mlog_scan_begin(struct mlog_scan *s)
{
	uint8_t *b = s->buf;
	const char *why;
	int ret;

	bytes_zero((uint8_t *)&s->fh, sizeof(s->fh));
	bytes_zero((uint8_t *)&s->rec, sizeof(s->rec));
	s->pos = 0;
	s->outcome = MLOG_O_NONE;
	s->detail = NULL;
	s->err = 0;
	s->records = 0;
	s->zero_bytes = 0;
	s->valid_after = 0;
	s->time_backward = 0;
	s->content_end = 0;
	s->eof_seen = false;
	s->eof_flags = 0;
	s->prev_seq = 0;
	s->prev_lamport = 0;
	s->have_prev = false;

	if (s->end < MLOG_HDR_LEN) {
		if (s->may_grow)
			return scan_end(s, MLOG_O_INCOMPLETE, 0,
					"the data ends inside the file header");
		if (s->tail_may_be_torn)
			return scan_end(s, MLOG_O_EMPTY, 0, "shorter than the file header");
		return scan_end(s, MLOG_O_BAD_HEADER, 0, "size: shorter than the file header");
	}
	if (scan_read(s, 0, b, MLOG_HDR_LEN, 0))
		return 0;
	fhdr_decode(b, &s->fh);
	if (bytes_all_zero(b, MLOG_HDR_LEN)) {
		/* 8.1: a crash before the header was durable leaves zero bytes */
		ret = range_zero(s, MLOG_HDR_LEN, s->end);
		if (ret < 0)
			return 0;
		if (ret && s->tail_may_be_torn) {
			s->zero_bytes = s->end;
			return scan_end(s, MLOG_O_EMPTY, 0, "all zero");
		}
		return scan_end(s, MLOG_O_BAD_HEADER, 0, ret ? "magic: all zero" : "magic");
	}
	why = fhdr_check(s, b);
	if (why)
		return scan_end(s, MLOG_O_BAD_HEADER, 0, why);
	s->pos = MLOG_HDR_LEN;
	s->content_end = MLOG_HDR_LEN;
	return 1;
}

/* --- records (5, 10.1) ------------------------------------------------------------ */

/* Decode the 48 record header bytes @h, found at file offset @off, into @r. */
static void rec_decode(const uint8_t *h, uint64_t off, struct mlog_rec *r)
{
	r->off = off;
	r->version = get16(h + RH_VERSION);
	r->hdr_len = get16(h + RH_HDR_LEN);
	r->type = get16(h + RH_TYPE);
	r->flags = get16(h + RH_FLAGS);
	r->crc = get32(h + RH_CRC);
	r->rec_seq = get64(h + RH_REC_SEQ);
	r->lamport = get64(h + RH_LAMPORT);
	r->pos = get64(h + RH_POS);
	r->len = get32(h + RH_LEN);
	r->payload_len = get32(h + RH_PAYLOAD_LEN);
}

/*
 * Check 5 of 10.1 on the decoded header @r: type, flags, and the per-type rules of
 * 5.2 and 5.3 (in the order of the table in 5.2). Returns F_COUNT if they hold,
 * else the failure.
 */
static enum mlog_fail rec_check_fields(const struct mlog_rec *r, uint32_t block_size)
{
	uint16_t allowed;
	uint32_t max = 0;

	switch (r->type) {
	case MLOG_T_DATA:
	case MLOG_T_DISCARD:
		allowed = MLOG_F_SYNC;
		max = r->type == MLOG_T_DATA ? MLOG_REC_DATA_MAX : MLOG_REC_RANGE_MAX;
		break;
	case MLOG_T_ZERO:
		allowed = MLOG_F_SYNC | MLOG_F_NOUNMAP;
		max = MLOG_REC_RANGE_MAX;
		break;
	case MLOG_T_PAD:
	case MLOG_T_GAP:
		allowed = 0;
		break;
	case MLOG_T_EOF:
		allowed = MLOG_F_DRAINED | MLOG_F_EMERGENCY;
		break;
	default:
		return F_TYPE;
	}
	if (r->flags & ~MLOG_F_ALL)
		return F_FLAGS_RESERVED;
	if (r->flags & ~allowed)
		return F_FLAGS_TYPE;
	if ((r->flags & MLOG_F_EMERGENCY) && !(r->flags & MLOG_F_DRAINED))
		return F_FLAGS_EMERGENCY;
	if (!max) {
		/* PAD, GAP, EOF: no device range */
		return r->pos || r->len ? F_POS_LEN_NONZERO : F_COUNT;
	}
	if (r->pos % block_size)
		return F_POS_ALIGN;
	if (r->len % block_size)
		return F_LEN_ALIGN;
	if (r->len < 1 || r->len > max)
		return F_LEN_RANGE;
	if (r->pos > MLOG_POS_END_MAX - r->len)
		return F_POS_END;
	return F_COUNT;
}

/* Check 6 of 10.1: payload_len as the type requires (5.2). */
static bool rec_payload_len_ok(const struct mlog_rec *r)
{
	switch (r->type) {
	case MLOG_T_DATA:
		return r->payload_len == r->len;
	case MLOG_T_PAD:
		return r->payload_len <= MLOG_REC_DATA_MAX;
	case MLOG_T_GAP:
		return r->payload_len == 8;
	default:
		return r->payload_len == 0;
	}
}

/*
 * Checks 2 to 6 of 10.1 on the header bytes @h, decoded as @r: magic, version,
 * hdr_len, the fields, payload_len. Returns F_COUNT if they hold, else the first
 * failure.
 */
static enum mlog_fail rec_check_head(const uint8_t *h, const struct mlog_rec *r,
				     uint32_t block_size)
{
	enum mlog_fail f;

	if (get32(h + RH_MAGIC) != MLOG_REC_MAGIC)
		return F_MAGIC;
	if (r->version != MLOG_REC_VERSION)
		return F_VERSION;
	if (r->hdr_len != MLOG_REC_HDR_LEN)
		return F_HDR_LEN;
	f = rec_check_fields(r, block_size);
	if (f != F_COUNT)
		return f;
	if (!rec_payload_len_ok(r))
		return F_PAYLOAD_LEN;
	return F_COUNT;
}

/*
 * Is there a record at @off, within [@off, s->end), that passes the header checks
 * 2 to 6 of 10.1 and has a valid CRC? Reads its header into @h and its payload
 * into s->buf, and counts the payload bytes in *@budget (the caller's limit).
 * Returns its size on disk, 0 if there is none, or -errno after a failed read
 * (the scan then ended as read_error at s->pos).
 */
static int64_t rec_valid_at(struct mlog_scan *s, uint64_t off, uint8_t *h, uint64_t *budget)
{
	struct mlog_rec r;
	uint32_t c;

	if (scan_read(s, off, h, MLOG_REC_HDR_LEN, s->pos))
		return s->err;
	rec_decode(h, off, &r);
	if (rec_check_head(h, &r, s->fh.block_size) != F_COUNT ||
	    r.payload_len > s->end - off - MLOG_REC_HDR_LEN)
		return 0;
	if (r.payload_len && scan_read(s, off + MLOG_REC_HDR_LEN, s->buf, r.payload_len, s->pos))
		return s->err;
	*budget += r.payload_len;
	c = ~s->crc(rec_crc_head(s->fh.salt, h, s->crc), s->buf, r.payload_len);
	return c == r.crc ? (int64_t)mlog_rec_size(r.payload_len) : 0;
}

/*
 * For a torn tail at s->pos: count the records with a valid CRC (that also pass
 * the header checks) that start at 8-aligned offsets after it, up to s->end, which
 * is within the torn window (s->end - s->pos <= MLOG_TORN_MAX). They may be
 * acknowledged writes that the crash lost, so the scan reports their number in
 * s->valid_after. A record found is stepped over whole: records inside its payload
 * are not counted.
 *
 * The window is read in chunks into s->buf and searched there for headers that
 * pass the checks; a record that lies within the chunk is checked in place, one
 * that crosses the chunk's end is read whole by rec_valid_at() and the next chunk
 * starts behind it (or 8 bytes on, if it failed). Work is bounded: a header whose
 * CRC fails is stepped over by 8 bytes only, so crafted overlapping headers could
 * make the payloads checksummed and the chunks read add up to far more than the
 * window. Counting stops once MLOG_VALID_AFTER_WORK bytes were read or
 * checksummed (real tails, even logs nested in data, stay far below); the count
 * is then a lower bound. Returns 0, or -errno after a failed read.
 */
static int count_valid_after(struct mlog_scan *s)
{
	uint8_t h[MLOG_REC_HDR_LEN];
	uint64_t q = s->pos + MLOG_REC_ALIGN, work = 0, next;
	struct mlog_rec r;
	uint32_t n, i, c;
	int64_t size;

	while (q < s->end && s->end - q >= MLOG_REC_HDR_LEN && work < MLOG_VALID_AFTER_WORK) {
		n = s->end - q < MLOG_CHUNK ? (uint32_t)(s->end - q) : MLOG_CHUNK;
		if (scan_read(s, q, s->buf, n, s->pos))
			return s->err;
		work += n;
		next = 0;
		for (i = 0; i + MLOG_REC_HDR_LEN <= n && work < MLOG_VALID_AFTER_WORK;) {
			const uint8_t *p = s->buf + i;

			if (get32(p + RH_MAGIC) != MLOG_REC_MAGIC) {
				i += MLOG_REC_ALIGN;
				continue;
			}
			rec_decode(p, q + i, &r);
			if (rec_check_head(p, &r, s->fh.block_size) != F_COUNT ||
			    r.payload_len > s->end - q - i - MLOG_REC_HDR_LEN) {
				i += MLOG_REC_ALIGN;
				continue;
			}
			if (r.payload_len > n - i - MLOG_REC_HDR_LEN)
				break;	/* crosses the chunk's end: read it whole below */
			work += r.payload_len;
			c = ~s->crc(rec_crc_head(s->fh.salt, p, s->crc), p + MLOG_REC_HDR_LEN,
				    r.payload_len);
			if (c != r.crc) {
				i += MLOG_REC_ALIGN;
				continue;
			}
			s->valid_after++;
			/* Its padding may end past the chunk: the next chunk starts there. */
			if (mlog_rec_size(r.payload_len) > n - i) {
				next = q + i + mlog_rec_size(r.payload_len);
				break;
			}
			i += (uint32_t)mlog_rec_size(r.payload_len);
		}
		if (next) {
			q = next;
			continue;
		}
		q += i;
		if (i + MLOG_REC_HDR_LEN > n || work >= MLOG_VALID_AFTER_WORK)
			continue;	/* none here; a header across the chunk end is read next */
		/* A header that passed the checks, its record crossing the chunk's end. */
		size = rec_valid_at(s, q, h, &work);
		if (size < 0)
			return (int)size;
		if (size)
			s->valid_after++;
		q += size ? (uint64_t)size : MLOG_REC_ALIGN;
	}
	return 0;
}

/*
 * A record check failed at s->pos with @f: end the scan with the outcome that the
 * failure means here (10.1): incomplete for a file that may grow and ends inside
 * the record, torn_tail within the torn window of a file that may be torn (after
 * counting the valid records behind it), else the failure itself. Returns 0.
 */
static int rec_fail(struct mlog_scan *s, enum mlog_fail f)
{
	const struct mlog_fail_desc *d = &mlog_fails[f];

	if (s->may_grow && (f == F_SHORT_HEADER || f == F_SHORT_RECORD))
		return scan_end(s, MLOG_O_INCOMPLETE, s->pos, d->detail);
	if (s->tail_may_be_torn && s->end - s->pos <= MLOG_TORN_MAX) {
		s->valid_after = 0;
		if (count_valid_after(s))
			return 0;
		return scan_end(s, MLOG_O_TORN_TAIL, s->pos, d->torn_detail);
	}
	return scan_end(s, d->outcome, s->pos, d->detail);
}

/*
 * mlog_scan_next() - check the record at s->pos (10.1) and deliver it.
 * @s: a scan that mlog_scan_begin() started.
 *
 * Return: 1 with the record in s->rec and its payload in s->buf[0..payload_len),
 * s->pos moved past it; 0 when the scan has ended (also on every later call):
 * s->outcome, s->pos (the outcome's offset) and s->detail say how. Warnings
 * (time_backward) only count and do not end the scan.
 */
int mlog_scan_next(struct mlog_scan *s)
{
	uint8_t h[MLOG_REC_HDR_LEN];
	struct mlog_rec r;
	uint64_t p = s->pos, left;
	enum mlog_fail f;
	uint32_t n, c;
	int ret;

	if (s->outcome != MLOG_O_NONE)
		return 0;
	if (p >= s->end)
		return scan_end(s, s->eof_seen ? MLOG_O_CLEAN_EOF : MLOG_O_CLEAN_OPEN, s->end,
				NULL);
	left = s->end - p;
	if (s->eof_seen) {
		ret = range_zero(s, p, s->end);
		if (ret < 0)
			return 0;
		if (!ret)
			return scan_end(s, MLOG_O_GARBAGE, p,
					"non-zero bytes after the EOF record");
		s->zero_bytes = left;
		return scan_end(s, MLOG_O_CLEAN_EOF, p, NULL);
	}

	/* A valid record starts with its magic: only zero bytes here may be a zero tail. */
	n = left < MLOG_REC_HDR_LEN ? (uint32_t)left : MLOG_REC_HDR_LEN;
	if (scan_read(s, p, h, n, p))
		return 0;
	if (bytes_all_zero(h, n)) {
		ret = range_zero(s, p + n, s->end);
		if (ret < 0)
			return 0;
		if (ret) {
			s->zero_bytes = left;
			return scan_end(s, MLOG_O_ZERO_TAIL, p, NULL);
		}
	}

	/* checks 1 to 7: the header, and whether the record lies before the end */
	if (n < MLOG_REC_HDR_LEN)
		return rec_fail(s, F_SHORT_HEADER);
	rec_decode(h, p, &r);
	f = rec_check_head(h, &r, s->fh.block_size);
	if (f != F_COUNT)
		return rec_fail(s, f);
	if (r.payload_len > left - MLOG_REC_HDR_LEN)
		return rec_fail(s, F_SHORT_RECORD);

	/* check 8: the CRC over salt, header and payload */
	if (r.payload_len && scan_read(s, p + MLOG_REC_HDR_LEN, s->buf, r.payload_len, p))
		return 0;
	c = ~s->crc(rec_crc_head(s->fh.salt, h, s->crc), s->buf, r.payload_len);
	if (c != r.crc)
		return rec_fail(s, F_CRC);

	/* checks 9 to 11: the sequence, GAP first, time */
	if (r.rec_seq != (s->have_prev ? s->prev_seq + 1 : s->fh.first_rec_seq))
		return rec_fail(s, F_SEQ);
	if (r.type == MLOG_T_GAP && s->have_prev)
		return rec_fail(s, F_GAP_NOT_FIRST);
	if (s->have_prev && r.lamport <= s->prev_lamport)
		s->time_backward++;

	/* deliver */
	s->rec = r;
	s->records++;
	s->prev_seq = r.rec_seq;
	s->prev_lamport = r.lamport;
	s->have_prev = true;
	if (r.type == MLOG_T_EOF) {
		s->eof_seen = true;
		s->eof_flags = r.flags;
	} else if (r.type != MLOG_T_PAD) {
		s->content_end = p + mlog_rec_size(r.payload_len);
	}
	/* a file may end inside the padding of its last record: that is its end */
	s->pos = mlog_rec_size(r.payload_len) > left ? s->end : p + mlog_rec_size(r.payload_len);
	return 1;
}

/* --- encoding --------------------------------------------------------------------- */

/* Store the C string @src into the @n-byte field @f, zero padded (cut at @n bytes). */
static void name_put(uint8_t *f, size_t n, const char *src)
{
	size_t i;

	for (i = 0; i < n && src[i]; i++)
		f[i] = (uint8_t)src[i];
	bytes_zero(f + i, n - i);
}

/*
 * mlog_fhdr_encode() - encode a file header.
 * @h: the fields; every one is written as given (a writer sets version =
 *     MLOG_VERSION, hdr_len = MLOG_HDR_LEN and flags = 0), except hdr_crc, which is
 *     computed. Names longer than their field are cut.
 * @out: the MLOG_HDR_LEN bytes of the header; the reserved bytes are zero.
 * @crc: the CRC32C update step.
 */
void mlog_fhdr_encode(const struct mlog_fhdr *h, uint8_t out[MLOG_HDR_LEN], mlog_crc_fn crc)
{
	bytes_zero(out, MLOG_HDR_LEN);
	bytes_copy(out + FH_MAGIC, (const uint8_t *)MLOG_MAGIC, 8);
	put16(out + FH_VERSION, h->version);
	put16(out + FH_HDR_LEN, h->hdr_len);
	put64(out + FH_SALT, h->salt);
	put64(out + FH_LOG_SEQ, h->log_seq);
	put64(out + FH_CREATE_LAMPORT, h->create_lamport);
	put64(out + FH_FIRST_REC_SEQ, h->first_rec_seq);
	put32(out + FH_FLAGS, h->flags);
	put32(out + FH_BLOCK_SIZE, h->block_size);
	bytes_copy(out + FH_RES_UUID, h->res_uuid, sizeof(h->res_uuid));
	name_put(out + FH_RES_NAME, MLOG_RES_NAME_LEN, h->res_name);
	name_put(out + FH_HOST, MLOG_HOST_LEN, h->host);
	put32(out + FH_HDR_CRC, fhdr_crc(out, crc));
}

/*
 * mlog_rec_encode_begin() - encode a record header with a zero crc field.
 * @rec: the fields, written as given (rec->off and rec->crc are not used; a
 *       writer sets version = MLOG_REC_VERSION and hdr_len = MLOG_REC_HDR_LEN).
 * @salt: the salt of the file the record goes into.
 * @out: the MLOG_REC_HDR_LEN header bytes.
 * @crc: the CRC32C update step.
 *
 * Return: the running CRC register over the salt and the header. The caller
 * continues it over the payload (crc(reg, part, len) for each part, in order) and
 * stores the result with mlog_rec_set_crc().
 */
uint32_t mlog_rec_encode_begin(const struct mlog_rec *rec, uint64_t salt,
			       uint8_t out[MLOG_REC_HDR_LEN], mlog_crc_fn crc)
{
	put32(out + RH_MAGIC, MLOG_REC_MAGIC);
	put16(out + RH_VERSION, rec->version);
	put16(out + RH_HDR_LEN, rec->hdr_len);
	put16(out + RH_TYPE, rec->type);
	put16(out + RH_FLAGS, rec->flags);
	put32(out + RH_CRC, 0);
	put64(out + RH_REC_SEQ, rec->rec_seq);
	put64(out + RH_LAMPORT, rec->lamport);
	put64(out + RH_POS, rec->pos);
	put32(out + RH_LEN, rec->len);
	put32(out + RH_PAYLOAD_LEN, rec->payload_len);
	return rec_crc_head(salt, out, crc);
}

/*
 * mlog_rec_set_crc() - finish a record header that mlog_rec_encode_begin() began.
 * @out: the header bytes.
 * @running: the CRC register continued over the whole payload; it is inverted
 *           (the final xor of section 3) and stored.
 */
void mlog_rec_set_crc(uint8_t out[MLOG_REC_HDR_LEN], uint32_t running)
{
	put32(out + RH_CRC, ~running);
}

/*
 * mlog_rec_encode() - encode a record header whose payload is one buffer.
 * @rec: the fields (see mlog_rec_encode_begin()); rec->crc is set to the CRC.
 * @salt: the salt of the file the record goes into.
 * @payload: rec->payload_len bytes (may be NULL if that is 0).
 * @out: the MLOG_REC_HDR_LEN header bytes.
 * @crc: the CRC32C update step.
 */
void mlog_rec_encode(struct mlog_rec *rec, uint64_t salt, const void *payload,
		     uint8_t out[MLOG_REC_HDR_LEN], mlog_crc_fn crc)
{
	uint32_t c = mlog_rec_encode_begin(rec, salt, out, crc);

	if (rec->payload_len)
		c = crc(c, payload, rec->payload_len);
	mlog_rec_set_crc(out, c);
	rec->crc = get32(out + RH_CRC);
}
