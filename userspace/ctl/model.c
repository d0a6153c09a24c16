// SPDX-License-Identifier: GPL-2.0
/*
 * Store snapshots and the per-host desired state of resources; see model.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "marsctl.h"
#include "model.h"

const char *mstore_path(void)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/journal", g_opts.store_dir);
	return path;
}

int mstore_open(bool writer, struct store **sp)
{
	struct store_options o;
	struct store_error se;
	int err;

	store_options_init(&o);
	if (writer) {
		o.host = g_opts.host;
		o.flags = STORE_O_CREATE;
		o.lock_timeout_ms = g_opts.lock_timeout_ms;
		if (mkdir(g_opts.store_dir, 0700) && errno != EEXIST) {
			err = -errno;
			err_msg("cannot create the store directory %s: %s", g_opts.store_dir,
				strerror(errno));
			return err;
		}
	} else {
		o.flags = STORE_O_READONLY;
	}
	err = store_open(mstore_path(), &o, sp, &se);
	if (err == -ENOENT && !writer)
		return err;	/* callers treat a missing store as empty */
	if (err == -EBUSY)
		err_msg("%s (waited %u ms for the writer lock; see --lock-timeout)", se.msg,
			g_opts.lock_timeout_ms);
	else if (err)
		err_msg("%s", se.msg);
	return err;
}

struct load_ctx {
	struct kvset *out;
	int err;
};

static int load_cb(const struct store_entry *e, void *arg)
{
	struct load_ctx *l = arg;
	char *val = malloc(e->value_len + 1);

	if (!val) {
		l->err = -ENOMEM;
		return 1;
	}
	if (e->value_len)
		memcpy(val, e->value, e->value_len);
	val[e->value_len] = 0;
	l->err = kvset_add(l->out, e->key, val, e->ts, e->origin);
	free(val);
	return l->err ? 1 : 0;
}

int mstore_load(struct store *s, const char *prefix, struct kvset *out)
{
	struct load_ctx l = { .out = out };
	struct store_error se;
	int err = store_list(s, prefix, 0, load_cb, &l, &se);

	if (l.err) {
		err_msg("out of memory reading the store");
		return l.err;
	}
	if (err < 0) {
		err_msg("%s", se.msg);
		return err;
	}
	kvset_sort(out);	/* already in key order; sorting keeps kvset_find honest */
	return 0;
}

int mstore_snapshot(const char *prefix, struct kvset *out)
{
	struct store *s;
	int err = mstore_open(false, &s);

	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	err = mstore_load(s, prefix, out);
	store_close(s);
	return err;
}

int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !s[0] || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* The resource component of a /res/<r>/... key, copied to @name. */
static int res_of_key(const char *key, char *name, size_t size)
{
	const char *p, *slash;

	if (strncmp(key, "/res/", 5))
		return 0;
	p = key + 5;
	slash = strchr(p, '/');
	if (!slash || (size_t)(slash - p) >= size || slash == p)
		return 0;
	memcpy(name, p, (size_t)(slash - p));
	name[slash - p] = 0;
	return 1;
}

/* kv value of "/res/<r>/<pre><host><post>" (@host may be NULL). */
static const char *res_get(const struct kvset *kv, const char *r, const char *pre,
			   const char *host, const char *post)
{
	char key[STORE_KEY_MAX + 1];

	snprintf(key, sizeof(key), "/res/%s/%s%s%s", r, pre, host ? host : "", post);
	return kvset_get(kv, key);
}

int model_resources(const struct kvset *kv, const char *host, struct res_model **out,
		    size_t *n)
{
	struct res_model *v = NULL;
	size_t cnt = 0, cap = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < kv->n; i++) {
		char name[64];

		if (!res_of_key(kv->v[i].key, name, sizeof(name)))
			continue;
		/* keys are sorted, so a resource's keys are contiguous */
		if (cnt && !strcmp(v[cnt - 1].name, name))
			continue;
		if (cnt == cap) {
			struct res_model *nv;

			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		memset(&v[cnt], 0, sizeof(v[cnt]));
		snprintf(v[cnt].name, sizeof(v[cnt].name), "%s", name);
		cnt++;
	}
	for (size_t i = 0; i < cnt; i++) {
		struct res_model *r = &v[i];
		const char *s;
		uint64_t x;
		struct stat st;

		r->data = res_get(kv, r->name, "hosts/", host, "/data");
		r->member = r->data != NULL;
		r->log_dir = res_get(kv, r->name, "hosts/", host, "/log-dir");
		r->writeback = res_get(kv, r->name, "@", host, "/writeback");
		r->primary = res_get(kv, r->name, "primary", NULL, "");
		r->want_attach = res_get(kv, r->name, "@", host, "/want/attach");
		r->error = res_get(kv, r->name, "@", host, "/error");
		s = res_get(kv, r->name, "hosts/", host, "/io");
		r->backend = s ? kdev_backend_parse(s) : MARS_BACKEND_SIO;
		s = res_get(kv, r->name, "hosts/", host, "/sio-threads");
		if (s && !parse_u64(s, &x) && x <= MARS_SIO_THREADS_MAX)
			r->sio_threads = (uint32_t)x;
		s = res_get(kv, r->name, "size", NULL, "");
		if (s && !parse_u64(s, &x))
			r->size = x;
		r->data_exists = r->data && !stat(r->data, &st);

		if (!r->member)
			r->why_not = "not a member";
		else if (r->want_attach && !strcmp(r->want_attach, "down"))
			r->why_not = "down by request (marsctl up to attach)";
		else if (!r->backend)
			r->why_not = "unknown backend in the store";
		else if (!r->data_exists)
			r->why_not = "data device missing";
		else
			r->want = true;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static int run_cmd(char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (!pid) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd >= 0)
			dup2(fd, 0);
		dup2(2, 1);	/* keep stdout clean for --json */
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -EIO;
}

int model_ctl_open(bool load)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	if (access(g_opts.ctl_path, F_OK) && errno == ENOENT) {
		int err;

		if (!load)
			return -ENOENT;
		if (g_opts.module) {
			char *argv[] = { "insmod", (char *)g_opts.module, NULL };

			err = run_cmd(argv);
		} else {
			char *argv[] = { "modprobe", "mars", NULL };

			err = run_cmd(argv);
		}
		if (err) {
			err_msg("cannot load mars.ko with %s%s (use --module PATH)",
				g_opts.module ? "insmod " : "modprobe mars",
				g_opts.module ? g_opts.module : "");
			return -ENOENT;
		}
		if (!g_opts.json)
			printf("reconcile: loaded mars.ko (%s)\n",
			       g_opts.module ? g_opts.module : "modprobe mars");
		/* devtmpfs creates the node right away; udev may rename: wait up to 5 s */
		for (int i = 0; i < 100 && access(g_opts.ctl_path, F_OK); i++)
			nanosleep(&ts, NULL);
	}
	return ctl_open();
}

void model_uuid(char out[33])
{
	unsigned char b[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, b, sizeof(b)) : -1;

	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)sizeof(b)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		srandom((unsigned int)(ts.tv_nsec ^ getpid()));
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)random();
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}
