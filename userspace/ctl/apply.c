// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl apply -f FILE [--dry-run] [--force]: make the store describe FILE
 * (docs/config.md), in one batch, then reconcile this host's kernel to it.
 *
 * Keys managed by apply are the shared keys under /cluster/ and /res/ (no owner
 * tag). The plan is the difference between FILE's keys and the store's, grouped by
 * object (cluster, host, tunable, resource) as create / change / remove. Removing a
 * resource also removes this host's own keys of it (/res/<r>/@<me>/...); other
 * hosts' owned keys can only be removed by them (journal-format.md, 5.3).
 *
 * Nothing is written when the file is invalid, on --dry-run, or when the plan would
 * delete or rebuild a device that is open and --force is not given.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "marsctl.h"
#include "model.h"

enum { OP_PUT, OP_DEL };

struct op {
	int kind;
	const char *key;
	const char *old;	/* NULL: absent */
	const char *val;	/* NULL for a delete */
};

/* A key apply owns: shared, under /cluster/ or /res/. */
static bool managed(const char *key)
{
	return (!strncmp(key, "/cluster/", 9) || !strncmp(key, "/res/", 5)) &&
	       !strstr(key, "/@");
}

/* Object of a key: "cluster", "host", "tunable", "resource"; its name in @name. */
static const char *object_of(const char *key, char *name, size_t size)
{
	const char *p;
	size_t len;

	if (!strncmp(key, "/cluster/hosts/", 15)) {
		p = key + 15;
	} else if (!strncmp(key, "/cluster/tunables/", 18)) {
		snprintf(name, size, "%s", key + 18);
		return "tunable";
	} else if (!strncmp(key, "/res/", 5)) {
		p = key + 5;
	} else {
		snprintf(name, size, "%s", "");
		return "cluster";
	}
	len = strcspn(p, "/");
	snprintf(name, size, "%.*s", (int)len, p);
	return p == key + 15 ? "host" : "resource";
}

static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t cap = 65536, n = 0;
	char *b;

	if (!f)
		return -errno;
	b = malloc(cap);
	while (b) {
		size_t got = fread(b + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
		if (n == cap) {
			char *nb = cap >= (64u << 20) ? NULL : realloc(b, cap * 2);

			if (!nb) {
				free(b);
				b = NULL;
				errno = E2BIG;
				break;
			}
			b = nb;
			cap *= 2;
		}
	}
	if (b && ferror(f)) {
		free(b);
		b = NULL;
		errno = EIO;
	}
	if (f != stdin)
		fclose(f);
	if (!b)
		return -errno;
	*buf = b;
	*len = n;
	return 0;
}

static void print_errors(const struct cfg_errors *e)
{
	unsigned int shown = e->n < CFG_MAX_ERRORS ? e->n : CFG_MAX_ERRORS;

	if (g_opts.json) {
		struct json_object *o = json_object_new_object();
		struct json_object *a = json_object_new_array();

		for (unsigned int i = 0; i < shown; i++)
			json_object_array_add(a, json_object_new_string(e->msg[i]));
		json_object_object_add(o, "error", json_object_new_string(e->msg[0]));
		json_object_object_add(o, "errors", a);
		json_object_object_add(o, "error_count", json_object_new_int((int)e->n));
		json_print(o);
		return;
	}
	for (unsigned int i = 0; i < shown; i++)
		fprintf(stderr, "%s\n", e->msg[i]);
	if (e->n > shown)
		fprintf(stderr, "... and %u more errors\n", e->n - shown);
	fprintf(stderr, "marsctl: %u error%s; nothing was changed\n", e->n,
		e->n == 1 ? "" : "s");
}

