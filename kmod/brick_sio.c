// SPDX-License-Identifier: GPL-2.0
/*
 * sio: a backend doing blocking, buffered IO on a file or a block device from a
 * pool of kernel threads.
 *
 * Input: none (a leaf). Backing: a regular file or a block device, opened
 * read-write through the page cache (see file.c for what is accepted and what the
 * backing reports). Output: the requests of the brick above.
 *
 * Threads: N kernel threads "mars_sio/<i>", i = 0..N-1, N from the constructor
 * (0 = MARS_SIO_THREADS_DEFAULT, at most MARS_SIO_THREADS_MAX) and changeable
 * while IO runs (->set_threads): growing starts threads, shrinking stops the
 * highest-numbered ones after their current request. Queued requests are never
 * dropped: they wait on the shared queue for the threads that remain (at least
 * one). The threads run with memalloc_noio set for their whole life.
 *
 * Flow: ->submit puts a request on one FIFO queue shared by all threads and wakes
 * one idle thread; a thread takes the oldest request, does it with a blocking
 * call, completes it (m->endio, in the thread) and takes the next. Reads and
 * writes are vfs_iter_read()/vfs_iter_write(), DISCARD and WRITE_ZEROES are
 * fallocate, FLUSH is a group-committed fsync (all in file.c).
 *
 * Ordering: requests run concurrently on N threads, in no particular order, except
 * that writes (WRITE, DISCARD, WRITE_ZEROES) to overlapping byte ranges reach the
 * backing in the order they were submitted: a write passes the overlap helper
 * (overlap.c) in ->submit, and one that overlaps an earlier write still running is
 * queued only when the last such write ended (from the thread that ended it).
 * A read overlapping a running write sees the old or the new data, as on any disk.
 *
 * Durability: a write completes when its data is in the page cache. A FLUSH
 * completes after an fsync of the backing that started after the FLUSH arrived,
 * so it makes every write completed before it durable; concurrent FLUSHes share
 * one fsync (file.c). A FUA write completes after a datasync of its own range
 * (vfs_fsync_range()), so it is durable when it completes. An fsync error fails
 * the FLUSH (or FUA write) it covers.
 *
 * Teardown: the destructor runs only after every request completed (the brick
 * above drained them); it stops the threads and closes the backing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "mars.h"

struct mars_sio_brick {
	struct mars_brick brick;
	struct mars_file_backing fb;	/* the backing, buffered */
	struct mars_overlap overlap;	/* writes begun and not ended */
	/*
	 * irq-safe: ->submit needs no more than process context, but a start
	 * callback runs wherever mars_overlap_end() is called; keep it safe.
	 */
	spinlock_t lock;
	struct list_head queue;		/* mars_sio_aspect waiting for a thread; lock */
	wait_queue_head_t idle;		/* idle threads, exclusive waits: one per wake */
	struct mutex pool_lock;		/* serializes resizing and teardown */
	unsigned int nr_threads;	/* threads running; pool_lock, lockless readers */
	struct task_struct *threads[MARS_SIO_THREADS_MAX]; /* [0, nr_threads); pool_lock */
};

/* Per-request state. */
struct mars_sio_aspect {
	struct list_head entry;		/* on mars_sio_brick.queue; lock */
	struct mars_overlap_node ovl;	/* writes only */
	struct mars_sio_brick *sb;	/* our brick, for the start callback */
	struct mref *m;			/* the request this aspect belongs to */
	u64 start_ns;			/* mars_brick_start() */
};

static struct mars_sio_brick *to_sio_brick(struct mars_brick *b)
{
	return container_of(b, struct mars_sio_brick, brick);
}

/* Hand a request to the pool. Any context; never blocks. */
static void mars_sio_queue(struct mars_sio_brick *sb, struct mars_sio_aspect *a)
{
	unsigned long flags;

	spin_lock_irqsave(&sb->lock, flags);
	list_add_tail(&a->entry, &sb->queue);
	spin_unlock_irqrestore(&sb->lock, flags);
	/* After the list_add: a thread checks the queue after it set its state. */
	wake_up(&sb->idle);
}

static struct mars_sio_aspect *mars_sio_dequeue(struct mars_sio_brick *sb)
{
	struct mars_sio_aspect *a;

	spin_lock_irq(&sb->lock);
	a = list_first_entry_or_null(&sb->queue, struct mars_sio_aspect, entry);
	if (a)
		list_del(&a->entry);
	spin_unlock_irq(&sb->lock);
	return a;
}

static void mars_sio_do(struct mars_sio_brick *sb, struct mars_sio_aspect *a)
{
	struct mref *m = a->m;
	int err;

	switch (m->op) {
	case MREF_READ:
	case MREF_WRITE:
		err = mars_file_rw(&sb->fb, m);
		break;
	case MREF_FLUSH:
		err = mars_file_flush(&sb->fb);
		break;
	case MREF_DISCARD:
	case MREF_WRITE_ZEROES:
		err = mars_file_fallocate(&sb->fb, m);
		break;
	default:
		err = -EOPNOTSUPP;
		break;
	}
	/*
	 * End the write before endio: the overlap node lives in the request,
	 * which belongs to the brick above again once endio ran. Ending may
	 * queue a waiting write (mars_sio_start_waiting()).
	 */
	if (mref_is_write(m))
		mars_overlap_end(&sb->overlap, &a->ovl);
	mars_brick_done(&sb->brick, m, err, a->start_ns);
	m->endio(m, err);
}

static bool mars_sio_has_work(struct mars_sio_brick *sb)
{
	/* A hint only; mars_sio_dequeue() decides under the lock. */
	return !list_empty_careful(&sb->queue) || kthread_should_stop();
}

