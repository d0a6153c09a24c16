// SPDX-License-Identifier: GPL-2.0
/*
 * crashverify: checks a device after a crash and recovery against crashwriter's
 * journal (crashblock.h). Two promises are checked:
 *
 *   1. Nothing acknowledged is lost. A write is acknowledged by an "F" record (every
 *      op of its run up to that op), a "D" record (that op alone) or a "P" record
 *      (found after an earlier recovery). For every acknowledged op, its block must
 *      hold that version or a newer one (versions only grow, so a newer version
 *      supersedes it).
 *   2. Nothing never-written appears. Every block of the range is the initial
 *      pattern (zeros) or a whole written block: magic, checksum and block number
 *      right, and its version an op that the journal says was issued to this block
 *      by the run the block names.
 *
 * Output: one line "crashverify: blocks N: zeros Z, written V, never-written K;
 * acked writes verified W, losses L" and up to --details lines naming the first
 * problems. Exit status 0 when K and L are 0, 1 when not, 2 on bad usage or an IO
 * error.
 *
 * --acked-upto OP ignores F and D records of ops above OP: the acknowledgements made
 * before a given point of a dm-log-writes log ("ack:OP" marks). --record appends a
 * "P" record for every block whose version is newer than its newest acknowledged
 * one (only when nothing failed): a recovered state is durable, so a later crash
 * must not take it back.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "crashblock.h"

#define ACK_F	1u
#define ACK_D	2u
#define ACK_P	4u

struct opinfo {
	uint64_t blk;	/* block + 1; 0: never issued */
	uint32_t run;	/* the run that issued it */
	uint8_t acked;	/* ACK_* */
};

struct journal {
	struct opinfo *op;	/* indexed by op number */
	uint64_t nops;		/* allocated entries */
	uint64_t *run_first;	/* first op of each run, indexed by run */
	uint64_t *run_synced;	/* highest op covered by an F record, per run */
	uint64_t nruns;
	uint64_t cur_run;
	uint64_t blocks;	/* the largest range any run used */
	uint64_t upto;		/* --acked-upto, or UINT64_MAX */
	uint64_t max_op;
};

static int grow(struct journal *j, uint64_t op)
{
	if (op < j->nops)
		return 0;
	uint64_t n = j->nops ? j->nops : 4096;

	while (n <= op)
		n *= 2;
	struct opinfo *p = realloc(j->op, n * sizeof(*p));

	if (!p)
		return -ENOMEM;
	memset(p + j->nops, 0, (n - j->nops) * sizeof(*p));
	j->op = p;
	j->nops = n;
	return 0;
}

static int on_record(void *ctx, int type, const uint64_t *v)
{
	struct journal *j = ctx;

	if (type == 'R') {
		uint64_t r = v[0];

		if (r == 0 || r > 1000000)
			return -EINVAL;
		if (r >= j->nruns) {
			uint64_t *a = realloc(j->run_first, (r + 1) * sizeof(*a));
			uint64_t *b = a ? realloc(j->run_synced, (r + 1) * sizeof(*b)) : NULL;

			if (!a || !b) {
				j->run_first = a;
				return -ENOMEM;
			}
			memset(a + j->nruns, 0, (r + 1 - j->nruns) * sizeof(*a));
			memset(b + j->nruns, 0, (r + 1 - j->nruns) * sizeof(*b));
			j->run_first = a;
			j->run_synced = b;
			j->nruns = r + 1;
		}
		j->run_first[r] = v[1];
		j->cur_run = r;
		if (v[3] > j->blocks)
			j->blocks = v[3];
		return 0;
	}
	if (!j->cur_run)
		return -EINVAL;	/* a record before any run header */
	if (v[0] > 1ull << 32)
		return -EINVAL;
	if (grow(j, v[0]))
		return -ENOMEM;
	struct opinfo *o = &j->op[v[0]];

	switch (type) {
	case 'I':
		o->blk = v[1] + 1;
		o->run = (uint32_t)j->cur_run;
		if (v[0] > j->max_op)
			j->max_op = v[0];
		break;
	case 'F':
		if (v[0] <= j->upto && v[0] > j->run_synced[j->cur_run])
			j->run_synced[j->cur_run] = v[0];
		break;
	case 'D':
		if (v[0] <= j->upto)
			o->acked |= ACK_D;
		break;
	case 'P':
		o->acked |= ACK_P;
		break;
	}
	return 0;
}

