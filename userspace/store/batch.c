// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writes: the local batch builder, store_commit() and store_merge()
 * (docs/journal-format.md sections 3, 4, 5.3 and 7).
 *
 * Both write paths go the same way: validate everything, allocate every node and
 * value the index will need, encode one record, append + fdatasync it, and only then
 * apply it to the index, which cannot fail at that point. A failure before the
 * append leaves the store exactly as it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

struct sb_op {
	char *key;		/* NUL-terminated copy */
	uint8_t *value;		/* copy, NULL when value_len is 0 */
	uint32_t value_len;
	uint16_t key_len;
	uint8_t kind;
};

struct store_batch {
	struct sb_op *ops;
	size_t n, cap;
	uint64_t bytes;		/* SJ_ENTRY_BYTES of every op added */
};

/* Room for the batch header and the local host in the origin table. */
#define LOCAL_HDR_MAX	(SJ_BATCH_HDR + 1 + STORE_HOST_MAX)

struct store_batch *store_batch_new(void)
{
	return calloc(1, sizeof(struct store_batch));
}

void store_batch_reset(struct store_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->ops[i].key);
		free(b->ops[i].value);
	}
	b->n = 0;
	b->bytes = 0;
}

void store_batch_free(struct store_batch *b)
{
	if (!b)
		return;
	store_batch_reset(b);
	free(b->ops);
	free(b);
}

size_t store_batch_count(const struct store_batch *b)
{
	return b->n;
}

static int batch_add(struct store_batch *b, int kind, const char *key, const void *value,
		     size_t len, struct store_error *err)
{
	struct sb_op *op;
	size_t klen;
	int ret;

	ret = store_key_validate(key, err);
	if (ret)
		return ret;
	klen = strlen(key);
	if (len > STORE_VALUE_MAX)
		return se_set(err, -EMSGSIZE, STORE_NO_OFFSET,
			      "value of %s is %zu bytes, more than the limit of %u", key, len,
			      STORE_VALUE_MAX);
	if (len && !value)
		return se_set(err, -EINVAL, STORE_NO_OFFSET, "value of %s is NULL", key);
	if (b->n >= STORE_BATCH_MAX_OPS)
		return se_set(err, -E2BIG, STORE_NO_OFFSET,
			      "batch has more than %u ops", STORE_BATCH_MAX_OPS);
	if (b->bytes + SJ_ENTRY_BYTES(klen, len) + LOCAL_HDR_MAX > STORE_BATCH_MAX)
		return se_set(err, -E2BIG, STORE_NO_OFFSET,
			      "adding %s would make the batch larger than %u bytes", key,
			      STORE_BATCH_MAX);
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 8;
		struct sb_op *no = realloc(b->ops, ncap * sizeof(*no));

		if (!no)
			return se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
		b->ops = no;
		b->cap = ncap;
	}
	op = &b->ops[b->n];
	op->key = strdup(key);
	op->value = NULL;
	if (len) {
		op->value = malloc(len);
		if (op->value)
			memcpy(op->value, value, len);
	}
	if (!op->key || (len && !op->value)) {
		free(op->key);
		free(op->value);
		return se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
	}
	op->key_len = (uint16_t)klen;
	op->value_len = (uint32_t)len;
	op->kind = (uint8_t)kind;
	b->n++;
	b->bytes += SJ_ENTRY_BYTES(klen, len);
	return 0;
}

int store_batch_put(struct store_batch *b, const char *key, const void *value,
		    size_t len, struct store_error *err)
{
	return batch_add(b, STORE_PUT, key, value, len, err);
}

int store_batch_delete(struct store_batch *b, const char *key, struct store_error *err)
{
	return batch_add(b, STORE_DELETE, key, NULL, 0, err);
}

/* ---- preparing index changes ---- */

struct prep {
	struct sx_node *node;
	uint8_t *value;
	bool is_new;
};

static int prepare(struct store *s, struct prep *p, const char *key, size_t klen,
		   const void *value, size_t vlen)
{
	p->value = NULL;
	p->node = sx_find(&s->idx, key, klen);
	p->is_new = !p->node;
	if (p->is_new) {
		p->node = sx_node_new(key, klen);
		if (!p->node)
			return -ENOMEM;
	}
	if (vlen) {
		p->value = malloc(vlen);
		if (!p->value) {
			if (p->is_new)
				free(p->node);
			return -ENOMEM;
		}
		memcpy(p->value, value, vlen);
	}
	return 0;
}

