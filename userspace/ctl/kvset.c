// SPDX-License-Identifier: GPL-2.0
/*
 * struct kvset: a sorted snapshot of store keys and values (model.h). No other
 * dependency, so the config fuzzer can link it alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

int kvset_add(struct kvset *s, const char *key, const char *val, uint64_t ts,
	      const char *origin)
{
	struct kv *e;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct kv *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	e = &s->v[s->n];
	e->key = strdup(key);
	e->val = strdup(val ? val : "");
	e->origin = origin ? strdup(origin) : NULL;
	e->ts = ts;
	if (!e->key || !e->val || (origin && !e->origin)) {
		free(e->key);
		free(e->val);
		free(e->origin);
		return -ENOMEM;
	}
	s->n++;
	return 0;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

void kvset_sort(struct kvset *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), kv_cmp);
}

const struct kv *kvset_find(const struct kvset *s, const char *key)
{
	struct kv k = { .key = (char *)key };

	if (!s->n)
		return NULL;
	return bsearch(&k, s->v, s->n, sizeof(*s->v), kv_cmp);
}

int kvset_set(struct kvset *s, const char *key, const char *val)
{
	struct kv *e = (struct kv *)kvset_find(s, key);
	char *v;

	if (!e) {
		int err = kvset_add(s, key, val, 0, NULL);

		if (!err)
			kvset_sort(s);
		return err;
	}
	v = strdup(val);
	if (!v)
		return -ENOMEM;
	free(e->val);
	e->val = v;
	return 0;
}

const char *kvset_get(const struct kvset *s, const char *key)
{
	const struct kv *e = kvset_find(s, key);

	return e ? e->val : NULL;
}

void kvset_free(struct kvset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].key);
		free(s->v[i].val);
		free(s->v[i].origin);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}
