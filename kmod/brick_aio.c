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
 * Flow: ->submit queues a work item (in the request's aspect) on the brick's
 * workqueue "mars_aio/<name>" (unbound, WQ_MEM_RECLAIM so it makes progress under
 * memory pressure). The work item starts the IO in process context:
 *  - READ/WRITE: a kiocb in the aspect, IOCB_DIRECT, ki_complete set, over an
 *    iov_iter of the request's pages (no copy), through ->read_iter/->write_iter,
 *    as loop does. The call usually returns -EIOCBQUEUED and the work item is
 *    done: many requests are in flight at once, bounded only by the queue depth
 *    of the brick above. The completion (often in interrupt context) completes
 *    the request.
 *  - FLUSH: a group-committed fsync (file.c), blocking in the work item.
 *  - DISCARD, WRITE_ZEROES: fallocate, blocking in the work item.
 * Work items run with memalloc_noio set (no reclaim IO while we hold a request).
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
	bool freeze_protect;		/* regular file: writes hold sb freeze protection */
};

/* Per-request state. */
struct mars_aio_aspect {
	struct work_struct work;	/* starts the request in process context */
	struct kiocb iocb;		/* reads and writes on a direct backing */
	struct mars_overlap_node ovl;	/* writes only */
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

/* Complete @a. Any context, hardirq included. */
static void mars_aio_done(struct mars_aio_aspect *a, int err)
{
	struct mref *m = a->m;

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

/* Start callback of a write that waited for earlier overlapping writes. */
static void mars_aio_start_waiting(struct mars_overlap_node *n)
{
	struct mars_aio_aspect *a = container_of(n, struct mars_aio_aspect, ovl);

	/* Maybe in interrupt context (the end of the earlier write): only queue. */
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
	queue_work(ab->wq, &a->work);
}

static int mars_aio_ctr(struct mars_brick *b, const struct mars_brick_args *args,
			char *err)
{
	struct mars_aio_brick *ab = to_aio_brick(b);
	int ret;

	mars_overlap_init(&ab->overlap);
	ret = mars_file_open(&ab->fb, &b->info, args->path, true, err);
	if (ret)
		return ret;
	ab->direct = ab->fb.file->f_flags & O_DIRECT;
	ab->freeze_protect = S_ISREG(file_inode(ab->fb.file)->i_mode);

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

const struct mars_brick_type mars_aio_type = {
	.name		= "aio",
	.slot		= MARS_SLOT_DATA,
	.brick_size	= sizeof(struct mars_aio_brick),
	.aspect_size	= sizeof(struct mars_aio_aspect),
	.ctr		= mars_aio_ctr,
	.dtr		= mars_aio_dtr,
	.submit		= mars_aio_submit,
};