/* Collect the ops turning @cur into @want. */
static int diff(const struct kvset *cur, const struct kvset *want,
		const struct config *c, struct op **ops, size_t *nops)
{
	struct op *v = calloc(cur->n + want->n + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < want->n; i++) {
		const char *old = kvset_get(cur, want->v[i].key);

		if (!old || strcmp(old, want->v[i].val))
			v[n++] = (struct op){ OP_PUT, want->v[i].key, old, want->v[i].val };
	}
	for (size_t i = 0; i < cur->n; i++) {
		const char *key = cur->v[i].key;
		bool drop = managed(key) && !kvset_find(want, key);
		char name[64], own[128];

		/* this host's own keys of a resource that goes away */
		if (!drop && !strncmp(key, "/res/", 5) &&
		    !strcmp(object_of(key, name, sizeof(name)), "resource")) {
			bool kept = false;

			snprintf(own, sizeof(own), "/res/%s/@%s/", name, g_opts.host);
			for (size_t r = 0; r < c->nres; r++)
				kept |= !strcmp(c->res[r].name, name);
			drop = !kept && !strncmp(key, own, strlen(own));
		}
		if (drop)
			v[n++] = (struct op){ OP_DEL, key, cur->v[i].val, NULL };
	}
	*ops = v;
	*nops = n;
	return 0;
}

struct plan_obj {
	const char *type;
	char name[64];
	const char *what;	/* create, change, remove */
	struct json_object *changes;
};

/* Group ops by object and print or collect the plan. */
static struct json_object *plan_json(const struct kvset *cur, const struct op *ops,
				     size_t nops)
{
	struct json_object *plan = json_object_new_array();
	struct plan_obj *objs = calloc(nops + 1, sizeof(*objs));
	size_t no = 0;

	if (!objs)
		return plan;
	for (size_t i = 0; i < nops; i++) {
		char name[64];
		const char *type = object_of(ops[i].key, name, sizeof(name));
		struct plan_obj *o = NULL;
		struct json_object *ch;

		for (size_t j = 0; j < no; j++)
			if (objs[j].type == type && !strcmp(objs[j].name, name))
				o = &objs[j];
		if (!o) {
			bool existed = false, stays = false;

			o = &objs[no++];
			o->type = type;
			snprintf(o->name, sizeof(o->name), "%s", name);
			o->changes = json_object_new_array();
			for (size_t k = 0; k < cur->n; k++) {
				char n2[64];

				if (managed(cur->v[k].key) &&
				    object_of(cur->v[k].key, n2, sizeof(n2)) == type &&
				    !strcmp(n2, name))
					existed = true;
			}
			for (size_t k = 0; k < nops; k++) {
				char n2[64];

				if (ops[k].kind == OP_PUT &&
				    object_of(ops[k].key, n2, sizeof(n2)) == type &&
				    !strcmp(n2, name))
					stays = true;
			}
			/* an object with no put left and existing keys: removed */
			o->what = !existed ? "create" : "change";
			if (existed && !stays) {
				bool any_left = false;

				for (size_t k = 0; k < cur->n && !any_left; k++) {
					char n2[64];
					bool deleted = false;

					if (!managed(cur->v[k].key) ||
					    object_of(cur->v[k].key, n2, sizeof(n2)) != type ||
					    strcmp(n2, name))
						continue;
					for (size_t m = 0; m < nops; m++)
						deleted |= ops[m].kind == OP_DEL &&
							   !strcmp(ops[m].key, cur->v[k].key);
					any_left = !deleted;
				}
				if (!any_left)
					o->what = "remove";
			}
		}
		ch = json_object_new_object();
		json_object_object_add(ch, "key", json_object_new_string(ops[i].key));
		json_object_object_add(ch, "old", ops[i].old ?
				       json_object_new_string(ops[i].old) : NULL);
		json_object_object_add(ch, "new", ops[i].val ?
				       json_object_new_string(ops[i].val) : NULL);
		json_object_array_add(o->changes, ch);
	}
	for (size_t j = 0; j < no; j++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "op", json_object_new_string(objs[j].what));
		json_object_object_add(o, "object", json_object_new_string(objs[j].type));
		json_object_object_add(o, "name", json_object_new_string(objs[j].name));
		json_object_object_add(o, "changes", objs[j].changes);
		json_object_array_add(plan, o);
	}
	free(objs);
	return plan;
}