static void prep_free(struct prep *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i].is_new)
			free(p[i].node);
		free(p[i].value);
	}
}

/* ---- local commit ---- */

static int cmp_sb_idx(const void *a, const void *b, void *arg)
{
	const struct sb_op *ops = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = sx_cmp(ops[i].key, ops[i].key_len, ops[j].key, ops[j].key_len);

	if (c)
		return c;
	return i < j ? -1 : i > j;
}

int store_commit(struct store *s, const struct store_batch *b, uint64_t *tsp,
		 struct store_error *err)
{
	struct prep *prep = NULL;
	size_t *order = NULL, n = 0, i, payload;
	struct sj_name me;
	uint8_t *rec = NULL;
	struct sj_enc enc;
	uint64_t ts, base;
	int ret;

	if (tsp)
		*tsp = 0;
	ret = store_check_writable(s, err);
	if (ret || b->n == 0)
		return ret;
	order = malloc(b->n * sizeof(*order));
	prep = calloc(b->n, sizeof(*prep));
	if (!order || !prep) {
		ret = se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
		goto out;
	}
	/* Sort by key, keeping insertion order among equal keys; keep the last. */
	for (i = 0; i < b->n; i++)
		order[i] = i;
	qsort_r(order, b->n, sizeof(*order), cmp_sb_idx, b->ops);
	for (i = 0; i < b->n; i++) {
		const struct sb_op *op = &b->ops[order[i]];

		if (i + 1 < b->n) {
			const struct sb_op *nx = &b->ops[order[i + 1]];

			if (!sx_cmp(op->key, op->key_len, nx->key, nx->key_len))
				continue;
		}
		order[n++] = order[i];
	}
	me.p = s->host;
	me.len = (uint8_t)strlen(s->host);
	payload = sj_batch_size_hdr(&me, 1);
	for (i = 0; i < n; i++) {
		const struct sb_op *op = &b->ops[order[i]];
		char owner[STORE_HOST_MAX + 1];

		if (store_key_owner(op->key, owner, sizeof(owner)) == 1 &&
		    strcmp(owner, s->host)) {
			ret = se_set(err, -EPERM, STORE_NO_OFFSET,
				     "%s is owned by host '%s'; host '%s' may not write it",
				     op->key, owner, s->host);
			goto out;
		}
		payload += SJ_ENTRY_BYTES(op->key_len, op->value_len);
	}
	base = s->clock > store_now_ns(s) ? s->clock : store_now_ns(s);
	if (base >= STORE_TS_MAX) {
		ret = se_set(err, -EOVERFLOW, STORE_NO_OFFSET,
			     "%s: the Lamport clock is exhausted (%llu)", s->path,
			     (unsigned long long)base);
		goto out;
	}
	ts = base + 1;
	for (i = 0; i < n; i++) {
		const struct sb_op *op = &b->ops[order[i]];

		ret = prepare(s, &prep[i], op->key, op->key_len, op->value, op->value_len);
		if (ret) {
			prep_free(prep, i);
			ret = se_set(err, ret, STORE_NO_OFFSET, "out of memory");
			goto out_noprep;
		}
	}
	rec = malloc(SJ_REC_HDR + payload);
	if (!rec) {
		ret = se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
		goto out;
	}
	sj_enc_begin(&enc, rec, payload, ts, (uint32_t)n, 0, &me, 1);
	for (i = 0; i < n; i++) {
		const struct sb_op *op = &b->ops[order[i]];

		sj_enc_op(&enc, ts, 0, op->kind, op->key, op->key_len, op->value,
			  op->value_len);
	}
	ret = store_append(s, rec, sj_enc_seal(&enc, s->hdr.salt), err);
	if (ret)
		goto out;
	for (i = 0; i < n; i++) {
		const struct sb_op *op = &b->ops[order[i]];

		store_apply(s, prep[i].node, prep[i].is_new, ts, s->host_idx,
			    op->kind == STORE_DELETE, prep[i].value, op->value_len,
			    s->end - SJ_REC_HDR - payload);
	}
	s->clock = ts;
	if (tsp)
		*tsp = ts;
	goto out_noprep;

out:
	if (prep)
		prep_free(prep, n);
out_noprep:
	free(rec);
	free(prep);
	free(order);
	return ret;
}

/* ---- merge ---- */

