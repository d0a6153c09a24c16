// SPDX-License-Identifier: GPL-2.0
/*
 * crashwriter: the guest-side writer of the crash tests (docs/testing.md, "Crash
 * tests"). It writes self-verifying 4 KiB blocks (crashblock.h) with O_DIRECT at
 * random positions in the first --blocks blocks of a block device, and records in a
 * journal what it is about to write and what has become durable:
 *
 *   - before each write: "I op block." (so a block on the device can be traced to an
 *     op that was really issued);
 *   - most writes are plain; after a random 1..2*N of them, fdatasync or fsync, and
 *     once that has returned, "F op." (every op of this run so far is durable);
 *   - --dsync-pct of the writes use O_DSYNC (a second descriptor) or pwritev2 with
 *     RWF_DSYNC, both FUA writes at the block layer; once one has returned, "D op.".
 *
 * Each journal record is one write(2) on a descriptor without user-space buffering.
 * The power-cut test keeps the journal in the project folder, which the guest
 * mounts over 9p with cache=none: write(2) returns after QEMU has written the bytes
 * to the host file, so a record the writer saw written survives a SIGKILL of QEMU.
 * (The serial console is no such channel: bytes still in the guest's pipe and tty
 * buffers are lost.)
 *
 * Op numbers continue those already in the journal, so versions grow across runs.
 * With --dm-mark, every acknowledgement is followed by a dm-log-writes mark
 * "ack:OP" (sent with the DM_TARGET_MSG ioctl), which ties the journal to positions
 * in the recorded log. --lie journals acknowledgements without syncing: a writer
 * with a missing flush, to prove that the crash-state test catches one.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "crashblock.h"

struct opts {
	const char *dev;
	const char *journal;
	const char *dm_mark;
	uint64_t blocks;	/* size of the test range, in 4 KiB blocks */
	uint64_t ops;		/* ops to issue; 0: until killed */
	uint64_t seed;
	unsigned int dsync_pct;	/* percent of writes issued with DSYNC */
	unsigned int sync_every; /* mean number of plain writes between syncs */
	bool lie;
};

struct prior {
	uint64_t max_op;	/* highest op issued by earlier runs */
	uint64_t runs;		/* earlier runs */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crashwriter --dev PATH --journal FILE [options]\n"
		"  --blocks N       test range: the first N 4 KiB blocks of PATH (default 4096)\n"
		"  --ops N          writes to issue, then a final fdatasync; 0: until killed\n"
		"                   (default 0)\n"
		"  --seed N         PRNG seed (default: from the clock)\n"
		"  --dsync-pct P    percent of writes issued with O_DSYNC/RWF_DSYNC (default 25)\n"
		"  --sync-every N   fdatasync/fsync after 1..2N plain writes (default 8)\n"
		"  --dm-mark NAME   after each acknowledgement, mark \"ack:OP\" in the\n"
		"                   dm-log-writes device NAME\n"
		"  --lie            journal acknowledgements without syncing (tests the tests)\n");
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return (errno || !*s || *end || *s == '-') ? -1 : 0;
}

static int scan_prior(void *ctx, int type, const uint64_t *v)
{
	struct prior *p = ctx;

	if (type == 'R') {
		p->runs++;
		if (v[1] > p->max_op + 1)
			p->max_op = v[1] - 1;
	} else if (type == 'I' && v[0] > p->max_op) {
		p->max_op = v[0];
	}
	return 0;
}

/* Send "mark TEXT" to the dm target at sector 0 of device NAME. */
static int dm_mark(int ctl, const char *name, const char *text)
{
	union {
		struct dm_ioctl io;
		char raw[1024];
	} buf;
	struct dm_target_msg *msg;

	memset(&buf, 0, sizeof(buf));
	/* 4.0.0: any 4.x kernel accepts it; the kernel fills in its own version. */
	buf.io.version[0] = 4;
	buf.io.data_size = sizeof(buf);
	buf.io.data_start = sizeof(struct dm_ioctl);
	snprintf(buf.io.name, sizeof(buf.io.name), "%s", name);
	msg = (struct dm_target_msg *)(buf.raw + buf.io.data_start);
	msg->sector = 0;
	snprintf(msg->message, sizeof(buf) - buf.io.data_start - sizeof(*msg), "mark %s", text);
	return ioctl(ctl, DM_TARGET_MSG, &buf.io) ? -errno : 0;
}

static int journal_rec(int jfd, char type, uint64_t a, const uint64_t *b)
{
	char line[96];

	if (b)
		snprintf(line, sizeof(line), "%c %" PRIu64 " %" PRIu64 ".\n", type, a, *b);
	else
		snprintf(line, sizeof(line), "%c %" PRIu64 ".\n", type, a);
	return journal_put(jfd, line);
}

/* Journal an acknowledgement of op (type 'F' or 'D'), then mark it in the dm log. */
static int ack(const struct opts *o, int jfd, int ctl, char type, uint64_t op)
{
	char text[32];
	int rc = journal_rec(jfd, type, op, NULL);

	if (rc || ctl < 0)
		return rc;
	snprintf(text, sizeof(text), "ack:%" PRIu64, op);
	return dm_mark(ctl, o->dm_mark, text);
}

