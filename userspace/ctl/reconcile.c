// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl reconcile | daemon | up | down: make the running kernel match the store
 * for this host (docs/architecture.md, 8.4 and 8.5; docs/operations.md).
 *
 * One pass is level-triggered and idempotent: it compares the desired state
 * (model_resources()) with MARS_IOC_DEV_LIST and issues only the ioctls needed, in
 * the order: maps (create or reuse the pins, hand them to the module), mars_gtun
 * from /cluster/tunables/, delete, recreate (delete + create, when the graph
 * changed), create, set (sio thread count), the mars_rtun slot of every resource
 * in the module from /res/<r>/tunables/. A pass with nothing to do issues no change
 * ioctl and writes no map. A resource that the module is still creating (its
 * replay runs, MARS_DEV_S_CREATING) is left alone, except for its tunables slot.
 *
 * Seams for later issues, each a step of 8.4 that has no input yet:
 *  - issue 4 (logger): a resource with a log directory on this host is created
 *    with the logger and recovers from its persisted writeback checkpoint
 *    (/res/<r>/@<h>/writeback); reconcile and the daemon persist it after every
 *    pass. Roles, replay announcements and logfile deletion come later;
 *  - writing /res/<r>/@<h>/observed and .../error: needs the daemon to be the single
 *    store writer (8.7); today errors go to stdout/stderr only.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "marsctl.h"
#include "model.h"

enum act_kind { ACT_DELETE, ACT_RECREATE, ACT_CREATE, ACT_SET, ACT_TUNE, ACT_MAPS };

static const char *const act_names[] = {
	[ACT_DELETE] = "delete", [ACT_RECREATE] = "recreate",
	[ACT_CREATE] = "create", [ACT_SET] = "set", [ACT_TUNE] = "tune", [ACT_MAPS] = "maps",
};

struct action {
	enum act_kind kind;
	const struct res_model *r;	/* NULL for a device unknown to the store */
	const struct mars_dev_info *d;	/* NULL for a create */
	char why[200];
};

/* Is the kernel's device built as the store says? Differences go to @why. */
static bool graph_differs(const struct res_model *r, const struct mars_dev_info *d,
			  bool logger, char *why, size_t size)
{
	size_t plen = strlen(d->data_path);
	bool path_ok = (d->state & MARS_DEV_S_PATH_TRUNC) ?
		       !strncmp(d->data_path, r->data, plen) : !strcmp(d->data_path, r->data);

	if (!path_ok)
		snprintf(why, size, "data device %.80s -> %.80s", d->data_path, r->data);
	else if (logger != !!r->log_dir)
		snprintf(why, size, "logger %s -> %s", logger ? "on" : "off",
			 r->log_dir ? "on" : "off");
	else if (d->backend != r->backend)
		snprintf(why, size, "backend %s -> %s", kdev_backend_name(d->backend),
			 kdev_backend_name(r->backend));
	else if (r->size && d->dev_size != r->size)
		snprintf(why, size, "size %llu -> %" PRIu64 " bytes",
			 (unsigned long long)d->dev_size, r->size);
	else
		return false;
	return true;
}

static const struct res_model *find_res(const struct res_model *rs, size_t n,
					const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rs[i].name, name))
			return &rs[i];
	return NULL;
}