/* The total order of entries of one key (docs 7). */
static int entry_cmp(uint64_t ts1, const char *o1, int kind1, const void *v1, size_t l1,
		     uint64_t ts2, const char *o2, int kind2, const void *v2, size_t l2)
{
	int c;

	if (ts1 != ts2)
		return ts1 < ts2 ? -1 : 1;
	c = strcmp(o1, o2);
	if (c)
		return c < 0 ? -1 : 1;
	if (kind1 != kind2)
		return kind1 < kind2 ? -1 : 1;
	if (l1 != l2)
		return l1 < l2 ? -1 : 1;
	c = l1 ? memcmp(v1, v2, l1) : 0;
	return c < 0 ? -1 : c > 0;
}

static int op_cmp(const struct store_op *a, const struct store_op *b)
{
	return entry_cmp(a->ts, a->origin, a->kind, a->value, a->value_len,
			 b->ts, b->origin, b->kind, b->value, b->value_len);
}

struct merge_key {
	const struct store_op *op;
	size_t key_len;
};

/* By key, then by the entry order, so the winner of a key is the last of its run. */
static int cmp_merge(const void *a, const void *b)
{
	const struct merge_key *x = a, *y = b;
	int c = sx_cmp(x->op->key, x->key_len, y->op->key, y->key_len);

	return c ? c : op_cmp(x->op, y->op);
}

static int validate_op(const struct store_op *op, size_t i, struct store_error *err)
{
	const char *owner, *why = "";
	size_t klen, olen;
	int ret;

	if (!op->key || !op->origin)
		return se_set(err, -EINVAL, STORE_NO_OFFSET, "merge op %zu: no key or origin", i);
	klen = strnlen(op->key, STORE_KEY_MAX + 1);
	ret = sk_key_check(op->key, klen, &owner, &olen, &why);
	if (ret)
		return se_set(err, ret, STORE_NO_OFFSET, "merge op %zu: invalid key '%.*s': %s",
			      i, (int)(klen > 200 ? 200 : klen), op->key, why);
	if (store_host_validate(op->origin, err))
		return se_set(err, -EINVAL, STORE_NO_OFFSET, "merge op %zu (%s): %s", i,
			      op->key, err ? err->msg : "invalid origin");
	if (op->kind != STORE_PUT && op->kind != STORE_DELETE)
		return se_set(err, -EINVAL, STORE_NO_OFFSET, "merge op %zu (%s): unknown kind %d",
			      i, op->key, op->kind);
	if (op->ts == 0 || op->ts > STORE_TS_MAX)
		return se_set(err, -EINVAL, STORE_NO_OFFSET,
			      "merge op %zu (%s): timestamp %llu out of range", i, op->key,
			      (unsigned long long)op->ts);
	if (op->value_len > STORE_VALUE_MAX)
		return se_set(err, -EMSGSIZE, STORE_NO_OFFSET,
			      "merge op %zu (%s): value of %zu bytes exceeds %u", i, op->key,
			      op->value_len, STORE_VALUE_MAX);
	if (op->value_len && (op->kind == STORE_DELETE || !op->value))
		return se_set(err, -EINVAL, STORE_NO_OFFSET,
			      "merge op %zu (%s): a delete carries no value", i, op->key);
	if (owner && (strlen(op->origin) != olen || memcmp(owner, op->origin, olen)))
		return se_set(err, -EPERM, STORE_NO_OFFSET,
			      "merge op %zu: %s is owned by host '%.*s'; a write from '%s' is refused",
			      i, op->key, (int)olen, owner, op->origin);
	return 0;
}

int store_merge(struct store *s, const struct store_op *ops, size_t n,
		struct store_merge_result *res, struct store_error *err)
{
	struct merge_key *mk = NULL;
	struct prep *prep = NULL;
	struct sj_name *names = s->names;
	uint32_t *lmap = s->omap, n_names = 0, *gidx = NULL;
	size_t i, nw = 0, payload;
	uint64_t clock = s->clock;
	uint8_t *rec = NULL;
	struct sj_enc enc;
	int ret;

	if (res)
		memset(res, 0, sizeof(*res));
	ret = store_check_writable(s, err);
	if (ret || n == 0)
		return ret;
	if (n > STORE_BATCH_MAX_OPS)
		return se_set(err, -E2BIG, STORE_NO_OFFSET, "merge batch has %zu ops, more than %u",
			      n, STORE_BATCH_MAX_OPS);
	for (i = 0; i < n; i++) {
		ret = validate_op(&ops[i], i, err);
		if (ret)
			return ret;
		if (ops[i].ts > clock)
			clock = ops[i].ts;
	}
	mk = malloc(n * sizeof(*mk));
	prep = calloc(n, sizeof(*prep));
	gidx = malloc(n * sizeof(*gidx));
	if (!mk || !prep || !gidx) {
		ret = se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		mk[i].op = &ops[i];
		mk[i].key_len = strlen(ops[i].key);
	}
	qsort(mk, n, sizeof(*mk), cmp_merge);