static void print_plan(struct json_object *plan, bool dry)
{
	size_t n = json_object_array_length(plan);

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(plan, i), *x, *ch;
		const char *name;

		json_object_object_get_ex(o, "name", &x);
		name = json_object_get_string(x);
		json_object_object_get_ex(o, "op", &x);
		printf("%s%s ", dry ? "would " : "", json_object_get_string(x));
		json_object_object_get_ex(o, "object", &x);
		printf("%s%s%s\n", json_object_get_string(x), name[0] ? " " : "", name);
		json_object_object_get_ex(o, "changes", &ch);
		for (size_t k = 0; k < json_object_array_length(ch); k++) {
			struct json_object *c = json_object_array_get_idx(ch, k), *key, *old, *nw;

			json_object_object_get_ex(c, "key", &key);
			json_object_object_get_ex(c, "old", &old);
			json_object_object_get_ex(c, "new", &nw);
			if (!old)
				printf("    + %s = %s\n", json_object_get_string(key),
				       json_object_get_string(nw));
			else if (!nw)
				printf("    - %s (was %s)\n", json_object_get_string(key),
				       json_object_get_string(old));
			else
				printf("    ~ %s: %s -> %s\n", json_object_get_string(key),
				       json_object_get_string(old), json_object_get_string(nw));
		}
	}
}

