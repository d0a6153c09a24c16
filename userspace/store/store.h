/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libmarsstore: the persistent metadata store of the MARS control plane.
 *
 * A hierarchical key -> value map kept in an append-only journal, one per host.
 * The on-disk format, the recovery rules (torn tail versus corruption), merging,
 * compaction and repair are specified in docs/journal-format.md; read that first.
 *
 * Conventions:
 *  - every function that can fail returns 0 or a negative errno and, if @err is not
 *    NULL, fills it with a human message (and a byte offset where one applies);
 *  - the library never exits, aborts or prints; it has no global state;
 *  - a struct store is not thread-safe: callers serialize calls on one handle;
 *  - pointers handed out in a struct store_entry stay valid until the next call that
 *    modifies the store (commit, merge, compact, close); entries passed to a callback
 *    are valid only during that callback.
 */
#ifndef MARS_STORE_H
#define MARS_STORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Limits (docs/journal-format.md, section 5.4). */
#define STORE_KEY_MAX		1024u		/* bytes, -ENAMETOOLONG */
#define STORE_VALUE_MAX		(1u << 20)	/* bytes, -EMSGSIZE */
#define STORE_BATCH_MAX		(4u << 20)	/* encoded payload bytes, -E2BIG */
#define STORE_BATCH_MAX_OPS	65536u		/* ops per batch, -E2BIG */
#define STORE_HOST_MAX		63u		/* host name bytes */
#define STORE_MAX_ORIGINS	4096u		/* distinct hosts one store knows */
#define STORE_TS_MAX		((UINT64_C(1) << 63) - 1)	/* largest timestamp */

/* No byte offset applies to an error. */
#define STORE_NO_OFFSET		UINT64_MAX

struct store_error {
	int code;		/* negative errno, equal to the return value */
	uint64_t offset;	/* journal byte offset, or STORE_NO_OFFSET */
	char msg[768];		/* one line, no trailing newline */
};

/* store_options.flags */
enum {
	STORE_O_READONLY = 1u << 0,	/* reader: no lock, no truncation, no writes */
	STORE_O_CREATE = 1u << 1,	/* writer: create the journal if it is missing */
};

struct store_options {
	/* Local host name (docs 5.2). Required to create a journal; if set when opening
	 * an existing one it must match the header. NULL: take it from the header. */
	const char *host;
	unsigned int flags;		/* STORE_O_* */
	unsigned int lock_timeout_ms;	/* writer: wait this long for the lock; 0: don't */
	unsigned int compact_dead_pct;	/* dead share triggering compaction, percent */
	uint64_t compact_min_bytes;	/* no automatic compaction below this file size */
	uint64_t tombstone_horizon_ns;	/* minimum tombstone age before dropping, ns */
	/* Wall clock in ns since the epoch; NULL: CLOCK_REALTIME. For tests. */
	uint64_t (*clock_ns)(void *arg);
	void *clock_arg;
	/* Test hook: compaction stops after this step (1..7, docs section 10) and
	 * returns -ECANCELED as if the process died there; the handle is then failed
	 * and must be closed. 0: off. */
	int test_crash_after_step;
};

/* Fill @o with the defaults: compact_dead_pct 50, compact_min_bytes 1 MiB,
 * tombstone_horizon_ns 7 days, everything else 0/NULL. */
void store_options_init(struct store_options *o);

struct store;

/* Open (and recover) the journal at @path; see docs sections 8 and 9.
 * Errors: -ENOENT (missing, no STORE_O_CREATE), -EBUSY (another writer),
 * -EUCLEAN (corruption before the tail: err->offset, repair named), -ENOTSUP
 * (unknown format version), -EINVAL (bad options, header of another host),
 * -ENOMEM, or the errno of a failed system call. */
int store_open(const char *path, const struct store_options *o,
	       struct store **sp, struct store_error *err);
void store_close(struct store *s);

/* One entry, current (index) or past (history). */
struct store_entry {
	const char *key;	/* NUL-terminated */
	size_t key_len;
	const void *value;	/* value_len bytes; NULL when value_len is 0 */
	size_t value_len;
	uint64_t ts;		/* Lamport timestamp */
	const char *origin;	/* host that made the entry */
	int tombstone;		/* 1: deleted */
	uint64_t offset;	/* offset of the journal record that holds it */
};

/* flags for store_get() and store_list() */
enum {
	STORE_F_TOMBSTONES = 1u << 0,	/* also report deleted keys */
};

/* Current entry of @key. -ENOENT if missing or deleted (unless STORE_F_TOMBSTONES,
 * then a tombstone is returned with e->tombstone = 1). */
int store_get(struct store *s, const char *key, unsigned int flags,
	      struct store_entry *e, struct store_error *err);

/* Return nonzero to stop an iteration; that value is then returned by the caller. */
typedef int (*store_entry_cb)(const struct store_entry *e, void *arg);

/* Entries whose key starts with the bytes of @prefix ("" or "/" for all), in
 * bytewise key order. The callback must not modify the store. */
int store_list(struct store *s, const char *prefix, unsigned int flags,
	       store_entry_cb cb, void *arg, struct store_error *err);

