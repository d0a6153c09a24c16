// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl status [RES] [--json]: per resource, what the store wants for this host and
 * what the kernel runs (docs/architecture.md, section 10; JSON schema in
 * docs/status-json.md).
 *
 * Both outputs come from one snapshot (one store read, one MARS_IOC_DEV_LIST, one
 * MARS_IOC_DEV_STATE per device) turned into struct res_status first. What cannot
 * be known (log positions of a plain device, a replay rate before the replay wrote
 * anything, sync progress before replication exists) is JSON null and, in human
 * output, "n/a"; never 0.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "marsctl.h"
#include "model.h"

#define ST_MAX_ERRORS 4

struct res_status {
	const char *name;
	const struct res_model *m;	/* NULL: a device the store does not know */
	const struct mars_dev_info *d;	/* NULL: not in the module */
	const char *role;		/* "primary" (logger), "plain" (no logger) or "none" */
	const struct mars_rstate *lg;	/* the module's state of a logger device, or NULL */
	const char *designated;		/* designated primary, or NULL */
	bool is_designated;		/* this host is the designated primary */
	const char *disk;		/* NotJoined, Detached, UpToDate */
	const char *disk_reason;	/* why Detached / NotJoined, or NULL */
	const char *repl;		/* NoPrimary, or NULL = unknown until issue 4/5 */
	bool creating;			/* the module is still creating it (replay) */
	struct replay_fig {
		const char *state;	/* "none", "scanning", "applying", "done" */
		bool have_total, have_rate, have_eta;
		uint64_t total, done;	/* bytes */
		double rate;		/* bytes/s, over the writing phase */
		double eta;		/* seconds */
		double elapsed;		/* seconds since the replay began */
	} rp;				/* only with lg */
	double wb_lag_s;		/* age of the oldest pending write; with lg */
	char device[64];		/* "/dev/mars/<r>" or "" */
	int nerr;
	char err[ST_MAX_ERRORS][200];
};

struct snapshot {
	uint64_t time_ns;
	bool module;			/* /dev/mars-ctl answered */
	const char *cluster;
	struct kvset kv;
	struct res_model *rs;
	size_t nr;
	struct mars_dev_info *devs;
	size_t nd;
	struct mars_rstate *states;	/* parallel to devs (MARS_IOC_DEV_STATE) */
	bool *has_state;
	struct res_status *st;
	size_t nst;
};

