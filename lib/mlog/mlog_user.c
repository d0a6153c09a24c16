// SPDX-License-Identifier: GPL-2.0
/*
 * mlog_user: CRC32C through ISA-L, the version chain through libcrypto, and the
 * text forms of hashes and UUIDs (see mlog_user.h). Userspace only.
 */
#include <stdio.h>
#include <string.h>

#include <isa-l/crc.h>
#include <openssl/evp.h>

#include "mlog_user.h"

uint32_t mlog_crc_isal(uint32_t crc, const void *p, size_t len)
{
	unsigned char *b = (unsigned char *)p;	/* crc32_iscsi() only reads */

	/* crc32_iscsi() takes an int length: go in steps of at most 1 GiB. */
	while (len > 0) {
		int n = len > (1u << 30) ? 1 << 30 : (int)len;

		crc = crc32_iscsi(b, n, crc);
		b += n;
		len -= (size_t)n;
	}
	return crc;
}

/* SHA-256 of @n bytes at @in into @out. Returns 0, or -1. */
static int sha256(const uint8_t *in, size_t n, uint8_t out[MLOG_CHAIN_LEN])
{
	unsigned int len = 0;

	if (EVP_Digest(in, n, out, &len, EVP_sha256(), NULL) != 1 || len != MLOG_CHAIN_LEN)
		return -1;
	return 0;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int mlog_chain_genesis(const uint8_t uuid[MLOG_UUID_LEN], uint8_t out[MLOG_CHAIN_LEN])
{
	uint8_t in[8 + MLOG_UUID_LEN];

	memcpy(in, "MARS-VC0", 8);
	memcpy(in + 8, uuid, MLOG_UUID_LEN);
	return sha256(in, sizeof(in), out);
}

int mlog_chain_entry(uint64_t log_seq, const char *host, uint64_t end,
		     const uint8_t prev[MLOG_CHAIN_LEN], uint8_t out[MLOG_CHAIN_LEN])
{
	uint8_t in[8 + 8 + MLOG_HOST_LEN + 8 + MLOG_CHAIN_LEN] = { 0 };
	size_t hlen = strlen(host);

	if (hlen > MLOG_HOST_LEN)
		return -1;
	memcpy(in, "MARS-VC1", 8);
	put_le64(in + 8, log_seq);
	memcpy(in + 16, host, hlen);
	put_le64(in + 16 + MLOG_HOST_LEN, end);
	memcpy(in + 24 + MLOG_HOST_LEN, prev, MLOG_CHAIN_LEN);
	return sha256(in, sizeof(in), out);
}

void mlog_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = 0;
}

/* The value of the hex digit @c, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mlog_unhex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int mlog_uuid_parse(const char *s, uint8_t out[MLOG_UUID_LEN])
{
	char digits[2 * MLOG_UUID_LEN + 1];
	size_t n = 0, len = strlen(s);

	if (len == MLOG_UUID_TEXT_LEN) {
		for (size_t i = 0; i < len; i++) {
			bool dash = i == 8 || i == 13 || i == 18 || i == 23;

			if (dash != (s[i] == '-'))
				return -1;
			if (!dash)
				digits[n++] = s[i];
		}
		digits[n] = 0;
		s = digits;
	}
	return mlog_unhex(s, out, MLOG_UUID_LEN);
}

void mlog_uuid_format(const uint8_t uuid[MLOG_UUID_LEN], char *out)
{
	char hex[2 * MLOG_UUID_LEN + 1];

	mlog_hex(uuid, MLOG_UUID_LEN, hex);
	snprintf(out, MLOG_UUID_TEXT_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
		 hex + 12, hex + 16, hex + 20);
}
