// SPDX-License-Identifier: GPL-2.0
/*
 * replaylog: reads a dm-log-writes log and replays it onto a device, to produce the
 * exact state a disk would have had after a power cut at a chosen point (docs/
 * testing.md, "Crash tests"). Written from the format as documented in the kernel
 * (Documentation/admin-guide/device-mapper/log-writes.rst and the comments of
 * drivers/md/dm-log-writes.c in 6.1).
 *
 * The log, all integers little-endian. S is the sector size of the recorded device
 * (its logical block size), stored in the super block:
 *
 *   byte 0      super: __le64 magic (0x6a736677736872), __le64 version (1),
 *               __le64 nr_entries, __le32 sectorsize (S); the rest of S bytes unused
 *   byte S      entry 1: one sector of S bytes that begins with
 *                 __le64 sector      first sector written, in units of S
 *                 __le64 nr_sectors  length, in units of S
 *                 __le64 flags       FLUSH 1, FUA 2, DISCARD 4, MARK 8, METADATA 16
 *                 __le64 data_len    MARK: the length of the mark's text, which
 *                                    follows these 32 bytes in the same sector
 *               then, unless DISCARD, nr_sectors * S bytes of the written data
 *   ...         entry 2, and so on up to nr_entries
 *
 * Writes are logged once they are on stable storage: a plain write when a later
 * FLUSH completes (entries of the writes, then the FLUSH entry), a FUA write when it
 * completes, a mark when it is sent. So replaying entries 1..N gives the disk as a
 * power cut right after entry N would have left it, with the volatile cache lost.
 * The kernel rewrites the super (nr_entries) after each FUA and MARK entry and at
 * teardown, when it adds the mark "dm-log-writes-end".
 *
 * Commands:
 *   list LOG                  every entry: "N sector nr_sectors FLAGS [text]"
 *   points LOG                the crash points worth checking: FLUSH and FUA entries
 *                             and marks, "N flush|fua|mark [text]"
 *   replay LOG TARGET [--from N] (--to N | --to-flush K | --to-mark TEXT)
 *                             write entries N (default 1) up to and including entry
 *                             N / the K-th FLUSH or FUA entry / the first mark TEXT
 *                             onto TARGET, then fsync it. DISCARD writes zeros.
 * Entries are numbered from 1. Exit status 0, 1 on a malformed log or IO error, 2
 * on bad usage.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#define LW_MAGIC	0x6a736677736872ull
#define LW_VERSION	1ull
#define LW_FLUSH	(1ull << 0)
#define LW_FUA		(1ull << 1)
#define LW_DISCARD	(1ull << 2)
#define LW_MARK		(1ull << 3)
#define LW_METADATA	(1ull << 4)
#define LW_ALL		(LW_FLUSH | LW_FUA | LW_DISCARD | LW_MARK | LW_METADATA)
#define LW_ENTRY_LEN	32u

struct lw_log {
	int fd;
	uint64_t size;		/* bytes */
	uint64_t nr_entries;
	uint32_t ss;		/* sector size S */
	uint64_t pos;		/* byte offset of the next entry */
	uint64_t index;		/* number of the next entry */
	unsigned char *sector;	/* S bytes */
};

struct lw_entry {
	uint64_t index;
	uint64_t sector;
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_pos;	/* byte offset of the data in the log */
	char text[4096];	/* MARK text, NUL-terminated */
};

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

__attribute__((format(printf, 1, 2)))
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "replaylog: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

static int read_at(int fd, void *buf, size_t len, uint64_t pos)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(pos + done));

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int write_at(int fd, const void *buf, size_t len, uint64_t pos)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(pos + done));

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int lw_open(struct lw_log *l, const char *path)
{
	unsigned char super[512];
	off_t end;
	int rc;

	memset(l, 0, sizeof(*l));
	l->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (l->fd < 0)
		return fail("%s: %s", path, strerror(errno));
	end = lseek(l->fd, 0, SEEK_END);
	if (end < 0)
		return fail("%s: cannot find the size", path);
	l->size = (uint64_t)end;
	rc = read_at(l->fd, super, sizeof(super), 0);
	if (rc)
		return fail("%s: cannot read the super block", path);
	if (le64(super) != LW_MAGIC)
		return fail("%s: not a dm-log-writes log (bad magic)", path);
	if (le64(super + 8) != LW_VERSION)
		return fail("%s: unknown log version %" PRIu64, path, le64(super + 8));
	l->nr_entries = le64(super + 16);
	l->ss = (uint32_t)super[24] | (uint32_t)super[25] << 8 | (uint32_t)super[26] << 16 |
		(uint32_t)super[27] << 24;
	if (l->ss < 512 || l->ss > 65536 || (l->ss & (l->ss - 1)))
		return fail("%s: bad sector size %" PRIu32, path, l->ss);
	l->sector = malloc(l->ss);
	if (!l->sector)
		return fail("%s: out of memory", path);
	l->pos = l->ss;
	l->index = 1;
	return 0;
}