static const char *ack_name(uint8_t a)
{
	return a & ACK_D ? "DSYNC" : a & ACK_F ? "sync" : "recovered";
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crashverify --dev PATH --journal FILE [options]\n"
		"  --blocks N       blocks to check (default: the range in the journal)\n"
		"  --acked-upto OP  count only F and D acknowledgements of ops <= OP\n"
		"  --record         append P records for newer versions found (when clean)\n"
		"  --details N      print at most N problem lines (default 10)\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "journal", required_argument, NULL, 'j' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "acked-upto", required_argument, NULL, 'u' },
		{ "record", no_argument, NULL, 'r' },
		{ "details", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct journal j = { .upto = UINT64_MAX };
	const char *dev = NULL, *jpath = NULL;
	uint64_t blocks = 0, details = 10, shown = 0, *disk_ver, *newest;
	uint64_t zeros = 0, written = 0, never = 0, verified = 0, losses = 0, recorded = 0;
	const size_t chunk = 256;	/* blocks per read */
	bool record = false;
	unsigned char *buf;
	int opt, fd, rc;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *end = NULL;
		uint64_t v = 0;

		if (opt == 'b' || opt == 'u' || opt == 'D') {
			errno = 0;
			v = strtoull(optarg, &end, 0);
			if (errno || !*optarg || *end || *optarg == '-') {
				fprintf(stderr, "crashverify: '%s' is not a number\n", optarg);
				return 2;
			}
		}
		switch (opt) {
		case 'd': dev = optarg; break;
		case 'j': jpath = optarg; break;
		case 'b': blocks = v; break;
		case 'u': j.upto = v; break;
		case 'D': details = v; break;
		case 'r': record = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!dev || !jpath || optind != argc) {
		usage(stderr);
		return 2;
	}
	rc = journal_foreach(jpath, on_record, &j);
	if (rc) {
		fprintf(stderr, "crashverify: journal %s: %s\n", jpath,
			rc == -EINVAL ? "inconsistent records" : strerror(-rc));
		return 2;
	}
	if (!blocks)
		blocks = j.blocks;
	if (!blocks) {
		fprintf(stderr, "crashverify: journal %s has no run; give --blocks\n", jpath);
		return 2;
	}
	/* F records acknowledge a prefix of their run. */
	for (uint64_t r = 1; r < j.nruns; r++)
		for (uint64_t op = j.run_first[r]; op && op <= j.run_synced[r] && op < j.nops; op++)
			if (j.op[op].run == r)
				j.op[op].acked |= ACK_F;

	disk_ver = calloc(blocks, sizeof(*disk_ver));
	newest = calloc(blocks, sizeof(*newest));
	fd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (!disk_ver || !newest || posix_memalign((void **)&buf, CRASHBLK_SIZE,
						   chunk * CRASHBLK_SIZE) || fd < 0) {
		fprintf(stderr, "crashverify: %s: %s\n", dev, strerror(fd < 0 ? errno : ENOMEM));
		return 2;
	}

	for (uint64_t b0 = 0; b0 < blocks; b0 += chunk) {
		uint64_t n = blocks - b0 < chunk ? blocks - b0 : chunk;
		ssize_t got = pread(fd, buf, n * CRASHBLK_SIZE, (off_t)(b0 * CRASHBLK_SIZE));

		if (got != (ssize_t)(n * CRASHBLK_SIZE)) {
			fprintf(stderr, "crashverify: reading %s at block %" PRIu64 ": %s\n", dev, b0,
				got < 0 ? strerror(errno) : "short read (device smaller than the range?)");
			return 2;
		}
		for (uint64_t i = 0; i < n; i++) {
			uint64_t b = b0 + i, ver, run;
			enum crashblk_state s = crashblk_check(buf + i * CRASHBLK_SIZE, b, &ver, &run);
			const struct opinfo *o = ver < j.nops ? &j.op[ver] : NULL;

			if (s == CRASHBLK_ZERO) {
				zeros++;
				continue;
			}
			if (s == CRASHBLK_VALID && o && o->blk == b + 1 && o->run == run) {
				written++;
				disk_ver[b] = ver;
				continue;
			}
			never++;
			if (shown++ < details) {
				if (s == CRASHBLK_VALID)
					printf("crashverify: NEVER-WRITTEN block %" PRIu64 ": version %"
					       PRIu64 " of run %" PRIu64 " was never issued to it\n",
					       b, ver, run);
				else
					printf("crashverify: NEVER-WRITTEN block %" PRIu64 ": %s\n", b,
					       crashblk_state_name(s));
			}
		}
	}
	close(fd);

	for (uint64_t op = 1; op <= j.max_op; op++) {
		const struct opinfo *o = &j.op[op];
		uint64_t b = o->blk - 1;

		if (!o->blk || !o->acked)
			continue;
		if (b >= blocks) {
			fprintf(stderr, "crashverify: op %" PRIu64 " is at block %" PRIu64
				", outside the %" PRIu64 " blocks checked\n", op, b, blocks);
			return 2;
		}
		if (op > newest[b])
			newest[b] = op;
		if (disk_ver[b] >= op) {
			verified++;
			continue;
		}
		losses++;
		if (shown++ < details) {
			printf("crashverify: LOSS block %" PRIu64 ": op %" PRIu64 " (run %" PRIu32
			       ", acknowledged by %s) is missing; the block holds ", b, op, o->run,
			       ack_name(o->acked));
			if (disk_ver[b])
				printf("the older version %" PRIu64 "\n", disk_ver[b]);
			else
				printf("no written version\n");
		}
	}

	if (record && !losses && !never) {
		int jfd = open(jpath, O_WRONLY | O_APPEND | O_CLOEXEC);

		if (jfd < 0) {
			fprintf(stderr, "crashverify: %s: %s\n", jpath, strerror(errno));
			return 2;
		}
		for (uint64_t b = 0; b < blocks; b++) {
			char line[48];

			if (disk_ver[b] <= newest[b])
				continue;
			snprintf(line, sizeof(line), "P %" PRIu64 ".\n", disk_ver[b]);
			if (journal_put(jfd, line)) {
				fprintf(stderr, "crashverify: %s: %s\n", jpath, strerror(errno));
				return 2;
			}
			recorded++;
		}
		close(jfd);
	}

	printf("crashverify: blocks %" PRIu64 ": zeros %" PRIu64 ", written %" PRIu64
	       ", never-written %" PRIu64 "; acked writes verified %" PRIu64 ", losses %"
	       PRIu64 "%s", blocks, zeros, written, never, verified, losses,
	       record ? "" : "\n");
	if (record)
		printf("; recorded %" PRIu64 " unacknowledged versions as durable\n", recorded);
	free(buf);
	free(disk_ver);
	free(newest);
	free(j.op);
	free(j.run_first);
	free(j.run_synced);
	return (losses || never) ? 1 : 0;
}
