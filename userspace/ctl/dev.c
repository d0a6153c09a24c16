// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl dev: the low-level device commands (like drbdsetup under drbdadm).
 *
 *   dev create RES --data PATH [--io sio|aio|bio] [--size BYTES] [--threads N]
 *                  [--queue-depth N]
 *   dev delete RES [--force]
 *   dev list [--json]
 *   dev set RES --threads N
 *
 * Each command checks its arguments here first (the name rules of
 * include/uapi/linux/mars.h, the backing's type and size, number ranges), so a
 * mistake gets a precise message without a round trip to the kernel. Then it calls
 * one ioctl on the control device through the kdev.h wrappers; when that fails the
 * module's one-line errmsg (copied back in the struct) is printed with
 * strerror(errno). Every command takes --json after its name too.
 *
 * Exit status: 0 done, 1 refused or failed, 2 usage error (unknown command or option,
 * missing or extra argument, a value that is not a number, size or backend name).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/mars.h>

#include "kdev.h"
#include "marsctl.h"

static int do_dev_create(int argc, char **argv);
static int do_dev_delete(int argc, char **argv);
static int do_dev_list(int argc, char **argv);
static int do_dev_set(int argc, char **argv);
static int do_dev_help(int argc, char **argv);

const struct cmd dev_cmds[] = {
	{ "create", do_dev_create, DEV_USAGE_CREATE },
	{ "delete", do_dev_delete, DEV_USAGE_DELETE },
	{ "list", do_dev_list, DEV_USAGE_LIST },
	{ "set", do_dev_set, DEV_USAGE_SET },
	{ "help", do_dev_help, "help" },
	{ NULL, NULL, NULL },
};

static const char *backend_name(__u32 id)
{
	const char *name = kdev_backend_name(id);

	return name ? name : "unknown";
}

/* The state and feature bits of struct mars_dev_info, named for list. */
struct bit_name {
	__u32 bit;
	const char *name;
};

static const struct bit_name state_bits[] = {
	{ MARS_DEV_S_DYING, "dying" },
	{ MARS_DEV_S_PATH_TRUNC, "path_truncated" },
	{ MARS_DEV_S_READONLY, "readonly" },
	{ MARS_DEV_S_CREATING, "creating" },
	{ MARS_DEV_S_REPLAYING, "replaying" },
	{ 0, NULL },
};

static const struct bit_name feature_bits[] = {
	{ MARS_DEV_FEAT_DISCARD, "discard" },
	{ MARS_DEV_FEAT_WRITE_ZEROES, "write_zeroes" },
	{ MARS_DEV_FEAT_FUA, "fua" },
	{ 0, NULL },
};

/* --- argument checks -------------------------------------------------------------- */

/* The resource name rules of the uapi header. Returns 0, or -1 with the message given. */
static int check_name(const char *cmd, const char *name)
{
	size_t len = strlen(name);
	const char *why = NULL;

	if (!len)
		why = "it is empty";
	else if (len > MARS_NAME_LEN)
		why = "it is longer than the maximum";
	else if (name[0] == '.' || name[0] == '-')
		why = "it starts with '.' or '-'";
	for (const char *p = name; !why && *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			why = "it has a character outside [A-Za-z0-9_.-]";
	}
	if (why) {
		err_msg("dev %s: invalid resource name '%s': %s (1 to %d characters of "
			"[A-Za-z0-9_.-], not starting with '.' or '-')", cmd, name, why,
			MARS_NAME_LEN);
		return -1;
	}
	return 0;
}

/*
 * Parse a size: decimal bytes, or a number with a suffix K, M, G or T (powers of
 * 1024, either case, optionally followed by "iB"). Returns 0 or -1.
 */
static int parse_size(const char *s, __u64 *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	case '\0': break;
	default: return -1;
	}
	if (shift) {
		end++;
		if (!strcmp(end, "iB"))
			end += 2;
		if (*end)
			return -1;
		if (v > (UINT64_MAX >> shift))
			return -1;
	}
	*out = (__u64)v << shift;
	return 0;
}

