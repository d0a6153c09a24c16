/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mlog: encoder and decoder of mars transaction logfiles (docs/log-format.md).
 *
 * One implementation of the format's checks, compiled into three places: the
 * kernel module (kmod/mlog.c is a symlink to lib/mlog/mlog.c; replay), marsctl
 * (`marsctl log dump`) and the libFuzzer target. It uses no libc and no kernel
 * API: the CRC comes in as a function pointer, file bytes through a read callback,
 * and memory is the caller's. Integers are decoded byte by byte (little endian),
 * so the code is independent of the CPU's byte order and of struct packing.
 */
#ifndef MLOG_H
#define MLOG_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif

/* Constants of the format (log-format.md, section 7). */
#define MLOG_MAGIC		"MARS-LOG"
#define MLOG_VERSION		1
#define MLOG_HDR_LEN		192
#define MLOG_REC_MAGIC		0x4345524DU	/* "MREC" as __le32 */
#define MLOG_REC_VERSION	1
#define MLOG_REC_HDR_LEN	48
#define MLOG_REC_ALIGN		8
#define MLOG_REC_DATA_MAX	1048576U
#define MLOG_REC_RANGE_MAX	1073741824U
#define MLOG_TORN_MAX		8388608U
#define MLOG_SEQ_MAX		999999999ULL
#define MLOG_REC_MAX		(MLOG_REC_HDR_LEN + MLOG_REC_DATA_MAX)
#define MLOG_RES_NAME_LEN	32
#define MLOG_HOST_LEN		64

/* Record types (5.2). */
enum mlog_type {
	MLOG_T_DATA = 1,
	MLOG_T_ZERO = 2,
	MLOG_T_DISCARD = 3,
	MLOG_T_PAD = 4,
	MLOG_T_GAP = 5,
	MLOG_T_EOF = 6,
};

/* Record flags (5.3). */
#define MLOG_F_SYNC		0x0001U
#define MLOG_F_DRAINED		0x0002U
#define MLOG_F_EMERGENCY	0x0004U
#define MLOG_F_NOUNMAP		0x0008U

/*
 * CRC32C update step: continues @crc over @len bytes at @p, with no inversion of
 * seed or result (the kernel's crc32c(), ISA-L's crc32_iscsi()). The format's CRC
 * is ~update(0xFFFFFFFF, bytes).
 */
typedef uint32_t (*mlog_crc_fn)(uint32_t crc, const void *p, size_t len);

/* Read exactly @len bytes at file offset @off into @buf: 0, or -errno. */
typedef int (*mlog_read_fn)(void *ctx, uint64_t off, void *buf, uint32_t len);

/* A decoded file header (4). Strings are NUL-terminated copies. */
struct mlog_fhdr {
	uint16_t version;
	uint16_t hdr_len;
	uint32_t hdr_crc;
	uint64_t salt;
	uint64_t log_seq;
	uint64_t create_lamport;
	uint64_t first_rec_seq;
	uint32_t flags;
	uint32_t block_size;
	uint8_t res_uuid[16];
	char res_name[MLOG_RES_NAME_LEN + 1];
	char host[MLOG_HOST_LEN + 1];
};

/* A decoded record header (5.1), and where it lies. */
struct mlog_rec {
	uint64_t off;		/* file offset of the record */
	uint16_t version;
	uint16_t hdr_len;
	uint16_t type;		/* enum mlog_type */
	uint16_t flags;		/* MLOG_F_* */
	uint32_t crc;
	uint64_t rec_seq;
	uint64_t lamport;
	uint64_t pos;
	uint32_t len;
	uint32_t payload_len;
};

/* Scan outcomes (10.2). */
enum mlog_outcome {
	MLOG_O_NONE = 0,	/* scan not finished */
	MLOG_O_CLEAN_EOF,
	MLOG_O_CLEAN_OPEN,
	MLOG_O_ZERO_TAIL,
	MLOG_O_INCOMPLETE,
	MLOG_O_TORN_TAIL,
	MLOG_O_EMPTY,
	MLOG_O_BAD_HEADER,
	MLOG_O_SHORT_HEADER,
	MLOG_O_SHORT_RECORD,
	MLOG_O_BAD_MAGIC,
	MLOG_O_BAD_VERSION,
	MLOG_O_BAD_LENGTH,
	MLOG_O_BAD_FIELD,
	MLOG_O_BAD_CRC,
	MLOG_O_SEQ_JUMP,
	MLOG_O_GARBAGE,
	MLOG_O_READ_ERROR,	/* the read callback failed; scan.err holds -errno */
};