/* Compute the actions; *acts is malloc'ed. */
static int plan(const struct res_model *rs, size_t nr, const struct mars_dev_info *devs,
		const bool *lg, size_t nd, struct action **acts, size_t *na)
{
	struct action *a = calloc(nr + nd + 1, sizeof(*a));
	size_t n = 0;

	if (!a)
		return -ENOMEM;
	for (int pass = ACT_DELETE; pass <= ACT_SET; pass++) {
		for (size_t i = 0; i < nd; i++) {
			const struct res_model *r = find_res(rs, nr, devs[i].name);
			bool down = r && r->want_attach && !strcmp(r->want_attach, "down");
			char why[200];

			if (devs[i].state & MARS_DEV_S_CREATING) {
				continue;	/* its DEV_CREATE is still running */
			} else if (pass == ACT_DELETE && (!r || !r->member || down)) {
				a[n] = (struct action){ ACT_DELETE, r, &devs[i], "" };
				snprintf(a[n++].why, sizeof(a->why), "%s",
					 !r ? "not in the store" : r->why_not);
			} else if (!r || !r->member || down || !r->data) {
				continue;
			} else if (pass == ACT_RECREATE &&
				   graph_differs(r, &devs[i], lg[i], why, sizeof(why))) {
				a[n] = (struct action){ ACT_RECREATE, r, &devs[i], "" };
				snprintf(a[n++].why, sizeof(a->why), "%s", why);
			} else if (pass == ACT_SET && r->backend == MARS_BACKEND_SIO &&
				   devs[i].backend == MARS_BACKEND_SIO && r->sio_threads &&
				   devs[i].sio_threads &&	/* 0: no pool reported */
				   devs[i].sio_threads != r->sio_threads &&
				   !graph_differs(r, &devs[i], lg[i], why, sizeof(why))) {
				a[n] = (struct action){ ACT_SET, r, &devs[i], "" };
				snprintf(a[n++].why, sizeof(a->why), "sio threads %u -> %u",
					 devs[i].sio_threads, r->sio_threads);
			}
		}
		if (pass != ACT_CREATE)
			continue;
		for (size_t i = 0; i < nr; i++) {
			if (!rs[i].want || kdev_find(devs, nd, rs[i].name))
				continue;
			a[n] = (struct action){ ACT_CREATE, &rs[i], NULL, "" };
			snprintf(a[n++].why, sizeof(a->why), "%s over %s, %" PRIu64 " bytes",
				 kdev_backend_name(rs[i].backend), rs[i].data, rs[i].size);
		}
	}
	*acts = a;
	*na = n;
	return 0;
}

static int do_action(int fd, const struct action *a, bool force, char *msg)
{
	const struct res_model *r = a->r;
	const char *name = r ? r->name : a->d->name;
	struct kdev_create_args c;
	int err;

	if (a->kind == ACT_DELETE || a->kind == ACT_RECREATE) {
		if (a->d->open_count && !force) {
			snprintf(msg, MARS_ERRMSG_MAX, "/dev/mars/%s is open (%u openers); "
				 "refused without --force", name, a->d->open_count);
			return -EBUSY;
		}
		err = kdev_delete(fd, name, force, msg);
		if (err || a->kind == ACT_DELETE)
			return err;
	}
	if (a->kind == ACT_SET)
		return kdev_set_sio_threads(fd, name, r->sio_threads, msg);
	c = (struct kdev_create_args){
		.name = r->name, .data_path = r->data, .backend = r->backend,
		.size = r->size,
		.sio_threads = r->backend == MARS_BACKEND_SIO ? r->sio_threads : 0,
	};
	/* With a log directory: recover from the persisted writeback checkpoint. */
	if (r->log_dir && logdir_prepare(r->log_dir, r->name, g_opts.host, r->writeback, true,
					 &c, msg))
		return -EINVAL;
	err = kdev_create(fd, &c, msg);
	if (!err && c.replay_records && !g_opts.json)
		printf("reconcile: %s: replayed %" PRIu64 " records (%" PRIu64 " bytes) from "
		       "the log\n", r->name, c.replay_records, c.replay_bytes);
	return err;
}

/* Which devices have a logger (parallel to @devs); *out is malloc'ed. */
static int logger_flags(int fd, const struct mars_dev_info *devs, size_t nd, bool **out)
{
	bool *lg = calloc(nd + 1, sizeof(*lg));

	if (!lg)
		return -ENOMEM;
	for (size_t i = 0; fd >= 0 && i < nd; i++) {
		struct mars_rstate st;

		lg[i] = !kdev_state(fd, devs[i].name, &st, NULL) &&
			(st.flags & MARS_RS_F_LOGGER);
	}
	*out = lg;
	return 0;
}

/*
 * Persist the writeback checkpoint of every logger resource of this host that
 * moved (architecture.md 8.6): /res/<r>/@<h>/writeback = "SEQ:OFFSET". Logfiles
 * before SEQ are written back; after a crash, recovery starts there. Only once the
 * store holds the checkpoint are those logfiles deleted (7.4: persist first).
 */
