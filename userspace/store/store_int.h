/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libmarsstore internals shared between its files (and the fuzz target and tests,
 * which are built with -Iuserspace/store). Not an API: nothing outside
 * userspace/store/, tests/unit/test_store*.c and tests/fuzz/ includes this.
 *
 * Prefixes: sj_ journal format (journal.c), sk_ keys and hosts (keys.c), sx_ the
 * in-memory index (index.c), se_ errors (journal.c). The byte layouts are in
 * docs/journal-format.md section 2 and 3; the constants below mirror them.
 */
#ifndef MARS_STORE_INT_H
#define MARS_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store.h"

#define SJ_MAGIC		"MARSJRNL"
#define SJ_VERSION		1u
#define SJ_HDR_SIZE		128u	/* file header, bytes */
#define SJ_HDR_CRC_OFF		124u
#define SJ_REC_HDR		12u	/* record frame header, bytes */
#define SJ_REC_MIN		16u	/* smallest payload the frame accepts */
#define SJ_REC_MAX		STORE_BATCH_MAX	/* largest payload */
#define SJ_BATCH_HDR		16u	/* batch payload header, bytes */
#define SJ_OP_HDR		20u	/* op header, bytes */
#define SJ_TYPE_BATCH		1u
#define SJ_BF_MERGED		0x01u	/* batch flags */
#define SJ_BF_COMPACTED		0x02u
#define SJ_BF_ALL		(SJ_BF_MERGED | SJ_BF_COMPACTED)
#define SJ_COMPACT_CHUNK	(1u << 20)	/* payload bytes per compacted record */
#define SJ_SCAN_BUDGET		(256ull << 20)	/* bytes checksummed in a tail search */
#define SJ_READ_CHUNK		(1u << 20)	/* read-ahead of the record reader */
#define SJ_MASK_DELTA		0xa282ead8u

/* Cost of one entry in a compacted file (docs section 10). */
#define SJ_ENTRY_BYTES(klen, vlen)	((uint64_t)SJ_OP_HDR + (klen) + (vlen))

/* ---- little-endian helpers ---- */
static inline uint16_t sj_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t sj_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t sj_get64(const uint8_t *p)
{
	return (uint64_t)sj_get32(p) | ((uint64_t)sj_get32(p + 4) << 32);
}

static inline void sj_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void sj_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void sj_put64(uint8_t *p, uint64_t v)
{
	sj_put32(p, (uint32_t)v);
	sj_put32(p + 4, (uint32_t)(v >> 32));
}