/* Parse a decimal unsigned number of at most 32 bits. Returns 0 or -1. */
static int parse_u32(const char *s, __u32 *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (__u32)v;
	return 0;
}

/* "1.5 GiB" style, for the table. */
static void fmt_size(__u64 bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	unsigned int u = 0;
	double v;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 "B", (uint64_t)bytes);
		return;
	}
	v = (double)bytes / 1024;
	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	if (!(bytes & ((1ULL << (10 * (u + 1))) - 1)))
		snprintf(buf, len, "%.0f%ciB", v, units[u]);
	else
		snprintf(buf, len, "%.1f%ciB", v, units[u]);
}

/*
 * Look at the backing before asking the kernel: it must exist, be a regular file or
 * a block device (only a block device for bio) and be at least MARS_DEV_MIN_SIZE.
 * Fills its size and logical block size. Returns 0 or -1 (message given).
 */
static int check_backing(const char *path, __u32 backend, __u64 *size, __u32 *lbs)
{
	struct stat st;
	int fd;

	if (stat(path, &st) < 0) {
		err_msg("dev create: backing '%s': %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		err_msg("dev create: backing '%s' is a directory: give a file or a block "
			"device", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		err_msg("dev create: backing '%s' is neither a regular file nor a block "
			"device", path);
		return -1;
	}
	if (backend == MARS_BACKEND_BIO && !S_ISBLK(st.st_mode)) {
		err_msg("dev create: backing '%s' is not a block device, which the bio "
			"backend needs (use --io sio or aio for files)", path);
		return -1;
	}
	*size = (__u64)st.st_size;
	*lbs = 512;
	if (S_ISBLK(st.st_mode)) {
		int ssz = 0;

		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err_msg("dev create: backing '%s': %s", path, strerror(errno));
			return -1;
		}
		if (ioctl(fd, BLKGETSIZE64, size) < 0 || ioctl(fd, BLKSSZGET, &ssz) < 0) {
			err_msg("dev create: backing '%s': cannot get its size: %s", path,
				strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		if (ssz > 0)
			*lbs = (__u32)ssz;
	}
	if (*size < MARS_DEV_MIN_SIZE) {
		err_msg("dev create: backing '%s' has %" PRIu64 " bytes, less than the "
			"minimum of 1 MiB", path, (uint64_t)*size);
		return -1;
	}
	return 0;
}

/*
 * Print a failed request: the module's one-line reason (in @msg from the kdev
 * wrapper, which holds strerror() when the module gave none) and strerror.
 */
static void kdev_failed(const char *what, const char *name, int err, const char *msg)
{
	if (msg[0] && strcmp(msg, strerror(err)))
		err_msg("dev %s %s: %s (%s)", what, name, msg, strerror(err));
	else
		err_msg("dev %s %s: %s", what, name, strerror(err));
}

/*
 * getopt_long for a command: argv[0] is the command's name, options may come before
 * or after the operands. Reports unknown options and missing values as usage errors
 * (returns '?'), so every command reads the same.
 */
static int cmd_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
		      const struct option *longopts)
{
	int opt = getopt_long(argc, argv, shortopts, longopts, NULL);

	if (opt == '?') {
		if (optopt)
			err_msg("dev %s: unknown option '-%c'", cmd, optopt);
		else
			err_msg("dev %s: unknown option '%s'", cmd, argv[optind - 1]);
	} else if (opt == ':') {
		err_msg("dev %s: option '%s' needs a value", cmd, argv[optind - 1]);
		opt = '?';
	}
	return opt;
}

static void cmd_getopt_reset(void)
{
	optind = 0;	/* glibc: full re-initialisation, argv[0] is skipped */
	opterr = 0;
}

static int usage_of(const char *cmd)
{
	for (const struct cmd *c = dev_cmds; c->name; c++) {
		if (!strcmp(c->name, cmd)) {
			printf("usage: marsctl dev %s\n", c->usage);
			break;
		}
	}
	return 0;
}

/* --- list ------------------------------------------------------------------------- */

/*
 * Fetch every device, sorted by name. Returns the number and sets *out (malloc'ed,
 * caller frees), or -1 with the message printed.
 */
static int list_fetch(int fd, struct mars_dev_info **out)
{
	size_t n;
	int err = kdev_list(fd, out, &n);

	if (err) {
		err_msg("dev list: %s", strerror(-err));
		return -1;
	}
	return (int)n;
}

static struct json_object *bits_json(__u32 v, const struct bit_name *names)
{
	struct json_object *a = json_object_new_array();

	for (const struct bit_name *b = names; b->name; b++)
		if (v & b->bit)
			json_object_array_add(a, json_object_new_string(b->name));
	return a;
}

static void bits_plain(__u32 v, const struct bit_name *names, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (const struct bit_name *b = names; b->name; b++) {
		if (!(v & b->bit))
			continue;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
					 used ? "," : "", b->name);
	}
	if (!used)
		snprintf(buf, len, "-");
}

