// SPDX-License-Identifier: GPL-2.0
/*
 * aio: a backend doing in-kernel asynchronous direct IO on a file or a block
 * device.
 *
 * Input: none (a leaf). Backing: a regular file or a block device, opened
 * read-write with O_DIRECT (see file.c for what is accepted and what the backing
 * reports). On a filesystem without direct IO it is opened buffered instead and
 * reads and writes become blocking calls in the workqueue (logged at creation).
 *
 * Flow: a direct READ or WRITE from the if brick (MREF_F_TASK) to anything but
 * a synchronous device (mars_direct_suits(); for a file, the device of its
 * filesystem), outside submit_bio() of the layer above, reclaim and another
 * filesystem's transaction (mars_direct_ok()), is started right in ->submit,
 * with our own plug in place of the caller's (mars_direct_begin() in mars.h).
 * Everything else
 * queues a work item (in the request's aspect) on the brick's workqueue
 * "mars_aio/<name>" (unbound, WQ_MEM_RECLAIM so it makes progress under memory
 * pressure), which starts the IO in process context. Inside submit_bio() the
 * filesystem's direct IO could wait for its own bios still queued in
 * current->bio_list (inode_dio_wait) or for a bio pool without rescuer, hence the
 * work item there.
 *  - READ/WRITE: a kiocb in the aspect, IOCB_DIRECT, ki_complete set, over an
 *    iov_iter of the request's pages (no copy), through ->read_iter/->write_iter,
 *    as loop does. The call usually returns -EIOCBQUEUED and the submitter is
 *    done: many requests are in flight at once, bounded only by the queue depth
 *    of the brick above. The completion (often in interrupt context) completes
 *    the request.
 *  - FLUSH: a group-committed fsync (file.c), blocking in the work item.
 *  - DISCARD, WRITE_ZEROES: fallocate, blocking in the work item.
 * Work items run with memalloc_noio set (no reclaim IO while we hold a request).
 *
 * Depth: at most aio_depth requests (a live tunable, MARS_TUN_AIO_DEPTH_*) are
 * started and not completed at once; the rest wait in a FIFO list and are
 * started from the workqueue as earlier ones complete, or at once when the depth
 * grows. The fast path is one atomic increment; the list and its lock are only
 * touched when the depth is reached (see mars_aio_kick() for why no wakeup is
 * lost). The if brick above bounds the requests that can wait (its tags).
 *
 * Ordering: requests run concurrently and complete in any order, except that
 * writes (WRITE, DISCARD, WRITE_ZEROES) to overlapping byte ranges reach the
 * backing in the order they were submitted: a write passes the overlap helper
 * (overlap.c) in ->submit, and one that overlaps an earlier write still running
 * is queued to the workqueue only when the last such write completed.
 *
 * Durability: a direct write completes when the device completed it (possibly in
 * its volatile cache). A FLUSH completes after an fsync of the backing that
 * started after the FLUSH arrived (which flushes the device's cache), so it makes
 * every write completed before it durable; concurrent FLUSHes share one fsync. A
 * FUA write is issued with IOCB_DSYNC: the filesystem or the block device makes
 * it durable (REQ_FUA, or a sync of the range) before it completes. The buffered
 * fallback gives the same guarantees the way sio does.
 *
 * Lifetime of a request: while a kiocb is submitted, two references hold it, the
 * submitting work item's (until the call returned) and the completion's; the
 * last one completes the request. So a completion that runs before the call
 * returned cannot free what the filesystem is still looking at.
 *
 * Alignment: the brick above takes its logical block size and DMA alignment from
 * this backing, so requests are aligned for O_DIRECT; a misaligned one fails with
 * the filesystem's error (-EINVAL).
 *
 * Teardown: the destructor runs only after every request completed; it destroys
 * the workqueue and closes the backing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/sched/mm.h>
#include <linux/uio.h>
#include <linux/workqueue.h>

#include "mars.h"

struct mars_aio_brick {
	struct mars_brick brick;
	struct mars_file_backing fb;	/* the backing, O_DIRECT if it can */
	struct mars_overlap overlap;	/* writes begun and not ended */
	struct workqueue_struct *wq;	/* runs mars_aio_aspect.work */
	bool direct;			/* backing opened O_DIRECT: reads/writes async */
	bool inline_ok;			/* not a synchronous device: start in queue_rq */
	atomic_t inflight;		/* admitted and not completed */
	u32 depth;			/* aio_depth: admitted at most */
	spinlock_t wait_lock;		/* waiting; taken in any context (irqsave) */
	struct list_head waiting;	/* not admitted yet, oldest first */
	bool freeze_protect;		/* regular file: writes hold sb freeze protection */
};

