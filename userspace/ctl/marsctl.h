/* SPDX-License-Identifier: GPL-2.0 */
/*
 * marsctl internals shared by the command files. Each object (version, dev, store,
 * ...) lives in its own file with a command table; main.c dispatches to them.
 */
#ifndef MARSCTL_H
#define MARSCTL_H

#include <stdbool.h>

#include <json-c/json.h>

/* Global options, set by main() before a command runs. */
struct marsctl_opts {
	bool json;		/* --json: machine-readable output on stdout */
	bool verbose;		/* -v: say more on stderr */
	const char *ctl_path;	/* control device, default MARS_CTL_PATH */
};

extern struct marsctl_opts g_opts;

/* A command: name, handler, one-line grammar for help. */
struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

/*
 * Run the command of @cmds whose name @argv[0] is a unique prefix of (exact names win).
 * Returns the handler's exit status, or 2 after an error message for an unknown or
 * ambiguous command.
 */
int cmd_dispatch(const struct cmd *cmds, const char *what, int argc, char **argv);
void cmd_print_usage(const struct cmd *cmds, const char *prefix);

/* Print an error: "marsctl: ..." on stderr, or {"error": "..."} on stdout in JSON mode. */
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print @obj as JSON on stdout (pretty), then drop the reference. */
void json_print(struct json_object *obj);

/* Open the control device and check the ABI handshake. Returns an fd or -1 (message given). */
int ctl_open(void);

/* Objects. */
int do_version(int argc, char **argv);

#endif /* MARSCTL_H */
