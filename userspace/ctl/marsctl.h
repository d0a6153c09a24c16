/* SPDX-License-Identifier: GPL-2.0 */
/*
 * marsctl internals shared by the command files. Each object (version, dev, store,
 * ...) lives in its own file with a command table; main.c dispatches to them.
 */
#ifndef MARSCTL_H
#define MARSCTL_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/mars.h>

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
int do_maps(int argc, char **argv);
int do_tune(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_top(int argc, char **argv);

/*
 * maps.c: the pinned BPF maps (docs/architecture.md, 5.1). mars_maps_ensure()
 * creates or reuses the pins under MARS_BPF_PIN_ROOT and hands them to mars.ko if
 * it is loaded. Returns 0 (fill @m; release with mars_maps_close()) or -1
 * (message given).
 */
struct mars_maps_bpf;
struct mars_maps {
	struct mars_maps_bpf *skel;	/* the loaded skeleton: owns the fds */
	int fd[MARS_MAP_KINDS];		/* index = enum mars_map_kind; -1 = none */
};

int mars_maps_ensure(struct mars_maps *m);
void mars_maps_close(struct mars_maps *m);
/* libbpf messages on stderr only with -v. */
void mars_libbpf_setup(void);
/* Double read of a state value (5.4). 0, -EBUSY (state busy) or -errno. */
int mars_state_read(int fd, __u32 key, void *buf, size_t size);
/* The slot of the resource @name in mars_rstate (and its state), or -ENOENT. */
int mars_res_lookup(const struct mars_maps *m, const char *name, __u32 *res_id,
		    struct mars_rstate *rs);

/* tune.c: the tunables table (ranges from include/uapi/linux/mars.h). */
struct tun_def {
	const char *name;
	size_t off;		/* offset in struct mars_tun */
	unsigned int bit;	/* set_mask bit */
	__u32 min, max;
	__u32 flags;		/* MARS_TUNF_* */
};

extern const struct tun_def tun_defs[];
__u32 tun_get(const struct mars_tun *t, const struct tun_def *d);

/* stats.c: names and log2 histogram helpers shared with top.c. */
const char *mars_slot_name(unsigned int slot);
const char *mars_op_name(unsigned int op);
__u64 hist_quantile(const __u64 *b, unsigned int n, double q);

#endif /* MARSCTL_H */
