// SPDX-License-Identifier: GPL-2.0-only
/*
 * The journal format: checksums, the file header, record frames, batch payloads,
 * a buffered record reader, and the recovery scan that tells a torn tail from
 * corruption. Layouts and rules: docs/journal-format.md sections 2, 3 and 9.
 *
 * Nothing here knows about the index or the store handle; sj_scan() hands every good
 * record to a callback.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <isa-l/crc.h>

#include "store_int.h"

int se_set(struct store_error *err, int code, uint64_t offset, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->offset = offset;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/*
 * ISA-L's crc32_iscsi() runs the raw CRC register: it neither inverts the seed nor
 * the result. The standard CRC32C inverts both, so we do it here; then chaining
 * works like LevelDB's crc32c::Extend().
 */
uint32_t store_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	unsigned int reg = ~crc;

	while (len) {
		int n = len > (size_t)INT_MAX ? INT_MAX : (int)len;

		reg = crc32_iscsi((unsigned char *)p, n, reg);
		p += n;
		len -= (size_t)n;
	}
	return ~reg;
}

uint32_t sj_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + SJ_MASK_DELTA;
}

uint32_t sj_record_crc(uint64_t salt, const uint8_t *rec, uint32_t payload_len)
{
	uint8_t s[8];
	uint32_t crc;

	sj_put64(s, salt);
	crc = store_crc32c(0, s, sizeof(s));
	crc = store_crc32c(crc, rec + 4, SJ_REC_HDR - 4 + (size_t)payload_len);
	return sj_mask(crc);
}

void sj_record_seal(uint64_t salt, uint8_t *rec, uint32_t payload_len, uint8_t type)
{
	sj_put32(rec + 4, payload_len);
	rec[8] = type;
	rec[9] = rec[10] = rec[11] = 0;
	sj_put32(rec, sj_record_crc(salt, rec, payload_len));
}

/* ---- file header ---- */

void sj_header_encode(const struct sj_header *h, uint8_t out[SJ_HDR_SIZE])
{
	size_t hl = strlen(h->host);

	memset(out, 0, SJ_HDR_SIZE);
	memcpy(out, SJ_MAGIC, 8);
	sj_put32(out + 8, SJ_VERSION);
	sj_put32(out + 12, SJ_HDR_SIZE);
	sj_put64(out + 16, h->salt);
	sj_put64(out + 24, h->created_ns);
	sj_put64(out + 32, h->generation);
	sj_put64(out + 40, h->clock_floor);
	sj_put64(out + 48, h->purge_floor);
	out[56] = (uint8_t)hl;
	memcpy(out + 57, h->host, hl);
	sj_put32(out + SJ_HDR_CRC_OFF, sj_mask(store_crc32c(0, out, SJ_HDR_CRC_OFF)));
}