int do_apply(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL;
	bool dry = false, force = false;
	struct config c;
	struct cfg_errors *errs = calloc(1, sizeof(*errs));
	struct kvset want = { 0 }, cur = { 0 }, next = { 0 };
	struct store *s = NULL;
	struct store_batch *b = NULL;
	struct store_error se;
	struct op *ops = NULL;
	struct json_object *plan = NULL, *ja = NULL;
	size_t nops = 0, len = 0;
	char *buf = NULL, uuid[33], key[STORE_KEY_MAX + 1], busy[512];
	uint64_t ts = 0;
	int opt, rc = 1, err, changes = 0, failed = 0;

	memset(&c, 0, sizeof(c));
	optind = 0;	/* glibc: re-initialise, so main's "+" (stop at the first non-option) is dropped */
	while ((opt = getopt_long(argc, argv, "f:nF", lo, NULL)) != -1) {
		switch (opt) {
		case 'f':
			file = optarg;
			break;
		case 'n':
			dry = true;
			break;
		case 'F':
			force = true;
			break;
		default:
			goto usage;
		}
	}
	if (!file || optind != argc)
		goto usage;
	if (!errs) {
		err_msg("out of memory");
		goto out;
	}
	err = read_file(file, &buf, &len);
	if (err) {
		err_msg("cannot read %s: %s", file, strerror(-err));
		goto out;
	}
	err = config_parse(strcmp(file, "-") ? file : "<stdin>", buf, len, g_opts.host, &c,
			   errs);
	if (err == -EINVAL) {
		print_errors(errs);
		goto out;
	}
	if (err || config_to_kv(&c, &want)) {
		err_msg("out of memory");
		goto out;
	}
	/* The store: a reader for a dry run (a missing journal is an empty store). */
	if (dry) {
		err = mstore_open(false, &s);
		if (err && err != -ENOENT)
			goto out;
		if (!err && mstore_load(s, "/", &cur))
			goto out;
	} else if (mstore_open(true, &s) || mstore_load(s, "/", &cur)) {
		goto out;
	}
	/* UUIDs are created once and kept (architecture.md 8.3). */
	if (!kvset_get(&cur, "/cluster/uuid")) {
		model_uuid(uuid);
		kvset_add(&want, "/cluster/uuid", uuid, 0, NULL);
	} else {
		kvset_add(&want, "/cluster/uuid", kvset_get(&cur, "/cluster/uuid"), 0, NULL);
	}
	for (size_t i = 0; i < c.nres; i++) {
		const char *old;

		snprintf(key, sizeof(key), "/res/%s/uuid", c.res[i].name);
		old = kvset_get(&cur, key);
		if (!old)
			model_uuid(uuid);
		kvset_add(&want, key, old ? old : uuid, 0, NULL);
	}
	kvset_sort(&want);
	if (diff(&cur, &want, &c, &ops, &nops))
		goto nomem;

	/* The state after the batch: the wanted keys plus everything apply keeps. */
	for (size_t i = 0; i < want.n; i++)
		if (kvset_add(&next, want.v[i].key, want.v[i].val, 0, NULL))
			goto nomem;
	for (size_t i = 0; i < cur.n; i++) {
		bool deleted = false;

		if (managed(cur.v[i].key))
			continue;
		for (size_t k = 0; k < nops; k++)
			deleted |= ops[k].kind == OP_DEL && !strcmp(ops[k].key, cur.v[i].key);
		if (!deleted && kvset_add(&next, cur.v[i].key, cur.v[i].val, 0, NULL))
			goto nomem;
	}
	kvset_sort(&next);

	if (!force && reconcile_busy(&next, busy, sizeof(busy))) {
		err_msg("refusing to remove or rebuild open device(s) %s on host %s; nothing "
			"was changed (close them, or use --force)", busy, g_opts.host);
		goto out;
	}
	plan = plan_json(&cur, ops, nops);
	if (!dry && nops) {
		b = store_batch_new();
		if (!b)
			goto nomem;
		for (size_t i = 0; i < nops; i++) {
			err = ops[i].kind == OP_PUT ?
			      store_batch_put(b, ops[i].key, ops[i].val, strlen(ops[i].val), &se) :
			      store_batch_delete(b, ops[i].key, &se);
			if (err) {
				err_msg("%s", se.msg);
				goto out;
			}
		}
		if (store_commit(s, b, &ts, &se)) {
			err_msg("%s", se.msg);
			goto out;
		}
	}
	if (!g_opts.json) {
		print_plan(plan, dry);
		if (nops && !dry)
			printf("store: %zu key%s changed in one batch (ts %" PRIu64 ")\n", nops,
			       nops == 1 ? "" : "s", ts);
	}
	ja = g_opts.json ? json_object_new_array() : NULL;
	/* Kernel: with the writer lock still held, so concurrent applies serialize. */
	if (reconcile_pass(&next, force, dry, ja, &changes, &failed))
		goto out;
	if (g_opts.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(file));
		json_object_object_add(o, "host", json_object_new_string(g_opts.host));
		json_object_object_add(o, "dry_run", json_object_new_boolean(dry));
		json_object_object_add(o, "changed", json_object_new_boolean(nops || changes));
		json_object_object_add(o, "plan", plan);
		json_object_object_add(o, "batch_ts", !dry && nops ?
				       json_object_new_uint64(ts) : NULL);
		json_object_object_add(o, "kernel", ja);
		json_object_object_add(o, "failed", json_object_new_int(failed));
		json_print(o);
		plan = ja = NULL;
	} else if (!nops && !changes) {
		printf("apply: nothing to do; the store and host %s already match %s\n",
		       g_opts.host, file);
	} else if (dry) {
		printf("dry run: nothing was changed\n");
	}
	rc = failed ? 1 : 0;
	goto out;
nomem:
	err_msg("out of memory");
	goto out;
usage:
	err_msg("usage: marsctl apply -f FILE [--dry-run] [--force]");
	rc = 2;
out:
	json_object_put(plan);
	json_object_put(ja);
	store_batch_free(b);
	if (s)
		store_close(s);
	free(ops);
	kvset_free(&want);
	kvset_free(&cur);
	kvset_free(&next);
	config_free(&c);
	free(errs);
	free(buf);
	return rc;
}