static void add_err(struct res_status *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void add_err(struct res_status *s, const char *fmt, ...)
{
	va_list ap;

	if (s->nerr >= ST_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(s->err[s->nerr++], sizeof(s->err[0]), fmt, ap);
	va_end(ap);
}

static double ns_s(uint64_t ns)
{
	return (double)ns / 1e9;
}

/*
 * The replay's figures from the module's state @rs at @now (CLOCK_REALTIME ns):
 * the rate over the writing phase (null before anything was written), the ETA
 * from it (null without a rate).
 */
static void replay_figures(const struct mars_rstate *rs, uint64_t now, struct replay_fig *f)
{
	uint64_t end = rs->replay_end_ns ? rs->replay_end_ns : now;

	memset(f, 0, sizeof(*f));
	switch (rs->replay_phase) {
	case MARS_REPLAY_SCAN:
		f->state = "scanning";
		break;
	case MARS_REPLAY_APPLY:
		f->state = "applying";
		break;
	case MARS_REPLAY_DONE:
		f->state = "done";
		break;
	default:
		f->state = "none";
		return;
	}
	f->elapsed = end > rs->replay_start_ns ? ns_s(end - rs->replay_start_ns) : 0;
	if (rs->replay_phase == MARS_REPLAY_SCAN)
		return;		/* total is known after the scan */
	f->have_total = true;
	f->total = rs->replay_total;
	f->done = rs->replay_done;
	if (rs->replay_phase == MARS_REPLAY_DONE) {
		f->have_eta = true;	/* 0 */
		if (end > rs->replay_apply_ns && rs->replay_apply_ns) {
			f->have_rate = true;
			f->rate = (double)f->done / ns_s(end - rs->replay_apply_ns);
		}
		return;
	}
	if (f->done && end > rs->replay_apply_ns && rs->replay_apply_ns) {
		f->have_rate = true;
		f->rate = (double)f->done / ns_s(end - rs->replay_apply_ns);
		f->have_eta = true;
		f->eta = (double)(f->total - f->done) / f->rate;
	}
}

static void derive(struct snapshot *sn, struct res_status *s)
{
	const struct res_model *m = s->m;
	const struct mars_dev_info *d = s->d;

	if (d && sn->has_state[d - sn->devs] &&
	    (sn->states[d - sn->devs].flags & MARS_RS_F_LOGGER))
		s->lg = &sn->states[d - sn->devs];
	s->creating = d && (d->state & MARS_DEV_S_CREATING);
	if (s->lg) {
		replay_figures(s->lg, sn->time_ns, &s->rp);
		s->wb_lag_s = ns_s(s->lg->wb_lag_ns);
	}
	s->role = s->lg ? "primary" : d ? "plain" : "none";
	s->designated = m && m->primary && m->primary[0] ? m->primary : NULL;
	s->is_designated = s->designated && !strcmp(s->designated, g_opts.host);
	if (d && !s->creating)
		snprintf(s->device, sizeof(s->device), "/dev/mars/%s", s->name);
	/* 10.2, rows that can be known today: 1, 2, 8 */
	if (!m || !m->member) {
		s->disk = "NotJoined";
		s->disk_reason = m ? "this host is not a member of the resource" :
				 "not in the store";
	} else if (!d || (d->state & MARS_DEV_S_DYING)) {
		s->disk = "Detached";
		s->disk_reason = d ? "being deleted" : m->want ?
				 (sn->module ? "not created: run marsctl reconcile" :
				  "mars.ko not loaded: run marsctl reconcile") : m->why_not;
	} else if (s->creating) {
		s->disk = "Recovery";
		s->disk_reason = s->lg ? "replaying the log; the device appears when it is done" :
				 "being created";
	} else if (s->lg && (s->lg->flags & MARS_RS_F_EMERGENCY)) {
		s->disk = "EmergencyMode";
		s->disk_reason = "the log is off: writes go straight to the data device";
	} else {
		/* plain: nothing pending; logger: the data device plus the log */
		s->disk = "UpToDate";
		s->disk_reason = NULL;
	}
	if (s->lg && (s->lg->flags & MARS_RS_F_LOG_ERROR))
		add_err(s, "log write error: see the kernel log");
	/* 10.3: only NoPrimary can be known without the logger and replication */
	s->repl = s->designated ? NULL : "NoPrimary";
	if (m && m->error)
		add_err(s, "%s", m->error);
	if (!m && d)
		add_err(s, "device not in the store: marsctl reconcile deletes it");
	if (m && m->member && !m->data_exists)
		add_err(s, "data device %s is missing", m->data);
	if (m && m->member && d && m->data) {
		if (strcmp(d->data_path, m->data) && !(d->state & MARS_DEV_S_PATH_TRUNC))
			add_err(s, "runs on %s, the store says %s (marsctl reconcile)",
				d->data_path, m->data);
		else if (d->backend != m->backend)
			add_err(s, "runs backend %s, the store says %s (marsctl reconcile)",
				kdev_backend_name(d->backend), kdev_backend_name(m->backend));
		else if (m->size && d->dev_size != m->size)
			add_err(s, "size %llu differs from the store's %" PRIu64
				" (marsctl reconcile)", (unsigned long long)d->dev_size, m->size);
	}
	if (d && (d->state & MARS_DEV_S_READONLY))
		add_err(s, "backing opened read-only");
}

static int take_snapshot(struct snapshot *sn, const char *only)
{
	struct timespec ts;
	int fd, err;

	clock_gettime(CLOCK_REALTIME, &ts);
	sn->time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	err = mstore_snapshot("/", &sn->kv);
	if (err)
		return err;
	sn->cluster = kvset_get(&sn->kv, "/cluster/name");
	err = model_resources(&sn->kv, g_opts.host, &sn->rs, &sn->nr);
	if (err)
		return err;
	fd = model_ctl_open(false);
	if (fd >= 0) {
		sn->module = true;
		err = kdev_list(fd, &sn->devs, &sn->nd);
		if (err) {
			close(fd);
			err_msg("MARS_IOC_DEV_LIST: %s", strerror(-err));
			return err;
		}
		sn->states = calloc(sn->nd + 1, sizeof(*sn->states));
		sn->has_state = calloc(sn->nd + 1, sizeof(*sn->has_state));
		if (!sn->states || !sn->has_state) {
			close(fd);
			return -ENOMEM;
		}
		for (size_t i = 0; i < sn->nd; i++)
			sn->has_state[i] = !kdev_state(fd, sn->devs[i].name, &sn->states[i], NULL);
		close(fd);
	} else if (fd != -ENOENT) {
		return -ENODEV;
	}
	sn->st = calloc(sn->nr + sn->nd + 1, sizeof(*sn->st));
	if (!sn->st)
		return -ENOMEM;
	for (size_t i = 0; i < sn->nr; i++) {
		struct res_status *s = &sn->st[sn->nst];

		if (only && strcmp(only, sn->rs[i].name))
			continue;
		s->name = sn->rs[i].name;
		s->m = &sn->rs[i];
		s->d = kdev_find(sn->devs, sn->nd, s->name);
		derive(sn, s);
		sn->nst++;
	}
	for (size_t i = 0; i < sn->nd; i++) {
		struct res_status *s = &sn->st[sn->nst];
		bool known = false;

		for (size_t k = 0; k < sn->nr; k++)
			known |= !strcmp(sn->rs[k].name, sn->devs[i].name);
		if (known || (only && strcmp(only, sn->devs[i].name)))
			continue;
		s->name = sn->devs[i].name;
		s->d = &sn->devs[i];
		derive(sn, s);
		sn->nst++;
	}
	return 0;
}

static void free_snapshot(struct snapshot *sn)
{
	free(sn->st);
	free(sn->states);
	free(sn->has_state);
	free(sn->devs);
	free(sn->rs);
	kvset_free(&sn->kv);
}

#define JSTR(s) ((s) ? json_object_new_string(s) : NULL)

static struct json_object *replay_json(const struct res_status *s)
{
	struct json_object *r = json_object_new_object();
	const struct replay_fig *f = &s->rp;
	char ck[48];

	json_object_object_add(r, "state", json_object_new_string(f->state));
	json_object_object_add(r, "total", f->have_total ? json_object_new_uint64(f->total) :
			       NULL);
	json_object_object_add(r, "done", f->have_total ? json_object_new_uint64(f->done) :
			       NULL);
	json_object_object_add(r, "rate", f->have_rate ? json_object_new_double(f->rate) : NULL);
	json_object_object_add(r, "eta", f->have_eta ? json_object_new_double(f->eta) : NULL);
	json_object_object_add(r, "elapsed", strcmp(f->state, "none") ?
			       json_object_new_double(f->elapsed) : NULL);
	json_object_object_add(r, "bytes", json_object_new_uint64(s->lg->replay_bytes));
	if (s->creating) {
		json_object_object_add(r, "end", NULL);
	} else {
		snprintf(ck, sizeof(ck), "%09" PRIu64 ":%" PRIu64, (uint64_t)s->lg->replay_seq,
			 (uint64_t)s->lg->replay_off);
		json_object_object_add(r, "end", json_object_new_string(ck));
	}
	return r;
}

static struct json_object *res_json(const struct res_status *s)
{
	struct json_object *o = json_object_new_object(), *e = json_object_new_array();
	const struct res_model *m = s->m;
	const struct mars_dev_info *d = s->d;

	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "member", json_object_new_boolean(m && m->member));
	json_object_object_add(o, "want", JSTR(m && m->member ?
			       (m->want_attach ? m->want_attach : "up") : NULL));
	json_object_object_add(o, "role", json_object_new_string(s->role));
	json_object_object_add(o, "designated_primary", JSTR(s->designated));
	json_object_object_add(o, "is_designated_primary",
			       json_object_new_boolean(s->is_designated));
	json_object_object_add(o, "disk", json_object_new_string(s->disk));
	json_object_object_add(o, "disk_reason", JSTR(s->disk_reason));
	json_object_object_add(o, "replication", JSTR(s->repl));
	json_object_object_add(o, "device", s->device[0] ? JSTR(s->device) : NULL);
	json_object_object_add(o, "backend", JSTR(d ? kdev_backend_name(d->backend) :
			       m && m->member ? kdev_backend_name(m->backend) : NULL));
	json_object_object_add(o, "data", JSTR(d ? d->data_path : m ? m->data : NULL));
	json_object_object_add(o, "log_dir", JSTR(m ? m->log_dir : NULL));
	json_object_object_add(o, "size_bytes", d ? json_object_new_uint64(d->dev_size) :
			       m && m->size ? json_object_new_uint64(m->size) : NULL);
	json_object_object_add(o, "open_count", s->device[0] ?
			       json_object_new_int64(d->open_count) : NULL);
	json_object_object_add(o, "sio_threads", d && d->backend == MARS_BACKEND_SIO ?
			       json_object_new_int64(d->sio_threads) : NULL);
	for (int i = 0; i < s->nerr; i++)
		json_object_array_add(e, json_object_new_string(s->err[i]));
	json_object_object_add(o, "errors", e);
	/* Logger figures for a logger device; unknown (null, never 0) otherwise. */
	if (s->lg && s->creating) {
		/* Replaying: no log is written and nothing is buffered yet. */
		json_object_object_add(o, "log", NULL);
		json_object_object_add(o, "writeback", NULL);
		json_object_object_add(o, "emergency", NULL);
		json_object_object_add(o, "replay", replay_json(s));
	} else if (s->lg) {
		struct json_object *l = json_object_new_object();
		struct json_object *w = json_object_new_object();
		char ck[48];

		json_object_object_add(l, "seq", json_object_new_uint64(s->lg->log_seq));
		json_object_object_add(l, "appended", json_object_new_uint64(s->lg->log_appended));
		json_object_object_add(l, "durable", json_object_new_uint64(s->lg->log_durable));
		json_object_object_add(l, "durable_rec_seq",
				       json_object_new_uint64(s->lg->durable_rec_seq));
		json_object_object_add(o, "log", l);
		snprintf(ck, sizeof(ck), "%09" PRIu64 ":%" PRIu64, (uint64_t)s->lg->wb_seq,
			 (uint64_t)s->lg->wb_off);
		json_object_object_add(w, "checkpoint", json_object_new_string(ck));
		json_object_object_add(w, "pending_bytes", json_object_new_uint64(s->lg->wb_pending));
		json_object_object_add(w, "lag_seconds", json_object_new_double(s->wb_lag_s));
		json_object_object_add(w, "throttled", json_object_new_boolean(
				       !!(s->lg->flags & MARS_RS_F_THROTTLED)));
		json_object_object_add(o, "writeback", w);
		json_object_object_add(o, "emergency", json_object_new_boolean(
				       !!(s->lg->flags & MARS_RS_F_EMERGENCY)));
		json_object_object_add(o, "replay", replay_json(s));
	} else {
		json_object_object_add(o, "log", NULL);
		json_object_object_add(o, "writeback", NULL);
		json_object_object_add(o, "emergency", NULL);
		json_object_object_add(o, "replay", NULL);
	}
	json_object_object_add(o, "sync", NULL);	/* replication */
	return o;
}

/* "replay [#####.....] 48% 12.1 MiB/s ETA 0:07" */
static void replay_plain(const struct replay_fig *f)
{
	char bar[11], rate[32] = "rate n/a", eta[32] = "ETA n/a";
	int pct, fill;

	if (!f->have_total) {
		printf("    replay: scanning the log (%.0f s)\n", f->elapsed);
		return;
	}
	pct = f->total ? (int)(f->done * 100 / f->total) : 100;
	fill = pct / 10;
	for (int i = 0; i < 10; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[10] = 0;
	if (f->have_rate)
		snprintf(rate, sizeof(rate), "%.1f MiB/s", f->rate / (1 << 20));
	if (!strcmp(f->state, "done")) {
		snprintf(eta, sizeof(eta), "done in %lu:%02lu", (unsigned long)f->elapsed / 60,
			 (unsigned long)f->elapsed % 60);
	} else if (f->have_eta) {
		unsigned long e = (unsigned long)(f->eta + 0.5);

		snprintf(eta, sizeof(eta), "ETA %lu:%02lu", e / 60, e % 60);
	}
	printf("    replay [%s] %d%% %s %s (%.1f of %.1f MiB)\n", bar, pct, rate, eta,
	       (double)f->done / (1 << 20), (double)f->total / (1 << 20));
}

static void res_plain(const struct res_status *s)
{
	const struct res_model *m = s->m;
	const struct mars_dev_info *d = s->d;

	printf("%s: role %s, designated primary %s%s\n", s->name, s->role,
	       s->designated ? s->designated : "none",
	       s->is_designated ? " (this host)" : "");
	printf("    disk %s%s%s%s, replication %s\n", s->disk,
	       s->disk_reason ? " (" : "", s->disk_reason ? s->disk_reason : "",
	       s->disk_reason ? ")" : "",
	       s->repl ? s->repl : "n/a (replication is not built yet)");
	if (d && s->creating) {
		printf("    no device yet (being created): %s over %s\n",
		       kdev_backend_name(d->backend), d->data_path);
	} else if (d) {
		printf("    device %s: %s over %s, %.1f MiB, open %u", s->device,
		       kdev_backend_name(d->backend), d->data_path,
		       (double)d->dev_size / (1 << 20), d->open_count);
		if (d->backend == MARS_BACKEND_SIO)
			printf(", %u sio threads", d->sio_threads);
		printf("\n");
	} else if (m && m->member) {
		printf("    no device; wants %s over %s, %.1f MiB\n",
		       kdev_backend_name(m->backend), m->data, (double)m->size / (1 << 20));
	}
	if (s->lg && s->creating) {
		replay_plain(&s->rp);
	} else if (s->lg) {
		char pend[32];

		snprintf(pend, sizeof(pend), "%.1f MiB", (double)s->lg->wb_pending / (1 << 20));
		printf("    log: file %09" PRIu64 ", %" PRIu64 " bytes durable; writeback "
		       "checkpoint %09" PRIu64 ":%" PRIu64 ", %s pending, lag %.1f s%s\n",
		       (uint64_t)s->lg->log_seq, (uint64_t)s->lg->log_durable,
		       (uint64_t)s->lg->wb_seq, (uint64_t)s->lg->wb_off, pend, s->wb_lag_s,
		       (s->lg->flags & MARS_RS_F_EMERGENCY) ? ", EMERGENCY" : "");
		if (!strcmp(s->rp.state, "done") && s->rp.total)
			replay_plain(&s->rp);
	} else if (m && m->member) {
		printf("    log, writeback, replay: n/a (no logger: no log_dir for this host)\n");
	}
	for (int i = 0; i < s->nerr; i++)
		printf("    error: %s\n", s->err[i]);
}

int do_status(int argc, char **argv)
{
	struct snapshot sn;
	const char *only = NULL;
	int rc = 1;

	memset(&sn, 0, sizeof(sn));
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		err_msg("usage: marsctl status [RES]");
		return 2;
	}
	if (argc == 2)
		only = argv[1];
	if (take_snapshot(&sn, only))
		goto out;
	if (only && !sn.nst) {
		err_msg("no resource '%s' in the store or the kernel", only);
		goto out;
	}
	if (g_opts.json) {
		struct json_object *o = json_object_new_object();
		struct json_object *a = json_object_new_array();

		json_object_object_add(o, "host", json_object_new_string(g_opts.host));
		json_object_object_add(o, "time_ns", json_object_new_uint64(sn.time_ns));
		json_object_object_add(o, "store", json_object_new_string(mstore_path()));
		json_object_object_add(o, "cluster", JSTR(sn.cluster));
		json_object_object_add(o, "module_loaded", json_object_new_boolean(sn.module));
		for (size_t i = 0; i < sn.nst; i++)
			json_object_array_add(a, res_json(&sn.st[i]));
		json_object_object_add(o, "resources", a);
		json_print(o);
	} else {
		printf("host %s, cluster %s, mars.ko %s, %zu resource%s\n", g_opts.host,
		       sn.cluster ? sn.cluster : "(none: run marsctl apply)",
		       sn.module ? "loaded" : "not loaded", sn.nst, sn.nst == 1 ? "" : "s");
		for (size_t i = 0; i < sn.nst; i++)
			res_plain(&sn.st[i]);
	}
	rc = 0;
out:
	free_snapshot(&sn);
	return rc;
}