static int persist_checkpoints(const struct kvset *kv)
{
	struct res_model *rs = NULL;
	struct store_batch *b = NULL;
	struct store *s = NULL;
	struct store_error se;
	uint64_t *seqs = NULL;		/* per resource: the checkpoint's file, 0: none */
	size_t nr = 0, puts = 0;
	int fd, err = 0;

	fd = model_ctl_open(false);
	if (fd < 0)
		return 0;
	if (model_resources(kv, g_opts.host, &rs, &nr))
		goto out;
	seqs = calloc(nr + 1, sizeof(*seqs));
	if (!seqs) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nr; i++) {
		struct mars_rstate st;
		char key[STORE_KEY_MAX + 1], val[48];

		if (!rs[i].log_dir || kdev_state(fd, rs[i].name, &st, NULL) ||
		    !(st.flags & MARS_RS_F_LOGGER) || !st.wb_seq)
			continue;
		snprintf(val, sizeof(val), "%09" PRIu64 ":%" PRIu64, (uint64_t)st.wb_seq,
			 (uint64_t)st.wb_off);
		seqs[i] = st.wb_seq;
		if (rs[i].writeback && !strcmp(rs[i].writeback, val))
			continue;
		if (!b && !(b = store_batch_new())) {
			err = -ENOMEM;
			goto out;
		}
		snprintf(key, sizeof(key), "/res/%s/@%s/writeback", rs[i].name, g_opts.host);
		if (store_batch_put(b, key, val, strlen(val), &se)) {
			err_msg("%s", se.msg);
			err = -EINVAL;
			goto out;
		}
		puts++;
	}
	if (puts) {
		if (mstore_open(true, &s)) {
			err = -EIO;
			goto out;
		}
		if (store_commit(s, b, NULL, &se)) {
			err_msg("persisting checkpoints: %s", se.msg);
			err = -EIO;
			goto out;
		}
	}
	/* The store holds every checkpoint now: files before them are not needed. */
	for (size_t i = 0; i < nr; i++)
		if (seqs[i] > 1)
			logdir_prune(rs[i].log_dir, rs[i].name, g_opts.host, seqs[i]);
out:
	if (s)
		store_close(s);
	store_batch_free(b);
	free(seqs);
	free(rs);
	close(fd);
	return err;
}

/* Report one action: a JSON object in @jactions, or a line on stdout. */
static void report(struct json_object *jactions, bool dry, enum act_kind kind,
		   const char *name, const char *why, int aerr, const char *msg)
{
	bool mk = kind == ACT_CREATE || kind == ACT_RECREATE;

	if (jactions) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "action", json_object_new_string(act_names[kind]));
		json_object_object_add(o, "resource", name ? json_object_new_string(name) : NULL);
		json_object_object_add(o, "reason", json_object_new_string(why));
		json_object_object_add(o, "done", json_object_new_boolean(!dry && !aerr));
		json_object_object_add(o, "error", aerr ? json_object_new_string(msg) : NULL);
		json_object_array_add(jactions, o);
	} else if (aerr) {
		printf("reconcile: %s %s FAILED: %s (%s)\n", act_names[kind],
		       name ? name : "global", msg, why);
	} else {
		printf("reconcile: %s%s %s: %s", dry ? "would " : "", act_names[kind],
		       name ? name : "global", why);
		if (mk && !dry)
			printf(" -> /dev/mars/%s", name);
		printf("\n");
	}
}

/*
 * Write the store's tunables into mars_gtun (@nr 0: global) or into the mars_rtun
 * slots of the resources of @rs that are in the module. Counts and reports what
 * changed; a slot or map that already matches is not written.
 */
static void tune_maps(int fd, const struct mars_maps *m, const struct kvset *kv,
		      const struct res_model *rs, size_t nr, bool global,
		      struct json_object *jactions, int *changes, int *failed)
{
	char what[512], msg[MARS_ERRMSG_MAX];
	struct mars_rstate st;
	struct mars_tun want;
	int rc;