	/* Pick the winners; compact them to the front of mk[]. */
	for (i = 0; i < n; i++) {
		const struct store_op *op = mk[i].op;
		struct sx_node *cur;

		if (i + 1 < n && !sx_cmp(op->key, mk[i].key_len, mk[i + 1].op->key,
					 mk[i + 1].key_len)) {
			if (res)
				res->older++;
			continue;
		}
		cur = sx_find(&s->idx, op->key, mk[i].key_len);
		if (cur && entry_cmp(op->ts, op->origin, op->kind, op->value, op->value_len,
				     cur->ts, s->origins[cur->origin],
				     cur->tomb ? STORE_DELETE : STORE_PUT, cur->value,
				     cur->value_len) <= 0) {
			if (res)
				res->older++;
			continue;
		}
		if (!cur && op->ts <= s->hdr.purge_floor) {
			if (res)
				res->stale++;
			continue;
		}
		mk[nw++] = mk[i];
	}
	if (nw == 0) {
		s->clock = clock;
		goto out;
	}

	/* Origin table of the record: global origin index -> position in names[]. */
	for (i = 0; i < nw; i++) {
		const struct store_op *op = mk[i].op;

		ret = store_origin_intern(s, op->origin, strlen(op->origin), &gidx[i]);
		if (ret) {
			ret = se_set(err, ret, STORE_NO_OFFSET, "merge: %s",
				     ret == -E2BIG ? "too many distinct origin hosts" :
						     "out of memory");
			goto out;
		}
	}
	for (i = 0; i < s->n_origins; i++)
		lmap[i] = UINT32_MAX;
	payload = 0;
	for (i = 0; i < nw; i++) {
		if (lmap[gidx[i]] == UINT32_MAX) {
			lmap[gidx[i]] = n_names;
			names[n_names].p = s->origins[gidx[i]];
			names[n_names].len = (uint8_t)strlen(s->origins[gidx[i]]);
			n_names++;
		}
		payload += SJ_ENTRY_BYTES(mk[i].key_len, mk[i].op->value_len);
	}
	payload += sj_batch_size_hdr(names, n_names);
	if (payload > STORE_BATCH_MAX) {
		ret = se_set(err, -E2BIG, STORE_NO_OFFSET,
			     "merge: the winning entries take %zu bytes, more than one batch (%u)",
			     payload, STORE_BATCH_MAX);
		goto out;
	}
	for (i = 0; i < nw; i++) {
		const struct store_op *op = mk[i].op;

		ret = prepare(s, &prep[i], op->key, mk[i].key_len, op->value, op->value_len);
		if (ret) {
			prep_free(prep, i);
			memset(prep, 0, n * sizeof(*prep));
			ret = se_set(err, ret, STORE_NO_OFFSET, "out of memory");
			goto out;
		}
	}
	rec = malloc(SJ_REC_HDR + payload);
	if (!rec) {
		ret = se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
		goto out_prep;
	}
	sj_enc_begin(&enc, rec, payload, clock, (uint32_t)nw, SJ_BF_MERGED, names, n_names);
	for (i = 0; i < nw; i++) {
		const struct store_op *op = mk[i].op;

		sj_enc_op(&enc, op->ts, (uint16_t)lmap[gidx[i]], (uint8_t)op->kind, op->key,
			  (uint16_t)mk[i].key_len, op->value, (uint32_t)op->value_len);
	}
	ret = store_append(s, rec, sj_enc_seal(&enc, s->hdr.salt), err);
	if (ret)
		goto out_prep;
	for (i = 0; i < nw; i++) {
		const struct store_op *op = mk[i].op;

		store_apply(s, prep[i].node, prep[i].is_new, op->ts, gidx[i],
			    op->kind == STORE_DELETE, prep[i].value,
			    (uint32_t)op->value_len, s->end - SJ_REC_HDR - payload);
	}
	s->clock = clock;
	if (res)
		res->applied = nw;
	goto out;

out_prep:
	prep_free(prep, nw);
out:
	free(rec);
	free(gidx);
	free(prep);
	free(mk);
	return ret;
}