int sj_header_decode(const uint8_t *buf, uint64_t len, struct sj_header *h,
		     const char *path, bool *bad_magic, struct store_error *err)
{
	size_t mlen = len < 8 ? (size_t)len : 8;
	const char *why;
	uint32_t v;
	unsigned int i, hl;

	*bad_magic = memcmp(buf, SJ_MAGIC, mlen) != 0;
	if (*bad_magic)
		return se_set(err, -EUCLEAN, 0,
			      "%s: not a mars store journal (bad magic)", path);
	if (len < SJ_HDR_SIZE)
		return se_set(err, -EUCLEAN, 0,
			      "%s: journal header truncated (%llu of %u bytes); run 'marsctl store repair'",
			      path, (unsigned long long)len, SJ_HDR_SIZE);
	v = sj_get32(buf + 8);
	if (v != SJ_VERSION)
		return se_set(err, -ENOTSUP, 8,
			      "%s: journal format version %u is not supported (this build reads version %u)",
			      path, v, SJ_VERSION);
	if (sj_get32(buf + 12) != SJ_HDR_SIZE)
		return se_set(err, -EUCLEAN, 12,
			      "%s: bad journal header size %u; run 'marsctl store repair'",
			      path, sj_get32(buf + 12));
	if (sj_get32(buf + SJ_HDR_CRC_OFF) != sj_mask(store_crc32c(0, buf, SJ_HDR_CRC_OFF)))
		return se_set(err, -EUCLEAN, SJ_HDR_CRC_OFF,
			      "%s: journal header checksum mismatch; run 'marsctl store repair'",
			      path);
	hl = buf[56];
	why = "bad host name length";
	if (hl >= 1 && hl <= STORE_HOST_MAX &&
	    sk_host_check((const char *)buf + 57, hl, &why) == 0) {
		why = NULL;
		for (i = 57 + hl; i < SJ_HDR_CRC_OFF; i++)
			if (buf[i])
				why = "reserved header bytes are not zero";
		if (sj_get64(buf + 40) > STORE_TS_MAX || sj_get64(buf + 48) > STORE_TS_MAX)
			why = "clock out of range";
	}
	if (why)
		return se_set(err, -EUCLEAN, 56, "%s: invalid journal header: %s", path, why);
	h->salt = sj_get64(buf + 16);
	h->created_ns = sj_get64(buf + 24);
	h->generation = sj_get64(buf + 32);
	h->clock_floor = sj_get64(buf + 40);
	h->purge_floor = sj_get64(buf + 48);
	memcpy(h->host, buf + 57, hl);
	h->host[hl] = '\0';
	return 0;
}

/* ---- record frames ---- */

enum sj_frame sj_frame_check(uint64_t salt, const uint8_t *p, uint64_t avail,
			     uint32_t *payload_len)
{
	uint32_t len;

	if (avail < SJ_REC_HDR)
		return SJ_FRAME_SHORT_HDR;
	len = sj_get32(p + 4);
	*payload_len = len;
	if (len < SJ_REC_MIN || len > SJ_REC_MAX)
		return SJ_FRAME_BAD_LEN;
	if (avail - SJ_REC_HDR < len)
		return SJ_FRAME_SHORT;
	if (sj_get32(p) != sj_record_crc(salt, p, len))
		return SJ_FRAME_BAD_CRC;
	if (p[8] != SJ_TYPE_BATCH)
		return SJ_FRAME_BAD_TYPE;
	if (p[9] || p[10] || p[11])
		return SJ_FRAME_BAD_RESERVED;
	return SJ_FRAME_OK;
}

const char *sj_frame_str(enum sj_frame f)
{
	switch (f) {
	case SJ_FRAME_OK:
		return "good record";
	case SJ_FRAME_SHORT_HDR:
		return "short record header";
	case SJ_FRAME_BAD_LEN:
		return "bad record length";
	case SJ_FRAME_SHORT:
		return "record extends past the end of the file";
	case SJ_FRAME_BAD_CRC:
		return "checksum mismatch";
	case SJ_FRAME_BAD_TYPE:
		return "unknown record type";
	case SJ_FRAME_BAD_RESERVED:
		return "reserved record header bytes are not zero";
	}
	return "?";
}

/* ---- batch payload ---- */

int sj_batch_parse(const uint8_t *p, size_t len, struct sj_name *names,
		   struct sj_batch *b, const char **why)
{
	const uint8_t *q, *end = p + len;
	const char *owner, *kwhy;
	size_t olen;
	uint32_t i;

