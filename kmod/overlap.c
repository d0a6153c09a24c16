// SPDX-License-Identifier: GPL-2.0
/*
 * overlap: keep overlapping writes in submission order.
 *
 * Backends run many writes at once (sio from several threads, aio asynchronously),
 * and replay will too. Writes whose byte ranges do not overlap may run in any
 * order; a write that overlaps earlier writes still running must wait until all of
 * them ended, so the backing ends up with the data of the last write submitted.
 *
 * Every begun write is in an interval tree keyed by its byte range, stamped with a
 * sequence number. At begin, a write counts the overlapping writes already in the
 * tree (all earlier) as its blockers. At end, the ending write leaves the tree and
 * decrements the blockers of every overlapping write with a higher sequence number
 * (each of those counted it, because it was in the tree when they began); a write
 * whose count drops to zero is started. Cost: O(log n + overlaps) per call.
 *
 * Context: begin from process context; end from any context, including hardirq
 * (aio completions), hence the irq-safe spinlock. Start callbacks run after the
 * lock is dropped, in the context of the end call, and must only queue work.
 */
#include <linux/interval_tree_generic.h>
#include <linux/list.h>
#include <linux/spinlock.h>

#include "mars.h"

#define OVL_START(n)	((n)->start)
#define OVL_LAST(n)	((n)->last)

INTERVAL_TREE_DEFINE(struct mars_overlap_node, rb, loff_t, subtree_last,
		     OVL_START, OVL_LAST, static, ovl_tree)

void mars_overlap_init(struct mars_overlap *o)
{
	spin_lock_init(&o->lock);
	o->tree = RB_ROOT_CACHED;
	o->next_seq = 0;
}

bool mars_overlap_begin(struct mars_overlap *o, struct mars_overlap_node *n,
			struct mref *m, void (*start)(struct mars_overlap_node *n))
{
	struct mars_overlap_node *p;
	unsigned long flags;
	bool may_start;

	n->start = m->pos;
	/* A zero-length write still has a position; treat it as one byte. */
	n->last = m->pos + (m->len ? m->len : 1) - 1;
	n->m = m;
	n->start_fn = start;
	n->blockers = 0;

	spin_lock_irqsave(&o->lock, flags);
	n->seq = o->next_seq++;
	for (p = ovl_tree_iter_first(&o->tree, n->start, n->last); p;
	     p = ovl_tree_iter_next(p, n->start, n->last))
		n->blockers++;
	ovl_tree_insert(n, &o->tree);
	may_start = !n->blockers;
	spin_unlock_irqrestore(&o->lock, flags);
	return may_start;
}

void mars_overlap_end(struct mars_overlap *o, struct mars_overlap_node *n)
{
	struct mars_overlap_node *p, *tmp;
	unsigned long flags;
	LIST_HEAD(ready);

	spin_lock_irqsave(&o->lock, flags);
	ovl_tree_remove(n, &o->tree);
	for (p = ovl_tree_iter_first(&o->tree, n->start, n->last); p;
	     p = ovl_tree_iter_next(p, n->start, n->last)) {
		if (p->seq < n->seq)
			continue;
		/* An ended write cannot still block: begin counted every overlap. */
		if (WARN_ON_ONCE(!p->blockers))
			continue;
		if (!--p->blockers)
			list_add_tail(&p->ready, &ready);
	}
	spin_unlock_irqrestore(&o->lock, flags);

	/*
	 * Start outside the lock. Nodes on @ready stay in the tree; only their own
	 * end call removes them, so the list entries are ours until start_fn.
	 */
	list_for_each_entry_safe(p, tmp, &ready, ready)
		p->start_fn(p);
}
