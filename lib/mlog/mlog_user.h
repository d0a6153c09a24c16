/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mlog_user: the userspace half of the logfile code (docs/log-format.md, sections
 * 3 and 11), for marsctl, the unit tests and the fuzzer. Not built into the
 * kernel: the kernel has its own crc32c() and never hashes.
 *
 *  - mlog_crc_isal(): the mlog_crc_fn of userspace, ISA-L's crc32_iscsi();
 *  - the version chain: genesis and entry(N) with SHA-256 from OpenSSL's
 *    libcrypto (11.1);
 *  - hex and UUID text forms for the command line and JSON.
 */
#ifndef MLOG_USER_H
#define MLOG_USER_H

#include <stddef.h>
#include <stdint.h>

#include "mlog.h"

#define MLOG_CHAIN_LEN		32	/* bytes of a chain entry (SHA-256) */
#define MLOG_CHAIN_HEX_LEN	64	/* hex digits of a chain entry */
#define MLOG_UUID_LEN		16
#define MLOG_UUID_TEXT_LEN	36	/* 8-4-4-4-12 hex digits with dashes */

/* CRC32C update step through ISA-L (section 3); an mlog_crc_fn. */
uint32_t mlog_crc_isal(uint32_t crc, const void *p, size_t len);

/* genesis = SHA-256("MARS-VC0" ‖ res_uuid). Returns 0, or -1 if libcrypto failed. */
int mlog_chain_genesis(const uint8_t uuid[MLOG_UUID_LEN], uint8_t out[MLOG_CHAIN_LEN]);

/*
 * entry(N) = SHA-256("MARS-VC1" ‖ le64(N) ‖ host[64] ‖ le64(end) ‖ prev), @host
 * zero padded to 64 bytes. Returns 0, or -1 if @host is longer than 64 bytes or
 * libcrypto failed.
 */
int mlog_chain_entry(uint64_t log_seq, const char *host, uint64_t end,
		     const uint8_t prev[MLOG_CHAIN_LEN], uint8_t out[MLOG_CHAIN_LEN]);

/* Lower case hex of the @n bytes at @b into @out (2 * @n + 1 bytes, NUL-terminated). */
void mlog_hex(const uint8_t *b, size_t n, char *out);

/* Parse exactly 2 * @n hex digits (either case) into @out. Returns 0, or -1. */
int mlog_unhex(const char *s, uint8_t *out, size_t n);

/*
 * Parse a UUID: 32 hex digits, with or without the dashes of the 8-4-4-4-12 form.
 * Returns 0, or -1.
 */
int mlog_uuid_parse(const char *s, uint8_t out[MLOG_UUID_LEN]);

/* The 8-4-4-4-12 form of @uuid into @out (MLOG_UUID_TEXT_LEN + 1 bytes). */
void mlog_uuid_format(const uint8_t uuid[MLOG_UUID_LEN], char *out);

#endif /* MLOG_USER_H */
