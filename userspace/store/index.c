// SPDX-License-Identifier: GPL-2.0-only
/*
 * The in-memory index: an AVL tree of struct sx_node, ordered bytewise by key.
 *
 * Insertion is iterative (a path stack of at most SX_MAX_HEIGHT links: an AVL tree
 * of height 64 would need more nodes than memory holds). There is no single-node
 * removal: the index only loses nodes when compaction drops tombstones, and then it
 * is rebuilt balanced from the sorted survivors in O(n) (sx_build()).
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

int sx_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

struct sx_node *sx_node_new(const char *key, size_t len)
{
	struct sx_node *n = calloc(1, sizeof(*n) + len + 1);

	if (!n)
		return NULL;
	memcpy(n->key, key, len);
	n->key[len] = '\0';
	n->key_len = (uint16_t)len;
	n->height = 1;
	return n;
}

struct sx_node *sx_find(const struct sx_tree *t, const char *key, size_t len)
{
	struct sx_node *n = t->root;

	while (n) {
		int c = sx_cmp(key, len, n->key, n->key_len);

		if (c == 0)
			return n;
		n = c < 0 ? n->left : n->right;
	}
	return NULL;
}

static int8_t height(const struct sx_node *n)
{
	return n ? n->height : 0;
}

static void fix_height(struct sx_node *n)
{
	int8_t l = height(n->left), r = height(n->right);

	n->height = (int8_t)((l > r ? l : r) + 1);
}

static struct sx_node *rotate_right(struct sx_node *n)
{
	struct sx_node *l = n->left;

	n->left = l->right;
	l->right = n;
	fix_height(n);
	fix_height(l);
	return l;
}

static struct sx_node *rotate_left(struct sx_node *n)
{
	struct sx_node *r = n->right;

	n->right = r->left;
	r->left = n;
	fix_height(n);
	fix_height(r);
	return r;
}

static struct sx_node *rebalance(struct sx_node *n)
{
	int bal;

	fix_height(n);
	bal = height(n->left) - height(n->right);
	if (bal > 1) {
		if (height(n->left->left) < height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (bal < -1) {
		if (height(n->right->right) < height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	return n;
}

void sx_insert(struct sx_tree *t, struct sx_node *n)
{
	struct sx_node **path[SX_MAX_HEIGHT + 1];
	struct sx_node **link = &t->root;
	int depth = 0;

	n->left = n->right = NULL;
	n->height = 1;
	while (*link) {
		path[depth++] = link;
		if (sx_cmp(n->key, n->key_len, (*link)->key, (*link)->key_len) < 0)
			link = &(*link)->left;
		else
			link = &(*link)->right;
	}
	*link = n;
	t->count++;
	while (depth > 0) {
		struct sx_node **up = path[--depth];
		int8_t before = (*up)->height;

		*up = rebalance(*up);
		if ((*up)->height == before)
			break;
	}
}

static void destroy(struct sx_node *n)
{
	/* Recursion depth is the tree height, at most SX_MAX_HEIGHT. */
	while (n) {
		struct sx_node *r = n->right;

		destroy(n->left);
		free(n->value);
		free(n);
		n = r;
	}
}

void sx_destroy(struct sx_tree *t)
{
	destroy(t->root);
	t->root = NULL;
	t->count = 0;
}

void sx_flatten(const struct sx_tree *t, struct sx_node **out)
{
	struct sx_iter it;
	struct sx_node *n;
	size_t i = 0;

	it.top = 0;
	for (n = t->root; n; n = n->left)
		it.stack[it.top++] = n;
	while ((n = sx_next(&it)))
		out[i++] = n;
}

static struct sx_node *build(struct sx_node **nodes, size_t n)
{
	size_t mid = n / 2;
	struct sx_node *root;

	if (n == 0)
		return NULL;
	root = nodes[mid];
	root->left = build(nodes, mid);
	root->right = build(nodes + mid + 1, n - mid - 1);
	fix_height(root);
	return root;
}

void sx_build(struct sx_tree *t, struct sx_node **nodes, size_t n)
{
	t->root = build(nodes, n);
	t->count = n;
}

void sx_seek(struct sx_iter *it, const struct sx_tree *t, const char *key, size_t len)
{
	struct sx_node *n = t->root;

	it->top = 0;
	while (n) {
		if (sx_cmp(n->key, n->key_len, key, len) >= 0) {
			it->stack[it->top++] = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
}

struct sx_node *sx_next(struct sx_iter *it)
{
	struct sx_node *n, *c;

	if (it->top == 0)
		return NULL;
	n = it->stack[--it->top];
	for (c = n->right; c; c = c->left)
		it->stack[it->top++] = c;
	return n;
}