	if (global) {
		tun_from_store(kv, NULL, &want);
		rc = tun_write(m, NULL, 0, &want, what, sizeof(what));
		if (rc) {
			(*changes)++;
			*failed += rc < 0;
			report(jactions, false, ACT_TUNE, NULL, rc < 0 ? "mars_gtun" : what, rc < 0,
			       "cannot write mars_gtun");
		}
		return;
	}
	for (size_t i = 0; fd >= 0 && i < nr; i++) {
		if (!rs[i].want || kdev_state(fd, rs[i].name, &st, msg))
			continue;	/* not in the module: its slot comes with the create */
		tun_from_store(kv, rs[i].name, &want);
		rc = tun_write(m, rs[i].name, st.res_id, &want, what, sizeof(what));
		if (rc) {
			(*changes)++;
			*failed += rc < 0;
			report(jactions, false, ACT_TUNE, rs[i].name, rc < 0 ? "mars_rtun" : what,
			       rc < 0, "cannot write mars_rtun");
		}
	}
}

int reconcile_pass(const struct kvset *kv, bool force, bool dry,
		   struct json_object *jactions, int *changes, int *failed)
{
	struct res_model *rs = NULL;
	struct mars_dev_info *devs = NULL;
	struct action *acts = NULL;
	struct mars_maps maps = { .skel = NULL };
	bool *lg = NULL, have_maps = false;
	size_t nr = 0, nd = 0, na = 0;
	bool any_want = false;
	int fd = -1, err;

	*changes = 0;
	*failed = 0;
	err = model_resources(kv, g_opts.host, &rs, &nr);
	if (err)
		goto out;
	for (size_t i = 0; i < nr; i++)
		any_want |= rs[i].want;
	fd = model_ctl_open(!dry && any_want);
	if (fd == -ENOENT && (!any_want || dry)) {
		fd = -1;	/* no module: nothing to delete; creates are planned */
	} else if (fd < 0) {
		err = -ENODEV;
		goto out;
	} else {
		err = kdev_list(fd, &devs, &nd);
		if (err) {
			err_msg("MARS_IOC_DEV_LIST: %s", strerror(-err));
			goto out;
		}
	}
	/*
	 * 8.4 steps 1 and 2: the maps (handed over if the module is loaded; pins
	 * alone otherwise, the module gets them at the next pass) and mars_gtun. No
	 * map is needed for correct IO: a failure is reported, the devices still
	 * follow the store.
	 */
	if (!dry) {
		have_maps = !mars_maps_ensure(&maps);
		if (!have_maps) {
			(*changes)++;
			(*failed)++;
			report(jactions, false, ACT_MAPS, NULL, "create or hand over the BPF maps",
			       -EIO, "see the message above");
		} else {
			tune_maps(fd, &maps, kv, rs, nr, true, jactions, changes, failed);
		}
	}
	err = logger_flags(fd, devs, nd, &lg);
	if (!err)
		err = plan(rs, nr, devs, lg, nd, &acts, &na);
	if (err)
		goto out;
	for (size_t i = 0; i < na; i++) {
		const struct action *a = &acts[i];
		char msg[MARS_ERRMSG_MAX] = "";
		int aerr = dry || fd < 0 ? 0 : do_action(fd, a, force, msg);

		(*changes)++;
		if (aerr)
			(*failed)++;
		report(jactions, dry, a->kind, a->r ? a->r->name : a->d->name, a->why, aerr, msg);
	}
	/* 8.4 step 6: the per-resource slots, now that every create has its res_id. */
	if (have_maps)
		tune_maps(fd, &maps, kv, rs, nr, false, jactions, changes, failed);
	/* Seams (issue 4): role changes, replay announcements, checkpoints, logfile
	 * deletion; (8.7) writing observed/error keys. */
out:
	if (have_maps)
		mars_maps_close(&maps);
	if (fd >= 0)
		close(fd);
	free(lg);
	free(acts);
	free(devs);
	free(rs);
	return err;
}