/* Read the next entry's header. Returns 1 with e filled, 0 at the end, -1 on error. */
static int lw_next(struct lw_log *l, struct lw_entry *e)
{
	uint64_t data_len, bytes;

	if (l->index > l->nr_entries)
		return 0;
	if (l->pos + l->ss > l->size || read_at(l->fd, l->sector, l->ss, l->pos)) {
		fail("entry %" PRIu64 ": beyond the end of the log", l->index);
		return -1;
	}
	e->index = l->index;
	e->sector = le64(l->sector);
	e->nr_sectors = le64(l->sector + 8);
	e->flags = le64(l->sector + 16);
	data_len = le64(l->sector + 24);
	e->text[0] = '\0';
	if (e->flags & ~LW_ALL) {
		fail("entry %" PRIu64 ": unknown flags", l->index);
		return -1;
	}
	if (e->flags & LW_MARK) {
		if (data_len >= l->ss - LW_ENTRY_LEN || data_len >= sizeof(e->text)) {
			fail("entry %" PRIu64 ": mark text too long", l->index);
			return -1;
		}
		memcpy(e->text, l->sector + LW_ENTRY_LEN, data_len);
		e->text[data_len] = '\0';
	} else if (data_len) {
		fail("entry %" PRIu64 ": inline data on a non-mark entry", l->index);
		return -1;
	}
	bytes = e->flags & LW_DISCARD ? 0 : e->nr_sectors * l->ss;
	if (e->nr_sectors > l->size / l->ss || l->pos + l->ss + bytes > l->size) {
		fail("entry %" PRIu64 ": data beyond the end of the log", l->index);
		return -1;
	}
	e->data_pos = l->pos + l->ss;
	l->pos += l->ss + bytes;
	l->index++;
	return 1;
}

static void flag_names(uint64_t f, char *out, size_t len)
{
	static const char *const names[] = { "FLUSH", "FUA", "DISCARD", "MARK", "METADATA" };

	out[0] = '\0';
	for (unsigned int i = 0; i < 5; i++) {
		if (!(f & (1ull << i)))
			continue;
		if (out[0])
			strncat(out, "|", len - strlen(out) - 1);
		strncat(out, names[i], len - strlen(out) - 1);
	}
	if (!out[0])
		snprintf(out, len, "WRITE");
}

static int cmd_list(struct lw_log *l, bool points_only)
{
	struct lw_entry e;
	int rc;

	while ((rc = lw_next(l, &e)) > 0) {
		char flags[64];

		if (points_only) {
			if (e.flags & LW_MARK)
				printf("%" PRIu64 " mark %s\n", e.index, e.text);
			else if (e.flags & LW_FLUSH)
				printf("%" PRIu64 " flush\n", e.index);
			else if (e.flags & LW_FUA)
				printf("%" PRIu64 " fua\n", e.index);
			continue;
		}
		flag_names(e.flags, flags, sizeof(flags));
		printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %s%s%s\n", e.index, e.sector,
		       e.nr_sectors, flags, e.text[0] ? " " : "", e.text);
	}
	return rc < 0 ? 1 : 0;
}

struct replay_args {
	uint64_t from, to, to_flush;
	const char *to_mark;
};