static int mars_sio_thread(void *data)
{
	struct mars_sio_brick *sb = data;
	unsigned int noio = memalloc_noio_save();
	struct mars_sio_aspect *a;

	for (;;) {
		/* TASK_IDLE: an idle pool neither adds to the load nor looks hung. */
		wait_event_idle_exclusive(sb->idle, mars_sio_has_work(sb));
		if (kthread_should_stop())
			break;
		a = mars_sio_dequeue(sb);
		if (!a)
			continue;	/* another thread was quicker */
		mars_sio_do(sb, a);
		cond_resched();
	}
	/*
	 * We may have consumed the wake-up of a request we leave to the others:
	 * pass it on, or that request could wait for the next submit.
	 */
	wake_up(&sb->idle);
	memalloc_noio_restore(noio);
	return 0;
}

/*
 * Grow or shrink the pool to @n threads. Caller holds pool_lock. On a failure to
 * start a thread, the threads started so far keep running.
 */
static int mars_sio_resize(struct mars_sio_brick *sb, unsigned int n)
{
	struct task_struct *t;

	lockdep_assert_held(&sb->pool_lock);
	while (sb->nr_threads < n) {
		t = kthread_run(mars_sio_thread, sb, "mars_sio/%u", sb->nr_threads);
		if (IS_ERR(t))
			return PTR_ERR(t);
		sb->threads[sb->nr_threads] = t;
		WRITE_ONCE(sb->nr_threads, sb->nr_threads + 1);
	}
	while (sb->nr_threads > n) {
		WRITE_ONCE(sb->nr_threads, sb->nr_threads - 1);
		/*
		 * Our threads exit only when stopped, so the task is alive here.
		 * Waits until the thread finished its current request; queued
		 * requests stay for the others.
		 */
		kthread_stop(sb->threads[sb->nr_threads]);
		sb->threads[sb->nr_threads] = NULL;
	}
	return 0;
}

static int mars_sio_set_threads(struct mars_brick *b, unsigned int n)
{
	struct mars_sio_brick *sb = to_sio_brick(b);
	int ret;

	if (!n)
		n = MARS_SIO_THREADS_DEFAULT;
	if (n > MARS_SIO_THREADS_MAX)
		return -EINVAL;
	mutex_lock(&sb->pool_lock);
	ret = mars_sio_resize(sb, n);
	mutex_unlock(&sb->pool_lock);
	return ret;
}

static unsigned int mars_sio_get_threads(struct mars_brick *b)
{
	return READ_ONCE(to_sio_brick(b)->nr_threads);
}

/* Start callback of a write that waited for earlier overlapping writes. */
static void mars_sio_start_waiting(struct mars_overlap_node *n)
{
	struct mars_sio_aspect *a = container_of(n, struct mars_sio_aspect, ovl);

	mars_sio_queue(a->sb, a);
}

static void mars_sio_submit(struct mars_brick *b, struct mref *m)
{
	struct mars_sio_brick *sb = to_sio_brick(b);
	struct mars_sio_aspect *a = mref_aspect(m, b);

	a->sb = sb;
	a->m = m;
	a->start_ns = mars_brick_start(b, m);
	if (mref_is_write(m) &&
	    !mars_overlap_begin(&sb->overlap, &a->ovl, m, mars_sio_start_waiting))
		return;	/* queued when the earlier overlapping writes ended */
	mars_sio_queue(sb, a);
}

static int mars_sio_ctr(struct mars_brick *b, const struct mars_brick_args *args,
			char *err)
{
	struct mars_sio_brick *sb = to_sio_brick(b);
	unsigned int n = args->threads ?: MARS_SIO_THREADS_DEFAULT;
	int ret;

	if (n > MARS_SIO_THREADS_MAX) {
		mars_err(err, "%u sio threads is above the maximum %u", n,
			 MARS_SIO_THREADS_MAX);
		return -EINVAL;
	}
	spin_lock_init(&sb->lock);
	INIT_LIST_HEAD(&sb->queue);
	init_waitqueue_head(&sb->idle);
	mutex_init(&sb->pool_lock);
	mars_overlap_init(&sb->overlap);

	/* Buffered: the page cache absorbs writes, group-committed fsyncs persist. */
	ret = mars_file_open(&sb->fb, &b->info, args->path, false, err);
	if (ret)
		goto err_destroy;

	mutex_lock(&sb->pool_lock);
	ret = mars_sio_resize(sb, n);
	if (ret) {
		mars_err(err, "cannot start sio threads: error %d", ret);
		mars_sio_resize(sb, 0);
	}
	mutex_unlock(&sb->pool_lock);
	if (ret)
		goto err_close;
	return 0;

err_close:
	mars_file_close(&sb->fb);
err_destroy:
	mutex_destroy(&sb->pool_lock);
	return ret;
}

static void mars_sio_dtr(struct mars_brick *b)
{
	struct mars_sio_brick *sb = to_sio_brick(b);

	mutex_lock(&sb->pool_lock);
	mars_sio_resize(sb, 0);
	mutex_unlock(&sb->pool_lock);
	/* The brick above drained its requests before it put us. */
	WARN_ON_ONCE(!list_empty(&sb->queue));
	mars_file_close(&sb->fb);
	mutex_destroy(&sb->pool_lock);
}

const struct mars_brick_type mars_sio_type = {
	.name		= "sio",
	.slot		= MARS_SLOT_DATA,
	.brick_size	= sizeof(struct mars_sio_brick),
	.aspect_size	= sizeof(struct mars_sio_aspect),
	.ctr		= mars_sio_ctr,
	.dtr		= mars_sio_dtr,
	.submit		= mars_sio_submit,
	.set_threads	= mars_sio_set_threads,
	.get_threads	= mars_sio_get_threads,
};