static int die_errno(const char *what, int err)
{
	fprintf(stderr, "crashwriter: %s: %s\n", what, strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "journal", required_argument, NULL, 'j' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "ops", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "dsync-pct", required_argument, NULL, 'p' },
		{ "sync-every", required_argument, NULL, 'e' },
		{ "dm-mark", required_argument, NULL, 'm' },
		{ "lie", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .blocks = 4096, .dsync_pct = 25, .sync_every = 8 };
	struct prior prior = { 0 };
	uint64_t v, op, first_op, run, rng, plain = 0, next_sync, n;
	uint64_t nd = 0, ns = 0;
	unsigned char *buf;
	bool have_seed = false;
	int opt, fd, dfd, jfd, ctl = -1, rc;
	char line[128];
	struct stat st;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': o.dev = optarg; break;
		case 'j': o.journal = optarg; break;
		case 'm': o.dm_mark = optarg; break;
		case 'L': o.lie = true; break;
		case 'h': usage(stdout); return 0;
		case 'b': case 'n': case 's': case 'p': case 'e':
			if (parse_u64(optarg, &v)) {
				fprintf(stderr, "crashwriter: '%s' is not a number\n", optarg);
				return 2;
			}
			if (opt == 'b')
				o.blocks = v;
			else if (opt == 'n')
				o.ops = v;
			else if (opt == 's')
				o.seed = v, have_seed = true;
			else if (opt == 'p')
				o.dsync_pct = v > 100 ? 101 : (unsigned int)v;
			else
				o.sync_every = v > 1000000 ? 0 : (unsigned int)v;
			break;
		default: usage(stderr); return 2;
		}
	}
	if (!o.dev || !o.journal || optind != argc || !o.blocks || o.dsync_pct > 100 ||
	    !o.sync_every) {
		usage(stderr);
		return 2;
	}
	if (!have_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		o.seed = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	}

	rc = journal_foreach(o.journal, scan_prior, &prior);
	if (rc && rc != -ENOENT)
		return die_errno(o.journal, -rc);
	jfd = open(o.journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (jfd < 0)
		return die_errno(o.journal, errno);
	/* A record torn by a power cut has no newline: start on a fresh line. */
	if (fstat(jfd, &st) == 0 && st.st_size > 0) {
		int rfd = open(o.journal, O_RDONLY | O_CLOEXEC);
		char last = '\n';

		if (rfd < 0 || pread(rfd, &last, 1, st.st_size - 1) != 1)
			return die_errno("reading the journal's end", errno ? errno : EIO);
		close(rfd);
		if (last != '\n' && journal_put(jfd, "\n"))
			return die_errno(o.journal, errno);
	}

	fd = open(o.dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	dfd = open(o.dev, O_RDWR | O_DIRECT | O_DSYNC | O_CLOEXEC);
	if (fd < 0 || dfd < 0)
		return die_errno(o.dev, errno);
	if (o.dm_mark) {
		ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
		if (ctl < 0)
			return die_errno("/dev/mapper/control", errno);
	}
	if (posix_memalign((void **)&buf, CRASHBLK_SIZE, CRASHBLK_SIZE))
		return die_errno("posix_memalign", ENOMEM);

	run = prior.runs + 1;
	first_op = prior.max_op + 1;
	rng = o.seed;
	snprintf(line, sizeof(line), "R %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 ".\n",
		 run, first_op, o.seed, o.blocks);
	if (journal_put(jfd, line))
		return die_errno(o.journal, errno);
	printf("crashwriter: run %" PRIu64 ", ops from %" PRIu64 ", seed %" PRIu64
	       ", %" PRIu64 " blocks%s\n", run, first_op, o.seed, o.blocks,
	       o.lie ? ", LYING (no syncs)" : "");
	fflush(stdout);

	next_sync = 1 + splitmix64(&rng) % (2 * o.sync_every);
	op = first_op;
	for (n = 0; !o.ops || n < o.ops; n++, op++) {
		uint64_t blk = splitmix64(&rng) % o.blocks;
		uint64_t r = splitmix64(&rng);
		bool dsync = r % 100 < o.dsync_pct;
		off_t off = (off_t)(blk * CRASHBLK_SIZE);
		ssize_t done;

		if (journal_rec(jfd, 'I', op, &blk))
			return die_errno(o.journal, errno);
		crashblk_fill(buf, blk, op, run);
		if (dsync && !o.lie && (r >> 32) % 2) {
			struct iovec iov = { buf, CRASHBLK_SIZE };

			done = pwritev2(fd, &iov, 1, off, RWF_DSYNC);
		} else {
			done = pwrite(dsync && !o.lie ? dfd : fd, buf, CRASHBLK_SIZE, off);
		}
		if (done != (ssize_t)CRASHBLK_SIZE)
			return die_errno("write", done < 0 ? errno : EIO);
		if (dsync) {
			nd++;
			rc = ack(&o, jfd, ctl, 'D', op);
			if (rc)
				return die_errno("acknowledging a DSYNC write", -rc);
			continue;
		}
		if (++plain < next_sync)
			continue;
		if (!o.lie && ((r >> 33) % 2 ? fdatasync(fd) : fsync(fd)))
			return die_errno("fdatasync", errno);
		ns++;
		rc = ack(&o, jfd, ctl, 'F', op);
		if (rc)
			return die_errno("acknowledging a sync", -rc);
		plain = 0;
		next_sync = 1 + splitmix64(&rng) % (2 * o.sync_every);
	}
	/* --ops reached: make the rest durable too and say the run ended. */
	if (!o.lie && fdatasync(fd))
		return die_errno("fdatasync", errno);
	if (op > first_op) {
		rc = ack(&o, jfd, ctl, 'F', op - 1);
		if (rc)
			return die_errno("acknowledging the last sync", -rc);
		ns++;
	}
	if (journal_rec(jfd, 'E', op - 1, NULL))
		return die_errno(o.journal, errno);
	printf("crashwriter: run %" PRIu64 " done: %" PRIu64 " writes (%" PRIu64
	       " DSYNC), %" PRIu64 " syncs\n", run, n, nd, ns);
	free(buf);
	return 0;
}