int reconcile_busy(const struct kvset *kv, char *names, size_t size)
{
	struct res_model *rs = NULL;
	struct mars_dev_info *devs = NULL;
	struct action *acts = NULL;
	bool *lg = NULL;
	size_t nr = 0, nd = 0, na = 0;
	int fd, busy = 0;

	names[0] = 0;
	fd = model_ctl_open(false);
	if (fd < 0)
		return 0;	/* no module, no open devices */
	if (!model_resources(kv, g_opts.host, &rs, &nr) && !kdev_list(fd, &devs, &nd) &&
	    !logger_flags(fd, devs, nd, &lg) && !plan(rs, nr, devs, lg, nd, &acts, &na)) {
		for (size_t i = 0; i < na; i++) {
			if ((acts[i].kind == ACT_DELETE || acts[i].kind == ACT_RECREATE) &&
			    acts[i].d->open_count) {
				snprintf(names + strlen(names), size - strlen(names), "%s%s",
					 busy ? ", " : "", acts[i].d->name);
				busy++;
			}
		}
	}
	close(fd);
	free(lg);
	free(acts);
	free(devs);
	free(rs);
	return busy;
}

/* Run one pass over the current store and report it; returns the exit status. */
static int reconcile_once(bool force, bool dry, bool quiet_idle)
{
	struct kvset kv = { 0 };
	struct json_object *ja = g_opts.json ? json_object_new_array() : NULL;
	int changes = 0, failed = 0, err;

	err = mstore_snapshot("/", &kv);
	if (!err)
		err = reconcile_pass(&kv, force, dry, ja, &changes, &failed);
	/* A failure to persist is retried at the next pass; recovery then replays more. */
	if (!err && !dry)
		persist_checkpoints(&kv);
	kvset_free(&kv);
	if (err) {
		json_object_put(ja);
		return 1;
	}
	if (ja) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "host", json_object_new_string(g_opts.host));
		json_object_object_add(o, "dry_run", json_object_new_boolean(dry));
		json_object_object_add(o, "actions", ja);
		json_object_object_add(o, "failed", json_object_new_int(failed));
		json_print(o);
	} else if (!changes && !quiet_idle) {
		printf("reconcile: nothing to do (host %s matches the store)\n", g_opts.host);
	}
	return failed ? 1 : 0;
}

int do_reconcile(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false, dry = false;
	int opt;

	optind = 0;	/* glibc: re-initialise, so main's "+" (stop at the first non-option) is dropped */
	while ((opt = getopt_long(argc, argv, "fn", lo, NULL)) != -1) {
		if (opt == 'f') {
			force = true;
		} else if (opt == 'n') {
			dry = true;
		} else {
			err_msg("usage: marsctl reconcile [--dry-run] [--force]");
			return 2;
		}
	}
	if (optind != argc) {
		err_msg("usage: marsctl reconcile [--dry-run] [--force]");
		return 2;
	}
	return reconcile_once(force, dry, false);
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	if (sig != SIGHUP)	/* SIGHUP only interrupts the wait: a pass follows */
		stop_requested = 1;
}

int do_daemon(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned int backoff = 0, interval = 1;
	int opt, ifd;

	optind = 0;	/* glibc: re-initialise, so main's "+" (stop at the first non-option) is dropped */
	while ((opt = getopt_long(argc, argv, "i:", lo, NULL)) != -1) {
		if (opt == 'i' && atoi(optarg) > 0) {
			interval = (unsigned int)atoi(optarg);
		} else {
			err_msg("usage: marsctl daemon [--interval SECONDS]");
			return 2;
		}
	}
	if (optind != argc || g_opts.json) {
		err_msg("usage: marsctl daemon [--interval SECONDS] (no --json)");
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: poll() returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd < 0) {
		err_msg("inotify_init1: %s", strerror(errno));
		return 1;
	}
	if ((mkdir(g_opts.store_dir, 0700) && errno != EEXIST) ||
	    inotify_add_watch(ifd, g_opts.store_dir, IN_CLOSE_WRITE | IN_MODIFY |
			      IN_MOVED_TO | IN_CREATE | IN_DELETE) < 0) {
		err_msg("cannot watch %s: %s", g_opts.store_dir, strerror(errno));
		close(ifd);
		return 1;
	}
	fprintf(stderr, "marsctl daemon: host %s, store %s, pass every %u s and on change\n",
		g_opts.host, mstore_path(), interval);
	while (!stop_requested) {
		struct pollfd pfd = { .fd = ifd, .events = POLLIN };
		char buf[4096];
		int rc = reconcile_once(false, false, true), wait_s;

		if (rc) {
			backoff = backoff ? (backoff * 2 > 60 ? 60 : backoff * 2) : 1;
			fprintf(stderr, "marsctl daemon: pass failed, next try in %u s\n",
				backoff);
			wait_s = (int)backoff;
		} else {
			backoff = 0;
			wait_s = (int)interval;
		}
		if (poll(&pfd, 1, wait_s * 1000) > 0) {
			/* drain, then let a burst of appends settle */
			while (read(ifd, buf, sizeof(buf)) > 0)
				;
			usleep(50 * 1000);
			while (read(ifd, buf, sizeof(buf)) > 0)
				;
		}
	}
	fprintf(stderr, "marsctl daemon: stopping (devices stay as they are)\n");
	close(ifd);
	return 0;
}