/* The logger's part of a resource's state, for dev list; NULL without a logger. */
static struct json_object *log_json(int fd, const char *name)
{
	struct mars_rstate st;
	struct json_object *o;
	char ck[64];

	if (fd < 0 || kdev_state(fd, name, &st, NULL) || !(st.flags & MARS_RS_F_LOGGER))
		return NULL;
	o = json_object_new_object();
	snprintf(ck, sizeof(ck), "%09" PRIu64 ":%" PRIu64, (uint64_t)st.wb_seq,
		 (uint64_t)st.wb_off);
	json_object_object_add(o, "seq", json_object_new_uint64(st.log_seq));
	json_object_object_add(o, "appended", json_object_new_uint64(st.log_appended));
	json_object_object_add(o, "durable", json_object_new_uint64(st.log_durable));
	json_object_object_add(o, "durable_rec_seq", json_object_new_uint64(st.durable_rec_seq));
	json_object_object_add(o, "wb_seq", json_object_new_uint64(st.wb_seq));
	json_object_object_add(o, "wb_off", json_object_new_uint64(st.wb_off));
	json_object_object_add(o, "checkpoint", json_object_new_string(ck));
	json_object_object_add(o, "wb_pending", json_object_new_uint64(st.wb_pending));
	json_object_object_add(o, "wb_lag_ns", json_object_new_uint64(st.wb_lag_ns));
	json_object_object_add(o, "buf_limit", json_object_new_uint64(st.buf_limit));
	json_object_object_add(o, "replay_bytes", json_object_new_uint64(st.replay_bytes));
	json_object_object_add(o, "replay_total", json_object_new_uint64(st.replay_total));
	json_object_object_add(o, "replay_done", json_object_new_uint64(st.replay_done));
	json_object_object_add(o, "fs_free", json_object_new_uint64(st.log_fs_free));
	json_object_object_add(o, "emergency",
			       json_object_new_boolean(!!(st.flags & MARS_RS_F_EMERGENCY)));
	json_object_object_add(o, "throttled",
			       json_object_new_boolean(!!(st.flags & MARS_RS_F_THROTTLED)));
	json_object_object_add(o, "log_error",
			       json_object_new_boolean(!!(st.flags & MARS_RS_F_LOG_ERROR)));
	json_object_object_add(o, "data_error",
			       json_object_new_boolean(!!(st.flags & MARS_RS_F_DATA_ERROR)));
	return o;
}

static struct json_object *dev_json(const struct mars_dev_info *d, int fd)
{
	struct json_object *lj = log_json(fd, d->name);
	struct json_object *o = json_object_new_object();
	char node[sizeof("/dev/mars/") + MARS_NAME_MAX];