/* ---- errors ---- */
int se_set(struct store_error *err, int code, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- checksums (docs 2.3) ---- */
uint32_t sj_mask(uint32_t crc);
uint32_t sj_record_crc(uint64_t salt, const uint8_t *rec, uint32_t payload_len);
/* Fill the frame header of the record at @rec (payload already at rec + 12). */
void sj_record_seal(uint64_t salt, uint8_t *rec, uint32_t payload_len, uint8_t type);

/* ---- file header (docs 2.1) ---- */
struct sj_header {
	uint64_t salt;
	uint64_t created_ns;
	uint64_t generation;
	uint64_t clock_floor;
	uint64_t purge_floor;
	char host[STORE_HOST_MAX + 1];
};

void sj_header_encode(const struct sj_header *h, uint8_t out[SJ_HDR_SIZE]);
/* @len is the file size (only the first SJ_HDR_SIZE bytes are at @buf). Returns 0,
 * -EUCLEAN (damaged; *bad_magic set when it is not a journal at all) or -ENOTSUP. */
int sj_header_decode(const uint8_t *buf, uint64_t len, struct sj_header *h,
		     const char *path, bool *bad_magic, struct store_error *err);

/* ---- record frames ---- */
enum sj_frame {
	SJ_FRAME_OK,
	SJ_FRAME_SHORT_HDR,	/* fewer than 12 bytes left */
	SJ_FRAME_BAD_LEN,	/* length field out of bounds */
	SJ_FRAME_SHORT,		/* record extends past the end of the file */
	SJ_FRAME_BAD_CRC,	/* checksum mismatch */
	SJ_FRAME_BAD_TYPE,	/* checksum fine, unknown type: refused anywhere */
	SJ_FRAME_BAD_RESERVED,	/* checksum fine, reserved bytes set: refused */
};
enum sj_frame sj_frame_check(uint64_t salt, const uint8_t *p, uint64_t avail,
			     uint32_t *payload_len);
const char *sj_frame_str(enum sj_frame f);

/* ---- batch payload (docs 3) ---- */
struct sj_name {
	const char *p;		/* not NUL-terminated */
	uint8_t len;
};

struct sj_op {
	uint64_t ts;
	const char *key;	/* not NUL-terminated */
	const uint8_t *value;
	uint32_t value_len;
	uint16_t key_len;
	uint16_t origin;	/* index into the record's origin table */
	uint8_t kind;		/* STORE_PUT / STORE_DELETE */
};

struct sj_batch {
	uint64_t batch_ts;
	uint32_t n_ops;
	uint16_t n_origins;
	uint8_t flags;
	struct sj_name *names;	/* caller's array of STORE_MAX_ORIGINS */
	const uint8_t *ops;	/* first op */
	const uint8_t *end;	/* end of payload */
};

/* Validate a whole payload (every rule of docs section 3 and 5). On failure returns
 * -1 with a static reason in *why. */
int sj_batch_parse(const uint8_t *p, size_t len, struct sj_name *names,
		   struct sj_batch *b, const char **why);
/* Decode the op at *pp (of a payload that sj_batch_parse accepted) and advance. */
void sj_op_decode(const uint8_t **pp, struct sj_op *op);

/* Encoding a batch: the caller computes the exact payload size first. */
struct sj_enc {
	uint8_t *rec;		/* record start (frame header) */
	size_t pos;		/* next byte to write, relative to rec */
	size_t payload_len;	/* expected, checked by sj_enc_seal() */
};
size_t sj_batch_size_hdr(const struct sj_name *names, unsigned int n_names);
void sj_enc_begin(struct sj_enc *e, uint8_t *rec, size_t payload_len, uint64_t batch_ts,
		  uint32_t n_ops, uint8_t flags, const struct sj_name *names,
		  unsigned int n_names);
void sj_enc_op(struct sj_enc *e, uint64_t ts, uint16_t origin, uint8_t kind,
	       const char *key, uint16_t key_len, const void *value, uint32_t value_len);
/* Returns the whole record's size. */
size_t sj_enc_seal(struct sj_enc *e, uint64_t salt);

/* ---- reading a journal: buffered reader and recovery scan (docs 9) ---- */
struct sj_reader {
	int fd;
	uint64_t size;		/* file size taken once */
	uint8_t *buf;
	size_t cap;
	uint64_t boff;		/* file offset of buf[0] */
	size_t blen;		/* valid bytes in buf */
};

void sj_reader_init(struct sj_reader *r, int fd, uint64_t size);
void sj_reader_free(struct sj_reader *r);
/* Make bytes [off, off + n) available (off + n <= size); -errno on failure. */
int sj_reader_get(struct sj_reader *r, uint64_t off, size_t n, const uint8_t **p);

enum sj_end {
	SJ_END_CLEAN,		/* the last record ends at the end of the file */
	SJ_END_TORN,		/* a torn tail starts at bad_off */
	SJ_END_CORRUPT,		/* damage before the tail at bad_off */
};

struct sj_scan_result {
	enum sj_end end;
	uint64_t valid_end;	/* end of the last good record */
	uint64_t records;	/* good records */
	uint64_t max_batch_ts;
	uint64_t bad_off;	/* first byte that is not a good record */
	uint64_t next_good;	/* a good frame after bad_off, or 0 */
	char reason[160];	/* what was wrong at bad_off */
};

/* Called for every good record; a negative return stops the scan with that error. */
typedef int (*sj_apply_fn)(void *arg, uint64_t rec_off, const struct sj_batch *b,
			   struct store_error *err);

/* Scan records from SJ_HDR_SIZE to the end of the file, calling @apply (may be NULL)
 * for each good one. Returns 0 with res->end set (corruption is not an error here),
 * or -errno for I/O errors, ENOMEM and errors from @apply. */
int sj_scan(struct sj_reader *r, uint64_t salt, struct sj_name *names,
	    sj_apply_fn apply, void *arg, struct sj_scan_result *res,
	    struct store_error *err);

/* ---- keys and hosts (docs 5) ---- */
/* 0 or -EINVAL; *why gets a static reason. */
int sk_host_check(const char *h, size_t len, const char **why);
/* 0, -EINVAL or -ENAMETOOLONG; on success *owner and *owner_len give the owner tag's
 * host (NULL/0 if none). */
int sk_key_check(const char *k, size_t len, const char **owner, size_t *owner_len,
		 const char **why);

/* ---- in-memory index: an AVL tree keyed by bytewise key order ---- */
#define SX_MAX_HEIGHT	64

struct sx_node {
	struct sx_node *left, *right;
	uint8_t *value;		/* malloc'd, NULL when value_len is 0 */
	uint64_t ts;
	uint64_t rec_off;	/* journal offset of the record holding this version */
	uint32_t value_len;
	uint32_t origin;	/* index into struct store's origin table */
	uint16_t key_len;
	int8_t height;
	uint8_t tomb;		/* 1: tombstone */
	char key[];		/* key_len bytes + NUL */
};

struct sx_tree {
	struct sx_node *root;
	size_t count;
};

int sx_cmp(const char *a, size_t alen, const char *b, size_t blen);
struct sx_node *sx_node_new(const char *key, size_t len);	/* NULL on ENOMEM */
struct sx_node *sx_find(const struct sx_tree *t, const char *key, size_t len);
/* Insert @n, whose key must not be in @t yet. Never fails. */
void sx_insert(struct sx_tree *t, struct sx_node *n);
void sx_destroy(struct sx_tree *t);
/* In-order nodes into @out (t->count entries). */
void sx_flatten(const struct sx_tree *t, struct sx_node **out);
/* Replace the tree by a balanced one built from @nodes (sorted, n entries). */
void sx_build(struct sx_tree *t, struct sx_node **nodes, size_t n);

struct sx_iter {
	struct sx_node *stack[SX_MAX_HEIGHT];
	int top;
};
/* Position at the first node whose key is >= @key. */
void sx_seek(struct sx_iter *it, const struct sx_tree *t, const char *key, size_t len);
struct sx_node *sx_next(struct sx_iter *it);

/* ---- the store handle (store.c, batch.c, compact.c) ---- */
struct store {
	char *path;		/* the journal */
	char *dir;		/* its directory */
	char *lock_path;
	char *tmp_path;
	int fd;			/* journal, O_RDWR or O_RDONLY; -1 for an empty reader */
	int lock_fd;		/* -1 for a reader */
	bool readonly;
	bool failed;		/* a sync failed: writes refused (docs 8) */
	bool have_header;	/* false only for a reader of a zero-length file */
	struct sj_header hdr;
	uint64_t end;		/* end of the last good record = append offset */
	uint64_t records;
	uint64_t clock;		/* Lamport clock */
	uint64_t live_bytes;
	uint64_t tombstones;
	uint64_t safe_ts;
	uint64_t torn_off, torn_bytes;
	const char *torn_reason;
	char torn_reason_buf[160];
	struct store_options opt;	/* opt.host is NULL; see host[] */
	char host[STORE_HOST_MAX + 1];
	uint32_t host_idx;	/* our own name in origins[] */
	char **origins;		/* interned host names */
	uint32_t n_origins;
	uint32_t *omap;		/* record origin index -> origins[], scratch */
	struct sj_name *names;	/* STORE_MAX_ORIGINS scratch for parsing */
	struct sx_tree idx;
};

uint64_t store_now_ns(const struct store *s);
/* Index of @name in s->origins, adding it if new; -E2BIG / -ENOMEM. */
int store_origin_intern(struct store *s, const char *name, size_t len, uint32_t *idx);
/* Append a sealed record at s->end and fdatasync (docs 8). */
int store_append(struct store *s, const uint8_t *rec, size_t len, struct store_error *err);
/* Apply one op to the index; @node is the key's node (new nodes are inserted).
 * @value is consumed (malloc'd or NULL). */
void store_apply(struct store *s, struct sx_node *node, bool is_new, uint64_t ts,
		 uint32_t origin, bool tomb, uint8_t *value, uint32_t value_len,
		 uint64_t rec_off);
int store_check_writable(struct store *s, struct store_error *err);
/* A header for a new file: fresh salt, clock_floor = s->clock. */
void store_new_header(struct store *s, struct sj_header *h, uint64_t generation);
int store_fsync_dir(const char *dir, struct store_error *err);
int store_random_salt(uint64_t *salt);
int store_write_all(int fd, const void *buf, size_t len, uint64_t off);

#endif /* MARS_STORE_INT_H */
