// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl get | ls | history | put | del | store (repair | compact | info): direct
 * access to the store (docs/journal-format.md). put and del are low-level tools for
 * tests and repair: they bypass apply's validation (the library still checks keys,
 * sizes and ownership).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marsctl.h"
#include "model.h"

static struct json_object *entry_json(const struct store_entry *e)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "key", json_object_new_string(e->key));
	json_object_object_add(o, "value", e->tombstone ? NULL :
			       json_object_new_string_len(e->value ? e->value : "",
							  (int)e->value_len));
	json_object_object_add(o, "ts", json_object_new_uint64(e->ts));
	json_object_object_add(o, "origin", json_object_new_string(e->origin));
	json_object_object_add(o, "deleted", json_object_new_boolean(e->tombstone));
	return o;
}

static int open_reader(struct store **s)
{
	int err = mstore_open(false, s);

	if (err == -ENOENT)
		err_msg("no store at %s (see --store; marsctl apply creates it)", mstore_path());
	return err;
}

static int usage(const char *u)
{
	err_msg("usage: marsctl %s", u);
	return 2;
}

int do_get(int argc, char **argv)
{
	struct store *s;
	struct store_entry e;
	struct store_error se;
	int rc = 1;

	if (argc != 2)
		return usage("get KEY");
	if (open_reader(&s))
		return 1;
	if (store_get(s, argv[1], 0, &e, &se)) {
		err_msg("%s", se.code == -ENOENT ? "no such key" : se.msg);
	} else {
		if (g_opts.json)
			json_print(entry_json(&e));
		else
			printf("%.*s\n", (int)e.value_len, e.value ? (const char *)e.value : "");
		rc = 0;
	}
	store_close(s);
	return rc;
}

struct ls_ctx {
	struct json_object *a;
	bool values;
};

static int ls_cb(const struct store_entry *e, void *arg)
{
	struct ls_ctx *l = arg;

	if (l->a)
		json_object_array_add(l->a, entry_json(e));
	else if (e->tombstone)
		printf("%s (deleted)\n", e->key);
	else
		printf("%s = %.*s\n", e->key, (int)e->value_len,
		       e->value ? (const char *)e->value : "");
	return 0;
}

int do_ls(int argc, char **argv)
{
	struct ls_ctx l = { 0 };
	struct store *s;
	struct store_error se;
	int rc = 1;

	if (argc > 2)
		return usage("ls [PREFIX]");
	if (open_reader(&s))
		return 1;
	l.a = g_opts.json ? json_object_new_array() : NULL;
	if (store_list(s, argc == 2 ? argv[1] : "/", 0, ls_cb, &l, &se) < 0) {
		err_msg("%s", se.msg);
		json_object_put(l.a);
	} else {
		if (l.a)
			json_print(l.a);
		rc = 0;
	}
	store_close(s);
	return rc;
}

static int hist_cb(const struct store_entry *e, void *arg)
{
	struct ls_ctx *l = arg;

	if (l->a)
		json_object_array_add(l->a, entry_json(e));
	else if (e->tombstone)
		printf("%" PRIu64 " %s (deleted)\n", e->ts, e->origin);
	else
		printf("%" PRIu64 " %s %.*s\n", e->ts, e->origin, (int)e->value_len,
		       e->value ? (const char *)e->value : "");
	return 0;
}

int do_history(int argc, char **argv)
{
	struct ls_ctx l = { 0 };
	struct store *s;
	struct store_error se;
	int rc = 1;

	if (argc != 2)
		return usage("history KEY");
	if (open_reader(&s))
		return 1;
	l.a = g_opts.json ? json_object_new_array() : NULL;
	if (store_history(s, argv[1], 0, hist_cb, &l, &se) < 0) {
		err_msg("%s", se.msg);
		json_object_put(l.a);
	} else {
		if (l.a)
			json_print(l.a);
		rc = 0;
	}
	store_close(s);
	return rc;
}

/* put KEY VALUE / del KEY: one batch each. */
static int write_one(const char *key, const char *val)
{
	struct store *s;
	struct store_batch *b = store_batch_new();
	struct store_error se;
	uint64_t ts = 0;
	int rc = 1;

	if (!b) {
		err_msg("out of memory");
		return 1;
	}
	if (mstore_open(true, &s))
		goto out_b;
	if ((val ? store_batch_put(b, key, val, strlen(val), &se) :
	     store_batch_delete(b, key, &se)) || store_commit(s, b, &ts, &se)) {
		err_msg("%s", se.msg);
		goto out;
	}
	/* acknowledged: the batch is durable (fdatasync) */
	if (g_opts.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "key", json_object_new_string(key));
		json_object_object_add(o, val ? "put" : "deleted", json_object_new_boolean(1));
		json_object_object_add(o, "ts", json_object_new_uint64(ts));
		json_print(o);
	} else {
		printf("%s %s ts %" PRIu64 "\n", val ? "put" : "del", key, ts);
	}
	rc = 0;
out:
	store_close(s);
out_b:
	store_batch_free(b);
	return rc;
}

int do_put(int argc, char **argv)
{
	if (argc != 3)
		return usage("put KEY VALUE");
	return write_one(argv[1], argv[2]);
}

int do_del(int argc, char **argv)
{
	if (argc != 2)
		return usage("del KEY");
	return write_one(argv[1], NULL);
}

