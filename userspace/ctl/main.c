// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl: the mars control tool.
 *
 * Grammar: marsctl [GLOBAL OPTIONS] OBJECT [COMMAND] [ARGS]. Objects and commands are
 * found through tables and may be abbreviated to any unique prefix (like ip(8) and
 * bpftool(8)). Every command has a --json form built from the same data as its
 * human output; in JSON mode errors are printed as {"error": "..."} on stdout.
 *
 * Exit status: 0 success, 1 the operation failed, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/mars.h>

#include "marsctl.h"
#include "store.h"

struct marsctl_opts g_opts = {
	.ctl_path = MARS_CTL_PATH,
	.store_dir = MARS_STORE_DIR,
	.lock_timeout_ms = MARS_LOCK_TIMEOUT_MS,
};

static int do_help(int argc, char **argv);

static const struct cmd objects[] = {
	{ "version", do_version, "version" },
	{ "dev", do_dev, DEV_USAGE },
	{ "apply", do_apply, "apply -f FILE [--dry-run] [--force]" },
	{ "status", do_status, "status [RES]" },
	{ "reconcile", do_reconcile, "reconcile [--dry-run] [--force]" },
	{ "daemon", do_daemon, "daemon [--interval SECONDS]" },
	{ "up", do_up, "up RES" },
	{ "down", do_down, "down RES [--force]" },
	{ "get", do_get, "get KEY" },
	{ "ls", do_ls, "ls [PREFIX]" },
	{ "history", do_history, "history KEY" },
	{ "put", do_put, "put KEY VALUE          (low level: tests and repair)" },
	{ "del", do_del, "del KEY                (low level: tests and repair)" },
	{ "store", do_store, "store { info | compact | repair }" },
	{ "maps", do_maps, "maps [show | attach | reset]" },
	{ "tune", do_tune, "tune [<res>] [key=value ...]" },
	{ "stats", do_stats, "stats [<res>] [--latency] [--json]" },
	{ "top", do_top, "top [<res>] [--interval SEC] [--once | --iterations N] [--json]" },
	{ "log", do_log, LOG_USAGE },
	{ "help", do_help, "help" },
	{ NULL, NULL, NULL },
};

void err_msg(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (g_opts.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(buf));
		json_print(o);
	} else {
		fprintf(stderr, "marsctl: %s\n", buf);
	}
}

void json_print(struct json_object *obj)
{
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

void cmd_print_usage(const struct cmd *cmds, const char *prefix)
{
	for (const struct cmd *c = cmds; c->name; c++)
		fprintf(stderr, "  %s%s\n", prefix, c->usage);
}

int cmd_dispatch(const struct cmd *cmds, const char *what, int argc, char **argv)
{
	const struct cmd *found = NULL;
	size_t len;

	if (argc < 1) {
		err_msg("missing %s; see 'marsctl help'", what);
		return 2;
	}
	len = strlen(argv[0]);
	for (const struct cmd *c = cmds; c->name; c++) {
		if (!strcmp(c->name, argv[0]))
			return c->fn(argc, argv);
		if (len && !strncmp(c->name, argv[0], len)) {
			if (found) {
				err_msg("ambiguous %s '%s' (%s or %s?)", what, argv[0],
					found->name, c->name);
				return 2;
			}
			found = c;
		}
	}
	if (!found) {
		err_msg("unknown %s '%s'; see 'marsctl help'", what, argv[0]);
		return 2;
	}
	return found->fn(argc, argv);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: marsctl [OPTIONS] OBJECT [COMMAND] [ARGS]\n"
		"\n"
		"options:\n"
		"  -j, --json       machine-readable output (JSON) on stdout\n"
		"  -v, --verbose    more messages on stderr\n"
		"      --ctl PATH   control device (default %s)\n"
		"      --store DIR  metadata store (default $MARS_STORE_DIR or %s)\n"
		"      --host NAME  this host's name (default $MARS_HOST or the system's)\n"
		"      --module PATH  mars.ko to insmod when it is not loaded\n"
		"                   (default: modprobe mars)\n"
		"      --lock-timeout MS  wait this long for the store's writer lock\n"
		"                   (default %u)\n"
		"  -h, --help       this text\n"
		"\n"
		"objects and commands:\n",
		MARS_CTL_PATH, MARS_STORE_DIR, MARS_LOCK_TIMEOUT_MS);
	for (const struct cmd *c = objects; c->name; c++)
		fprintf(f, "  marsctl %s\n", c->usage);
	fprintf(f, "\nSee marsctl(8).\n");
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "ctl", required_argument, NULL, 'C' },
		{ "store", required_argument, NULL, 'S' },
		{ "host", required_argument, NULL, 'H' },
		{ "module", required_argument, NULL, 'M' },
		{ "lock-timeout", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char hostname[256];
	struct store_error se;
	int opt, ret;

	if (getenv("MARS_STORE_DIR") && *getenv("MARS_STORE_DIR"))
		g_opts.store_dir = getenv("MARS_STORE_DIR");
	if (getenv("MARS_HOST") && *getenv("MARS_HOST"))
		g_opts.host = getenv("MARS_HOST");

	/* '+': stop at the first non-option, the object's own options follow it. */
	while ((opt = getopt_long(argc, argv, "+jvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			g_opts.json = true;
			break;
		case 'v':
			g_opts.verbose = true;
			break;
		case 'C':
			g_opts.ctl_path = optarg;
			break;
		case 'S':
			g_opts.store_dir = optarg;
			break;
		case 'H':
			g_opts.host = optarg;
			break;
		case 'M':
			g_opts.module = optarg;
			break;
		case 'L':
			g_opts.lock_timeout_ms = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (!g_opts.host) {
		if (gethostname(hostname, sizeof(hostname) - 1)) {
			err_msg("gethostname: %s (use --host)", strerror(errno));
			return 2;
		}
		g_opts.host = hostname;
	}
	if (store_host_validate(g_opts.host, &se)) {
		err_msg("bad host name '%s': %s", g_opts.host, se.msg);
		return 2;
	}
	ret = cmd_dispatch(objects, "object", argc - optind, argv + optind);

	/* Like git: a failed write to stdout (full disk, closed pipe) is an error. */
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "marsctl: write error on stdout: %s\n", strerror(errno));
		return 1;
	}
	return ret;
}