/* Per-request state. */
struct mars_aio_aspect {
	struct work_struct work;	/* starts the request in process context */
	struct kiocb iocb;		/* reads and writes on a direct backing */
	struct mars_overlap_node ovl;	/* writes only */
	struct list_head wait;		/* in waiting while not admitted */
	struct mars_aio_brick *ab;	/* our brick, for work and callbacks */
	struct mref *m;			/* the request this aspect belongs to */
	atomic_t ref;			/* while a kiocb is submitted: submitter + completion */
	long ret;			/* result of the kiocb: bytes or -errno */
	u64 start_ns;			/* mars_brick_start() */
};

static struct mars_aio_brick *to_aio_brick(struct mars_brick *b)
{
	return container_of(b, struct mars_aio_brick, brick);
}

static void mars_aio_kick(struct mars_aio_brick *ab);

/* Complete @a. Any context, hardirq included. */
static void mars_aio_done(struct mars_aio_aspect *a, int err)
{
	struct mars_aio_brick *ab = a->ab;
	struct mref *m = a->m;

	/* Our slot is free: a waiting request may start (a is still ours here). */
	atomic_dec(&ab->inflight);
	smp_mb__after_atomic();	/* the decrement before the look at waiting */
	if (!list_empty_careful(&ab->waiting))
		mars_aio_kick(ab);

	/* Before endio: the node lives in the request, which then is not ours. */
	if (mref_is_write(m))
		mars_overlap_end(&a->ab->overlap, &a->ovl);
	mars_brick_done(&a->ab->brick, m, err, a->start_ns);
	m->endio(m, err);
}

static void mars_aio_put(struct mars_aio_aspect *a)
{
	struct mref *m = a->m;
	int err = 0;

	if (!atomic_dec_and_test(&a->ref))
		return;
	if (m->op == MREF_WRITE && a->ab->freeze_protect)
		kiocb_end_write(&a->iocb);
	/* The device never reaches beyond the backing: short is an error. */
	if (a->ret < 0)
		err = a->ret;
	else if (a->ret != m->len)
		err = -EIO;
	if (err)
		pr_err_ratelimited("%pD: %s of %u bytes at %lld failed: %d (%ld done)\n",
				   a->ab->fb.file, m->op == MREF_WRITE ? "write" : "read",
				   m->len, m->pos, err, a->ret);
	mars_aio_done(a, err);
}

/* ki_complete: the filesystem or block layer finished a queued kiocb. */
static void mars_aio_complete(struct kiocb *iocb, long ret)
{
	struct mars_aio_aspect *a = container_of(iocb, struct mars_aio_aspect, iocb);

	a->ret = ret;
	mars_aio_put(a);
}

/*
 * Start a direct read or write. It completes through mars_aio_complete(), maybe
 * before this returns: @a may be gone when it returns.
 */