	if (len < SJ_BATCH_HDR) {
		*why = "batch header truncated";
		return -1;
	}
	b->batch_ts = sj_get64(p);
	b->n_ops = sj_get32(p + 8);
	b->n_origins = sj_get16(p + 12);
	b->flags = p[14];
	b->names = names;
	b->end = end;
	if ((b->flags & ~SJ_BF_ALL) || p[15]) {
		*why = "reserved batch header bits are set";
		return -1;
	}
	if (b->batch_ts == 0 || b->batch_ts > STORE_TS_MAX) {
		*why = "batch timestamp out of range";
		return -1;
	}
	if (b->n_ops == 0 || b->n_ops > STORE_BATCH_MAX_OPS) {
		*why = "bad op count";
		return -1;
	}
	if (b->n_origins == 0 || b->n_origins > STORE_MAX_ORIGINS) {
		*why = "bad origin count";
		return -1;
	}
	q = p + SJ_BATCH_HDR;
	for (i = 0; i < b->n_origins; i++) {
		uint8_t l;

		if (q >= end) {
			*why = "origin table truncated";
			return -1;
		}
		l = *q++;
		if (l == 0 || l > STORE_HOST_MAX || (size_t)(end - q) < l) {
			*why = "bad origin name length";
			return -1;
		}
		if (sk_host_check((const char *)q, l, &kwhy)) {
			*why = "invalid origin host name";
			return -1;
		}
		names[i].p = (const char *)q;
		names[i].len = l;
		q += l;
	}
	b->ops = q;
	for (i = 0; i < b->n_ops; i++) {
		struct sj_op op;
		size_t room;

		if ((size_t)(end - q) < SJ_OP_HDR) {
			*why = "op header truncated";
			return -1;
		}
		if (q[17] || q[18] || q[19]) {
			*why = "reserved op bytes are not zero";
			return -1;
		}
		room = (size_t)(end - q) - SJ_OP_HDR;
		op.ts = sj_get64(q);
		op.value_len = sj_get32(q + 8);
		op.key_len = sj_get16(q + 12);
		op.origin = sj_get16(q + 14);
		op.kind = q[16];
		if (op.kind != STORE_PUT && op.kind != STORE_DELETE) {
			*why = "unknown op kind";
			return -1;
		}
		if (op.ts == 0 || op.ts > b->batch_ts) {
			*why = "op timestamp out of range";
			return -1;
		}
		if (op.origin >= b->n_origins) {
			*why = "op origin index out of range";
			return -1;
		}
		if (op.key_len > room || op.value_len > room - op.key_len) {
			*why = "op extends past the end of the record";
			return -1;
		}
		if (op.value_len > STORE_VALUE_MAX) {
			*why = "value too long";
			return -1;
		}
		if (op.kind == STORE_DELETE && op.value_len) {
			*why = "delete op with a value";
			return -1;
		}
		op.key = (const char *)q + SJ_OP_HDR;
		if (sk_key_check(op.key, op.key_len, &owner, &olen, &kwhy)) {
			*why = "invalid key";
			return -1;
		}
		if (owner && (olen != names[op.origin].len ||
			      memcmp(owner, names[op.origin].p, olen))) {
			*why = "owned key written by another host";
			return -1;
		}
		q += SJ_OP_HDR + op.key_len + op.value_len;
	}
	if (q != end) {
		*why = "trailing bytes after the last op";
		return -1;
	}
	return 0;
}

void sj_op_decode(const uint8_t **pp, struct sj_op *op)
{
	const uint8_t *q = *pp;

	op->ts = sj_get64(q);
	op->value_len = sj_get32(q + 8);
	op->key_len = sj_get16(q + 12);
	op->origin = sj_get16(q + 14);
	op->kind = q[16];
	op->key = (const char *)q + SJ_OP_HDR;
	op->value = q + SJ_OP_HDR + op->key_len;
	*pp = q + SJ_OP_HDR + op->key_len + op->value_len;
}

size_t sj_batch_size_hdr(const struct sj_name *names, unsigned int n_names)
{
	size_t n = SJ_BATCH_HDR;
	unsigned int i;

	for (i = 0; i < n_names; i++)
		n += 1 + (size_t)names[i].len;
	return n;
}

