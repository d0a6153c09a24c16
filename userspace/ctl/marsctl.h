/* SPDX-License-Identifier: GPL-2.0 */
/*
 * marsctl internals shared by the command files. Each object (version, dev, store,
 * ...) lives in its own file with a command table; main.c dispatches to them.
 */
#ifndef MARSCTL_H
#define MARSCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/mars.h>

#include <json-c/json.h>

/* Global options, set by main() before a command runs. */
struct marsctl_opts {
	bool json;		/* --json: machine-readable output on stdout */
	bool verbose;		/* -v: say more on stderr */
	const char *ctl_path;	/* control device, default MARS_CTL_PATH */
	const char *store_dir;	/* --store, $MARS_STORE_DIR, default MARS_STORE_DIR */
	const char *host;	/* --host, $MARS_HOST, default: the system host name */
	const char *module;	/* --module: mars.ko to insmod; NULL: modprobe mars */
	unsigned int lock_timeout_ms;	/* --lock-timeout: wait for the store's writer lock */
};

#define MARS_STORE_DIR		"/var/lib/mars/store"
#define MARS_LOCK_TIMEOUT_MS	60000

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

/*
 * The grammar of the dev commands (dev.c), one line each. DEV_USAGE is the dev
 * object's entry in main.c's objects table: every line after the first is indented
 * and prefixed as main's usage() prints table entries ("  marsctl ").
 */
#define DEV_USAGE_CREATE	"create RES --data PATH [--io sio|aio|bio] [--size BYTES] " \
				"[--threads N] [--queue-depth N]\n" \
				"      [--log-dir DIR [--replay-from SEQ:OFFSET | --no-replay]]"
#define DEV_USAGE_DELETE	"delete RES [--force]"
#define DEV_USAGE_LIST		"list [--json]"
#define DEV_USAGE_SET		"set RES --threads N"
#define DEV_USAGE		"dev " DEV_USAGE_CREATE "\n  marsctl dev " DEV_USAGE_DELETE \
				"\n  marsctl dev " DEV_USAGE_LIST "\n  marsctl dev " DEV_USAGE_SET

extern const struct cmd dev_cmds[];

/*
 * The grammar of the log commands (log.c). LOG_USAGE is the log object's entry in
 * main.c's objects table, built like DEV_USAGE (more verbs get more lines).
 */
#define LOG_USAGE_DUMP		"dump FILE [--json] [--torn] [--may-grow] [--uuid UUID] [--prev HEX64]\n" \
				"                   [--valid-len BYTES] [--records | --no-records]"
#define LOG_USAGE_ROTATE	"rotate RES [--json]"
#define LOG_USAGE_EMERGENCY	"emergency RES enter|leave [--json]"
#define LOG_USAGE		"log " LOG_USAGE_DUMP "\n  marsctl log " LOG_USAGE_ROTATE \
				"\n  marsctl log " LOG_USAGE_EMERGENCY

/* Objects. */
int do_version(int argc, char **argv);
int do_dev(int argc, char **argv);		/* dev.c */
int do_apply(int argc, char **argv);		/* apply.c */
int do_status(int argc, char **argv);		/* status.c */
int do_reconcile(int argc, char **argv);	/* reconcile.c */
int do_daemon(int argc, char **argv);
int do_up(int argc, char **argv);
int do_down(int argc, char **argv);
int do_get(int argc, char **argv);		/* kv.c */
int do_ls(int argc, char **argv);
int do_history(int argc, char **argv);
int do_put(int argc, char **argv);
int do_del(int argc, char **argv);
int do_store(int argc, char **argv);
int do_maps(int argc, char **argv);
int do_tune(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_top(int argc, char **argv);
int do_log(int argc, char **argv);		/* log.c */
int do_log_rotate(int argc, char **argv);		/* logctl.c */
/* "SEQ:OFFSET" -> numbers; -1 if malformed. */
int parse_ckpt(const char *s, uint64_t *seq, uint64_t *off);
struct kdev_create_args;
/*
 * Create <log_dir>/resource-<name> (0700) if needed and fill @c's logger fields:
 * replay from @ckpt ("SEQ:OFFSET", a persisted writeback checkpoint) or, without
 * one, from the oldest logfile of @host (replay is idempotent and starts after the
 * last drained end it finds); new files after the newest one. @create: make
 * @log_dir too if missing (the controller; dev create wants it to exist). 0, or -1
 * with @msg.
 */
int logdir_prepare(const char *log_dir, const char *name, const char *host,
		   const char *ckpt, bool create, struct kdev_create_args *c, char *msg);
/* Delete @host's logfiles of resource @name numbered below @below; returns how many. */
int logdir_prune(const char *log_dir, const char *name, const char *host, uint64_t below);
int do_log_emergency(int argc, char **argv);

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
/*
 * Make mars_gtun (@res NULL) or the mars_rtun slot @res_id, claimed for @res, hold
 * @want; writes only when the map holds something else. @what (may be NULL) gets
 * the changes ("wb_depth 64 -> 8, ack_mode reset to default"). Returns 1 written,
 * 0 nothing to write, -1 (message given).
 */
int tun_write(const struct mars_maps *m, const char *res, __u32 res_id,
	      const struct mars_tun *want, char *what, size_t what_size);
/*
 * The tunables the store holds for mars_gtun (@res NULL: /cluster/tunables/<t>) or
 * for @res's slot (/res/<res>/tunables/<t>, global-only ones left out). Keys that
 * are not module tunables (the daemon's) are not in struct mars_tun.
 */
struct kvset;
void tun_from_store(const struct kvset *kv, const char *res, struct mars_tun *out);

/* stats.c: names and log2 histogram helpers shared with top.c. */
const char *mars_slot_name(unsigned int slot);
const char *mars_op_name(unsigned int op);
__u64 hist_quantile(const __u64 *b, unsigned int n, double q);

#endif /* MARSCTL_H */