/*
 * Scanning one file (10.1). The caller fills the inputs, calls mlog_scan_begin(),
 * then mlog_scan_next() until it returns 0. Each call that returns 1 delivers one
 * valid record in @rec, its payload in buf[0..payload_len). A return of 0 means
 * the scan ended: @outcome and @pos tell how and where.
 */
struct mlog_scan {
	/* inputs */
	mlog_read_fn read;
	void *ctx;
	mlog_crc_fn crc;
	uint64_t end;		/* file size, or valid_len */
	bool tail_may_be_torn;	/* the newest file of a crashed writer */
	bool may_grow;		/* a file still being written: end inside a record = incomplete */
	uint64_t expect_seq;	/* 0: any; else log_seq must equal it (the file name) */
	const char *expect_res;	/* NULL: any; else res_name must equal it */
	const char *expect_host;	/* NULL: any; else host must equal it */
	const uint8_t *expect_uuid;	/* NULL: any; else a non-zero res_uuid must equal it */
	uint8_t *buf;		/* at least MLOG_REC_DATA_MAX bytes, for payloads */
	/* outputs */
	struct mlog_fhdr fh;	/* valid once begin returned 1 */
	struct mlog_rec rec;	/* the record just delivered */
	uint64_t pos;		/* next record offset; the outcome's offset at the end */
	enum mlog_outcome outcome;
	const char *detail;	/* static string: the failing field or check */
	int err;		/* -errno of a failed read */
	uint64_t records;	/* records delivered */
	uint64_t zero_bytes;	/* zero_tail: how many zero bytes follow */
	uint64_t valid_after;	/* torn_tail: CRC-valid records found after pos */
	uint64_t time_backward;	/* warnings: lamport not increasing */
	uint64_t content_end;	/* end of the last DATA/ZERO/DISCARD/GAP record (11.1) */
	bool eof_seen;
	uint16_t eof_flags;	/* flags of the EOF record, if seen */
	/* private */
	uint64_t prev_seq;
	uint64_t prev_lamport;
	bool have_prev;
};

/* Reads and checks the file header: 1 = records follow, 0 = ended (outcome set). */
int mlog_scan_begin(struct mlog_scan *s);
/* 1 = a record in s->rec and s->buf, 0 = ended (outcome and pos set). */
int mlog_scan_next(struct mlog_scan *s);

const char *mlog_outcome_name(enum mlog_outcome o);
/* Fatal outcomes stop every consumer (10.2); torn_tail/empty/clean ones do not. */
bool mlog_outcome_fatal(enum mlog_outcome o);
const char *mlog_type_name(uint16_t type);

/* Encoding (writers, tests). Both compute and store the CRC. */
void mlog_fhdr_encode(const struct mlog_fhdr *h, uint8_t out[MLOG_HDR_LEN], mlog_crc_fn crc);
/*
 * Encode a record header into out[48]. @rec->crc is ignored: the CRC is computed
 * over salt, header and the payload given as @payload/@payload_len (which must
 * equal rec->payload_len) and stored in out and in rec->crc.
 */
void mlog_rec_encode(struct mlog_rec *rec, uint64_t salt, const void *payload,
		     uint8_t out[MLOG_REC_HDR_LEN], mlog_crc_fn crc);
/*
 * For writers whose payload is scattered (kernel pages): encode the header with a
 * zero CRC and return the running CRC over salt and header; the caller continues
 * it over the payload and calls mlog_rec_set_crc() with the register.
 */
uint32_t mlog_rec_encode_begin(const struct mlog_rec *rec, uint64_t salt,
			       uint8_t out[MLOG_REC_HDR_LEN], mlog_crc_fn crc);
void mlog_rec_set_crc(uint8_t out[MLOG_REC_HDR_LEN], uint32_t running);

/* Record size on disk: round_up(hdr_len + payload_len, 8). */
static inline uint64_t mlog_rec_size(uint32_t payload_len)
{
	return ((uint64_t)MLOG_REC_HDR_LEN + payload_len + MLOG_REC_ALIGN - 1) &
		~(uint64_t)(MLOG_REC_ALIGN - 1);
}

#endif /* MLOG_H */