void sj_enc_begin(struct sj_enc *e, uint8_t *rec, size_t payload_len, uint64_t batch_ts,
		  uint32_t n_ops, uint8_t flags, const struct sj_name *names,
		  unsigned int n_names)
{
	uint8_t *p = rec + SJ_REC_HDR;
	unsigned int i;

	e->rec = rec;
	e->payload_len = payload_len;
	sj_put64(p, batch_ts);
	sj_put32(p + 8, n_ops);
	sj_put16(p + 12, (uint16_t)n_names);
	p[14] = flags;
	p[15] = 0;
	p += SJ_BATCH_HDR;
	for (i = 0; i < n_names; i++) {
		*p++ = names[i].len;
		memcpy(p, names[i].p, names[i].len);
		p += names[i].len;
	}
	e->pos = (size_t)(p - rec);
}

void sj_enc_op(struct sj_enc *e, uint64_t ts, uint16_t origin, uint8_t kind,
	       const char *key, uint16_t key_len, const void *value, uint32_t value_len)
{
	uint8_t *p = e->rec + e->pos;

	sj_put64(p, ts);
	sj_put32(p + 8, value_len);
	sj_put16(p + 12, key_len);
	sj_put16(p + 14, origin);
	p[16] = kind;
	p[17] = p[18] = p[19] = 0;
	memcpy(p + SJ_OP_HDR, key, key_len);
	if (value_len)
		memcpy(p + SJ_OP_HDR + key_len, value, value_len);
	e->pos += SJ_OP_HDR + (size_t)key_len + value_len;
}

size_t sj_enc_seal(struct sj_enc *e, uint64_t salt)
{
	/* A size mismatch is a bug in the caller's size computation; sealing a
	 * record with the computed length makes the bug show up as a parse failure in
	 * the tests instead of an overflow. */
	sj_record_seal(salt, e->rec, (uint32_t)e->payload_len, SJ_TYPE_BATCH);
	return SJ_REC_HDR + e->payload_len;
}

/* ---- buffered reader ---- */

void sj_reader_init(struct sj_reader *r, int fd, uint64_t size)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->size = size;
}

void sj_reader_free(struct sj_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = r->blen = 0;
}

