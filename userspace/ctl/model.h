/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control plane's view of the store: key/value snapshots, the per-resource
 * desired state for one host (docs/architecture.md, 8.2 and 8.4), and the
 * reconcile pass that makes the kernel match it.
 */
#ifndef MARSCTL_MODEL_H
#define MARSCTL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "kdev.h"
#include "store.h"

/* A snapshot of keys and values, sorted by key once complete. */
struct kv {
	char *key;
	char *val;		/* NUL-terminated copy of the value */
	uint64_t ts;		/* Lamport timestamp (0 when built from a config) */
	char *origin;		/* host that wrote it, or NULL */
};

struct kvset {
	struct kv *v;
	size_t n, cap;
};

int kvset_add(struct kvset *s, const char *key, const char *val, uint64_t ts,
	      const char *origin);
void kvset_sort(struct kvset *s);
const struct kv *kvset_find(const struct kvset *s, const char *key);
/* Set @key to @val in a sorted set: replace the value, or add and re-sort. */
int kvset_set(struct kvset *s, const char *key, const char *val);
const char *kvset_get(const struct kvset *s, const char *key);
void kvset_free(struct kvset *s);

/* Path of the journal, from --store. */
const char *mstore_path(void);
/* Open the store: a writer (waits for the lock up to --lock-timeout, creates the
 * journal) or a reader. Returns 0 or -errno with the message printed. */
int mstore_open(bool writer, struct store **sp);
/* Load every entry under @prefix from an open store, sorted. */
int mstore_load(struct store *s, const char *prefix, struct kvset *out);
/* Open a reader, load @prefix, close. A missing journal gives an empty set. */
int mstore_snapshot(const char *prefix, struct kvset *out);

/* Desired state of one resource for one host, pointing into a kvset. */
struct res_model {
	char name[64];
	bool member;		/* /res/<r>/hosts/<h>/data exists */
	const char *data;	/* data device path, or NULL */
	const char *log_dir;	/* or NULL: no logger */
	const char *writeback;	/* /res/<r>/@<h>/writeback: persisted checkpoint SEQ:OFF */
	const char *primary;	/* designated primary, NULL or "" = none */
	const char *want_attach; /* "up", "down", or NULL (= up) */
	const char *error;	/* /res/<r>/@<h>/error, or NULL */
	uint32_t backend;	/* enum mars_backend, 0 if unknown */
	uint32_t sio_threads;
	uint64_t size;		/* bytes */
	bool data_exists;	/* stat(data) succeeded */
	bool want;		/* should be in the module */
	const char *why_not;	/* if !want and member: the reason */
};

/* The resources named under /res/ in @kv, as seen by @host. *out is malloc'ed. */
int model_resources(const struct kvset *kv, const char *host, struct res_model **out,
		    size_t *n);

/* Module access for reconcile: open /dev/mars-ctl, loading mars.ko first if
 * @load and it is missing (--module PATH, or modprobe). -ENOENT: not loaded. */
int model_ctl_open(bool load);

/* One reconcile pass for --host over the desired state @kv (see reconcile.c).
 * @force: delete open devices. @dry: plan only. Reports each action on stdout (human)
 * or appends it to @jactions (JSON). *changes counts actions planned or done,
 * *failed the ones that failed. Returns 0, or -errno when the pass could not run. */
int reconcile_pass(const struct kvset *kv, bool force, bool dry,
		   struct json_object *jactions, int *changes, int *failed);

/* Devices of this host that a pass over @kv would delete while they are open. */
int reconcile_busy(const struct kvset *kv, char *names, size_t size);

/* 32 random hex digits. */
void model_uuid(char out[33]);
/* Read a decimal u64; -EINVAL if not entirely a number. */
int parse_u64(const char *s, uint64_t *v);

#endif /* MARSCTL_MODEL_H */
