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
 * Flow: ->submit puts a request on one FIFO queue shared by all threads; a
 * thread takes the oldest request, does it with a blocking call, completes it
 * (m->endio, in the thread) and takes the next. Reads and writes are
 * vfs_iter_read()/vfs_iter_write(), DISCARD and WRITE_ZEROES are fallocate, FLUSH
 * is a group-committed fsync (all in file.c).
 *
 * Concurrency (as the kernel's concurrency-managed workqueues do it): a thread is
 * "active" from the moment it is handed work until it goes idle, except while a
 * request of its own may sleep. A new request wakes an idle thread only when no
 * thread is active, or when more requests wait than there are active threads
 * and fewer threads are active than CPUs are online (a workqueue keeps one
 * running worker per CPU; we keep at most one per CPU while there is a
 * backlog); an active thread comes back to the queue by itself. Whether a
 * request sleeps (a page-cache miss, an fsync, a contended lock) is learnt from a
 * block plug callback: each request runs under a plug of its own thread with our
 * callback on it, and schedule() runs plug callbacks (from_schedule) when the task
 * goes to sleep. Then the thread stops counting as active and, if requests wait,
 * an idle thread is woken. So requests that do not sleep (page-cache hits) stream
 * through few awake threads instead of waking one per request, and requests that
 * sleep get up to N threads. The callback is a hint that errs towards more
 * threads, never fewer: io_schedule_prepare() and the flusher wake-up of direct
 * reclaim run it "from schedule" without always sleeping, and a flush of our plug
 * by the backing's own code before the request ends (f2fs does that) counts as a
 * sleep too, since later sleeps of that request would go unseen. A thread whose
 * request was counted out stays so until that request is done, however long it
 * runs after waking: then more than one thread may be running, at most N.
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

#include <linux/blkdev.h>
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/spinlock.h>

#include "mars.h"

struct mars_sio_brick;

/* One thread of the pool. */
struct mars_sio_thread {
	struct mars_sio_brick *sb;
	/*
	 * Set (pool_lock) before the thread runs, cleared after it exited.
	 * mars_sio_kick() uses it under sb->lock for a thread it found on the
	 * idle list: a thread leaves that list (under sb->lock) before it exits.
	 */
	struct task_struct *task;
	struct list_head idle_entry;	/* on sb->idle while idle, else empty; sb->lock */
	bool slept;			/* request counted out as sleeping; sb->lock */
	bool retire;			/* asked to leave the pool; sb->lock */
	struct completion left;		/* it left the pool: kthread_stop() may come */
	bool finishing;			/* the thread itself ends the plug; thread only */
	struct blk_plug_cb cb;		/* on the plug of its current request */
};

struct mars_sio_brick {
	struct mars_brick brick;
	struct mars_file_backing fb;	/* the backing, buffered */
	struct mars_overlap overlap;	/* writes begun and not ended */
	/*
	 * irq-safe: ->submit needs no more than process context, but a start
	 * callback runs wherever mars_overlap_end() is called; keep it safe.
	 * The plug callback takes it from schedule() of our own threads, i.e.
	 * inside whatever sleeping locks the backing's code holds there (the
	 * group commit's sync_lock, inode locks); we never sleep holding it.
	 * Under it we only wake threads (p->pi_lock, the runqueue lock).
	 */
	spinlock_t lock;
	struct list_head queue;		/* mars_sio_aspect waiting for a thread; lock */
	struct list_head idle;		/* idle mars_sio_thread, latest first; lock */
	unsigned int nr_active;		/* threads active (see the top); lock */
	unsigned int nr_queued;		/* requests on queue; lock */
	struct mutex pool_lock;		/* serializes resizing and teardown */
	unsigned int nr_threads;	/* threads running; pool_lock, lockless readers */
	struct mars_sio_thread threads[MARS_SIO_THREADS_MAX]; /* [0, nr_threads) */
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

/*
 * Keep the pool's promise: while requests wait, some thread is active or none is
 * idle (then all sleep in requests of their own and come back to the queue).
 * Beyond that, a backlog (more requests waiting than threads active, each of
 * which takes one next) wakes more threads, up to one per online CPU.
 * Called with sb->lock held after every change of the queue or of nr_active.
 */
static void mars_sio_kick(struct mars_sio_brick *sb)
{
	struct mars_sio_thread *th;

	lockdep_assert_held(&sb->lock);
	if (list_empty(&sb->queue) || list_empty(&sb->idle))
		return;
	if (sb->nr_active && (sb->nr_active >= num_online_cpus() ||
			      sb->nr_queued <= sb->nr_active))
		return;
	th = list_first_entry(&sb->idle, struct mars_sio_thread, idle_entry);
	list_del_init(&th->idle_entry);
	sb->nr_active++;
	/*
	 * Under the lock: an idle thread leaves the idle list only under it, and
	 * exits only after leaving it, so th->task is alive here.
	 */
	wake_up_process(th->task);
}

/* Hand a request to the pool. Any context; never blocks. */
static void mars_sio_queue(struct mars_sio_brick *sb, struct mars_sio_aspect *a)
{
	unsigned long flags;

	spin_lock_irqsave(&sb->lock, flags);
	list_add_tail(&a->entry, &sb->queue);
	sb->nr_queued++;
	mars_sio_kick(sb);
	spin_unlock_irqrestore(&sb->lock, flags);
}

/*
 * Plug callback, in the thread itself: runs when the plug of its request is
 * flushed, from schedule() (from_schedule: the thread goes to sleep, or may: its
 * state may no longer be TASK_RUNNING, so we must not sleep here), from our own
 * blk_finish_plug() (finishing: nothing to do) or from the backing's code ending
 * the plug early (counted as a sleep: the rest of the request goes unseen).
 */
static void mars_sio_unplug(struct blk_plug_cb *cb, bool from_schedule)
{
	struct mars_sio_thread *th = container_of(cb, struct mars_sio_thread, cb);
	struct mars_sio_brick *sb = th->sb;
	unsigned long flags;

	if (!from_schedule && th->finishing)
		return;
	spin_lock_irqsave(&sb->lock, flags);
	if (!th->slept) {
		th->slept = true;
		sb->nr_active--;
		mars_sio_kick(sb);
	}
	spin_unlock_irqrestore(&sb->lock, flags);
}

static int mars_sio_op(struct mars_sio_brick *sb, struct mref *m)
{
	switch (m->op) {
	case MREF_READ:
	case MREF_WRITE:
		return mars_file_rw(&sb->fb, m);
	case MREF_FLUSH:
		return mars_file_flush(&sb->fb);
	case MREF_DISCARD:
	case MREF_WRITE_ZEROES:
		return mars_file_fallocate(&sb->fb, m);
	default:
		return -EOPNOTSUPP;
	}
}

static void mars_sio_do(struct mars_sio_thread *th, struct mars_sio_aspect *a)
{
	struct mars_sio_brick *sb = th->sb;
	struct mref *m = a->m;
	struct blk_plug plug;
	int err;

	/*
	 * Our own plug with our callback on it (what blk_check_plugged() does,
	 * without an allocation per request): we hear of it if the request
	 * sleeps. Plugs inside the backing's code nest into this one. Our
	 * threads hold no plug between requests; should one ever be current
	 * here, blk_start_plug() leaves ours uninitialised: go without the hint.
	 */
	blk_start_plug(&plug);
	if (current->plug == &plug)
		list_add(&th->cb.list, &plug.cb_list);
	th->finishing = false;
	err = mars_sio_op(sb, m);
	th->finishing = true;
	blk_finish_plug(&plug);	/* runs the callback if it is still on */

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

/*
 * Go idle until mars_sio_kick() hands us work or mars_sio_resize() retires us;
 * both take us off the idle list and count us active again. Called and
 * returns with sb->lock held.
 */
static void mars_sio_idle(struct mars_sio_brick *sb, struct mars_sio_thread *th)
{
	list_add(&th->idle_entry, &sb->idle);
	sb->nr_active--;
	for (;;) {
		/* TASK_IDLE: an idle pool neither adds to the load nor looks hung. */
		set_current_state(TASK_IDLE);
		if (list_empty(&th->idle_entry))
			break;
		spin_unlock_irq(&sb->lock);
		schedule();
		spin_lock_irq(&sb->lock);
	}
	__set_current_state(TASK_RUNNING);
}

static int mars_sio_thread(void *data)
{
	struct mars_sio_thread *th = data;
	struct mars_sio_brick *sb = th->sb;
	unsigned int noio = memalloc_noio_save();
	struct mars_sio_aspect *a;

	spin_lock_irq(&sb->lock);
	sb->nr_active++;
	while (!th->retire) {
		a = list_first_entry_or_null(&sb->queue, struct mars_sio_aspect,
					     entry);
		if (!a) {
			mars_sio_idle(sb, th);
			continue;
		}
		list_del(&a->entry);
		sb->nr_queued--;
		spin_unlock_irq(&sb->lock);

		mars_sio_do(th, a);
		cond_resched();

		spin_lock_irq(&sb->lock);
		if (th->slept) {
			th->slept = false;
			sb->nr_active++;
		}
	}
	/* Requests we leave behind go to the others. */
	sb->nr_active--;
	mars_sio_kick(sb);
	spin_unlock_irq(&sb->lock);
	memalloc_noio_restore(noio);

	/*
	 * Only now, with no request of ours running, may kthread_stop() come:
	 * it makes signal_pending() true (TIF_NOTIFY_SIGNAL), which would fail
	 * a request sleeping interruptibly in the backing's code (FUSE, NFS).
	 */
	complete(&th->left);
	for (;;) {
		set_current_state(TASK_IDLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/*
 * Grow or shrink the pool to @n threads. Caller holds pool_lock. On a failure to
 * start a thread, the threads started so far keep running.
 */
static int mars_sio_resize(struct mars_sio_brick *sb, unsigned int n)
{
	struct mars_sio_thread *th;
	struct task_struct *t;

	lockdep_assert_held(&sb->pool_lock);
	while (sb->nr_threads < n) {
		th = &sb->threads[sb->nr_threads];
		th->sb = sb;
		th->slept = false;
		th->retire = false;
		init_completion(&th->left);
		INIT_LIST_HEAD(&th->idle_entry);
		th->cb.callback = mars_sio_unplug;
		/* Created stopped, so th->task is set before the thread runs. */
		t = kthread_create(mars_sio_thread, th, "mars_sio/%u", sb->nr_threads);
		if (IS_ERR(t))
			return PTR_ERR(t);
		th->task = t;
		WRITE_ONCE(sb->nr_threads, sb->nr_threads + 1);
		wake_up_process(t);
	}
	while (sb->nr_threads > n) {
		WRITE_ONCE(sb->nr_threads, sb->nr_threads - 1);
		th = &sb->threads[sb->nr_threads];
		/*
		 * Retire it: an idle thread is taken off the idle list (counted
		 * active, as the exit path expects) and woken; a busy one
		 * finishes its current request first. Queued requests stay for
		 * the others. Our threads exit only when stopped, so the task is
		 * alive for kthread_stop(); it left the idle list for good, so
		 * nobody else wakes it any more.
		 */
		spin_lock_irq(&sb->lock);
		th->retire = true;
		if (!list_empty(&th->idle_entry)) {
			list_del_init(&th->idle_entry);
			sb->nr_active++;
			wake_up_process(th->task);
		}
		spin_unlock_irq(&sb->lock);
		wait_for_completion(&th->left);
		kthread_stop(th->task);
		th->task = NULL;
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
	INIT_LIST_HEAD(&sb->idle);
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