int sj_reader_get(struct sj_reader *r, uint64_t off, size_t n, const uint8_t **p)
{
	size_t want, got = 0;

	if (off + n > r->size)
		return -EINVAL;
	if (off >= r->boff && off + n <= r->boff + r->blen) {
		*p = r->buf + (off - r->boff);
		return 0;
	}
	want = n > SJ_READ_CHUNK ? n : SJ_READ_CHUNK;
	if (want > r->size - off)
		want = (size_t)(r->size - off);
	if (want > r->cap) {
		uint8_t *nb = realloc(r->buf, want);

		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = want;
	}
	while (got < want) {
		ssize_t k = pread(r->fd, r->buf + got, want - got, (off_t)(off + got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	/*
	 * The file shrank since its size was taken: only a writer cutting a torn tail
	 * does that, so what is missing was a torn tail. Zeros make it read as one.
	 */
	if (got < want)
		memset(r->buf + got, 0, want - got);
	r->boff = off;
	r->blen = want;
	*p = r->buf;
	return 0;
}

/* ---- recovery scan ---- */

static bool all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * The first bad record starts at @off: decide torn tail or corruption (docs 9).
 */
static int classify(struct sj_reader *r, uint64_t salt, uint64_t off, enum sj_frame f,
		    struct sj_scan_result *res)
{
	uint64_t rem = r->size - off, budget = SJ_SCAN_BUDGET;
	const uint8_t *t;
	size_t i;
	int ret;

	res->bad_off = off;
	snprintf(res->reason, sizeof(res->reason), "%s", sj_frame_str(f));
	if (rem < SJ_REC_HDR) {
		res->end = SJ_END_TORN;
		return 0;
	}
	if (rem > (uint64_t)SJ_REC_HDR + SJ_REC_MAX) {
		res->end = SJ_END_CORRUPT;
		snprintf(res->reason, sizeof(res->reason),
			 "%s, with more bytes after it than one record can hold",
			 sj_frame_str(f));
		return 0;
	}
	ret = sj_reader_get(r, off, (size_t)rem, &t);
	if (ret)
		return ret;
	if (all_zero(t, (size_t)rem)) {
		res->end = SJ_END_TORN;
		snprintf(res->reason, sizeof(res->reason), "zero-filled tail");
		return 0;
	}
	res->end = SJ_END_TORN;
	for (i = 1; i + SJ_REC_HDR <= rem; i++) {
		const uint8_t *c = t + i;
		uint32_t len;

		if (c[8] != SJ_TYPE_BATCH || c[9] || c[10] || c[11])
			continue;
		len = sj_get32(c + 4);
		if (len < SJ_REC_MIN || len > SJ_REC_MAX || len > rem - i - SJ_REC_HDR)
			continue;
		if (budget < (uint64_t)len + SJ_REC_HDR) {
			res->end = SJ_END_CORRUPT;
			snprintf(res->reason, sizeof(res->reason),
				 "%s, and the bytes after it could not be proven to be a torn tail",
				 sj_frame_str(f));
			break;
		}
		budget -= (uint64_t)len + SJ_REC_HDR;
		if (sj_get32(c) == sj_record_crc(salt, c, len)) {
			res->end = SJ_END_CORRUPT;
			res->next_good = off + i;
			break;
		}
	}
	return 0;
}

int sj_scan(struct sj_reader *r, uint64_t salt, struct sj_name *names,
	    sj_apply_fn apply, void *arg, struct sj_scan_result *res,
	    struct store_error *err)
{
	uint64_t off = SJ_HDR_SIZE;
	int ret;

	memset(res, 0, sizeof(*res));
	for (;;) {
		const uint8_t *p;
		struct sj_batch b;
		const char *why;
		enum sj_frame f;
		uint64_t rem;
		uint32_t len = 0;
		size_t want;

		res->valid_end = off;
		if (off >= r->size) {
			res->end = SJ_END_CLEAN;
			return 0;
		}
		rem = r->size - off;
		want = rem < SJ_REC_HDR ? (size_t)rem : SJ_REC_HDR;
		ret = sj_reader_get(r, off, want, &p);
		if (ret)
			goto io_error;
		if (want == SJ_REC_HDR) {
			len = sj_get32(p + 4);
			if (len >= SJ_REC_MIN && len <= SJ_REC_MAX) {
				want = SJ_REC_HDR + (size_t)len;
				if (want > rem)
					want = (size_t)rem;
				ret = sj_reader_get(r, off, want, &p);
				if (ret)
					goto io_error;
			}
		}
		f = sj_frame_check(salt, p, want, &len);
		if (f == SJ_FRAME_BAD_TYPE || f == SJ_FRAME_BAD_RESERVED) {
			/* The checksum matched: a writer made this on purpose. */
			res->end = SJ_END_CORRUPT;
			res->bad_off = off;
			snprintf(res->reason, sizeof(res->reason), "%s (type %u)",
				 sj_frame_str(f), p[8]);
			return 0;
		}
		if (f != SJ_FRAME_OK)
			return classify(r, salt, off, f, res);
		if (sj_batch_parse(p + SJ_REC_HDR, len, names, &b, &why)) {
			res->end = SJ_END_CORRUPT;
			res->bad_off = off;
			snprintf(res->reason, sizeof(res->reason), "invalid record: %s", why);
			return 0;
		}
		if (apply) {
			ret = apply(arg, off, &b, err);
			if (ret)
				return ret;
		}
		if (b.batch_ts > res->max_batch_ts)
			res->max_batch_ts = b.batch_ts;
		res->records++;
		off += SJ_REC_HDR + (uint64_t)len;
	}

io_error:
	return se_set(err, ret, off, "reading the journal at offset %llu: %s",
		      (unsigned long long)off, strerror(-ret));
}