/* marsctl up|down <res> [--force] */
static int updown(int argc, char **argv, const char *want)
{
	static const struct option lo[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct kvset kv = { 0 };
	struct store *s = NULL;
	struct store_batch *b = NULL;
	struct store_error se;
	struct json_object *ja = g_opts.json ? json_object_new_array() : NULL;
	char key[STORE_KEY_MAX + 1], busy[512];
	const char *res;
	bool force = false;
	int opt, rc = 1, changes = 0, failed = 0;
	const struct kv *cur;

	optind = 0;	/* glibc: re-initialise, so main's "+" (stop at the first non-option) is dropped */
	while ((opt = getopt_long(argc, argv, "f", lo, NULL)) != -1) {
		if (opt != 'f') {
			err_msg("usage: marsctl %s RES [--force]", want);
			goto out;
		}
		force = true;
	}
	if (optind + 1 != argc) {
		err_msg("usage: marsctl %s RES%s", want, strcmp(want, "down") ? "" : " [--force]");
		rc = 2;
		goto out;
	}
	res = argv[optind];
	if (mstore_open(true, &s))
		goto out;
	if (mstore_load(s, "/", &kv))
		goto out;
	snprintf(key, sizeof(key), "/res/%s/hosts/%s/data", res, g_opts.host);
	if (!kvset_get(&kv, key)) {
		err_msg("resource '%s' is not configured for host %s (see marsctl apply)", res,
			g_opts.host);
		goto out;
	}
	snprintf(key, sizeof(key), "/res/%s/@%s/want/attach", res, g_opts.host);
	cur = kvset_find(&kv, key);
	if (!cur || strcmp(cur->val, want)) {
		/* Replace, not add: a second entry of the key would make lookups ambiguous. */
		if (kvset_set(&kv, key, want)) {
			err_msg("out of memory");
			goto out;
		}
		if (!strcmp(want, "down") && !force &&
		    reconcile_busy(&kv, busy, sizeof(busy))) {
			err_msg("/dev/mars/%s is open; refusing to detach it (use --force)", res);
			goto out;
		}
		b = store_batch_new();
		if (!b || store_batch_put(b, key, want, strlen(want), &se) ||
		    store_commit(s, b, NULL, &se)) {
			err_msg("%s", b ? se.msg : "out of memory");
			goto out;
		}
	}
	/* reconcile while holding the writer lock, so concurrent commands serialize */
	if (reconcile_pass(&kv, force, false, ja, &changes, &failed))
		goto out;
	if (ja) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "resource", json_object_new_string(res));
		json_object_object_add(o, "want", json_object_new_string(want));
		json_object_object_add(o, "actions", ja);
		json_object_object_add(o, "failed", json_object_new_int(failed));
		json_print(o);
		ja = NULL;
	} else if (!changes) {
		printf("%s %s: nothing to do\n", want, res);
	}
	rc = failed ? 1 : 0;
out:
	json_object_put(ja);
	store_batch_free(b);
	kvset_free(&kv);
	if (s)
		store_close(s);
	return rc;
}

int do_up(int argc, char **argv)
{
	return updown(argc, argv, "up");
}

int do_down(int argc, char **argv)
{
	return updown(argc, argv, "down");
}