static void mars_aio_rw(struct mars_aio_aspect *a)
{
	struct mars_aio_brick *ab = a->ab;
	struct file *file = ab->fb.file;
	struct mref *m = a->m;
	struct iov_iter iter;
	ssize_t ret;

	mars_mref_iter(m, &iter);
	a->iocb = (struct kiocb) {
		.ki_filp = file,
		.ki_pos = m->pos,
		.ki_complete = mars_aio_complete,
		.ki_flags = IOCB_DIRECT,
		.ki_ioprio = m->ioprio,
	};
	atomic_set(&a->ref, 2);

	if (m->op == MREF_WRITE) {
		a->iocb.ki_flags |= IOCB_WRITE;
		if (m->flags & MREF_F_FUA)
			a->iocb.ki_flags |= IOCB_DSYNC;
		/*
		 * Freeze protection for the whole write, released by the last
		 * reference (maybe in interrupt context), as fs/aio.c does.
		 */
		if (ab->freeze_protect)
			kiocb_start_write(&a->iocb);
		ret = call_write_iter(file, &a->iocb, &iter);
	} else {
		ret = call_read_iter(file, &a->iocb, &iter);
	}

	/*
	 * Drop the submitter's reference. With -EIOCBQUEUED the completion owns
	 * the other one and may have run already, so @a is not ours any more;
	 * otherwise ki_complete is never called and we complete here.
	 */
	mars_aio_put(a);
	if (ret != -EIOCBQUEUED)
		mars_aio_complete(&a->iocb, ret);
}

static void mars_aio_work(struct work_struct *work)
{
	struct mars_aio_aspect *a = container_of(work, struct mars_aio_aspect, work);
	struct mars_aio_brick *ab = a->ab;
	unsigned int noio = memalloc_noio_save();
	struct mref *m = a->m;
	int err;

	switch (m->op) {
	case MREF_READ:
	case MREF_WRITE:
		if (ab->direct) {
			mars_aio_rw(a);
			goto out;	/* completes on its own; @a may be gone */
		}
		err = mars_file_rw(&ab->fb, m);
		break;
	case MREF_FLUSH:
		err = mars_file_flush(&ab->fb);
		break;
	case MREF_DISCARD:
	case MREF_WRITE_ZEROES:
		err = mars_file_fallocate(&ab->fb, m);
		break;
	default:
		err = -EOPNOTSUPP;
		break;
	}
	mars_aio_done(a, err);
out:
	memalloc_noio_restore(noio);
}

/*
 * Admit waiting requests while the depth allows, oldest first; they start from
 * the workqueue (we may be in a completion's interrupt context). Any context.
 *
 * No request is left waiting with a free slot: a submitter that finds the depth
 * reached adds itself to the list and then kicks, under the lock; a completion
 * frees its slot (atomic_dec, full barrier) and then looks at the list. Either
 * the completion sees the new entry and kicks, or the submitter's kick, which
 * runs later, sees the freed slot.
 */
static void mars_aio_kick(struct mars_aio_brick *ab)
{
	struct mars_aio_aspect *a;
	unsigned long flags;

	spin_lock_irqsave(&ab->wait_lock, flags);
	while (!list_empty(&ab->waiting)) {
		if (atomic_inc_return(&ab->inflight) > READ_ONCE(ab->depth)) {
			atomic_dec(&ab->inflight);
			break;
		}
		a = list_first_entry(&ab->waiting, struct mars_aio_aspect, wait);
		list_del_init(&a->wait);
		queue_work(ab->wq, &a->work);
	}
	spin_unlock_irqrestore(&ab->wait_lock, flags);
}

/* Take a slot for @a (true), or put it on the waiting list (false). Any context. */
static bool mars_aio_admit(struct mars_aio_aspect *a)
{
	struct mars_aio_brick *ab = a->ab;
	unsigned long flags;

	/* Earlier waiters go first: take a slot at once only when none waits. */
	if (list_empty_careful(&ab->waiting)) {
		if (atomic_inc_return(&ab->inflight) <= READ_ONCE(ab->depth))
			return true;
		atomic_dec(&ab->inflight);
	}
	spin_lock_irqsave(&ab->wait_lock, flags);
	list_add_tail(&a->wait, &ab->waiting);
	spin_unlock_irqrestore(&ab->wait_lock, flags);
	mars_aio_kick(ab);	/* a slot may have been freed meanwhile */
	return false;
}

/* Start callback of a write that waited for earlier overlapping writes. */
static void mars_aio_start_waiting(struct mars_overlap_node *n)
{
	struct mars_aio_aspect *a = container_of(n, struct mars_aio_aspect, ovl);

	/* Maybe in interrupt context (the end of the earlier write): only queue. */
	if (mars_aio_admit(a))
		queue_work(a->ab->wq, &a->work);
}

