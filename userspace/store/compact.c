// SPDX-License-Identifier: GPL-2.0-only
/*
 * Compaction (docs/journal-format.md sections 6 and 10): write the live entries and
 * the tombstones that must stay into journal.compact-tmp, fsync it, rename it over
 * the journal, fsync the directory, and switch the handle to the new file.
 *
 * Until the rename the old journal is untouched; after it the name points to a
 * complete, synced file. Everything that can fail (allocations, writes) happens
 * before the rename; the switch afterwards cannot fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

/* Test hook: stop after @step as if the process had died there. */
static int crashed(struct store *s, int step, int *tmpfd, struct store_error *err)
{
	if (s->opt.test_crash_after_step != step)
		return 0;
	if (*tmpfd >= 0) {
		close(*tmpfd);
		*tmpfd = -1;
	}
	s->failed = true;
	return se_set(err, -ECANCELED, STORE_NO_OFFSET,
		      "test hook: compaction stopped after step %d", step);
}

/* May this tombstone go (docs 6)? */
static bool droppable(const struct store *s, const struct sx_node *n, uint64_t now)
{
	return n->tomb && n->ts < s->safe_ts && n->ts <= now &&
	       now - n->ts >= s->opt.tombstone_horizon_ns;
}

/*
 * Write kept[0 .. n) as COMPACTED batches of at most SJ_COMPACT_CHUNK payload bytes
 * (a single bigger entry gets a record of its own) starting at *off; rec_off[i] gets
 * the record offset of kept[i].
 */
static int write_entries(struct store *s, int fd, struct sx_node **kept, size_t n,
			 uint64_t *rec_off, uint8_t *rec, uint64_t *off, uint64_t *nrec)
{
	uint32_t *lmap = s->omap;
	struct sj_name *names = s->names;
	size_t i = 0, j, k;
	int ret;

	while (i < n) {
		uint32_t n_names = 0;
		size_t payload = SJ_BATCH_HDR, len;
		struct sj_enc enc;

		for (k = 0; k < s->n_origins; k++)
			lmap[k] = UINT32_MAX;
		for (j = i; j < n && j - i < STORE_BATCH_MAX_OPS; j++) {
			const struct sx_node *nd = kept[j];
			size_t add = SJ_ENTRY_BYTES(nd->key_len, nd->value_len);
			bool new_name = lmap[nd->origin] == UINT32_MAX;

			if (new_name)
				add += 1 + strlen(s->origins[nd->origin]);
			if (j > i && payload + add > SJ_COMPACT_CHUNK)
				break;
			if (new_name) {
				lmap[nd->origin] = n_names;
				names[n_names].p = s->origins[nd->origin];
				names[n_names].len = (uint8_t)strlen(s->origins[nd->origin]);
				n_names++;
			}
			payload += add;
		}
		sj_enc_begin(&enc, rec, payload, s->clock, (uint32_t)(j - i), SJ_BF_COMPACTED,
			     names, n_names);
		for (k = i; k < j; k++) {
			const struct sx_node *nd = kept[k];

			sj_enc_op(&enc, nd->ts, (uint16_t)lmap[nd->origin],
				  nd->tomb ? STORE_DELETE : STORE_PUT, nd->key, nd->key_len,
				  nd->value, nd->value_len);
			rec_off[k] = *off;
		}
		len = sj_enc_seal(&enc, s->hdr.salt);
		ret = store_write_all(fd, rec, len, *off);
		if (ret)
			return ret;
		*off += len;
		(*nrec)++;
		i = j;
	}
	return 0;
}