	snprintf(node, sizeof(node), "/dev/mars/%s", d->name);
	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "device", json_object_new_string(node));
	json_object_object_add(o, "major", json_object_new_int64(d->major));
	json_object_object_add(o, "minor", json_object_new_int64(d->minor));
	json_object_object_add(o, "backend", json_object_new_string(backend_name(d->backend)));
	json_object_object_add(o, "data", json_object_new_string(d->data_path));
	json_object_object_add(o, "size", json_object_new_uint64(d->dev_size));
	json_object_object_add(o, "sio_threads", json_object_new_int64(d->sio_threads));
	json_object_object_add(o, "queue_depth", json_object_new_int64(d->queue_depth));
	json_object_object_add(o, "open_count", json_object_new_int64(d->open_count));
	json_object_object_add(o, "logical_block_size",
			       json_object_new_int64(d->logical_block_size));
	json_object_object_add(o, "physical_block_size",
			       json_object_new_int64(d->physical_block_size));
	json_object_object_add(o, "state", bits_json(d->state, state_bits));
	json_object_object_add(o, "features", bits_json(d->features, feature_bits));
	if (lj)
		json_object_object_add(o, "log", lj);
	return o;
}

/* Under a logger resource's line: its log and writeback position. */
static void print_log_line(int fd, const char *name)
{
	struct mars_rstate st;
	char pend[24];

	if (kdev_state(fd, name, &st, NULL) || !(st.flags & MARS_RS_F_LOGGER))
		return;
	if (st.flags & MARS_RS_F_REPLAYING) {
		/* No log is written yet: the replay's progress instead (status has more). */
		if (st.replay_phase == MARS_REPLAY_SCAN)
			printf("  replay: scanning the log\n");
		else
			printf("  replay: %" PRIu64 " of %" PRIu64 " bytes written\n",
			       (uint64_t)st.replay_done, (uint64_t)st.replay_total);
		return;
	}
	fmt_size(st.wb_pending, pend, sizeof(pend));
	printf("  log: file %09" PRIu64 ", %" PRIu64 " bytes durable; writeback checkpoint "
	       "%09" PRIu64 ":%" PRIu64 ", %s pending%s%s\n", (uint64_t)st.log_seq,
	       (uint64_t)st.log_durable, (uint64_t)st.wb_seq, (uint64_t)st.wb_off, pend,
	       st.flags & MARS_RS_F_EMERGENCY ? ", EMERGENCY (writing through)" : "",
	       st.flags & MARS_RS_F_LOG_ERROR ? ", LOG ERROR" : "");
}

static void list_plain(const struct mars_dev_info *devs, int n, int fd)
{
	int w = (int)strlen("NAME");

	for (int i = 0; i < n; i++)
		if ((int)strlen(devs[i].name) > w)
			w = (int)strlen(devs[i].name);
	printf("%-*s  %-7s  %-7s  %-9s  %-7s  %5s  %4s  %-8s  %-8s  %s\n", w, "NAME",
	       "DEVNUM", "BACKEND", "SIZE", "THREADS", "QUEUE", "OPEN", "BLOCK", "STATE",
	       "DATA");
	for (int i = 0; i < n; i++) {
		const struct mars_dev_info *d = &devs[i];
		char num[24], size[24], threads[12], block[24], state[64];

		snprintf(num, sizeof(num), "%u:%u", d->major, d->minor);
		fmt_size(d->dev_size, size, sizeof(size));
		if (d->backend == MARS_BACKEND_SIO)
			snprintf(threads, sizeof(threads), "%u", d->sio_threads);
		else
			snprintf(threads, sizeof(threads), "-");
		snprintf(block, sizeof(block), "%u/%u", d->logical_block_size,
			 d->physical_block_size);
		bits_plain(d->state, state_bits, state, sizeof(state));
		printf("%-*s  %-7s  %-7s  %-9s  %-7s  %5u  %4u  %-8s  %-8s  %s\n", w, d->name,
		       num, backend_name(d->backend), size, threads, d->queue_depth,
		       d->open_count, block, state, d->data_path);
		print_log_line(fd, d->name);
	}
}