static void stats_out(struct json_object *o, const struct store_stats *st)
{
	if (o) {
		json_object_object_add(o, "file_bytes", json_object_new_uint64(st->file_bytes));
		json_object_object_add(o, "live_bytes", json_object_new_uint64(st->live_bytes));
		json_object_object_add(o, "dead_bytes", json_object_new_uint64(st->dead_bytes));
		json_object_object_add(o, "records", json_object_new_uint64(st->records));
		json_object_object_add(o, "keys", json_object_new_uint64(st->keys));
		json_object_object_add(o, "tombstones", json_object_new_uint64(st->tombstones));
		json_object_object_add(o, "clock", json_object_new_uint64(st->clock));
		json_object_object_add(o, "generation", json_object_new_uint64(st->generation));
		json_object_object_add(o, "host", json_object_new_string(st->host));
		return;
	}
	printf("  %" PRIu64 " bytes (%" PRIu64 " live, %" PRIu64 " dead), %" PRIu64
	       " records, %" PRIu64 " keys (%" PRIu64 " deleted), clock %" PRIu64
	       ", generation %" PRIu64 "\n", st->file_bytes, st->live_bytes, st->dead_bytes,
	       st->records, st->keys, st->tombstones, st->clock, st->generation);
}

static int store_info(int argc, char **argv)
{
	struct store *s;
	struct store_stats st;
	struct json_object *o = g_opts.json ? json_object_new_object() : NULL;

	(void)argv;
	if (argc != 1) {
		json_object_put(o);
		return usage("store info");
	}
	if (open_reader(&s)) {
		json_object_put(o);
		return 1;
	}
	store_stats(s, &st);
	if (o)
		json_object_object_add(o, "path", json_object_new_string(mstore_path()));
	else
		printf("%s (host %s):\n", mstore_path(), st.host);
	stats_out(o, &st);
	if (o)
		json_print(o);
	store_close(s);
	return 0;
}

static int store_compact_cmd(int argc, char **argv)
{
	struct store *s;
	struct store_stats a, b;
	struct store_error se;
	struct json_object *o;

	(void)argv;
	if (argc != 1)
		return usage("store compact");
	if (mstore_open(true, &s))
		return 1;
	store_stats(s, &a);
	if (store_compact(s, &se)) {
		err_msg("%s", se.msg);
		store_close(s);
		return 1;
	}
	store_stats(s, &b);
	if (g_opts.json) {
		struct json_object *x = json_object_new_object(), *y = json_object_new_object();

		o = json_object_new_object();
		stats_out(x, &a);
		stats_out(y, &b);
		json_object_object_add(o, "before", x);
		json_object_object_add(o, "after", y);
		json_print(o);
	} else {
		printf("compacted %s: %" PRIu64 " -> %" PRIu64 " bytes\n", mstore_path(),
		       a.file_bytes, b.file_bytes);
	}
	store_close(s);
	return 0;
}

static int store_repair_cmd(int argc, char **argv)
{
	struct store_options o;
	struct store_repair_report rep;
	struct store_error se;

	(void)argv;
	if (argc != 1)
		return usage("store repair");
	store_options_init(&o);
	o.lock_timeout_ms = g_opts.lock_timeout_ms;
	memset(&rep, 0, sizeof(rep));
	if (store_repair(mstore_path(), &o, &rep, &se)) {
		err_msg("%s", se.msg);
		return 1;
	}
	if (g_opts.json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "path", json_object_new_string(mstore_path()));
		json_object_object_add(j, "damaged", json_object_new_boolean(rep.damaged));
		json_object_object_add(j, "reason", (rep.reason[0] ? json_object_new_string(rep.reason) : NULL));
		json_object_object_add(j, "bad_offset", rep.damaged ?
				       json_object_new_uint64(rep.bad_offset) : NULL);
		json_object_object_add(j, "kept_bytes", json_object_new_uint64(rep.kept_bytes));
		json_object_object_add(j, "saved_bytes", json_object_new_uint64(rep.saved_bytes));
		json_object_object_add(j, "saved_path", (rep.saved_path[0] ? json_object_new_string(rep.saved_path) : NULL));
		json_object_object_add(j, "torn_bytes", json_object_new_uint64(rep.torn_bytes));
		json_print(j);
	} else if (rep.damaged) {
		printf("repaired %s: %s at offset %" PRIu64 "; kept %" PRIu64 " bytes, saved %"
		       PRIu64 " bytes to %s\n", mstore_path(), rep.reason, rep.bad_offset,
		       rep.kept_bytes, rep.saved_bytes, rep.saved_path);
	} else {
		printf("%s is intact (%" PRIu64 " bytes%s)\n", mstore_path(), rep.kept_bytes,
		       rep.torn_bytes ? ", torn tail cut" : "");
	}
	return 0;
}

static const struct cmd store_cmds[] = {
	{ "info", store_info, "info" },
	{ "compact", store_compact_cmd, "compact" },
	{ "repair", store_repair_cmd, "repair" },
	{ NULL, NULL, NULL },
};

int do_store(int argc, char **argv)
{
	if (argc < 2) {
		err_msg("usage: marsctl store { info | compact | repair }");
		return 2;
	}
	return cmd_dispatch(store_cmds, "store command", argc - 1, argv + 1);
}