/* Past entries of @key found in the current journal file (docs section 12), oldest
 * first; at most the last @max of them (0: no limit). Tombstones are included. */
int store_history(struct store *s, const char *key, size_t max,
		  store_entry_cb cb, void *arg, struct store_error *err);

/* A local batch: puts and deletes applied atomically by store_commit(). A later op on
 * the same key replaces an earlier one in the same batch. The builder validates keys
 * and limits as ops are added; ownership is checked at commit. */
struct store_batch;
struct store_batch *store_batch_new(void);	/* NULL on ENOMEM */
void store_batch_free(struct store_batch *b);
void store_batch_reset(struct store_batch *b);
size_t store_batch_count(const struct store_batch *b);
int store_batch_put(struct store_batch *b, const char *key, const void *value,
		    size_t len, struct store_error *err);
int store_batch_delete(struct store_batch *b, const char *key,
		       struct store_error *err);

/* Write @b as one record, fdatasync, apply. *ts (if not NULL) gets the batch's
 * timestamp (0 for an empty batch, which writes nothing). -EROFS for a reader,
 * -EPERM for a key owned by another host, -EOVERFLOW when the clock is exhausted,
 * -EIO after an earlier failed sync. */
int store_commit(struct store *s, const struct store_batch *b, uint64_t *ts,
		 struct store_error *err);

/* store_op.kind */
enum {
	STORE_PUT = 1,
	STORE_DELETE = 2,
};

/* One entry from another host, as replication hands it over. */
struct store_op {
	const char *key;
	const void *value;
	size_t value_len;	/* must be 0 for STORE_DELETE */
	uint64_t ts;
	const char *origin;
	int kind;		/* STORE_PUT or STORE_DELETE */
};

struct store_merge_result {
	size_t applied;		/* ops written and applied */
	size_t older;		/* ops that lost against the current entry (or a
				 * later op on the same key in the same batch) */
	size_t stale;		/* ops below the purge floor on an absent key */
};

/* Merge a batch from another host (docs section 7): all ops are validated first
 * (-EINVAL, -EPERM for an ownership violation, -E2BIG), then winners are written as
 * one record and applied. Idempotent and commutative. */
int store_merge(struct store *s, const struct store_op *ops, size_t n,
		struct store_merge_result *res, struct store_error *err);

/* Tombstones below @safe_ts (and older than the horizon) may be dropped by the next
 * compaction (docs section 6). Default 0: keep all. */
int store_set_tombstone_safe_ts(struct store *s, uint64_t safe_ts);

/* Rewrite the journal with only the live entries (docs section 10). */
int store_compact(struct store *s, struct store_error *err);
/* Compact if the thresholds are passed; *done (if not NULL) says whether it did. */
int store_maybe_compact(struct store *s, int *done, struct store_error *err);

struct store_stats {
	uint64_t file_bytes;	/* header + valid records, bytes */
	uint64_t live_bytes;	/* what the entries take when compacted, bytes */
	uint64_t dead_bytes;	/* file_bytes - header - live_bytes, >= 0 */
	uint64_t records;	/* valid records in the file */
	uint64_t keys;		/* index entries, tombstones included */
	uint64_t tombstones;
	uint64_t clock;		/* Lamport clock */
	uint64_t salt;
	uint64_t generation;
	uint64_t purge_floor;
	uint64_t safe_ts;
	uint64_t created_ns;
	uint64_t torn_offset;	/* where a torn tail began at open; 0 if none */
	uint64_t torn_bytes;	/* bytes cut (writer) or ignored (reader) at open */
	const char *torn_reason; /* NULL if the file ended cleanly */
	const char *host;
	int readonly;
	int failed;		/* writes refused after a failed sync */
};
void store_stats(struct store *s, struct store_stats *st);

struct store_repair_report {
	int damaged;		/* 1: corruption or a bad header was found */
	uint64_t bad_offset;	/* where the kept prefix ends */
	uint64_t kept_bytes;	/* journal size after repair */
	uint64_t saved_bytes;	/* bytes written to saved_path */
	uint64_t torn_bytes;	/* torn tail cut (no damage) */
	char saved_path[4096];	/* "" if nothing was saved */
	char reason[512];	/* what was wrong, "" if nothing */
};

/* Repair the journal at @path (docs section 11). Needs the writer lock; o->host may
 * be NULL. Returns 0 when the journal is usable afterwards. */
int store_repair(const char *path, const struct store_options *o,
		 struct store_repair_report *rep, struct store_error *err);

/* Validation helpers (docs section 5). */
int store_key_validate(const char *key, struct store_error *err);
int store_host_validate(const char *host, struct store_error *err);
/* Owner of @key: 1 and the owner's name in @host (size >= STORE_HOST_MAX + 1) if it
 * has an owner tag, 0 if shared, -EINVAL if the key is invalid. */
int store_key_owner(const char *key, char *host, size_t host_size);

/* Standard CRC32C continuing from @crc (0 to start): check value of "123456789" is
 * 0xe3069283. */
uint32_t store_crc32c(uint32_t crc, const void *buf, size_t len);

const char *store_host(const struct store *s);
uint64_t store_clock(const struct store *s);

#ifdef __cplusplus
}
#endif

#endif /* MARS_STORE_H */
