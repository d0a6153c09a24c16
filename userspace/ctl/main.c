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

struct marsctl_opts g_opts = {
	.ctl_path = MARS_CTL_PATH,
};

static int do_help(int argc, char **argv);

static const struct cmd objects[] = {
	{ "version", do_version, "version" },
	{ "maps", do_maps, "maps [show | attach | reset]" },
	{ "tune", do_tune, "tune [<res>] [key=value ...]" },
	{ "stats", do_stats, "stats [<res>] [--latency] [--json]" },
	{ "top", do_top, "top [<res>] [--interval SEC] [--once | --iterations N] [--json]" },
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
		"  -h, --help       this text\n"
		"\n"
		"objects and commands:\n",
		MARS_CTL_PATH);
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, ret;

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
	ret = cmd_dispatch(objects, "object", argc - optind, argv + optind);

	/* Like git: a failed write to stdout (full disk, closed pipe) is an error. */
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "marsctl: write error on stdout: %s\n", strerror(errno));
		return 1;
	}
	return ret;
}