static int cmd_replay(struct lw_log *l, const char *target, const struct replay_args *a)
{
	uint64_t writes = 0, bytes = 0, discards = 0, flushes = 0, flush_no = 0, tsize, last = 0;
	const size_t bufsz = 1u << 20;
	unsigned char *buf = calloc(1, bufsz);
	struct lw_entry e;
	bool reached = false;
	int tfd, rc = 0;
	off_t end;

	tfd = open(target, O_RDWR | O_CLOEXEC);
	if (!buf || tfd < 0)
		return fail("%s: cannot open the target", target);
	end = lseek(tfd, 0, SEEK_END);
	if (end < 0)
		return fail("%s: cannot find the size", target);
	tsize = (uint64_t)end;

	while (!reached && (rc = lw_next(l, &e)) > 0) {
		uint64_t pos = e.sector * l->ss, len = e.nr_sectors * l->ss;

		if (e.flags & (LW_FLUSH | LW_FUA))
			flush_no++;
		reached = (a->to && e.index >= a->to) ||
			  (a->to_flush && (e.flags & (LW_FLUSH | LW_FUA)) &&
			   flush_no >= a->to_flush) ||
			  (a->to_mark && (e.flags & LW_MARK) && !strcmp(e.text, a->to_mark));
		if (e.index < a->from)
			continue;
		last = e.index;
		if (e.flags & (LW_FLUSH | LW_FUA))
			flushes++;
		if (!len || (e.flags & LW_MARK))
			continue;
		if (e.nr_sectors > tsize / l->ss || pos > tsize - len) {
			rc = fail("entry %" PRIu64 ": beyond the end of the target", e.index);
			goto out;
		}
		if (e.flags & LW_DISCARD) {
			discards++;
			memset(buf, 0, bufsz);
		} else {
			writes++;
			bytes += len;
		}
		for (uint64_t done = 0; done < len; ) {
			size_t n = len - done < bufsz ? (size_t)(len - done) : bufsz;

			if (!(e.flags & LW_DISCARD) && read_at(l->fd, buf, n, e.data_pos + done)) {
				rc = fail("entry %" PRIu64 ": cannot read its data", e.index);
				goto out;
			}
			if (write_at(tfd, buf, n, pos + done)) {
				rc = fail("%s: write failed at byte %" PRIu64, target, pos + done);
				goto out;
			}
			done += n;
		}
	}
	if (rc < 0) {
		rc = 1;
		goto out;
	}
	if (!reached) {
		rc = fail("the log ended (entry %" PRIu64 ") before the stop point", last);
		goto out;
	}
	if (fsync(tfd)) {
		rc = fail("%s: fsync failed", target);
		goto out;
	}
	printf("replaylog: entries %" PRIu64 "..%" PRIu64 ": %" PRIu64 " writes (%" PRIu64
	       " KiB), %" PRIu64 " discards, %" PRIu64 " FLUSH/FUA\n", a->from, last, writes,
	       bytes / 1024, discards, flushes);
	rc = 0;
out:
	close(tfd);
	free(buf);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: replaylog list LOG\n"
		"       replaylog points LOG\n"
		"       replaylog replay LOG TARGET [--from N] (--to N | --to-flush K |"
		" --to-mark TEXT)\n");
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return (errno || !*s || *end || *s == '-' || !*v) ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct replay_args a = { .from = 1 };
	struct lw_log l;
	int rc, nstop = 0;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "list") || !strcmp(argv[1], "points")) {
		if (argc != 3) {
			usage(stderr);
			return 2;
		}
		if (lw_open(&l, argv[2]))
			return 1;
		rc = cmd_list(&l, argv[1][0] == 'p');
	} else if (!strcmp(argv[1], "replay") && argc >= 4) {
		for (int i = 4; i < argc; i += 2) {
			const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
			int bad = !val;

			if (!bad && !strcmp(opt, "--from"))
				bad = parse_u64(val, &a.from);
			else if (!bad && !strcmp(opt, "--to"))
				bad = parse_u64(val, &a.to), nstop++;
			else if (!bad && !strcmp(opt, "--to-flush"))
				bad = parse_u64(val, &a.to_flush), nstop++;
			else if (!bad && !strcmp(opt, "--to-mark"))
				a.to_mark = val, nstop++;
			else
				bad = 1;
			if (bad) {
				fprintf(stderr, "replaylog: bad option '%s'\n", opt);
				usage(stderr);
				return 2;
			}
		}
		if (nstop != 1) {
			fprintf(stderr, "replaylog: replay needs exactly one of --to, --to-flush, "
				"--to-mark\n");
			return 2;
		}
		if (lw_open(&l, argv[2]))
			return 1;
		rc = cmd_replay(&l, argv[3], &a);
	} else {
		usage(stderr);
		return 2;
	}
	close(l.fd);
	free(l.sector);
	return rc;
}
