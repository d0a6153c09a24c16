/* SPDX-License-Identifier: GPL-2.0 */
/*
 * crashblock.h: the self-verifying 4 KiB block and the journal shared by
 * crashwriter (writes them) and crashverify (checks them after a crash).
 *
 * Block layout (all fields little-endian; block number B of the test range sits at
 * byte B * 4096 of the device):
 *
 *   offset  size  field
 *        0     8  magic   CRASHBLK_MAGIC ("MARSCRW1" read as bytes)
 *        8     8  block   B, the block's own number (catches misplaced writes)
 *       16     8  version the writer's op number: global, monotonic across writer
 *                         runs, so a higher version is always a newer write
 *       24     8  run     the writer run that wrote it
 *       32  4060  fill    pseudo-random bytes seeded by (block, version)
 *     4092     4  crc     CRC32C over bytes 0..4091 (catches torn and stale sectors)
 *
 * The initial pattern of the range is all zeros: a block is either all zeros (never
 * written, or written zeros by nobody) or a whole, self-consistent written block.
 *
 * The journal is a text file of records, each one line written by one write(2) and
 * terminated by '.', so that a line torn by a power cut is recognisably incomplete
 * and ignored:
 *
 *   R run first_op seed blocks.  a writer run starts; its ops are numbered from first_op
 *   I op block.                  op is about to be written to block (intent, before the IO)
 *   F op.                        a fdatasync/fsync completed: every op of this run up
 *                                to op (they all completed before it was issued) is durable
 *   D op.                        op was written with O_DSYNC/RWF_DSYNC (FUA) and completed
 *   P op.                        crashverify found op on the device after a recovery:
 *                                the recovered state is durable from then on
 *   E op.                        the run ended normally after op
 */
#ifndef CRASHBLOCK_H
#define CRASHBLOCK_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CRASHBLK_SIZE	4096u
#define CRASHBLK_MAGIC	0x315752435352414dull /* the bytes "MARSCRW1", little-endian */
#define CRASHBLK_CRC_OFF (CRASHBLK_SIZE - 4)

static inline void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline uint32_t crc32c(const unsigned char *p, size_t n)
{
	static uint32_t table[256];
	uint32_t crc = 0xffffffffu;

	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
			table[i] = c;
		}
	}
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* splitmix64: the PRNG of the writer and of the fill pattern. */
static inline uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void crashblk_fill(unsigned char *b, uint64_t block, uint64_t version,
				 uint64_t run)
{
	uint64_t s = block * 0x100000001b3ull ^ version;

	put_le64(b, CRASHBLK_MAGIC);
	put_le64(b + 8, block);
	put_le64(b + 16, version);
	put_le64(b + 24, run);
	for (unsigned int off = 32; off < CRASHBLK_CRC_OFF; off += 4) {
		uint32_t r = (uint32_t)splitmix64(&s);

		memcpy(b + off, &r, 4);
	}
	uint32_t crc = crc32c(b, CRASHBLK_CRC_OFF);

	for (int i = 0; i < 4; i++)
		b[CRASHBLK_CRC_OFF + i] = (unsigned char)(crc >> (8 * i));
}

enum crashblk_state {
	CRASHBLK_ZERO,		/* the initial pattern */
	CRASHBLK_VALID,		/* magic, crc and block number right */
	CRASHBLK_BAD_MAGIC,	/* neither zeros nor a written block */
	CRASHBLK_BAD_CRC,	/* torn, or bits changed */
	CRASHBLK_BAD_BLOCK,	/* a whole block, but written for another position */
};

static inline const char *crashblk_state_name(enum crashblk_state s)
{
	switch (s) {
	case CRASHBLK_ZERO: return "zeros";
	case CRASHBLK_VALID: return "valid";
	case CRASHBLK_BAD_MAGIC: return "garbage (no magic, not zeros)";
	case CRASHBLK_BAD_CRC: return "checksum mismatch (torn or changed)";
	case CRASHBLK_BAD_BLOCK: return "block number mismatch (misplaced)";
	}
	return "?";
}

static inline enum crashblk_state crashblk_check(const unsigned char *b, uint64_t block,
						 uint64_t *version, uint64_t *run)
{
	uint32_t crc = 0;

	*version = 0;
	*run = 0;
	if (get_le64(b) != CRASHBLK_MAGIC) {
		for (unsigned int i = 0; i < CRASHBLK_SIZE; i++)
			if (b[i])
				return CRASHBLK_BAD_MAGIC;
		return CRASHBLK_ZERO;
	}
	for (int i = 3; i >= 0; i--)
		crc = (crc << 8) | b[CRASHBLK_CRC_OFF + i];
	if (crc != crc32c(b, CRASHBLK_CRC_OFF))
		return CRASHBLK_BAD_CRC;
	*version = get_le64(b + 16);
	*run = get_le64(b + 24);
	if (get_le64(b + 8) != block)
		return CRASHBLK_BAD_BLOCK;
	return CRASHBLK_VALID;
}

/* Append one record: a single write(2), so that it is in the file (or torn) at once. */
static inline int journal_put(int fd, const char *line)
{
	size_t len = strlen(line);
	ssize_t n = write(fd, line, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/*
 * Parse one journal line (without its newline). Returns the record type and fills
 * up to four numbers, or 0 for a line that is torn or malformed.
 */
static inline int journal_parse(const char *line, uint64_t v[4], int *nv)
{
	const char *p = line + 1;
	int type = line[0];

	if (!strchr("RIFDPE", type) || !type || line[1] != ' ')
		return 0;
	*nv = 0;
	while (*p == ' ' && *nv < 4) {
		char *end;

		p++;
		if (*p < '0' || *p > '9')
			return 0;
		errno = 0;
		v[(*nv)++] = strtoull(p, &end, 10);
		if (errno)
			return 0;
		p = end;
	}
	if (p[0] != '.' || p[1] != '\0')
		return 0;
	switch (type) {
	case 'R': return *nv == 4 ? type : 0;
	case 'I': return *nv == 2 ? type : 0;
	default: return *nv == 1 ? type : 0;
	}
}

/*
 * Call fn for every complete record of the journal at path, in file order. A last
 * line without its newline is torn and skipped, as are malformed lines. Returns 0,
 * -errno from reading (a missing journal is -ENOENT), or what fn returned if not 0.
 */
static inline int journal_foreach(const char *path,
				  int (*fn)(void *ctx, int type, const uint64_t *v),
				  void *ctx)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) > 0) {
		uint64_t v[4];
		int type, nv;

		if (line[len - 1] != '\n')
			break;
		line[len - 1] = '\0';
		type = journal_parse(line, v, &nv);
		if (type) {
			rc = fn(ctx, type, v);
			if (rc)
				break;
		}
	}
	if (!rc && ferror(f))
		rc = -EIO;
	free(line);
	fclose(f);
	return rc;
}

#endif