static int do_dev_list(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mars_dev_info *devs;
	int opt, fd, n;

	cmd_getopt_reset();
	while ((opt = cmd_getopt("list", argc, argv, ":jh", longopts)) != -1) {
		switch (opt) {
		case 'j':
			g_opts.json = true;
			break;
		case 'h':
			return usage_of("list");
		default:
			return 2;
		}
	}
	if (optind < argc) {
		err_msg("dev list: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	fd = ctl_open();
	if (fd < 0)
		return 1;
	n = list_fetch(fd, &devs);
	if (n < 0) {
		close(fd);
		return 1;
	}
	if (g_opts.json) {
		struct json_object *a = json_object_new_array();

		for (int i = 0; i < n; i++)
			json_object_array_add(a, dev_json(&devs[i], fd));
		json_print(a);
	} else {
		list_plain(devs, n, fd);
	}
	close(fd);
	free(devs);
	return 0;
}

/* --- create ----------------------------------------------------------------------- */

/* The absolute form of @path (not resolving symlinks: /dev/disk/by-id/... stays). */
static char *absolute_path(const char *path)
{
	char cwd[PATH_MAX];
	char *abs;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (asprintf(&abs, "%s/%s", strcmp(cwd, "/") ? cwd : "", path) < 0)
		return NULL;
	return abs;
}

/* After a create: the device's entry in JSON mode, a line on stderr with -v. */
static void print_created(int fd, const char *name, const char *path, __u32 backend)
{
	const struct mars_dev_info *d = NULL;
	struct mars_dev_info *devs = NULL;
	int n = list_fetch(fd, &devs);

	if (n > 0)
		d = kdev_find(devs, (size_t)n, name);
	if (g_opts.json) {
		struct json_object *o = d ? dev_json(d, fd) : json_object_new_object();

		if (!d)
			json_object_object_add(o, "name", json_object_new_string(name));
		json_print(o);
	} else if (d) {
		fprintf(stderr, "marsctl: created /dev/mars/%s (%u:%u), %s over %s\n", name,
			d->major, d->minor, backend_name(backend), path);
	}
	free(devs);
}

static int do_dev_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "io", required_argument, NULL, 'i' },
		{ "size", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "queue-depth", required_argument, NULL, 'q' },
		{ "log-dir", required_argument, NULL, 'L' },
		{ "replay-from", required_argument, NULL, 'R' },
		{ "no-replay", no_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kdev_create_args c = { 0 };
	const char *log_dir = NULL, *replay_from = NULL;
	bool no_replay = false;
	char *log_abs = NULL;
	char msg[MARS_ERRMSG_MAX];
	const char *data = NULL, *name;
	__u32 backend = MARS_BACKEND_SIO, threads = 0, qd = 0, lbs;
	__u64 size = 0, backing_size;
	bool have_threads = false, have_qd = false;
	char *path;
	int opt, fd, err, rc = 1;

	cmd_getopt_reset();
	while ((opt = cmd_getopt("create", argc, argv, ":d:i:s:t:q:L:R:Njh", longopts)) != -1) {
		switch (opt) {
		case 'L':
			log_dir = optarg;
			break;
		case 'R': {
			unsigned long long seq, off;
			int used = 0;

			if (sscanf(optarg, "%llu:%llu%n", &seq, &off, &used) != 2 ||
			    optarg[used] || !seq || seq > 999999999ULL) {
				err_msg("dev create: --replay-from '%s' is not SEQ:OFFSET (e.g. "
					"000000007:4096)", optarg);
				return 2;
			}
			replay_from = optarg;
			break;
		}
		case 'N':
			no_replay = true;
			break;
		case 'd':
			data = optarg;
			break;
		case 'i':
			backend = kdev_backend_parse(optarg);
			if (!backend) {
				err_msg("dev create: unknown backend '%s' (sio, aio or bio)",
					optarg);
				return 2;
			}
			break;
		case 's':
			if (parse_size(optarg, &size)) {
				err_msg("dev create: --size '%s' is not a size (bytes, or a number "
					"with K, M, G or T)", optarg);
				return 2;
			}
			break;
		case 't':
			if (parse_u32(optarg, &threads)) {
				err_msg("dev create: --threads '%s' is not a number", optarg);
				return 2;
			}
			have_threads = true;
			break;
		case 'q':
			if (parse_u32(optarg, &qd)) {
				err_msg("dev create: --queue-depth '%s' is not a number", optarg);
				return 2;
			}
			have_qd = true;
			break;
		case 'j':
			g_opts.json = true;
			break;
		case 'h':
			return usage_of("create");
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		err_msg("dev create: missing resource name; usage: marsctl dev %s",
			DEV_USAGE_CREATE);
		return 2;
	}
	if (optind + 1 < argc) {
		err_msg("dev create: unexpected argument '%s'", argv[optind + 1]);
		return 2;
	}
	name = argv[optind];
	if (!data) {
		err_msg("dev create: missing --data PATH (the backing file or block device)");
		return 2;
	}

	if (check_name("create", name))
		return 1;
	if ((replay_from || no_replay) && !log_dir) {
		err_msg("dev create: --replay-from and --no-replay need --log-dir");
		return 2;
	}
	if (replay_from && no_replay) {
		err_msg("dev create: --replay-from and --no-replay exclude each other");
		return 2;
	}
	if (log_dir) {
		log_abs = absolute_path(log_dir);
		if (!log_abs || strlen(log_abs) >= MARS_PATH_MAX) {
			err_msg("dev create: cannot make '%s' an absolute path", log_dir);
			free(log_abs);
			return 1;
		}
		if (logdir_prepare(log_abs, name, g_opts.host, replay_from, false, &c, msg)) {
			err_msg("dev create: %s", msg);
			free(log_abs);
			return 1;
		}
		c.log_dir = log_abs;
		c.host = g_opts.host;
		c.no_replay = no_replay;
	}
	if (have_threads && backend != MARS_BACKEND_SIO) {
		err_msg("dev create: --threads applies to the sio backend only");
		return 2;
	}
	if (have_threads && (threads < 1 || threads > MARS_SIO_THREADS_MAX)) {
		err_msg("dev create: --threads %u is out of range 1..%d", threads,
			MARS_SIO_THREADS_MAX);
		return 1;
	}
	if (have_qd && (qd < 1 || qd > MARS_QUEUE_DEPTH_MAX)) {
		err_msg("dev create: --queue-depth %u is out of range 1..%d", qd,
			MARS_QUEUE_DEPTH_MAX);
		return 1;
	}
	if (!data[0]) {
		err_msg("dev create: --data is empty");
		return 1;
	}
	if (strlen(data) >= MARS_PATH_MAX) {
		err_msg("dev create: --data path is longer than %d bytes", MARS_PATH_MAX - 1);
		return 1;
	}
	if (check_backing(data, backend, &backing_size, &lbs))
		return 1;
	if (size) {
		if (size % lbs) {
			err_msg("dev create: --size %" PRIu64 " is not a multiple of the "
				"backing's block size (%u bytes)", (uint64_t)size, lbs);
			return 1;
		}
		if (size < MARS_DEV_MIN_SIZE) {
			err_msg("dev create: --size %" PRIu64 " is less than the minimum of "
				"1 MiB", (uint64_t)size);
			return 1;
		}
		if (size > backing_size) {
			err_msg("dev create: --size %" PRIu64 " is larger than the backing "
				"'%s' (%" PRIu64 " bytes)", (uint64_t)size, data,
				(uint64_t)backing_size);
			return 1;
		}
	}
	path = absolute_path(data);
	if (!path || strlen(path) >= MARS_PATH_MAX) {
		err_msg("dev create: cannot make '%s' an absolute path", data);
		free(path);
		return 1;
	}

	fd = ctl_open();
	if (fd < 0)
		goto out_free;
	c.name = name;
	c.data_path = path;
	c.backend = backend;
	c.size = size;
	c.sio_threads = threads;
	c.queue_depth = qd;
	err = kdev_create(fd, &c, msg);
	if (err) {
		kdev_failed("create", name, -err, msg);
		goto out_close;
	}
	rc = 0;
	if (log_dir && c.replay_records && !g_opts.json) {
		double secs = (double)c.replay_ns / 1e9;

		fprintf(stderr, "marsctl: %s: replayed %" PRIu64 " records, %" PRIu64
			" bytes in %.3f s (%.1f MB/s); log ended in file %" PRIu64
			" at %" PRIu64 ", continues in file %" PRIu64 "\n", name,
			(uint64_t)c.replay_records, (uint64_t)c.replay_bytes, secs,
			secs > 0 ? (double)c.replay_bytes / secs / 1e6 : 0.0,
			(uint64_t)c.replay_end_seq, (uint64_t)c.replay_end_off,
			(uint64_t)c.log_seq);
	}
	if (g_opts.json || g_opts.verbose)
		print_created(fd, name, path, backend);
out_close:
	close(fd);
out_free:
	free(path);
	free(log_abs);
	return rc;
}

/* --- delete, set ------------------------------------------------------------------ */

/* In JSON mode a command without output still prints an object: {"name": RES}. */
static void print_done(const char *name)
{
	if (g_opts.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(name));
		json_print(o);
	}
}

static int do_dev_delete(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char msg[MARS_ERRMSG_MAX];
	bool force = false;
	const char *name;
	int opt, fd, err;

	cmd_getopt_reset();
	while ((opt = cmd_getopt("delete", argc, argv, ":fjh", longopts)) != -1) {
		switch (opt) {
		case 'f':
			force = true;
			break;
		case 'j':
			g_opts.json = true;
			break;
		case 'h':
			return usage_of("delete");
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		err_msg("dev delete: missing resource name; usage: marsctl dev %s",
			DEV_USAGE_DELETE);
		return 2;
	}
	if (optind + 1 < argc) {
		err_msg("dev delete: unexpected argument '%s'", argv[optind + 1]);
		return 2;
	}
	name = argv[optind];
	if (check_name("delete", name))
		return 1;

	fd = ctl_open();
	if (fd < 0)
		return 1;
	err = kdev_delete(fd, name, force, msg);
	if (err) {
		kdev_failed("delete", name, -err, msg);
		/* Busy because open (not because the module still creates it). */
		if (err == -EBUSY && !force && !g_opts.json && strstr(msg, " is open "))
			fprintf(stderr, "marsctl: (close it first, or use --force: IO on it "
				"then fails)\n");
		close(fd);
		return 1;
	}
	close(fd);
	print_done(name);
	return 0;
}

static int do_dev_set(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char msg[MARS_ERRMSG_MAX];
	bool have_threads = false;
	__u32 threads = 0;
	const char *name;
	int opt, fd, err;

	cmd_getopt_reset();
	while ((opt = cmd_getopt("set", argc, argv, ":t:jh", longopts)) != -1) {
		switch (opt) {
		case 't':
			if (parse_u32(optarg, &threads)) {
				err_msg("dev set: --threads '%s' is not a number", optarg);
				return 2;
			}
			have_threads = true;
			break;
		case 'j':
			g_opts.json = true;
			break;
		case 'h':
			return usage_of("set");
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		err_msg("dev set: missing resource name; usage: marsctl dev %s",
			DEV_USAGE_SET);
		return 2;
	}
	if (optind + 1 < argc) {
		err_msg("dev set: unexpected argument '%s'", argv[optind + 1]);
		return 2;
	}
	name = argv[optind];
	if (!have_threads) {
		err_msg("dev set: nothing to change; usage: marsctl dev %s", DEV_USAGE_SET);
		return 2;
	}
	if (check_name("set", name))
		return 1;
	if (threads < 1 || threads > MARS_SIO_THREADS_MAX) {
		err_msg("dev set: --threads %u is out of range 1..%d", threads,
			MARS_SIO_THREADS_MAX);
		return 1;
	}

	fd = ctl_open();
	if (fd < 0)
		return 1;
	err = kdev_set_sio_threads(fd, name, threads, msg);
	if (err) {
		kdev_failed("set", name, -err, msg);
		close(fd);
		return 1;
	}
	close(fd);
	print_done(name);
	return 0;
}

static int do_dev_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("usage:\n");
	for (const struct cmd *c = dev_cmds; c->name; c++)
		printf("  marsctl dev %s\n", c->usage);
	return 0;
}

int do_dev(int argc, char **argv)
{
	return cmd_dispatch(dev_cmds, "dev command", argc - 1, argv + 1);
}