static void mars_aio_submit(struct mars_brick *b, struct mref *m)
{
	struct mars_aio_brick *ab = to_aio_brick(b);
	struct mars_aio_aspect *a = mref_aspect(m, b);

	a->ab = ab;
	a->m = m;
	a->start_ns = mars_brick_start(b, m);
	INIT_WORK(&a->work, mars_aio_work);
	/*
	 * Begin here, not in the work item: work items may run in any order, the
	 * overlap helper must see the writes in submission order.
	 */
	if (mref_is_write(m) &&
	    !mars_overlap_begin(&ab->overlap, &a->ovl, m, mars_aio_start_waiting))
		return;	/* queued when the earlier overlapping writes ended */
	if (!mars_aio_admit(a))
		return;	/* queued when a slot is free */
	/*
	 * A direct read or write may start here (see mars_direct_begin()); it
	 * returns once the kiocb is queued. Everything else blocks (fsync,
	 * fallocate, buffered IO) and goes to the workqueue.
	 */
	if (ab->direct && ab->inline_ok && (m->op == MREF_READ || m->op == MREF_WRITE) &&
	    mars_direct_ok(m, true)) {
		struct mars_direct d;

		mars_direct_begin(&d);
		mars_aio_rw(a);
		mars_direct_end(&d);
		return;
	}
	queue_work(ab->wq, &a->work);
}

static int mars_aio_ctr(struct mars_brick *b, const struct mars_brick_args *args,
			char *err)
{
	struct mars_aio_brick *ab = to_aio_brick(b);
	struct inode *host;
	int ret;

	mars_overlap_init(&ab->overlap);
	atomic_set(&ab->inflight, 0);
	ab->depth = MARS_TUN_AIO_DEPTH_DEF;	/* until the publisher applies the tunables */
	spin_lock_init(&ab->wait_lock);
	INIT_LIST_HEAD(&ab->waiting);
	ret = mars_file_open(&ab->fb, &b->info, args->path, true, err);
	if (ret)
		return ret;
	ab->direct = ab->fb.file->f_flags & O_DIRECT;
	ab->freeze_protect = S_ISREG(file_inode(ab->fb.file)->i_mode);
	/* A device node's block device: its mapping's host, not the node's inode. */
	host = ab->fb.file->f_mapping->host;
	/* A file: the device its filesystem sits on (NULL for one without). */
	ab->inline_ok = mars_direct_suits(S_ISBLK(host->i_mode) ? I_BDEV(host) :
					  host->i_sb->s_bdev);

	ab->wq = alloc_workqueue("mars_aio/%s", WQ_UNBOUND | WQ_MEM_RECLAIM, 0,
				 args->name ? args->name : "");
	if (!ab->wq) {
		mars_err(err, "cannot allocate the aio workqueue");
		ret = -ENOMEM;
		goto err_close;
	}
	return 0;

err_close:
	mars_file_close(&ab->fb);
	return ret;
}

static void mars_aio_dtr(struct mars_brick *b)
{
	struct mars_aio_brick *ab = to_aio_brick(b);

	/* Every request completed; this only waits for work items to return. */
	destroy_workqueue(ab->wq);
	mars_file_close(&ab->fb);
}

/* aio_depth changed: a larger depth admits waiting requests at once. */
static void mars_aio_set_tun(struct mars_brick *b, const struct mars_tun *eff)
{
	struct mars_aio_brick *ab = to_aio_brick(b);
	u32 depth = clamp_t(u32, eff->aio_depth, MARS_TUN_AIO_DEPTH_MIN, MARS_TUN_AIO_DEPTH_MAX);

	if (READ_ONCE(ab->depth) == depth)
		return;
	WRITE_ONCE(ab->depth, depth);
	mars_aio_kick(ab);
}

const struct mars_brick_type mars_aio_type = {
	.name		= "aio",
	.slot		= MARS_SLOT_DATA,
	.brick_size	= sizeof(struct mars_aio_brick),
	.aspect_size	= sizeof(struct mars_aio_aspect),
	.ctr		= mars_aio_ctr,
	.dtr		= mars_aio_dtr,
	.submit		= mars_aio_submit,
	.set_tun	= mars_aio_set_tun,
};