int store_compact(struct store *s, struct store_error *err)
{
	struct sx_node **all = NULL, **kept = NULL;
	size_t count = s->idx.count, nkept = 0, i;
	uint64_t *rec_off = NULL, off = SJ_HDR_SIZE, nrec = 0, now, salt_old;
	uint64_t purge = s->hdr.purge_floor, dropped_bytes = 0, dropped = 0;
	uint8_t hbuf[SJ_HDR_SIZE], *rec = NULL;
	struct sj_header h;
	int fd = -1, ret;

	ret = store_check_writable(s, err);
	if (ret)
		return ret;
	all = malloc((count + 1) * sizeof(*all));
	kept = malloc((count + 1) * sizeof(*kept));
	rec_off = malloc((count + 1) * sizeof(*rec_off));
	rec = malloc(SJ_REC_HDR + STORE_BATCH_MAX);
	if (!all || !kept || !rec_off || !rec) {
		ret = se_set(err, -ENOMEM, STORE_NO_OFFSET, "compaction: out of memory");
		goto out;
	}
	sx_flatten(&s->idx, all);
	now = store_now_ns(s);
	for (i = 0; i < count; i++) {
		if (droppable(s, all[i], now)) {
			if (all[i]->ts > purge)
				purge = all[i]->ts;
			dropped++;
			dropped_bytes += SJ_ENTRY_BYTES(all[i]->key_len, all[i]->value_len);
		} else {
			kept[nkept++] = all[i];
		}
	}

	/* Step 1: the tmp file. */
	unlink(s->tmp_path);
	fd = open(s->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = se_set(err, -errno, STORE_NO_OFFSET, "compaction: creating %s: %s",
			     s->tmp_path, strerror(errno));
		goto out;
	}
	ret = crashed(s, 1, &fd, err);
	if (ret)
		goto out;

	/* Step 2: a header with a new salt. Records are sealed with it. */
	store_new_header(s, &h, s->hdr.generation + 1);
	h.purge_floor = purge;
	sj_header_encode(&h, hbuf);
	ret = store_write_all(fd, hbuf, sizeof(hbuf), 0);
	if (ret)
		goto io_error;
	ret = crashed(s, 2, &fd, err);
	if (ret)
		goto out;

	/* Step 3: the entries. */
	salt_old = s->hdr.salt;
	s->hdr.salt = h.salt;
	ret = write_entries(s, fd, kept, nkept, rec_off, rec, &off, &nrec);
	s->hdr.salt = salt_old;
	if (ret)
		goto io_error;
	ret = crashed(s, 3, &fd, err);
	if (ret)
		goto out;

	/* Step 4: make the new file durable before its name can point to it. */
	if (fsync(fd)) {
		ret = -errno;
		goto io_error;
	}
	ret = crashed(s, 4, &fd, err);
	if (ret)
		goto out;

	/* Step 5: the atomic switch of the name. */
	if (rename(s->tmp_path, s->path)) {
		ret = -errno;
		goto io_error;
	}
	ret = crashed(s, 5, &fd, err);
	if (ret)
		goto out;

	/* Step 6: make the rename durable. If this fails the new file is in place
	 * anyway, so the handle still switches to it, but refuses writes. */
	ret = store_fsync_dir(s->dir, err);
	if (!ret)
		ret = crashed(s, 6, &fd, err);
	if (ret) {
		s->failed = true;
		if (fd < 0)
			goto out;
	}

	/* Step 7: switch the handle to the new file. */
	close(s->fd);
	s->fd = fd;
	fd = -1;
	s->hdr = h;
	s->end = off;
	s->records = nrec;
	for (i = 0; i < nkept; i++)
		kept[i]->rec_off = rec_off[i];
	for (i = 0; i < count; i++) {
		if (droppable(s, all[i], now)) {
			free(all[i]->value);
			free(all[i]);
		}
	}
	sx_build(&s->idx, kept, nkept);
	s->live_bytes -= dropped_bytes;
	s->tombstones -= dropped;
	if (!ret)
		ret = crashed(s, 7, &fd, err);
	goto out;

io_error:
	se_set(err, ret, STORE_NO_OFFSET, "compaction of %s: %s", s->path, strerror(-ret));
	unlink(s->tmp_path);
out:
	if (fd >= 0)
		close(fd);
	free(rec);
	free(rec_off);
	free(kept);
	free(all);
	return ret;
}

int store_maybe_compact(struct store *s, int *done, struct store_error *err)
{
	uint64_t body, dead;
	int ret;

	if (done)
		*done = 0;
	ret = store_check_writable(s, err);
	if (ret)
		return ret;
	if (s->end < s->opt.compact_min_bytes || s->end <= SJ_HDR_SIZE)
		return 0;
	body = s->end - SJ_HDR_SIZE;
	dead = body > s->live_bytes ? body - s->live_bytes : 0;
	if (dead * 100 < (uint64_t)s->opt.compact_dead_pct * body)
		return 0;
	ret = store_compact(s, err);
	if (!ret && done)
		*done = 1;
	return ret;
}
