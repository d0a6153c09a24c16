// SPDX-License-Identifier: GPL-2.0
/*
 * logger: the transaction logger brick (docs/architecture.md 3.3-3.10).
 *
 *	if  ->  logger  ->  data backend (sio | aio | bio)
 *	          |
 *	          +-> logfile <log_dir>/resource-<res>/log-<seq>-<host> (buffered
 *	              writes and fdatasync from the logger's own thread)
 *
 * Every write (WRITE, DISCARD, WRITE_ZEROES) becomes an extent: its data is copied
 * into a shadow buffer, the extent enters the interval tree (reads see it at once)
 * and the log queue. A write completes at once ("early ack"), or, when it carries
 * FUA or ack_mode is "logged", when its record is durable in the log. A FLUSH
 * completes when every record queued before it is durable. The log thread (logd)
 * takes the queued extents in order, writes them as records in one batch IO and
 * syncs (group commit). Durable extents go to the writeback thread (wbd), which
 * writes them to the data backend in batches sorted by position, skipping data
 * that newer extents cover, flushes the data backend, and advances the writeback
 * checkpoint. Memory is bounded by buf_max_mb: writers wait (never fail) at the
 * bound.
 *
 * Extent states, in order; each extent is on exactly one of the lists named:
 *	QUEUED	 logq: waiting for the log thread
 *	UNSYNCED unsyncq: written to the log, not yet synced
 *	LOGGED	 wbq: durable in the log, waiting for writeback
 *	WB	 a writeback batch: IO to the data backend in flight
 *	WRITTEN	 writtenq: on the data backend, not yet flushed there
 *	DONE	 durable on the data backend (or skipped: newer data covers it)
 * Independently, every extent is on ckq (log order) until it is DONE and every
 * older extent is DONE too: the head of ckq is the writeback checkpoint.
 *
 * Locking: lg->lock (a spinlock, process context only) protects the tree, the
 * lists, the states and the positions. Completions of lower IO may run in hardirq
 * context; they touch only atomics, completions, wait queues and work items.
 * Upper requests are completed (endio) without the lock held.
 *
 * Lifetime of an extent: pref counts users of its pages (tree, readers, writeback
 * IO); at zero the pages are freed and the buffer memory uncharged. ref counts
 * users of the struct (ckq, and the pages while pref > 0); at zero it is freed.
 *
 * Deadlock avoidance: the threads run with memalloc_noio and, when they write the
 * log, PF_LOCAL_THROTTLE (as loop): pages dirtied in the log filesystem must not
 * wait for the cleaning of pages that only we can clean.
 *
 * Live tunables (mars_logger_set_tun(), from the state publisher every state_ms):
 * log_commit_us is how long logd lets unsynced records wait for more to join
 * their sync; wb_depth bounds the writeback writes in flight; wb_rate_kib limits
 * background writeback with a token bucket in wbd. The rate limit never holds up
 * a drain (delete, emergency entry): a drain writes back at full speed, as it
 * did before the limit existed, because an operator who deletes a resource or
 * whose log filesystem is full wants it done, not paced. It is also ignored
 * while shadow buffers are above 75% of buf_max_mb (architecture.md 3.5), so a
 * low rate slows writeback but never throttles writers for ever.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/interval_tree_generic.h>
#include <linux/kthread.h>
#include <linux/mempool.h>
#include <linux/namei.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/statfs.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>
#include <asm/unaligned.h>

#include "mars.h"
#include "mars_trace.h"
#include "mlog.h"

enum lg_state { LG_QUEUED, LG_UNSYNCED, LG_LOGGED, LG_WB, LG_WRITTEN, LG_DONE };
enum lg_mode { LG_NORMAL, LG_ENTERING, LG_EMERGENCY, LG_LEAVING };

/* Records per log batch at most (header slots of 64 bytes: never across a page). */
#define LG_BATCH_RECS		256
#define LG_HDR_SLOT		64
/* Extents per writeback batch at most. */
#define LG_WB_BATCH		256
#define LG_PATH_MAX		512
/* Rate-limited writeback: bucket size and batch size, in ms of the rate. */
#define LG_WB_BURST_MS		100
#define LG_WB_BATCH_MS		250

struct lg_ext {
	struct rb_node rb;		/* lg->tree while in_tree */
	loff_t start, last, subtree_last;
	struct list_head q;		/* logq, unsyncq, wbq, batch, writtenq */
	struct list_head ck;		/* ckq until the checkpoint passes it */
	struct list_head wnode;		/* emergency: extents with a waiter */
	refcount_t pref;		/* page users */
	refcount_t ref;			/* struct users */
	u64 qseq;			/* queue order = log order */
	u64 log_seq, log_off;		/* the record's place; 0 until written */
	u64 rec_seq;			/* the record's number; 0 until written */
	loff_t pos;
	u32 len;
	u8 op;				/* MREF_WRITE, MREF_DISCARD, MREF_WRITE_ZEROES */
	u8 state;			/* enum lg_state; lock */
	bool in_tree;			/* lock */
	u16 rflags;			/* MLOG_F_SYNC, MLOG_F_NOUNMAP */
	struct mref *waiter;		/* completes when the record is durable */
	unsigned long born;		/* jiffies at arrival (rstate wb_lag_ns) */
	unsigned int nr_pages;
	struct bio_vec bvec[];		/* DATA: the shadow buffer, from offset 0 */
};

#define EXT_START(e)	((e)->start)
#define EXT_LAST(e)	((e)->last)
INTERVAL_TREE_DEFINE(struct lg_ext, rb, loff_t, subtree_last, EXT_START, EXT_LAST,
		     static, ext_tree)

struct mars_logger;

/*
 * A request the logger sends to the data backend. The backend's aspect follows
 * at lower->aspect_off (mars_logger_io_size() leaves room for this struct).
 */
struct lg_io {
	struct mref m;
	struct mars_logger *lg;
	struct mref *orig;		/* read or pass-through: the request to complete */
	void *priv;			/* synchronous IO: struct lg_sync */
	struct lg_ext **refs;		/* read: extents to copy over the data read */
	unsigned int nr_refs;
	int err;
	u64 start_ns;			/* writeback, replay: submitted (tracepoints) */
	u32 inflight;			/* writeback: writes in flight at submit */
	u32 rec_type;			/* replay: the record (tracepoint) */
	u64 rec_seq, rec_log_seq, rec_off;
	struct work_struct work;
	struct mars_overlap_node ovl;	/* replay: keep overlapping writes in order */
	struct page **pages;		/* replay: owned data */
	unsigned int nr_pages;
	struct bio_vec *own_bvec;	/* replay: owned bvec array */
};

/*
 * The logger's state in a request from the brick above (the if brick's PDU, at
 * brick.aspect_off): when the request entered the logger, for slot
 * MARS_SLOT_LOGGER of mars_lat and the req_submit/req_done events.
 */
struct lg_aspect {
	u64 start_ns;			/* mars_brick_start() */
};

/* A FLUSH waiting for the log. */
struct lg_flush {
	struct list_head list;
	u64 target;			/* qseq that must be durable */
	struct mref *m;
};

struct mars_logger {
	struct mars_brick brick;
	char name[MARS_NAME_MAX];
	u32 res_id;			/* slot in the per-resource maps (tracepoints) */
	char host[MARS_HOST_MAX];
	u8 uuid[16];
	char *dir;			/* <log_dir>/resource-<name> */
	struct path dir_path;		/* for statfs, also while no file is open */
	u32 lbs;
	mempool_t *io_pool;		/* struct lg_io + the backend's aspect */
	size_t io_size;
	struct workqueue_struct *wq;	/* read completions */

	spinlock_t lock;		/* see the locking rules at the top */
	struct rb_root_cached tree;	/* extents by range; lock */
	struct list_head logq, unsyncq, wbq, writtenq, ckq, flushq;	/* lock */
	u64 qseq;			/* last queued; lock */
	u64 durable_qseq;		/* last durable in the log; lock */
	u64 dur_seq, dur_off;		/* durable end of the log; lock */
	u64 dur_rec_seq;		/* last record before dur_off (0: none); lock */
	u64 wb_seq, wb_off;		/* writeback checkpoint; lock */
	int mode;			/* enum lg_mode; lock */
	bool wb_drain;			/* logd asks wbd to drain; lock */
	bool wb_drained;		/* wbd answers; lock */
	bool stopping;			/* dtr: logd finishes its queue; lock */
	bool rotate_req;		/* lock */
	bool enter_req;			/* ioctl asks for emergency; lock */
	bool log_error;			/* lock */
	atomic_t throttled;		/* writers waiting for buffer memory */

	atomic64_t buf_used;		/* bytes of shadow buffers */
	wait_queue_head_t throttle_wq;
	wait_queue_head_t mode_wq;	/* mode changes; rotation done */
	wait_queue_head_t logd_wq;
	wait_queue_head_t wbd_wq;
	wait_queue_head_t idle_wq;	/* logd idle, wbd drained */
	atomic_t pass_inflight;		/* emergency pass-through requests */
	atomic_t log_inflight;		/* logfile writes and syncs (MARS_SLOT_LOG) */
	struct mutex mode_mutex;	/* one emergency transition at a time */

	/* Log writer (logd only, read by the publisher without the lock). */
	struct task_struct *logd;
	struct file *logf;
	u64 log_seq, log_appended, log_durable, log_salt;
	u64 next_rec_seq, lamport, durable_rec_seq, durable_lamport;
	u64 appended_lamport;		/* of the last record appended */
	bool waiter_unsynced;		/* an unsynced record has a waiting write */
	u8 *hdrbuf;
	struct bio_vec *bvecs;
	unsigned int max_bvecs;
	unsigned long next_statfs;
	u64 unsynced_since;		/* ktime_get_ns() of the oldest unsynced append */
	u64 fs_free, fs_size;
	u64 emerg_since_ns;
	u64 rot_old_seq, rot_old_end;
	int rotate_ret;
	u64 rotate_gen;			/* rotations done; lock */

	/* Writeback (wbd only). */
	struct task_struct *wbd;
	struct lg_ext **wb_batch;	/* LG_WB_BATCH entries */
	struct lg_io **wb_ios;
	u64 wb_since_flush;
	atomic_t wb_inflight;		/* the batch's writes + 1 while submitting */
	struct completion wb_done;	/* wb_inflight reached 0 */
	atomic_t wb_busy;		/* writes in flight (bounded by wb_depth) */
	wait_queue_head_t wb_slot_wq;	/* wb_busy dropped, or wb_depth changed */
	s64 wb_tokens;			/* rate limit bucket, bytes; < 0: debt */
	u64 wb_tok_ns;			/* last refill of wb_tokens */
	atomic64_t wb_errors;

	/* Replay results (ctr). */
	struct mars_replay_progress *prog;	/* the owner's; ctr only */
	u64 replay_records, replay_bytes, replay_ns, replay_end_seq, replay_end_off;
	u32 replay_outcome;
	u64 gap_prev;			/* the new file starts with GAP(gap_prev); 0: no */
	struct semaphore replay_sem;
	atomic_t replay_inflight;
	struct completion replay_done;
	atomic_t replay_err;
	struct mars_overlap replay_ovl;

	/* Tunables, applied by the publisher (mars_logger_set_tun()). */
	u64 buf_limit;
	u64 rotate_bytes;
	u32 batch_bytes;
	u32 sync_bytes;
	u64 emerg_free;
	u64 wb_flush_bytes;
	u32 ack_logged;
	u32 replay_depth;
	u64 commit_ns;			/* log_commit_us, in ns */
	u32 wb_depth;			/* 1..1024 */
	u32 wb_rate_kib;		/* KiB/s; U32_MAX: unlimited */
	u64 replay_file_seq;		/* replay: the file being applied (tracepoint) */
};

static inline struct mars_logger *to_lg(struct mars_brick *b)
{
	return container_of(b, struct mars_logger, brick);
}

/*
 * Complete a request from the brick above: its latency in the logger (arrival
 * in mars_logger_submit() to now) goes to slot MARS_SLOT_LOGGER first, as @lg
 * may be gone once the request completed.
 */
static void lg_endio(struct mars_logger *lg, struct mref *m, int err)
{
	struct lg_aspect *a = mref_aspect(m, &lg->brick);

	mars_brick_done(&lg->brick, m, err, a->start_ns);
	m->endio(m, err);
}

static u32 lg_crc(u32 crc, const void *p, size_t len)
{
	return mars_crc32c(crc, p, len);
}

size_t mars_logger_io_size(void)
{
	return mars_aspect_align(sizeof(struct lg_io));
}

/* ---- extents ---------------------------------------------------------- */

static void lg_ext_put(struct lg_ext *e)
{
	if (refcount_dec_and_test(&e->ref))
		kfree(e);
}

/* Drop a page user; the last one frees the shadow buffer and wakes writers. */
static void lg_ext_pput(struct mars_logger *lg, struct lg_ext *e)
{
	unsigned int i;

	if (!refcount_dec_and_test(&e->pref))
		return;
	for (i = 0; i < e->nr_pages; i++)
		__free_page(e->bvec[i].bv_page);
	if (e->nr_pages) {
		atomic64_sub((u64)e->nr_pages << PAGE_SHIFT, &lg->buf_used);
		wake_up_all(&lg->throttle_wq);
	}
	lg_ext_put(e);
}

/*
 * Take @e out of the tree and drop the tree's page reference. Caller holds
 * lg->lock; freeing pages and waking writers is safe under a spinlock.
 */
static void lg_ext_untree(struct mars_logger *lg, struct lg_ext *e)
{
	if (!e->in_tree)
		return;
	ext_tree_remove(e, &lg->tree);
	e->in_tree = false;
	lg_ext_pput(lg, e);
}

static struct lg_ext *lg_ext_alloc(struct mars_logger *lg, struct mref *m)
{
	unsigned int nr = m->op == MREF_WRITE ? DIV_ROUND_UP(m->len, PAGE_SIZE) : 0;
	struct iov_iter it;
	struct lg_ext *e;
	unsigned int i;

	e = kzalloc(struct_size(e, bvec, nr), GFP_NOIO);
	if (!e)
		return NULL;
	e->nr_pages = nr;
	for (i = 0; i < nr; i++) {
		struct page *p = alloc_page(GFP_NOIO);

		if (!p)
			goto err;
		e->bvec[i].bv_page = p;
		e->bvec[i].bv_len = min_t(u32, PAGE_SIZE, m->len - i * PAGE_SIZE);
		e->bvec[i].bv_offset = 0;
	}
	if (nr) {
		mars_mref_iter(m, &it);
		for (i = 0; i < nr; i++)
			if (copy_page_from_iter(e->bvec[i].bv_page, 0, e->bvec[i].bv_len,
						&it) != e->bvec[i].bv_len) {
				i = nr;
				goto err;
			}
	}
	e->born = jiffies;
	e->pos = m->pos;
	e->len = m->len;
	e->start = m->pos;
	e->last = m->pos + m->len - 1;
	e->op = m->op;
	if (m->op == MREF_WRITE_ZEROES && (m->flags & MREF_F_NOUNMAP))
		e->rflags |= MLOG_F_NOUNMAP;
	refcount_set(&e->pref, 1);	/* the tree */
	refcount_set(&e->ref, 2);	/* ckq, pages */
	return e;
err:
	while (i--)
		__free_page(e->bvec[i].bv_page);
	kfree(e);
	return NULL;
}

/* ---- IO to the data backend ------------------------------------------- */

static struct lg_io *lg_io_alloc(struct mars_logger *lg)
{
	struct lg_io *io = mempool_alloc(lg->io_pool, GFP_NOIO);

	memset(io, 0, lg->io_size);
	io->lg = lg;
	return io;
}

static void lg_io_free(struct lg_io *io)
{
	mempool_free(io, io->lg->io_pool);
}

static void lg_submit_lower(struct mars_logger *lg, struct lg_io *io)
{
	lg->brick.lower->type->submit(lg->brick.lower, &io->m);
}

/* Synchronous IO to the lower brick (flushes). */
struct lg_sync {
	struct completion done;
	int err;
};

static void lg_sync_endio(struct mref *m, int err)
{
	struct lg_io *io = container_of(m, struct lg_io, m);
	struct lg_sync *s = io->priv;

	s->err = err;
	complete(&s->done);
}

static int lg_flush_lower(struct mars_logger *lg)
{
	struct lg_io *io = lg_io_alloc(lg);
	struct lg_sync s;

	init_completion(&s.done);
	io->priv = &s;
	io->m.op = MREF_FLUSH;
	io->m.endio = lg_sync_endio;
	lg_submit_lower(lg, io);
	wait_for_completion(&s.done);
	lg_io_free(io);
	return s.err;
}

/* Pass-through (emergency mode): the request goes to the data backend as is. */
static void lg_pass_endio(struct mref *m, int err)
{
	struct lg_io *io = container_of(m, struct lg_io, m);
	struct mars_logger *lg = io->lg;
	struct mref *orig = io->orig;
	struct lg_aspect *a = mref_aspect(orig, &lg->brick);

	/* The data brick's completion time is ours too (one clock read less). */
	mars_brick_done_at(&lg->brick, orig, err, a->start_ns, m->done_ns);
	lg_io_free(io);
	/*
	 * Before completing: once the last request completed, the device may be
	 * deleted and @lg freed (del_gendisk waits for queue_rq, not for us).
	 */
	if (atomic_dec_and_test(&lg->pass_inflight))
		wake_up_all(&lg->mode_wq);
	orig->endio(orig, err);	/* counted in MARS_SLOT_LOGGER above */
}

static void lg_pass(struct mars_logger *lg, struct mref *m)
{
	struct lg_io *io = lg_io_alloc(lg);

	io->orig = m;
	io->m.pos = m->pos;
	io->m.len = m->len;
	io->m.op = m->op;
	/* Maybe sent from a logger thread: never MREF_F_TASK. */
	io->m.flags = m->flags & ~MREF_F_TASK;
	io->m.ioprio = m->ioprio;
	io->m.bvec = m->bvec;
	io->m.nr_bvec = m->nr_bvec;
	io->m.bvec_offset = m->bvec_offset;
	io->m.endio = lg_pass_endio;
	lg_submit_lower(lg, io);
}

/* ---- reads -------------------------------------------------------------- */

static int lg_cmp_qseq(const void *a, const void *b)
{
	const struct lg_ext *x = *(struct lg_ext * const *)a;
	const struct lg_ext *y = *(struct lg_ext * const *)b;

	return x->qseq < y->qseq ? -1 : x->qseq > y->qseq;
}

/* Copy the part of @e that overlaps @m into @m's data. */
static void lg_copy_ext(struct mref *m, struct lg_ext *e)
{
	loff_t a = max(m->pos, e->pos);
	loff_t b = min(m->pos + (loff_t)m->len, e->pos + (loff_t)e->len);
	struct iov_iter it;
	size_t n = b - a;
	size_t off;

	if (a >= b)
		return;
	mars_mref_iter(m, &it);
	iov_iter_advance(&it, a - m->pos);
	if (!e->nr_pages) {
		/* WRITE_ZEROES reads as zeros; so does a DISCARD we still hold. */
		iov_iter_zero(n, &it);
		return;
	}
	off = a - e->pos;
	while (n) {
		unsigned int i = off >> PAGE_SHIFT;
		size_t po = off & ~PAGE_MASK;
		size_t c = min_t(size_t, n, PAGE_SIZE - po);

		copy_page_to_iter(e->bvec[i].bv_page, po, c, &it);
		off += c;
		n -= c;
	}
}

static void lg_overlay(struct mars_logger *lg, struct mref *m, struct lg_ext **refs,
		       unsigned int nr)
{
	unsigned int i;

	sort(refs, nr, sizeof(*refs), lg_cmp_qseq, NULL);
	for (i = 0; i < nr; i++) {
		lg_copy_ext(m, refs[i]);
		lg_ext_pput(lg, refs[i]);
	}
}

static void lg_read_work(struct work_struct *w)
{
	struct lg_io *io = container_of(w, struct lg_io, work);
	struct mars_logger *lg = io->lg;
	struct mref *orig = io->orig;
	int err = io->err;
	unsigned int i;

	if (!err) {
		lg_overlay(lg, orig, io->refs, io->nr_refs);
	} else {
		for (i = 0; i < io->nr_refs; i++)
			lg_ext_pput(lg, io->refs[i]);
	}
	kfree(io->refs);
	lg_io_free(io);
	lg_endio(lg, orig, err);
}

static void lg_read_endio(struct mref *m, int err)
{
	struct lg_io *io = container_of(m, struct lg_io, m);

	io->err = err;
	/* Copying may be up to 1 MiB and may free pages: not in hardirq context. */
	INIT_WORK(&io->work, lg_read_work);
	queue_work(io->lg->wq, &io->work);
}

static void lg_read(struct mars_logger *lg, struct mref *m)
{
	loff_t first = m->pos, last = m->pos + m->len - 1, covered = first;
	struct lg_ext **refs = NULL;
	unsigned int nr, cap = 0;
	struct lg_ext *e;
	bool full;
	struct lg_io *io;

again:
	nr = 0;
	full = true;
	covered = first;
	spin_lock(&lg->lock);
	for (e = ext_tree_iter_first(&lg->tree, first, last); e;
	     e = ext_tree_iter_next(e, first, last)) {
		/* In order of start: a gap before this extent means not covered. */
		if (e->start > covered)
			full = false;
		covered = max(covered, e->last + 1);
		if (nr < cap) {
			refcount_inc(&e->pref);
			refs[nr] = e;
		}
		nr++;
	}
	if (covered <= last)
		full = false;
	if (nr > cap) {
		unsigned int i;

		for (i = 0; i < cap; i++)
			refcount_dec(&refs[i]->pref);	/* the tree still holds one */
		spin_unlock(&lg->lock);
		kfree(refs);
		cap = nr + 8;
		/*
		 * A read must not fail for want of memory: we run in process
		 * context (queue_rq of a blocking queue), so wait for memory the
		 * way the allocator suggests. Writeback frees shadow buffers
		 * without waiting for reads, so this makes progress.
		 */
		while (!(refs = kmalloc_array(cap, sizeof(*refs), GFP_NOIO)))
			memalloc_retry_wait(GFP_NOIO);
		goto again;
	}
	spin_unlock(&lg->lock);

	if (nr && full) {
		lg_overlay(lg, m, refs, nr);
		kfree(refs);
		lg_endio(lg, m, 0);
		return;
	}
	io = lg_io_alloc(lg);
	io->orig = m;
	io->refs = refs;
	io->nr_refs = nr;
	io->m.pos = m->pos;
	io->m.len = m->len;
	io->m.op = MREF_READ;
	io->m.ioprio = m->ioprio;
	io->m.bvec = m->bvec;
	io->m.nr_bvec = m->nr_bvec;
	io->m.bvec_offset = m->bvec_offset;
	io->m.endio = lg_read_endio;
	lg_submit_lower(lg, io);
}

/* ---- the write path ------------------------------------------------------ */

/*
 * Wait while an emergency transition runs. Returns true with lg->lock held in
 * normal mode (the caller queues under the same lock, so an emergency entry cannot
 * miss the request), or false in emergency mode with pass_inflight taken for a
 * request that the caller passes to the data device.
 */
static bool lg_lock_normal(struct mars_logger *lg)
{
	int mode;

	for (;;) {
		spin_lock(&lg->lock);
		mode = lg->mode;
		if (mode == LG_NORMAL)
			return true;
		if (mode == LG_EMERGENCY)
			atomic_inc(&lg->pass_inflight);
		spin_unlock(&lg->lock);
		if (mode == LG_EMERGENCY)
			return false;
		wait_event(lg->mode_wq, READ_ONCE(lg->mode) == LG_NORMAL ||
			   READ_ONCE(lg->mode) == LG_EMERGENCY);
	}
}

/*
 * Throttle (architecture.md 3.7): wait until @charge more bytes of shadow
 * buffers fit under buf_max_mb, or none are left (a write larger than the bound
 * goes alone). Never fails. Counted in mars_io.throttled; mars:throttle fires
 * when the wait begins and when it ends.
 */
static void lg_throttle(struct mars_logger *lg, u64 charge)
{
	u64 t0 = 0;

	mars_stat_throttled(lg->res_id);
	atomic_inc(&lg->throttled);
	if (trace_throttle_enabled()) {
		t0 = ktime_get_ns();
		trace_throttle(lg->name, lg->res_id, 1, atomic64_read(&lg->buf_used),
			       READ_ONCE(lg->buf_limit), charge, 0);
	}
	wait_event(lg->throttle_wq,
		   atomic64_read(&lg->buf_used) + charge <= READ_ONCE(lg->buf_limit) ||
		   !atomic64_read(&lg->buf_used));
	atomic_dec(&lg->throttled);
	/* Also when the event was enabled while we waited (t0 0: wait unknown). */
	if (trace_throttle_enabled())
		trace_throttle(lg->name, lg->res_id, 0, atomic64_read(&lg->buf_used),
			       READ_ONCE(lg->buf_limit), charge,
			       t0 ? ktime_get_ns() - t0 : 0);
}

static void lg_write(struct mars_logger *lg, struct mref *m)
{
	u64 charge = m->op == MREF_WRITE ? (u64)DIV_ROUND_UP(m->len, PAGE_SIZE) << PAGE_SHIFT : 0;
	struct lg_ext *e;
	bool sync;

	if ((m->op == MREF_WRITE && m->len > MLOG_REC_DATA_MAX) ||
	    m->len > MLOG_REC_RANGE_MAX) {
		lg_endio(lg, m, -EIO);	/* the queue limits forbid it */
		return;
	}
	/* In emergency mode, pass through before copying anything. */
	if (READ_ONCE(lg->mode) != LG_NORMAL) {
		if (!lg_lock_normal(lg)) {
			lg_pass(lg, m);
			return;
		}
		spin_unlock(&lg->lock);
	}
	if (charge && atomic64_read(&lg->buf_used) + charge > READ_ONCE(lg->buf_limit))
		lg_throttle(lg, charge);
	while (!(e = lg_ext_alloc(lg, m)))
		msleep(20);	/* memory is short: wait, do not fail */
	atomic64_add(charge, &lg->buf_used);
	sync = (m->flags & MREF_F_FUA) || READ_ONCE(lg->ack_logged);
	if (sync) {
		e->rflags |= MLOG_F_SYNC;
		e->waiter = m;
	}

	if (!lg_lock_normal(lg)) {
		/* Emergency began meanwhile: undo, and pass through. */
		e->waiter = NULL;
		lg_ext_pput(lg, e);
		lg_ext_put(e);
		lg_pass(lg, m);
		return;
	}
	e->qseq = ++lg->qseq;
	e->state = LG_QUEUED;
	ext_tree_insert(e, &lg->tree);
	e->in_tree = true;
	list_add_tail(&e->q, &lg->logq);
	list_add_tail(&e->ck, &lg->ckq);
	spin_unlock(&lg->lock);
	wake_up(&lg->logd_wq);
	if (!sync)
		lg_endio(lg, m, 0);
}

static void lg_flush(struct mars_logger *lg, struct mref *m)
{
	struct lg_flush *f;

	/* A FLUSH must not fail for memory: wait for some, as writes do. */
	while (!(f = kmalloc(sizeof(*f), GFP_NOIO)))
		msleep(20);

	if (!lg_lock_normal(lg)) {
		kfree(f);
		lg_pass(lg, m);
		return;
	}
	if (lg->durable_qseq >= lg->qseq) {
		spin_unlock(&lg->lock);
		kfree(f);
		lg_endio(lg, m, 0);
		return;
	}
	f->target = lg->qseq;
	f->m = m;
	list_add_tail(&f->list, &lg->flushq);
	spin_unlock(&lg->lock);
	wake_up(&lg->logd_wq);
}

static void mars_logger_submit(struct mars_brick *b, struct mref *m)
{
	struct mars_logger *lg = to_lg(b);
	struct lg_aspect *a = mref_aspect(m, b);

	a->start_ns = mars_brick_start(b, m);
	switch (m->op) {
	case MREF_READ:
		if (!lg_lock_normal(lg)) {
			lg_pass(lg, m);
			return;
		}
		/* Reads need no queueing: they take the lock again to search. */
		spin_unlock(&lg->lock);
		lg_read(lg, m);
		return;
	case MREF_FLUSH:
		lg_flush(lg, m);
		return;
	default:
		lg_write(lg, m);
		return;
	}
}

/* ---- logfiles ------------------------------------------------------------- */

static int lg_file_path(struct mars_logger *lg, u64 seq, char *buf)
{
	int n = snprintf(buf, LG_PATH_MAX, "%s/log-%09llu-%s", lg->dir, seq, lg->host);

	return n >= LG_PATH_MAX ? -ENAMETOOLONG : 0;
}

static u64 lg_lamport(struct mars_logger *lg)
{
	lg->lamport = max(ktime_get_real_ns(), lg->lamport + 1);
	return lg->lamport;
}

/*
 * Write @len bytes described by @bv at *@pos of the log. 0 or -errno. Every
 * write of a logfile (a batch of records, an EOF or GAP record, a new file's
 * header) is one MREF_WRITE of slot MARS_SLOT_LOG (pos: the file offset).
 */
static int lg_log_write(struct mars_logger *lg, struct bio_vec *bv, unsigned int nr,
			size_t len, loff_t *pos)
{
	loff_t from = *pos;
	struct iov_iter it;
	ssize_t done;
	u64 t;
	int ret;

	t = mars_io_start(&lg->brick, MARS_SLOT_LOG, &lg->log_inflight, MREF_WRITE, 0,
			  from, len);
	iov_iter_bvec(&it, ITER_SOURCE, bv, nr, len);
	file_start_write(lg->logf);
	done = vfs_iter_write(lg->logf, &it, pos, 0);
	file_end_write(lg->logf);
	ret = done < 0 ? done : done == len ? 0 : -EIO;
	mars_io_done(&lg->brick, MARS_SLOT_LOG, &lg->log_inflight, MREF_WRITE, from, len,
		     ret, t);
	return ret;
}

/*
 * Make bytes [@from, @to) of logfile @f durable (fdatasync of that range). Every
 * sync of a logfile is one MREF_FLUSH of slot MARS_SLOT_LOG, pos @from and len
 * the bytes it made durable. Directory syncs are not counted.
 */
static int lg_log_fsync(struct mars_logger *lg, struct file *f, u64 from, u64 to)
{
	u64 t;
	int ret;

	t = mars_io_start(&lg->brick, MARS_SLOT_LOG, &lg->log_inflight, MREF_FLUSH, 0,
			  from, to - from);
	ret = vfs_fsync_range(f, from, to - 1, 1);
	mars_io_done(&lg->brick, MARS_SLOT_LOG, &lg->log_inflight, MREF_FLUSH, from,
		     to - from, ret, t);
	return ret;
}

static int lg_log_sync(struct mars_logger *lg)
{
	if (lg->log_durable == lg->log_appended)
		return 0;
	return lg_log_fsync(lg, lg->logf, lg->log_durable, lg->log_appended);
}

static int lg_fsync_dir(struct mars_logger *lg)
{
	struct file *d = filp_open(lg->dir, O_RDONLY | O_DIRECTORY, 0);
	int ret;

	if (IS_ERR(d))
		return PTR_ERR(d);
	ret = vfs_fsync(d, 0);
	fput(d);
	return ret;
}

/* Append one record without data (EOF, GAP) to the current file and sync it. */
static int lg_log_meta(struct mars_logger *lg, u16 type, u16 flags, u64 gap_prev)
{
	struct mlog_rec r = {
		.version = MLOG_REC_VERSION,
		.hdr_len = MLOG_REC_HDR_LEN,
		.type = type,
		.flags = flags,
	};
	u8 *buf = lg->hdrbuf;
	struct bio_vec bv;
	__le64 prev = cpu_to_le64(gap_prev);
	loff_t pos = lg->log_appended;
	int ret;

	r.rec_seq = lg->next_rec_seq;
	r.lamport = lg_lamport(lg);
	r.payload_len = type == MLOG_T_GAP ? sizeof(prev) : 0;
	mlog_rec_encode(&r, lg->log_salt, &prev, buf, lg_crc);
	if (r.payload_len)
		memcpy(buf + MLOG_REC_HDR_LEN, &prev, sizeof(prev));
	bv.bv_page = virt_to_page(buf);
	bv.bv_offset = offset_in_page(buf);
	bv.bv_len = mlog_rec_size(r.payload_len);
	ret = lg_log_write(lg, &bv, 1, bv.bv_len, &pos);
	if (ret)
		return ret;
	lg->next_rec_seq++;
	lg->log_appended = pos;
	ret = lg_log_sync(lg);
	if (ret)
		return ret;
	lg->log_durable = lg->log_appended;
	lg->durable_rec_seq = r.rec_seq;
	lg->durable_lamport = r.lamport;
	return 0;
}

/*
 * Remove the file @f was opened as (a logfile we just created and could not
 * finish). @f is open for writing, so it holds write access to its mount, as
 * vfs_unlink() expects of its caller. 0 or -errno.
 */
static int lg_unlink(struct file *f)
{
	struct dentry *dentry = f->f_path.dentry;
	struct dentry *parent = dget_parent(dentry);
	struct inode *dir = d_inode(parent);
	int ret = -ENOENT;

	inode_lock_nested(dir, I_MUTEX_PARENT);
	/* Under the directory's lock the name cannot move; check it is still there. */
	if (dentry->d_parent == parent && !d_unhashed(dentry) && d_is_reg(dentry))
		ret = vfs_unlink(file_mnt_user_ns(f), dir, dentry, NULL);
	inode_unlock(dir);
	dput(parent);
	return ret;
}

/*
 * Create logfile @seq with its header, durable with its directory entry
 * (log-format.md 8.1). On success it is the current file.
 */
static int lg_log_create(struct mars_logger *lg, u64 seq, char *err)
{
	struct mlog_fhdr h = {
		.version = MLOG_VERSION,
		.hdr_len = MLOG_HDR_LEN,
	};
	char *path = kmalloc(LG_PATH_MAX, GFP_KERNEL);
	u8 *buf = lg->hdrbuf;
	struct file *f, *old_f;
	struct bio_vec bv;
	loff_t pos = 0;
	int ret;

	if (!path)
		return -ENOMEM;
	if (seq < 1 || seq > MLOG_SEQ_MAX) {
		mars_err(err, "logfile number %llu out of range", seq);
		ret = -ERANGE;
		goto out;
	}
	ret = lg_file_path(lg, seq, path);
	if (ret) {
		mars_err(err, "logfile path too long");
		goto out;
	}
	f = filp_open(path, O_WRONLY | O_CREAT | O_EXCL | O_LARGEFILE | O_NOATIME, 0600);
	if (IS_ERR(f)) {
		ret = PTR_ERR(f);
		mars_err(err, "cannot create %s: %d", path, ret);
		goto out;
	}
	h.salt = get_random_u64();
	h.log_seq = seq;
	h.create_lamport = lg_lamport(lg);
	h.first_rec_seq = lg->next_rec_seq;
	h.block_size = lg->lbs;
	memcpy(h.res_uuid, lg->uuid, sizeof(h.res_uuid));
	strscpy(h.res_name, lg->name, sizeof(h.res_name));
	strscpy(h.host, lg->host, sizeof(h.host));
	mlog_fhdr_encode(&h, buf, lg_crc);
	old_f = lg->logf;
	lg->logf = f;
	bv.bv_page = virt_to_page(buf);
	bv.bv_offset = offset_in_page(buf);
	bv.bv_len = MLOG_HDR_LEN;
	ret = lg_log_write(lg, &bv, 1, MLOG_HDR_LEN, &pos);
	if (!ret)
		ret = lg_log_fsync(lg, f, 0, MLOG_HDR_LEN);
	if (!ret)
		ret = lg_fsync_dir(lg);
	if (ret) {
		/*
		 * A file without a durable header must not stay: recovery would
		 * find it in the chain, and a retry (leaving emergency mode) could
		 * never create it again (O_EXCL). The previous file stays current.
		 */
		int uret = lg_unlink(f);

		mars_err(err, "cannot write the header of %s: %d%s", path, ret,
			 uret ? "; could not remove it either: delete it by hand" : "");
		lg->logf = old_f;
		fput(f);
		goto out;
	}
	if (old_f)
		fput(old_f);
	lg->log_seq = seq;
	lg->log_salt = h.salt;
	lg->log_appended = MLOG_HDR_LEN;
	lg->log_durable = MLOG_HDR_LEN;
	spin_lock(&lg->lock);
	lg->dur_seq = seq;
	lg->dur_off = MLOG_HDR_LEN;
	lg->dur_rec_seq = lg->durable_rec_seq;
	spin_unlock(&lg->lock);
	pr_info("%s: logging to %s\n", lg->name, path);
out:
	kfree(path);
	return ret;
}

/* Free space of the log filesystem, at most every 100 ms. */
static void lg_statfs(struct mars_logger *lg, bool force)
{
	struct kstatfs st;

	if (!force && time_before(jiffies, lg->next_statfs))
		return;
	lg->next_statfs = jiffies + HZ / 10;
	if (lg->dir_path.dentry && !vfs_statfs(&lg->dir_path, &st)) {
		WRITE_ONCE(lg->fs_free, (u64)st.f_bavail * st.f_bsize);
		WRITE_ONCE(lg->fs_size, (u64)st.f_blocks * st.f_bsize);
	}
}

/* ---- the log thread --------------------------------------------------- */

/* Complete FUA writes and FLUSHes whose records are durable; no lock held. */
static void lg_complete_durable(struct mars_logger *lg, struct list_head *exts, int err)
{
	struct lg_flush *f, *fn;
	struct lg_ext *e;
	LIST_HEAD(flushes);
	u64 dq;

	list_for_each_entry(e, exts, q) {
		if (e->waiter) {
			struct mref *w = e->waiter;

			e->waiter = NULL;
			lg_endio(lg, w, err);
		}
	}
	spin_lock(&lg->lock);
	dq = lg->durable_qseq;
	list_for_each_entry_safe(f, fn, &lg->flushq, list) {
		if (f->target > dq && !err)
			break;
		list_move_tail(&f->list, &flushes);
	}
	spin_unlock(&lg->lock);
	list_for_each_entry_safe(f, fn, &flushes, list) {
		lg_endio(lg, f->m, err);
		kfree(f);
	}
}

/* Records a batch of at most LG_BATCH_RECS extents; returns the bvec count. */
static unsigned int lg_build_batch(struct mars_logger *lg, struct list_head *batch,
				   size_t *bytes)
{
	struct lg_ext *e;
	unsigned int nb = 0, ns = 0, i;
	size_t total = 0;

	list_for_each_entry(e, batch, q) {
		u8 *h = lg->hdrbuf + ns * LG_HDR_SLOT;
		struct mlog_rec r = {
			.version = MLOG_REC_VERSION,
			.hdr_len = MLOG_REC_HDR_LEN,
			.flags = e->rflags,
			.pos = e->pos,
			.len = e->len,
		};
		u32 crc;

		r.type = e->op == MREF_WRITE ? MLOG_T_DATA :
			 e->op == MREF_DISCARD ? MLOG_T_DISCARD : MLOG_T_ZERO;
		r.payload_len = e->op == MREF_WRITE ? e->len : 0;
		r.rec_seq = lg->next_rec_seq++;
		r.lamport = lg_lamport(lg);
		crc = mlog_rec_encode_begin(&r, lg->log_salt, h, lg_crc);
		for (i = 0; i < e->nr_pages; i++)
			crc = mars_crc32c(crc, page_address(e->bvec[i].bv_page),
					  e->bvec[i].bv_len);
		mlog_rec_set_crc(h, crc);
		e->log_seq = lg->log_seq;
		e->log_off = lg->log_appended + total;
		e->rec_seq = r.rec_seq;
		trace_log_append(lg->name, lg->res_id, e->log_seq, r.rec_seq, e->log_off,
				 r.type, r.pos, r.len);
		lg->bvecs[nb].bv_page = virt_to_page(h);
		lg->bvecs[nb].bv_offset = offset_in_page(h);
		lg->bvecs[nb].bv_len = MLOG_REC_HDR_LEN;
		nb++;
		for (i = 0; i < e->nr_pages; i++)
			lg->bvecs[nb++] = e->bvec[i];
		total += mlog_rec_size(r.payload_len);
		lg->appended_lamport = r.lamport;	/* durable_lamport at the sync */
		ns++;
	}
	*bytes = total;
	return nb;
}

/*
 * Take up to one batch from logq; pages stay valid: the tree holds them. Returns
 * the number of extents taken.
 */
static unsigned int lg_take_batch(struct mars_logger *lg, struct list_head *batch)
{
	size_t bytes = 0;
	unsigned int n = 0, bv = 0;
	struct lg_ext *e, *en;

	spin_lock(&lg->lock);
	list_for_each_entry_safe(e, en, &lg->logq, q) {
		size_t sz = mlog_rec_size(e->op == MREF_WRITE ? e->len : 0);

		if (n && (n >= LG_BATCH_RECS || bytes + sz > lg->batch_bytes ||
			  bv + 1 + e->nr_pages > lg->max_bvecs))
			break;
		list_move_tail(&e->q, batch);
		e->state = LG_UNSYNCED;
		if (e->waiter)
			lg->waiter_unsynced = true;
		bytes += sz;
		bv += 1 + e->nr_pages;
		n++;
	}
	spin_unlock(&lg->lock);
	return n;
}

static int lg_enter_emergency(struct mars_logger *lg, const char *why);

/* Nothing queued or unsynced: logd may stop. */
static bool lg_idle_check(struct mars_logger *lg)
{
	bool ret;

	spin_lock(&lg->lock);
	ret = list_empty(&lg->logq) && list_empty(&lg->unsyncq);
	spin_unlock(&lg->lock);
	return ret;
}

static bool lg_logd_wake(struct mars_logger *lg)
{
	bool ret;

	spin_lock(&lg->lock);
	ret = !list_empty(&lg->logq) || !list_empty(&lg->flushq) || lg->rotate_req ||
	      lg->enter_req || (lg->stopping && !list_empty(&lg->unsyncq));
	spin_unlock(&lg->lock);
	return ret || kthread_should_stop();
}

/* Close the current file with EOF and go on in the next; @reason: MARS_ROT_*. */
static int lg_rotate(struct mars_logger *lg, u32 reason)
{
	char err[MARS_ERRMSG_MAX];
	u64 old = lg->log_seq, end;
	int ret;

	ret = lg_log_meta(lg, MLOG_T_EOF, 0, 0);
	end = lg->log_appended;		/* the EOF included, if it was written */
	if (ret)
		goto out;
	lg->rot_old_seq = old;
	lg->rot_old_end = end;
	ret = lg_log_create(lg, old + 1, err);
	if (ret)
		pr_err("%s: rotation: %s\n", lg->name, err);
out:
	trace_log_rotate(lg->name, lg->res_id, old, end, old + 1, reason, ret);
	return ret;
}

/*
 * logd: wait for work. With unsynced records, wait at most until the oldest of
 * them has waited log_commit_us for more records to join its sync (group
 * commit); FUA writes, FLUSHes and requests wake us at once.
 */
static void lg_logd_wait(struct mars_logger *lg)
{
	u64 waited, commit;

	if (lg->log_appended == lg->log_durable) {
		wait_event(lg->logd_wq, lg_logd_wake(lg));
		return;
	}
	commit = READ_ONCE(lg->commit_ns);
	waited = ktime_get_ns() - lg->unsynced_since;
	if (waited < commit)
		wait_event_hrtimeout(lg->logd_wq, lg_logd_wake(lg),
				     ns_to_ktime(commit - waited));
}

static int mars_logd(void *data)
{
	struct mars_logger *lg = data;
	unsigned int noio = memalloc_noio_save();
	LIST_HEAD(batch);
	LIST_HEAD(synced);

	current->flags |= PF_LOCAL_THROTTLE;
	for (;;) {
		size_t bytes = 0;
		unsigned int nb, nrec;
		bool need_sync, rotate, enter, did_sync, requested;
		loff_t pos, from;
		u64 t0, t1, durable_recs;
		int ret;

		lg_logd_wait(lg);
		spin_lock(&lg->lock);
		enter = lg->enter_req;
		lg->enter_req = false;
		rotate = lg->rotate_req;
		spin_unlock(&lg->lock);
		if (enter) {
			lg_enter_emergency(lg, "requested");
			continue;
		}
		if (READ_ONCE(lg->mode) != LG_NORMAL) {
			if (kthread_should_stop())
				break;
			/* Rotation requests are refused by the ioctl meanwhile. */
			continue;
		}

		/* A round: write a batch and/or sync; one log_commit event tells. */
		t0 = ktime_get_ns();
		from = lg->log_appended;
		nrec = lg_take_batch(lg, &batch);
		if (nrec) {
			nb = lg_build_batch(lg, &batch, &bytes);
			pos = lg->log_appended;
			ret = lg_log_write(lg, lg->bvecs, nb, bytes, &pos);
			if (ret) {
				trace_log_commit(lg->name, lg->res_id, lg->log_seq, from, from,
						 nrec, bytes, 0, 0, ktime_get_ns() - t0, ret);
				pr_err("%s: log write failed: %d\n", lg->name, ret);
				spin_lock(&lg->lock);
				list_splice_tail_init(&batch, &lg->unsyncq);
				lg->log_error = true;
				spin_unlock(&lg->lock);
				lg_enter_emergency(lg, "log write failed");
				continue;
			}
			if (lg->log_appended == lg->log_durable)
				lg->unsynced_since = t0;
			lg->log_appended = pos;
			spin_lock(&lg->lock);
			list_splice_tail_init(&batch, &lg->unsyncq);
			spin_unlock(&lg->lock);
		}

		spin_lock(&lg->lock);
		/*
		 * Sync for a waiting FLUSH, rotation, shutdown, a full sync window, or
		 * when records have waited long enough (writeback waits for them).
		 */
		need_sync = !list_empty(&lg->flushq) || rotate || lg->stopping ||
			    (list_empty(&lg->logq) &&
			     ktime_get_ns() - lg->unsynced_since >= READ_ONCE(lg->commit_ns));
		spin_unlock(&lg->lock);
		if (lg->log_appended - lg->log_durable >= lg->sync_bytes)
			need_sync = true;
		/* A waiting FUA write (or logged-ack write) needs a sync now. */
		if (lg->waiter_unsynced)
			need_sync = true;
		/* A round that synced nothing new has no log_commit event. */
		did_sync = need_sync && lg->log_appended > lg->log_durable;
		durable_recs = 0;
		if (need_sync) {
			ret = lg_log_sync(lg);
			if (ret) {
				trace_log_commit(lg->name, lg->res_id, lg->log_seq, from,
						 lg->log_appended, nrec, bytes, 1, 0,
						 ktime_get_ns() - t0, ret);
				pr_err("%s: log sync failed: %d\n", lg->name, ret);
				spin_lock(&lg->lock);
				lg->log_error = true;
				spin_unlock(&lg->lock);
				lg_enter_emergency(lg, "log sync failed");
				continue;
			}
			t1 = ktime_get_ns();
			lg->log_durable = lg->log_appended;
			durable_recs = lg->next_rec_seq - 1 - lg->durable_rec_seq;
			lg->durable_rec_seq = lg->next_rec_seq - 1;
			lg->durable_lamport = lg->appended_lamport;
			lg->waiter_unsynced = false;
			spin_lock(&lg->lock);
			list_splice_tail_init(&lg->unsyncq, &synced);
			if (!list_empty(&synced)) {
				struct lg_ext *e;

				list_for_each_entry(e, &synced, q)
					e->state = LG_LOGGED;
				lg->durable_qseq = list_last_entry(&synced, struct lg_ext,
								   q)->qseq;
			} else if (list_empty(&lg->logq)) {
				lg->durable_qseq = lg->qseq;
			}
			lg->dur_seq = lg->log_seq;
			lg->dur_off = lg->log_durable;
			lg->dur_rec_seq = lg->durable_rec_seq;
			spin_unlock(&lg->lock);
			lg_complete_durable(lg, &synced, 0);
			spin_lock(&lg->lock);
			list_splice_tail_init(&synced, &lg->wbq);
			spin_unlock(&lg->lock);
			wake_up(&lg->wbd_wq);
		} else {
			t1 = ktime_get_ns();
		}
		if (nrec || did_sync)
			trace_log_commit(lg->name, lg->res_id, lg->log_seq, from,
					 lg->log_appended, nrec, bytes, did_sync, durable_recs,
					 t1 - t0, 0);

		lg_statfs(lg, false);
		if (READ_ONCE(lg->fs_size) && READ_ONCE(lg->fs_free) < lg->emerg_free) {
			lg_enter_emergency(lg, "log filesystem full");
			continue;
		}
		if (rotate || lg->log_appended >= lg->rotate_bytes) {
			requested = rotate;
			spin_lock(&lg->lock);
			rotate = list_empty(&lg->unsyncq);
			spin_unlock(&lg->lock);
			if (rotate) {
				ret = lg_rotate(lg, requested ? MARS_ROT_REQUEST : MARS_ROT_SIZE);
				spin_lock(&lg->lock);
				lg->rotate_req = false;
				lg->rotate_ret = ret;
				/* No EOF may follow: the old file is closed or broken. */
				if (ret)
					lg->log_error = true;
				lg->rotate_gen++;
				spin_unlock(&lg->lock);
				wake_up_all(&lg->mode_wq);
				if (ret)
					lg_enter_emergency(lg, "rotation failed");
			}
		}
		spin_lock(&lg->lock);
		if (list_empty(&lg->logq) && list_empty(&lg->unsyncq))
			wake_up_all(&lg->idle_wq);
		spin_unlock(&lg->lock);
		if (kthread_should_stop() && lg_idle_check(lg))
			break;
	}
	memalloc_noio_restore(noio);
	return 0;
}

/* ---- writeback ------------------------------------------------------------ */

/* Is @e's whole range covered by newer extents in the tree? Caller holds lock. */
static bool lg_covered(struct mars_logger *lg, struct lg_ext *e)
{
	loff_t covered = e->start;
	struct lg_ext *o;

	for (o = ext_tree_iter_first(&lg->tree, e->start, e->last); o;
	     o = ext_tree_iter_next(o, e->start, e->last)) {
		/*
		 * Only newer extents durable in the log count: the checkpoint may
		 * then pass @e, and replay still restores the newer data.
		 */
		if (o->qseq <= e->qseq || o->state < LG_LOGGED)
			continue;
		if (o->start > covered)
			return false;
		covered = max(covered, o->last + 1);
		if (covered > e->last)
			return true;
	}
	return false;
}

/* Does @e overlap an extent of @batch? */
static bool lg_overlaps_batch(struct lg_ext *e, struct lg_ext **batch, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (batch[i]->start <= e->last && e->start <= batch[i]->last)
			return true;
	return false;
}

static int lg_cmp_pos(const void *a, const void *b)
{
	const struct lg_ext *x = *(struct lg_ext * const *)a;
	const struct lg_ext *y = *(struct lg_ext * const *)b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Any context (hardirq included). */
static void lg_wb_endio(struct mref *m, int err)
{
	struct lg_io *io = container_of(m, struct lg_io, m);
	struct mars_logger *lg = io->lg;

	/* The error rides in io->err; wbd looks at it after the batch. */
	io->err = err;
	if (trace_writeback_enabled())
		trace_writeback(lg->name, lg->res_id, m->op, m->pos, m->len, io->inflight,
				ktime_get_ns() - io->start_ns, err);
	/*
	 * Free the depth slot before dropping the batch count: wbd cannot pass
	 * wait_for_completion(&wb_done), and the logger cannot be freed, before
	 * the last decrement of wb_inflight, so the wake-up never touches freed
	 * memory. complete() is safe against the waiter returning at once.
	 */
	atomic_dec(&lg->wb_busy);
	wake_up(&lg->wb_slot_wq);
	if (atomic_dec_and_test(&lg->wb_inflight))
		complete(&lg->wb_done);
}

/*
 * Background writeback is not paced: during a drain (delete, emergency entry:
 * the operator wants it done), at thread stop, and while shadow buffers are
 * above 75% of their bound (a low rate must not throttle writers for ever).
 */
static bool lg_wb_unpaced(struct mars_logger *lg)
{
	return READ_ONCE(lg->wb_drain) || READ_ONCE(lg->stopping) || kthread_should_stop() ||
	       atomic64_read(&lg->buf_used) > READ_ONCE(lg->buf_limit) / 4 * 3;
}

/* The writeback rate limit in bytes per second, or 0 when writeback is unpaced. */
static u64 lg_wb_rate(struct mars_logger *lg)
{
	u32 kib = READ_ONCE(lg->wb_rate_kib);

	return kib == U32_MAX || lg_wb_unpaced(lg) ? 0 : (u64)kib << 10;
}

/*
 * wb_rate_kib: wait until @len more bytes may be written back. A token bucket in
 * bytes, refilled at the rate and holding at most LG_WB_BURST_MS of it; a write
 * may take the bucket into debt (so a write larger than the bucket still goes),
 * and the debt delays the next one. The rate is read again after every sleep,
 * and set_tun wakes wbd_wq when it changes, so a new rate applies from the next
 * write on, in the middle of a batch. Sleeps are TASK_IDLE and at most 100 ms
 * (a low rate is a long wait, not a hung task). wbd only: the bucket is wbd's.
 */
static void lg_wb_rate_wait(struct mars_logger *lg, u32 len)
{
	for (;;) {
		u32 kib = READ_ONCE(lg->wb_rate_kib);
		u64 rate = lg_wb_rate(lg), now = ktime_get_ns(), burst, add, wait;

		if (!rate) {
			/* Unpaced: start the next paced stretch with an empty bucket. */
			lg->wb_tokens = 0;
			lg->wb_tok_ns = now;
			return;
		}
		burst = max_t(u64, rate * LG_WB_BURST_MS / MSEC_PER_SEC, PAGE_SIZE);
		/*
		 * A second refills more than the bucket holds; the cap also keeps
		 * the quotient in 64 bits (x86's divq faults on an overflow).
		 */
		add = mul_u64_u64_div_u64(min_t(u64, now - lg->wb_tok_ns, NSEC_PER_SEC),
					  rate, NSEC_PER_SEC);
		lg->wb_tok_ns = now;
		lg->wb_tokens = min_t(s64, lg->wb_tokens + (s64)min(add, burst), burst);
		if (lg->wb_tokens > 0) {
			lg->wb_tokens -= len;
			return;
		}
		wait = mul_u64_u64_div_u64((u64)(1 - lg->wb_tokens), NSEC_PER_SEC, rate);
		wait_event_idle_timeout(lg->wbd_wq, READ_ONCE(lg->wb_rate_kib) != kib ||
					lg_wb_unpaced(lg),
					min_t(unsigned long, nsecs_to_jiffies(wait) + 1, HZ / 10));
	}
}

/*
 * Move the writeback checkpoint to @seq:@off, @rec_seq the last record before
 * it; mars:checkpoint tells when it moved. Caller holds lg->lock (or owns @lg
 * alone, in the constructor).
 */
static void lg_set_ckpt(struct mars_logger *lg, u64 seq, u64 off, u64 rec_seq)
{
	if (seq == lg->wb_seq && off == lg->wb_off)
		return;
	lg->wb_seq = seq;
	lg->wb_off = off;
	trace_checkpoint(lg->name, lg->res_id, MARS_CKPT_WRITEBACK, seq, off, rec_seq);
}

static void lg_advance_ckpt(struct mars_logger *lg, struct list_head *free)
{
	struct lg_ext *e, *en;

	list_for_each_entry_safe(e, en, &lg->ckq, ck) {
		if (e->state != LG_DONE)
			break;
		list_move_tail(&e->ck, free);
	}
	e = list_first_entry_or_null(&lg->ckq, struct lg_ext, ck);
	if (e && e->state >= LG_LOGGED && e->log_seq) {
		lg_set_ckpt(lg, e->log_seq, e->log_off, e->rec_seq - 1);
	} else {
		/* Everything before the durable end is on the data device. */
		lg_set_ckpt(lg, lg->dur_seq, lg->dur_off, lg->dur_rec_seq);
	}
}

static void lg_free_ck(struct list_head *free)
{
	struct lg_ext *e, *en;

	list_for_each_entry_safe(e, en, free, ck) {
		list_del(&e->ck);
		lg_ext_put(e);
	}
}

/* Flush the data backend and make WRITTEN extents DONE. */
static int lg_wb_flush(struct mars_logger *lg)
{
	struct lg_ext *e, *en;
	LIST_HEAD(written);
	LIST_HEAD(free);
	int ret;

	spin_lock(&lg->lock);
	list_splice_init(&lg->writtenq, &written);
	spin_unlock(&lg->lock);
	ret = lg_flush_lower(lg);
	spin_lock(&lg->lock);
	if (ret) {
		list_splice(&written, &lg->writtenq);
	} else {
		list_for_each_entry_safe(e, en, &written, q) {
			list_del_init(&e->q);
			e->state = LG_DONE;
		}
		lg_advance_ckpt(lg, &free);
	}
	spin_unlock(&lg->lock);
	lg_free_ck(&free);
	if (ret) {
		atomic64_inc(&lg->wb_errors);
		pr_err_ratelimited("%s: flush of the data device failed: %d\n", lg->name, ret);
	}
	return ret;
}

/* Write one batch back. Returns the number of extents taken (0: nothing to do). */
static unsigned int lg_wb_batch(struct mars_logger *lg, struct lg_ext **batch,
				struct lg_io **ios, bool *failed_out)
{
	struct lg_ext *e, *en;
	unsigned int n = 0, i;
	LIST_HEAD(free);
	u64 bytes = 0, rate, max_bytes;
	bool failed = false;

	/* Paced, a batch holds LG_WB_BATCH_MS of the rate: buffers free sooner. */
	rate = lg_wb_rate(lg);
	max_bytes = rate ? max_t(u64, rate * LG_WB_BATCH_MS / MSEC_PER_SEC, 1) : 16 << 20;
	spin_lock(&lg->lock);
	list_for_each_entry_safe(e, en, &lg->wbq, q) {
		if (n >= LG_WB_BATCH || bytes >= max_bytes)
			break;
		if (e->op == MREF_DISCARD && !lg->brick.lower->info.max_discard_sectors) {
			/* Nothing to do on the device: content is unspecified. */
			list_del_init(&e->q);
			lg_ext_untree(lg, e);
			e->state = LG_DONE;
			continue;
		}
		if (lg_covered(lg, e)) {
			/* Newer data covers it: it is done once they are. */
			list_del_init(&e->q);
			lg_ext_untree(lg, e);
			e->state = LG_DONE;
			continue;
		}
		/* Overlapping writes of one batch could land in any order. */
		if (lg_overlaps_batch(e, batch, n))
			break;
		list_del_init(&e->q);
		e->state = LG_WB;
		refcount_inc(&e->pref);	/* the IO's */
		batch[n++] = e;
		bytes += e->len;
	}
	lg_advance_ckpt(lg, &free);
	spin_unlock(&lg->lock);
	lg_free_ck(&free);
	*failed_out = false;
	if (!n)
		return 0;

	sort(batch, n, sizeof(*batch), lg_cmp_pos, NULL);
	/* Our bias: wb_done cannot complete before every write is submitted. */
	atomic_set(&lg->wb_inflight, 1);
	reinit_completion(&lg->wb_done);
	for (i = 0; i < n; i++) {
		struct lg_io *io;

		e = batch[i];
		if (e->op == MREF_WRITE)
			lg_wb_rate_wait(lg, e->len);
		/* At most wb_depth writes in flight; set_tun wakes us when it grows. */
		wait_event(lg->wb_slot_wq,
			   atomic_read(&lg->wb_busy) < READ_ONCE(lg->wb_depth));
		io = lg_io_alloc(lg);
		ios[i] = io;
		io->m.pos = e->pos;
		io->m.len = e->len;
		io->m.op = e->op;
		if (e->rflags & MLOG_F_NOUNMAP)
			io->m.flags |= MREF_F_NOUNMAP;
		io->m.bvec = e->bvec;
		io->m.nr_bvec = e->nr_pages;
		io->m.endio = lg_wb_endio;
		io->inflight = atomic_inc_return(&lg->wb_busy);
		atomic_inc(&lg->wb_inflight);
		io->start_ns = ktime_get_ns();
		lg_submit_lower(lg, io);
	}
	if (atomic_dec_and_test(&lg->wb_inflight))
		complete(&lg->wb_done);
	wait_for_completion(&lg->wb_done);

	spin_lock(&lg->lock);
	for (i = 0; i < n; i++) {
		e = batch[i];
		if (ios[i]->err) {
			/* Stays in the log; retried, and replayed after a crash. */
			failed = true;
			e->state = LG_LOGGED;
			continue;
		}
		e->state = LG_WRITTEN;
		list_add_tail(&e->q, &lg->writtenq);
		lg_ext_untree(lg, e);
		lg->wb_since_flush += e->len;
	}
	/* Failed ones go back to the head of wbq, in log order. */
	for (i = n; i-- > 0;) {
		e = batch[i];
		if (e->state == LG_LOGGED)
			list_add(&e->q, &lg->wbq);
	}
	spin_unlock(&lg->lock);
	for (i = 0; i < n; i++) {
		lg_io_free(ios[i]);
		lg_ext_pput(lg, batch[i]);	/* the IO's reference */
	}
	*failed_out = failed;
	if (failed) {
		atomic64_inc(&lg->wb_errors);
		pr_err_ratelimited("%s: writeback to the data device failed; retrying\n",
				   lg->name);
	}
	return n;
}

static bool lg_wbd_wake(struct mars_logger *lg)
{
	bool ret;

	spin_lock(&lg->lock);
	ret = !list_empty(&lg->wbq) || lg->wb_drain ||
	      (!list_empty(&lg->writtenq) && list_empty(&lg->wbq));
	spin_unlock(&lg->lock);
	return ret || kthread_should_stop();
}

static int mars_wbd(void *data)
{
	struct mars_logger *lg = data;
	unsigned int noio = memalloc_noio_save();
	unsigned int errors = 0;	/* consecutive rounds with an IO error */

	for (;;) {
		bool empty, drain, failed, stop;
		unsigned int n;

		wait_event_timeout(lg->wbd_wq, lg_wbd_wake(lg), HZ);
		stop = kthread_should_stop();
		n = lg_wb_batch(lg, lg->wb_batch, lg->wb_ios, &failed);
		spin_lock(&lg->lock);
		empty = list_empty(&lg->wbq);
		drain = lg->wb_drain;
		spin_unlock(&lg->lock);
		if (lg->wb_since_flush >= lg->wb_flush_bytes ||
		    (empty && !list_empty(&lg->writtenq))) {
			if (lg_wb_flush(lg))
				failed = true;
			else
				lg->wb_since_flush = 0;
		}
		errors = failed ? errors + 1 : 0;
		if (drain) {
			bool done;

			spin_lock(&lg->lock);
			/*
			 * Every extent is on ckq until it is durable on the data device,
			 * whichever list (or logd-private list) it is on now.
			 */
			done = list_empty(&lg->ckq);
			/* A data device that keeps failing ends the drain unfinished. */
			if (done || errors > 5) {
				lg->wb_drain = false;
				lg->wb_drained = done;
			}
			spin_unlock(&lg->lock);
			if (done || errors > 5) {
				errors = 0;
				wake_up_all(&lg->idle_wq);
			}
		}
		if (stop && (empty || errors > 5))
			break;
		if (failed)
			msleep(100);	/* back off before retrying the data device */
		else if (!n && drain)
			usleep_range(1000, 2000);	/* the drain waits for logd: no spin */
	}
	memalloc_noio_restore(noio);
	return 0;
}

/*
 * Ask wbd to write everything back and flush; wait for its answer. Returns true
 * when every extent is durable on the data device.
 */
static bool lg_drain_wb(struct mars_logger *lg)
{
	bool ok;

	spin_lock(&lg->lock);
	lg->wb_drain = true;
	lg->wb_drained = false;
	spin_unlock(&lg->lock);
	wake_up(&lg->wbd_wq);
	wait_event(lg->idle_wq, !READ_ONCE(lg->wb_drain));
	spin_lock(&lg->lock);
	ok = lg->wb_drained;
	spin_unlock(&lg->lock);
	return ok;
}

/* ---- emergency mode (architecture.md 3.10) ------------------------------ */

/*
 * Called by logd. Stalls new writes, writes back every buffered extent (also
 * those whose record never became durable: they were acknowledged), flushes the
 * data device, completes waiting FUA writes and FLUSHes, ends the logfile with
 * EOF(DRAINED|EMERGENCY) and from then on passes requests to the data device.
 */
static int lg_enter_emergency(struct mars_logger *lg, const char *why)
{
	struct lg_ext *e, *en;
	LIST_HEAD(waiters);
	LIST_HEAD(wl);
	bool ok;
	int ret;

	spin_lock(&lg->lock);
	if (lg->mode != LG_NORMAL) {
		spin_unlock(&lg->lock);
		return 0;
	}
	lg->mode = LG_ENTERING;
	/* A pending rotation is moot: fail it, or logd would wake for it forever. */
	if (lg->rotate_req) {
		lg->rotate_req = false;
		lg->rotate_ret = -EIO;
		lg->rotate_gen++;
	}
	/* Queued and unsynced records will never be durable in this log. */
	list_splice_tail_init(&lg->unsyncq, &waiters);
	list_splice_tail_init(&lg->logq, &waiters);
	list_for_each_entry(e, &waiters, q) {
		e->state = LG_LOGGED;
		if (e->waiter) {
			/* Keep the struct until its waiter is completed below. */
			refcount_inc(&e->ref);
			list_add_tail(&e->wnode, &wl);
		}
	}
	list_splice_tail_init(&waiters, &lg->wbq);
	spin_unlock(&lg->lock);
	pr_warn("%s: entering emergency mode (%s): writing through to the data device\n",
		lg->name, why);
	wake_up(&lg->wbd_wq);

	/*
	 * Writers stay stalled until every buffered extent is on the data device:
	 * passing requests through while older data still waits for writeback
	 * would let it overwrite newer data, and reads would miss it.
	 */
	while (!(ok = lg_drain_wb(lg))) {
		pr_err_ratelimited("%s: emergency drain fails: the data device fails; retrying\n",
				   lg->name);
		if (READ_ONCE(lg->stopping))
			break;
		msleep(1000);
	}
	if (!ok) {
		/*
		 * Shutdown with a failing data device (no request is left: the if
		 * brick drained them). The log keeps what it has; no EOF is written.
		 */
		spin_lock(&lg->lock);
		lg->log_error = true;
		spin_unlock(&lg->lock);
		list_for_each_entry_safe(e, en, &wl, wnode) {
			struct mref *w = e->waiter;

			e->waiter = NULL;
			list_del(&e->wnode);
			lg_endio(lg, w, -EIO);
			lg_ext_put(e);
		}
		trace_emergency(lg->name, lg->res_id, 1, why, READ_ONCE(lg->fs_free), -EIO);
		return -EIO;
	}

	/* Every extent is durable on the data device now: release the waiters. */
	spin_lock(&lg->lock);
	lg->durable_qseq = lg->qseq;
	spin_unlock(&lg->lock);
	list_for_each_entry_safe(e, en, &wl, wnode) {
		struct mref *w = e->waiter;

		e->waiter = NULL;
		list_del(&e->wnode);
		lg_endio(lg, w, ok ? 0 : -EIO);
		lg_ext_put(e);
	}
	lg_complete_durable(lg, &waiters, ok ? 0 : -EIO);	/* the FLUSHes */

	if (lg->logf && !READ_ONCE(lg->log_error)) {
		ret = lg_log_meta(lg, MLOG_T_EOF, MLOG_F_DRAINED | MLOG_F_EMERGENCY, 0);
		if (ret) {
			pr_err("%s: cannot write the emergency EOF record: %d\n", lg->name, ret);
			spin_lock(&lg->lock);
			lg->log_error = true;
			spin_unlock(&lg->lock);
		}
	}
	/* The file is closed for good: its space can be freed once it is deleted. */
	if (lg->logf) {
		fput(lg->logf);
		lg->logf = NULL;
	}
	spin_lock(&lg->lock);
	/* The canonical position after file N's end. */
	lg_set_ckpt(lg, lg->log_seq + 1, 0, lg->next_rec_seq - 1);
	lg->dur_seq = lg->wb_seq;
	lg->dur_off = 0;
	lg->dur_rec_seq = lg->next_rec_seq - 1;
	lg->mode = LG_EMERGENCY;
	spin_unlock(&lg->lock);
	WRITE_ONCE(lg->emerg_since_ns, ktime_get_real_ns());
	wake_up_all(&lg->mode_wq);
	trace_emergency(lg->name, lg->res_id, 1, why, READ_ONCE(lg->fs_free), 0);
	return 0;
}

/* MARS_IOC_EMERGENCY. Caller holds no lock; may sleep. */
int mars_logger_emergency(struct mars_brick *b, u32 action, u64 *log_seq, char *err)
{
	struct mars_logger *lg = to_lg(b);
	unsigned int noio;
	u64 old, old_end, next;
	int ret = 0;

	mutex_lock(&lg->mode_mutex);
	if (action == MARS_EMERG_ENTER) {
		if (READ_ONCE(lg->mode) != LG_NORMAL) {
			mars_err(err, "%s is not in normal logging mode", lg->name);
			ret = -EINVAL;
			goto out;
		}
		spin_lock(&lg->lock);
		lg->enter_req = true;
		spin_unlock(&lg->lock);
		wake_up(&lg->logd_wq);
		wait_event(lg->mode_wq, READ_ONCE(lg->mode) == LG_EMERGENCY);
		*log_seq = lg->log_seq;
		goto out;
	}
	if (READ_ONCE(lg->mode) != LG_EMERGENCY) {
		mars_err(err, "%s is not in emergency mode", lg->name);
		ret = -EINVAL;
		goto out;
	}
	lg_statfs(lg, true);
	if (READ_ONCE(lg->fs_free) < 2 * lg->emerg_free) {
		mars_err(err, "the log filesystem has %llu MiB free, leaving needs %llu MiB",
			 READ_ONCE(lg->fs_free) >> 20, (2 * lg->emerg_free) >> 20);
		ret = -ENOSPC;
		goto out_trace;
	}
	/* Stall new requests, wait for those passing through, flush the device. */
	spin_lock(&lg->lock);
	lg->mode = LG_LEAVING;
	spin_unlock(&lg->lock);
	wait_event(lg->mode_wq, !atomic_read(&lg->pass_inflight));
	ret = lg_flush_lower(lg);
	if (ret) {
		mars_err(err, "flush of the data device failed: %d", ret);
		goto back;
	}
	/* File N ended with EOF(EMERGENCY); N + 1 stays unused; N + 2 starts with GAP. */
	old = lg->log_seq;
	next = old + 2;
	/* Requests are stalled: no allocation may wait for our own device's IO. */
	noio = memalloc_noio_save();
	old_end = lg->log_appended;	/* file N's end, its EOF included */
	ret = lg_log_create(lg, next, err);
	if (!ret)
		ret = lg_log_meta(lg, MLOG_T_GAP, 0, old);
	memalloc_noio_restore(noio);
	trace_log_rotate(lg->name, lg->res_id, old, old_end, next, MARS_ROT_EMERGENCY, ret);
	if (ret) {
		if (!err[0])
			mars_err(err, "cannot start logfile %llu: %d", next, ret);
		goto back;
	}
	spin_lock(&lg->lock);
	lg->log_error = false;
	lg->dur_seq = lg->log_seq;
	lg->dur_off = lg->log_durable;
	lg->dur_rec_seq = lg->durable_rec_seq;
	lg_set_ckpt(lg, lg->dur_seq, lg->dur_off, lg->dur_rec_seq);
	lg->durable_qseq = lg->qseq;
	lg->mode = LG_NORMAL;
	spin_unlock(&lg->lock);
	WRITE_ONCE(lg->emerg_since_ns, 0);
	*log_seq = lg->log_seq;
	pr_info("%s: left emergency mode, logging to file %llu\n", lg->name, lg->log_seq);
	wake_up_all(&lg->mode_wq);
	goto out_trace;
back:
	spin_lock(&lg->lock);
	lg->mode = LG_EMERGENCY;
	spin_unlock(&lg->lock);
	wake_up_all(&lg->mode_wq);
out_trace:
	/* A leave that was tried: done (error 0) or refused/failed (still in it). */
	trace_emergency(lg->name, lg->res_id, 0, "requested", READ_ONCE(lg->fs_free), ret);
out:
	mutex_unlock(&lg->mode_mutex);
	return ret;
}

/* MARS_IOC_LOG_ROTATE. */
int mars_logger_rotate(struct mars_brick *b, u64 *old_seq, u64 *old_end, u64 *new_seq,
		       char *err)
{
	struct mars_logger *lg = to_lg(b);
	u64 gen;
	int ret;

	mutex_lock(&lg->mode_mutex);
	spin_lock(&lg->lock);
	if (lg->mode != LG_NORMAL) {
		spin_unlock(&lg->lock);
		mutex_unlock(&lg->mode_mutex);
		mars_err(err, "%s is in emergency mode: no logfile to rotate", lg->name);
		return -EAGAIN;
	}
	gen = lg->rotate_gen;
	lg->rotate_req = true;
	spin_unlock(&lg->lock);
	wake_up(&lg->logd_wq);
	wait_event(lg->mode_wq, READ_ONCE(lg->rotate_gen) != gen ||
		   READ_ONCE(lg->mode) != LG_NORMAL);
	spin_lock(&lg->lock);
	ret = lg->rotate_gen != gen ? lg->rotate_ret : -EIO;
	*old_seq = lg->rot_old_seq;
	*old_end = lg->rot_old_end;
	*new_seq = lg->log_seq;
	spin_unlock(&lg->lock);
	mutex_unlock(&lg->mode_mutex);
	if (ret)
		mars_err(err, "rotation failed (%d): the logger entered emergency mode", ret);
	return ret;
}

/* ---- replay (log-format.md 10.3) ------------------------------------------ */

/*
 * Replay reads (both passes of a recovery) go through a window of LG_RWIN bytes:
 * one read of the whole window, with O_DIRECT where the log filesystem allows it,
 * into pages; the decoder's reads (a record header, a payload) are copies out of
 * it. Profiles in the VM (docs/performance.md) showed the first pass spending
 * most of its time in the page cache: one kernel_read() per header and per
 * payload, each of them allocating, inserting, reading ahead and copying pages.
 * O_DIRECT reads go straight from the log device into the window. A file, or a
 * read, that O_DIRECT refuses is read buffered (the same window). Direct reads
 * see data still dirty in the page cache: the filesystem writes the range back
 * first (iomap_dio_rw()).
 */
#define LG_RWIN		(4U << 20)

struct lg_rwin {
	struct page **pages;
	struct bio_vec *bvec;
	unsigned int nr;
};

struct lg_rfile {
	struct file *f;
	u64 size;
	bool direct;		/* f is open with O_DIRECT */
	struct lg_rwin *win;
	u64 win_off;		/* file offset of the window's first byte */
	u64 win_len;		/* bytes of the file in the window */
};

static void lg_rwin_free(struct lg_rwin *w)
{
	if (!w)
		return;
	while (w->nr--)
		__free_page(w->pages[w->nr]);
	kvfree(w->pages);
	kvfree(w->bvec);
	kfree(w);
}

static struct lg_rwin *lg_rwin_alloc(void)
{
	unsigned int nr = LG_RWIN / PAGE_SIZE;
	struct lg_rwin *w = kzalloc(sizeof(*w), GFP_KERNEL);

	if (!w)
		return NULL;
	w->pages = kvcalloc(nr, sizeof(*w->pages), GFP_KERNEL);
	w->bvec = kvcalloc(nr, sizeof(*w->bvec), GFP_KERNEL);
	if (!w->pages || !w->bvec)
		goto nomem;
	for (; w->nr < nr; w->nr++) {
		w->pages[w->nr] = alloc_page(GFP_KERNEL);
		if (!w->pages[w->nr])
			goto nomem;
		w->bvec[w->nr].bv_page = w->pages[w->nr];
		w->bvec[w->nr].bv_len = PAGE_SIZE;
	}
	return w;
nomem:
	lg_rwin_free(w);
	return NULL;
}

/* Go on reading @rf through the page cache (the filesystem refused O_DIRECT). */
static void lg_rfile_buffered(struct lg_rfile *rf)
{
	/*
	 * As fcntl(F_SETFL) does (our own struct file, read only by us): a read's
	 * kiocb takes its flags from f_iocb_flags, not f_flags, so both change.
	 */
	spin_lock(&rf->f->f_lock);
	rf->f->f_flags &= ~O_DIRECT;
	rf->f->f_iocb_flags = iocb_flags(rf->f);
	spin_unlock(&rf->f->f_lock);
	rf->direct = false;
}

/*
 * Fill the window with the file from @off (rounded down to a page) on, up to
 * LG_RWIN bytes or the file's end. Returns 0 (win_len may be short if the file
 * shrank: the caller reports that), or -errno.
 */
static int lg_rwin_fill(struct lg_rfile *rf, u64 off)
{
	struct lg_rwin *w = rf->win;
	loff_t pos = round_down(off, PAGE_SIZE);
	u64 want = min_t(u64, LG_RWIN, rf->size - pos), got = 0, ask;
	struct iov_iter iter;
	ssize_t n;

	rf->win_off = pos;
	rf->win_len = 0;
	while (got < want) {
		/* O_DIRECT reads whole blocks: ask for whole pages, the file's end cuts. */
		ask = rf->direct ? round_up(want, PAGE_SIZE) : want;
		iov_iter_bvec(&iter, ITER_DEST, w->bvec, w->nr, ask);
		iov_iter_advance(&iter, got);
		n = vfs_iter_read(rf->f, &iter, &pos, 0);
		if (n == -EINVAL && rf->direct) {
			lg_rfile_buffered(rf);
			continue;
		}
		if (n < 0)
			return n;
		if (!n)
			break;
		got += n;
		/* A short direct read before the end leaves pos unaligned: go on buffered. */
		if (rf->direct && got < want && !IS_ALIGNED(pos, PAGE_SIZE))
			lg_rfile_buffered(rf);
	}
	rf->win_len = min(got, want);
	return 0;
}

static int lg_replay_read(void *ctx, u64 off, void *buf, u32 len)
{
	struct lg_rfile *rf = ctx;
	struct lg_rwin *w = rf->win;
	u64 i;
	u32 n;
	int ret;

	/* The decoder cannot yield (no kernel API there): long scans yield here. */
	cond_resched();
	while (len) {
		if (off < rf->win_off || off >= rf->win_off + rf->win_len) {
			ret = lg_rwin_fill(rf, off);
			if (ret)
				return ret;
			if (off >= rf->win_off + rf->win_len)
				return -EIO;	/* the file is shorter than its size said */
		}
		i = off - rf->win_off;
		n = min_t(u64, len, min_t(u64, rf->win_len - i, PAGE_SIZE - offset_in_page(i)));
		memcpy_from_page(buf, w->pages[i >> PAGE_SHIFT], offset_in_page(i), n);
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

static void lg_replay_submit_work(struct work_struct *w)
{
	struct lg_io *io = container_of(w, struct lg_io, work);

	lg_submit_lower(io->lg, io);
}

/* Called from mars_overlap_end(), in any context: submit from process context. */
static void lg_replay_start(struct mars_overlap_node *n)
{
	struct lg_io *io = container_of(n, struct lg_io, ovl);

	INIT_WORK(&io->work, lg_replay_submit_work);
	queue_work(io->lg->wq, &io->work);
}

static void lg_replay_endio(struct mref *m, int err)
{
	struct lg_io *io = container_of(m, struct lg_io, m);
	struct mars_logger *lg = io->lg;

	if (err)
		atomic_cmpxchg(&lg->replay_err, 0, err);
	if (trace_replay_enabled())
		trace_replay(lg->name, lg->res_id, io->rec_log_seq, io->rec_off, io->rec_seq,
			     io->rec_type, m->pos, m->len,
			     io->start_ns ? ktime_get_ns() - io->start_ns : 0, err);
	atomic64_add(io->m.len, &lg->prog->done);
	/*
	 * Ending the overlap may start a waiting write from here (any context);
	 * freeing the pages is safe in any context too.
	 */
	mars_overlap_end(&lg->replay_ovl, &io->ovl);
	while (io->nr_pages--)
		__free_page(io->pages[io->nr_pages]);
	kfree(io->pages);
	kfree(io->own_bvec);
	lg_io_free(io);
	up(&lg->replay_sem);
	if (atomic_dec_and_test(&lg->replay_inflight))
		complete(&lg->replay_done);
}

/*
 * The payload of DATA record @r (at @data) in pages of its own, for the write to
 * the data device: *@pages, *@bvec, *@nr. Returns 0 or -ENOMEM (nothing kept).
 */
static int lg_replay_pages(const struct mlog_rec *r, const u8 *data, gfp_t gfp,
			   struct page ***pages, struct bio_vec **bvec, unsigned int *nr)
{
	unsigned int n = DIV_ROUND_UP(r->len, PAGE_SIZE), i;
	struct page **p = kcalloc(n, sizeof(*p), gfp);
	struct bio_vec *bv = kcalloc(n, sizeof(*bv), gfp);

	if (!p || !bv)
		goto nomem;
	for (i = 0; i < n; i++) {
		u32 len = min_t(u32, PAGE_SIZE, r->len - i * PAGE_SIZE);

		p[i] = alloc_page(gfp);
		if (!p[i])
			goto nomem;
		memcpy(page_address(p[i]), data + i * PAGE_SIZE, len);
		bv[i].bv_page = p[i];
		bv[i].bv_len = len;
	}
	*pages = p;
	*bvec = bv;
	*nr = n;
	return 0;
nomem:
	for (i = 0; p && i < n && p[i]; i++)
		__free_page(p[i]);
	kfree(p);
	kfree(bv);
	return -ENOMEM;
}

/*
 * Does replay write @r (or count it as written)? Returns 1 for a write to
 * submit, 0 for a record that needs none (counted as done, if at all), or -errno.
 */
static int lg_replay_check(struct mars_logger *lg, const struct mlog_rec *r)
{
	switch (r->type) {
	case MLOG_T_DATA:
		break;
	case MLOG_T_ZERO:
		if (!lg->brick.lower->info.max_write_zeroes_sectors)
			return -EOPNOTSUPP;
		break;
	case MLOG_T_DISCARD:
		if (!lg->brick.lower->info.max_discard_sectors) {
			/* Content unspecified either way; counted as done. */
			atomic64_add(r->len, &lg->prog->done);
			return 0;
		}
		break;
	default:
		return 0;	/* PAD, GAP, EOF: nothing to write */
	}
	if (r->pos + r->len > lg->brick.info.size)
		return -ERANGE;
	return 1;
}

/* The replay_stop reason for an error of lg_replay_check() or of a write. */
static u32 lg_replay_stop_why(int err)
{
	/* A record past the device's end: the log is not this device's, or damaged. */
	return err == -ERANGE ? MARS_REPLAY_STOP_CORRUPT : MARS_REPLAY_STOP_IO_ERROR;
}

/*
 * Submit the write of record @r (lg_replay_check() said 1): many in flight,
 * overlapping ones in log order. For DATA, @pages and @bvec (@nr of them) hold
 * the payload and are the request's from here on, also on error. The caller
 * holds a slot of replay_sem, which the completion gives back.
 */
static void lg_replay_submit(struct mars_logger *lg, const struct mlog_rec *r,
			     struct page **pages, struct bio_vec *bvec, unsigned int nr)
{
	struct lg_io *io = lg_io_alloc(lg);

	io->pages = pages;
	io->own_bvec = bvec;
	io->nr_pages = nr;
	io->m.pos = r->pos;
	io->m.len = r->len;
	io->m.op = r->type == MLOG_T_DATA ? MREF_WRITE :
		   r->type == MLOG_T_ZERO ? MREF_WRITE_ZEROES : MREF_DISCARD;
	if (r->flags & MLOG_F_NOUNMAP)
		io->m.flags |= MREF_F_NOUNMAP;
	io->m.bvec = bvec;
	io->m.nr_bvec = nr;
	io->m.endio = lg_replay_endio;
	io->rec_type = r->type;
	io->rec_seq = r->rec_seq;
	io->rec_log_seq = lg->replay_file_seq;
	io->rec_off = r->off;
	/* A clock read costs (HPET in the VM): only for the tracepoint. */
	io->start_ns = trace_replay_enabled() ? ktime_get_ns() : 0;
	atomic_inc(&lg->replay_inflight);
	lg->replay_records++;
	lg->replay_bytes += r->len;
	if (mars_overlap_begin(&lg->replay_ovl, &io->ovl, &io->m, lg_replay_start))
		lg_submit_lower(lg, io);
}

/* Apply one record, its payload (DATA) at @data. */
static int lg_replay_apply(struct mars_logger *lg, const struct mlog_rec *r, const u8 *data)
{
	struct page **pages = NULL;
	struct bio_vec *bvec = NULL;
	unsigned int nr = 0;
	int ret = lg_replay_check(lg, r);

	if (ret <= 0)
		return ret;
	/* The slot first: it bounds the memory of the writes in flight. */
	down(&lg->replay_sem);
	if (r->type == MLOG_T_DATA &&
	    lg_replay_pages(r, data, GFP_KERNEL, &pages, &bvec, &nr)) {
		up(&lg->replay_sem);
		return -ENOMEM;
	}
	lg_replay_submit(lg, r, pages, bvec, nr);
	return 0;
}

/*
 * Records the first pass keeps for the second: each payload was read and
 * CRC-checked once, into pages of its own; the second pass submits them as they
 * are instead of reading and checking the file again. Kept are the records that
 * replay may write (DATA, ZERO, DISCARD) from the checkpoint on, in log order,
 * while their payloads fit the logger's buffer bound (buf_max_mb: the memory
 * the logger uses for data not yet written back once it runs, and which it
 * does not use yet while it recovers). From the first record that does not fit
 * (or whose pages cannot be had) on, nothing more is kept: the kept records are
 * a prefix, and the second pass reads the rest from the files as before.
 */
struct lg_kept {
	struct list_head list;
	struct mlog_rec rec;
	u64 idx;			/* index of its file in the recovery */
	struct page **pages;
	struct bio_vec *bvec;
	unsigned int nr;
};

struct lg_replay {
	struct lg_rfile rf;		/* the file being scanned; rf.win for all */
	struct list_head kept;		/* struct lg_kept, in log order */
	u64 kept_bytes, kept_max;
	u64 idx;			/* index of the file being scanned */
	bool keeping;			/* the first pass keeps records */
	u64 stop_idx, stop_off;		/* the first record not kept */
	u64 kept_applied;		/* payload bytes the second pass took from kept records */
};

static void lg_kept_free(struct lg_kept *k)
{
	while (k->nr--)
		__free_page(k->pages[k->nr]);
	kfree(k->pages);
	kfree(k->bvec);
	kfree(k);
}

/* Keep @r (payload at @data) for the second pass, or stop keeping. */
static void lg_replay_keep(struct lg_replay *rp, const struct mlog_rec *r, const u8 *data)
{
	const gfp_t gfp = GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN;
	struct lg_kept *k = NULL;
	u64 cost = sizeof(*k);

	/* What it holds: whole pages, and a page pointer and a bio_vec per page. */
	if (r->type == MLOG_T_DATA) {
		u64 pages = DIV_ROUND_UP((u64)r->len, PAGE_SIZE);

		cost += pages * (PAGE_SIZE + sizeof(struct page *) + sizeof(struct bio_vec));
	}

	if (rp->kept_bytes + cost <= rp->kept_max)
		k = kzalloc(sizeof(*k), gfp);
	if (k && r->type == MLOG_T_DATA &&
	    lg_replay_pages(r, data, gfp, &k->pages, &k->bvec, &k->nr)) {
		kfree(k);
		k = NULL;
	}
	if (!k) {
		rp->keeping = false;
		rp->stop_idx = rp->idx;
		rp->stop_off = r->off;
		return;
	}
	k->rec = *r;
	k->idx = rp->idx;
	list_add_tail(&k->list, &rp->kept);
	rp->kept_bytes += cost;
}

/*
 * Drop every kept record (replay starts after them) and keep again from here:
 * the kept records stay a prefix of those the second pass writes.
 */
static void lg_kept_reset(struct lg_replay *rp)
{
	struct lg_kept *k, *tmp;

	list_for_each_entry_safe(k, tmp, &rp->kept, list) {
		list_del(&k->list);
		lg_kept_free(k);
	}
	rp->kept_bytes = 0;
	rp->keeping = true;
	rp->stop_idx = U64_MAX;
	rp->stop_off = 0;
}

/*
 * Second pass: submit the kept records of file @idx (lg->replay_file_seq) at or
 * after @from_off, in log order; drop the ones before it, and those of earlier
 * files. @path is room for a file name. Returns 0, or -errno with @err set.
 */
static int lg_replay_kept(struct mars_logger *lg, struct lg_replay *rp, u64 idx, u64 from_off,
			  char *path, char *err)
{
	struct lg_kept *k, *tmp;
	int ret = 0;

	list_for_each_entry_safe(k, tmp, &rp->kept, list) {
		if (k->idx > idx)
			break;
		list_del(&k->list);
		if (k->idx == idx && k->rec.off >= from_off && !ret) {
			ret = lg_replay_check(lg, &k->rec);
			if (ret > 0) {
				down(&lg->replay_sem);
				/* The pages go to the request. */
				lg_replay_submit(lg, &k->rec, k->pages, k->bvec, k->nr);
				if (k->rec.type == MLOG_T_DATA)
					rp->kept_applied += k->rec.len;
				kfree(k);
				ret = 0;
				continue;
			}
			if (ret < 0) {
				lg_file_path(lg, lg->replay_file_seq, path);
				mars_err(err, "replay of %s offset %llu failed: %d", path,
					 k->rec.off, ret);
				trace_replay_stop(lg->name, lg->res_id, lg_replay_stop_why(ret),
						  lg->replay_file_seq, k->rec.off, 0, ret);
			}
		}
		lg_kept_free(k);
	}
	return ret;
}

/* Per file of a recovery: what the first pass found. */
struct lg_rinfo {
	u64 seq;
	bool exists;
	bool eof_emergency;
	enum mlog_outcome outcome;
	u64 outcome_off;
	u64 drained_after;	/* offset after the last EOF(DRAINED); 0: none */
	u64 last_rec_seq;
	u64 last_lamport;
	u64 first_rec_seq;
	u64 hdr_first;		/* the header's first_rec_seq */
	const char *detail;	/* the outcome's detail (static) */
	u64 records;
	bool gap_first;		/* the first record is a GAP ... */
	u64 gap_prev;		/* ... naming this file */
	bool after_hole;	/* the file number before this one does not exist */
	u64 bytes;		/* payload of DATA, ZERO and DISCARD records */
	u64 tail_bytes;		/* of those, after the last EOF(DRAINED) and from_off */
};

/* Does replay write @r (or count it as written)? As lg_replay_apply(). */
static bool lg_replay_counts(const struct mlog_rec *r)
{
	return r->type == MLOG_T_DATA || r->type == MLOG_T_ZERO || r->type == MLOG_T_DISCARD;
}

static int lg_open_log(struct mars_logger *lg, u64 seq, struct lg_rfile *rf, char *path)
{
	struct kstat st;
	int ret;

	ret = lg_file_path(lg, seq, path);
	if (ret)
		return ret;
	/* O_DIRECT where the filesystem has it (see LG_RWIN); else buffered. */
	rf->direct = true;
	rf->f = filp_open(path, O_RDONLY | O_LARGEFILE | O_NOATIME | O_DIRECT, 0);
	if (rf->f == ERR_PTR(-EINVAL)) {
		rf->direct = false;
		rf->f = filp_open(path, O_RDONLY | O_LARGEFILE | O_NOATIME, 0);
	}
	if (IS_ERR(rf->f)) {
		ret = PTR_ERR(rf->f);
		rf->f = NULL;
		return ret;
	}
	ret = vfs_getattr(&rf->f->f_path, &st, STATX_SIZE, AT_STATX_SYNC_AS_STAT);
	if (ret) {
		fput(rf->f);
		rf->f = NULL;
		return ret;
	}
	rf->size = st.size;
	rf->win_off = 0;
	rf->win_len = 0;
	return 0;
}

/*
 * Scan (and with @apply, replay from @from_off) file @seq. Fills @ri (tail_bytes
 * counts from @from_off also without @apply). Returns 0 or -errno with @err set
 * for a fatal outcome or an IO error.
 */
static int lg_scan_file(struct mars_logger *lg, struct lg_replay *rp, u64 seq, bool torn,
			bool apply, u64 from_off, u8 *buf, struct lg_rinfo *ri, char *err)
{
	struct lg_rfile *rf = &rp->rf;
	struct mlog_scan s = { };
	char *path = kmalloc(LG_PATH_MAX, GFP_KERNEL);
	int ret;

	if (!path)
		return -ENOMEM;
	ret = lg_open_log(lg, seq, rf, path);
	if (ret) {
		mars_err(err, "cannot open logfile %llu: %d", seq, ret);
		trace_replay_stop(lg->name, lg->res_id, MARS_REPLAY_STOP_IO_ERROR, seq, 0, 0, ret);
		goto out;
	}
	s.read = lg_replay_read;
	s.ctx = rf;
	s.crc = lg_crc;
	s.end = rf->size;
	s.tail_may_be_torn = torn;
	s.expect_seq = seq;
	lg->replay_file_seq = seq;
	s.expect_res = lg->name;
	s.expect_host = lg->host;
	s.expect_uuid = lg->uuid;
	s.buf = buf;
	memset(ri, 0, sizeof(*ri));
	ri->exists = true;
	ret = mlog_scan_begin(&s);
	if (ret > 0)
		ri->hdr_first = s.fh.first_rec_seq;
	while (ret > 0) {
		ret = mlog_scan_next(&s);
		if (ret <= 0)
			break;
		if (!ri->records) {
			ri->first_rec_seq = s.rec.rec_seq;
			if (s.rec.type == MLOG_T_GAP) {
				ri->gap_first = true;
				ri->gap_prev = get_unaligned_le64(buf);
				/* Replay starts here at the earliest (lg_recover()). */
				if (!apply && rp->idx)
					lg_kept_reset(rp);
			}
		}
		ri->records++;
		ri->last_rec_seq = s.rec.rec_seq;
		ri->last_lamport = s.rec.lamport;
		if (lg_replay_counts(&s.rec)) {
			ri->bytes += s.rec.len;
			if (s.rec.off >= from_off)
				ri->tail_bytes += s.rec.len;
			if (rp->keeping && !apply && s.rec.off >= from_off)
				lg_replay_keep(rp, &s.rec, buf);
		}
		if (s.rec.type == MLOG_T_EOF) {
			if (s.rec.flags & MLOG_F_DRAINED) {
				ri->drained_after = s.rec.off + mlog_rec_size(0);
				ri->tail_bytes = 0;
				/* Replay starts after it at the earliest (lg_recover()). */
				if (!apply && s.rec.off >= from_off)
					lg_kept_reset(rp);
			}
			if (s.rec.flags & MLOG_F_EMERGENCY)
				ri->eof_emergency = true;
		}
		if (apply && s.rec.off >= from_off) {
			ret = lg_replay_apply(lg, &s.rec, buf);
			if (ret) {
				mars_err(err, "replay of %s offset %llu failed: %d", path,
					 s.rec.off, ret);
				trace_replay_stop(lg->name, lg->res_id, lg_replay_stop_why(ret),
						  seq, s.rec.off, 0, ret);
				goto out_close;
			}
			ret = 1;
		}
	}
	ri->outcome = s.outcome;
	ri->outcome_off = s.pos;
	ri->detail = s.detail;
	if (ret < 0 || s.outcome == MLOG_O_READ_ERROR) {
		ret = ret < 0 ? ret : s.err;
		mars_err(err, "cannot read %s at offset %llu: %d", path, s.pos, ret);
		trace_replay_stop(lg->name, lg->res_id, MARS_REPLAY_STOP_IO_ERROR, seq, s.pos,
				  s.outcome, ret);
	} else if (mlog_outcome_fatal(s.outcome)) {
		mars_err(err, "%s: %s at offset %llu (%s)", path, mlog_outcome_name(s.outcome),
			 s.pos, s.detail ? s.detail : "");
		ret = -EUCLEAN;
		trace_replay_stop(lg->name, lg->res_id, s.outcome == MLOG_O_SEQ_JUMP ?
				  MARS_REPLAY_STOP_SEQ_JUMP : MARS_REPLAY_STOP_CORRUPT, seq,
				  s.pos, s.outcome, ret);
	} else {
		ret = 0;
		if (s.outcome == MLOG_O_TORN_TAIL)
			pr_warn("%s: %s: torn tail at offset %llu (%s), %llu valid records after it\n",
				lg->name, path, s.pos, s.detail ? s.detail : "", s.valid_after);
		/* The scan pass tells where a file's valid records end early. */
		if (!apply && (s.outcome == MLOG_O_TORN_TAIL || s.outcome == MLOG_O_ZERO_TAIL ||
			       s.outcome == MLOG_O_INCOMPLETE))
			trace_replay_stop(lg->name, lg->res_id, MARS_REPLAY_STOP_END, seq,
					  s.pos, s.outcome, 0);
	}
out_close:
	fput(rf->f);
	rf->f = NULL;
out:
	kfree(path);
	return ret;
}

static bool lg_log_exists(struct mars_logger *lg, u64 seq, char *path)
{
	struct path p;

	if (seq > MLOG_SEQ_MAX || lg_file_path(lg, seq, path))
		return false;
	if (kern_path(path, 0, &p))
		return false;
	path_put(&p);
	return true;
}

/* Files of a recovery at most (bounds the first pass's bookkeeping). */
#define LG_REPLAY_FILES_MAX	4096

/*
 * Recovery: replay this host's logfiles from (@seq, @off). First pass: scan every
 * file (a fatal outcome anywhere stops everything, nothing applied); find the last
 * EOF(DRAINED) at or after the checkpoint. Second pass: apply from there.
 *
 * Progress goes to lg->prog for DEV_LIST/DEV_STATE while this runs (the registry
 * lock is not held, see dev.c): phase SCAN from the start; after the first pass
 * the bytes to write (total) and phase APPLY; done grows as writes complete;
 * DONE at the end. Field order matters to readers without a lock: total is set
 * before the phase says APPLY, so an APPLY reader never sees total 0.
 */
static int lg_recover(struct mars_logger *lg, u64 seq, u64 off, u64 *next_seq, char *err)
{
	struct mars_replay_progress *prog = lg->prog;
	struct lg_replay rp = { .kept = LIST_HEAD_INIT(rp.kept) };
	struct lg_rinfo *ri;
	char *path;
	u8 *buf;
	u64 n = 0, i, start_i = 0, start_off = off, s, total;
	u64 t0 = ktime_get_ns(), t1;
	int ret = 0;

	WRITE_ONCE(prog->start_ns, ktime_get_real_ns());
	WRITE_ONCE(prog->phase, MARS_REPLAY_SCAN);

	ri = kvcalloc(LG_REPLAY_FILES_MAX, sizeof(*ri), GFP_KERNEL);
	path = kmalloc(LG_PATH_MAX, GFP_KERNEL);
	buf = kvmalloc(MLOG_REC_DATA_MAX, GFP_KERNEL);
	rp.rf.win = lg_rwin_alloc();
	if (!ri || !path || !buf || !rp.rf.win) {
		ret = -ENOMEM;
		goto out;
	}
	lg_kept_reset(&rp);
	rp.kept_max = READ_ONCE(lg->buf_limit);
	/*
	 * (N+1, 0) is the canonical checkpoint after file N ended with an emergency
	 * EOF; file N+1 then never exists, and the log goes on in N+2 (GAP first).
	 */
	if (!off && !lg_log_exists(lg, seq, path)) {
		if (!lg_log_exists(lg, seq + 1, path)) {
			/* Nothing written since: the next file is N+2 after a GAP(N). */
			if (seq > 1)
				lg->gap_prev = seq - 1;
			*next_seq = lg->gap_prev ? seq + 1 : seq;
			goto out;
		}
		seq++;
	}
	/* Which files: seq, seq + 1, ...; after an emergency end, N + 2 follows N. */
	s = seq;
	while (n < LG_REPLAY_FILES_MAX && lg_log_exists(lg, s, path)) {
		u64 nxt = s + 1;
		bool more;

		more = lg_log_exists(lg, nxt, path) || lg_log_exists(lg, nxt + 1, path);
		/*
		 * Every file may end torn: a crash tore it, and the recovery after it
		 * went on in the next file. Continuity is checked below.
		 */
		rp.idx = n;
		ret = lg_scan_file(lg, &rp, s, true, false, n ? 0 : off, buf, &ri[n], err);
		if (ret)
			goto out;
		ri[n].seq = s;
		ri[n].after_hole = n && ri[n - 1].seq + 1 != s;
		n++;
		if (!more)
			break;
		/* A hole of one number: allowed only after an emergency (below). */
		if (!lg_log_exists(lg, nxt, path))
			nxt++;
		s = nxt;
	}
	if (!n) {
		if (off) {
			mars_err(err, "the checkpoint's logfile %llu does not exist", seq);
			ret = -ENOENT;
			trace_replay_stop(lg->name, lg->res_id, MARS_REPLAY_STOP_GAP, seq, off, 0,
					  ret);
			goto out;
		}
		*next_seq = seq;
		goto out;
	}
	if (n == LG_REPLAY_FILES_MAX) {
		mars_err(err, "more than %u logfiles to replay", LG_REPLAY_FILES_MAX);
		ret = -E2BIG;
		trace_replay_stop(lg->name, lg->res_id, MARS_REPLAY_STOP_LIMIT, s, 0, 0, ret);
		goto out;
	}
	/*
	 * File N+1 is skipped only after an emergency: file N ended with
	 * EOF(EMERGENCY), or (a log write error kept that record from being
	 * written) file N+2 starts with a GAP naming N. The logger writes that GAP
	 * only after it drained every buffered write to the data device and flushed
	 * it, so what file N holds is on the data device already.
	 */
	for (i = 1; i < n; i++) {
		if (!ri[i].after_hole || ri[i - 1].eof_emergency ||
		    (ri[i].gap_first && ri[i].gap_prev == ri[i - 1].seq))
			continue;
		mars_err(err, "logfile %llu is missing before %llu", ri[i].seq - 1, ri[i].seq);
		ret = -EUCLEAN;
		trace_replay_stop(lg->name, lg->res_id, MARS_REPLAY_STOP_GAP, ri[i].seq - 1, 0,
				  0, ret);
		goto out;
	}
	/*
	 * Between files, rec_seq continues (log-format.md 6): this proves that a torn
	 * file was followed by the recovery that ended it there, and that no stale
	 * file of another history sits in between. A GAP naming the file before it
	 * is that proof too: after a failed log write, numbers the failed batch took
	 * are in no file.
	 */
	for (i = 0; i + 1 < n; i++) {
		u64 last = ri[i].records ? ri[i].last_rec_seq : ri[i].hdr_first - 1;

		if (ri[i + 1].hdr_first == last + 1)
			continue;
		if (ri[i + 1].gap_first && ri[i + 1].gap_prev == ri[i].seq)
			continue;
		ret = -EUCLEAN;
		lg_file_path(lg, ri[i].seq, path);
		if (ri[i].outcome == MLOG_O_TORN_TAIL) {
			mars_err(err, "%s: %s at offset %llu, not at the end of the log (logfile %llu starts with record %llu)",
				 path, ri[i].detail ? ri[i].detail : "damaged", ri[i].outcome_off,
				 ri[i + 1].seq, ri[i + 1].hdr_first);
			trace_replay_stop(lg->name, lg->res_id, MARS_REPLAY_STOP_CORRUPT,
					  ri[i].seq, ri[i].outcome_off, ri[i].outcome, ret);
		} else {
			mars_err(err, "%s ends with record %llu, but logfile %llu starts with %llu",
				 path, last, ri[i + 1].seq, ri[i + 1].hdr_first);
			trace_replay_stop(lg->name, lg->res_id, MARS_REPLAY_STOP_SEQ_JUMP,
					  ri[i + 1].seq, 0, 0, ret);
		}
		goto out;
	}
	t1 = ktime_get_ns();
	/*
	 * Replay starts after the last drained point at or after the checkpoint:
	 * an EOF(DRAINED), or the start of a file beginning with a GAP (everything
	 * before it was drained to the data device, see above; replaying older
	 * records would overwrite what emergency mode wrote through).
	 */
	for (i = 0; i < n; i++) {
		if (i > 0 && ri[i].gap_first) {
			start_i = i;
			start_off = 0;
		}
		if (ri[i].drained_after && (i > 0 || ri[i].drained_after > off)) {
			start_i = i;
			start_off = ri[i].drained_after;
		}
	}
	/* What the second pass writes: start_i's tail (from start_off), then all. */
	total = ri[start_i].tail_bytes;
	for (i = start_i + 1; i < n; i++)
		total += ri[i].bytes;
	WRITE_ONCE(prog->total, total);
	WRITE_ONCE(prog->apply_ns, ktime_get_real_ns());
	smp_wmb();	/* total before the phase; pairs with smp_rmb() in dev.c */
	WRITE_ONCE(prog->phase, MARS_REPLAY_APPLY);
	sema_init(&lg->replay_sem, lg->replay_depth);
	atomic_set(&lg->replay_inflight, 1);
	init_completion(&lg->replay_done);
	atomic_set(&lg->replay_err, 0);
	mars_overlap_init(&lg->replay_ovl);
	/*
	 * Per file: the kept records, then (if the first pass stopped keeping in
	 * or before this file) the rest read again from the file, from the first
	 * record not kept on. Nothing is kept in this pass.
	 */
	rp.keeping = false;
	for (i = start_i; i < n; i++) {
		struct lg_rinfo again;
		u64 from = i == start_i ? start_off : 0;

		lg->replay_file_seq = ri[i].seq;
		ret = lg_replay_kept(lg, &rp, i, from, path, err);
		if (ret)
			break;
		if (rp.stop_idx > i)
			continue;	/* all of it was kept */
		if (rp.stop_idx == i)
			from = max(from, rp.stop_off);
		/*
		 * As the first pass: any file may end torn (continuity between the
		 * files was checked above). The file must read as it did then.
		 */
		ret = lg_scan_file(lg, &rp, ri[i].seq, true, true, from, buf, &again, err);
		if (ret)
			break;
		if (again.outcome != ri[i].outcome || again.outcome_off != ri[i].outcome_off) {
			lg_file_path(lg, ri[i].seq, path);
			mars_err(err, "%s changed during replay: %s at offset %llu, before %s at %llu",
				 path, mlog_outcome_name(again.outcome), again.outcome_off,
				 mlog_outcome_name(ri[i].outcome), ri[i].outcome_off);
			ret = -EUCLEAN;
			trace_replay_stop(lg->name, lg->res_id, MARS_REPLAY_STOP_CORRUPT, ri[i].seq,
					  again.outcome_off, again.outcome, ret);
			break;
		}
	}
	if (atomic_dec_and_test(&lg->replay_inflight))
		complete(&lg->replay_done);
	wait_for_completion(&lg->replay_done);
	if (!ret && atomic_read(&lg->replay_err)) {
		ret = atomic_read(&lg->replay_err);
		mars_err(err, "replay: writing to the data device failed: %d", ret);
	}
	if (!ret) {
		ret = lg_flush_lower(lg);
		if (ret)
			mars_err(err, "replay: flush of the data device failed: %d", ret);
	}
	if (ret)
		goto out;
	/* Continue numbering after what was found. */
	i = n - 1;
	lg->replay_end_seq = ri[i].seq;
	lg->replay_end_off = ri[i].outcome_off;
	lg->replay_outcome = ri[i].outcome;
	/* A file holding only its header continues from its header's first_rec_seq. */
	lg->next_rec_seq = max(lg->next_rec_seq, ri[i].records ? ri[i].last_rec_seq + 1 :
						  ri[i].hdr_first);
	for (i = 0; i < n; i++)
		lg->lamport = max(lg->lamport, ri[i].last_lamport);
	if (ri[n - 1].eof_emergency) {
		/* The next file is N + 2 and starts with GAP(N) (log-format.md 9). */
		lg->gap_prev = ri[n - 1].seq;
		*next_seq = ri[n - 1].seq + 2;
	} else {
		*next_seq = ri[n - 1].seq + 1;
	}
	lg->replay_ns = ktime_get_ns() - t0;
	pr_info("%s: replayed %llu records, %llu bytes from %llu file(s) in %llu ms (scan %llu ms, %llu bytes read once); log ends in file %llu at %llu (%s)\n",
		lg->name, lg->replay_records, lg->replay_bytes, n, lg->replay_ns / 1000000,
		(t1 - t0) / 1000000, rp.kept_applied,
		lg->replay_end_seq, lg->replay_end_off, mlog_outcome_name(lg->replay_outcome));
out:
	trace_replay_done(lg->name, lg->res_id, n, lg->replay_records, lg->replay_bytes,
			  lg->replay_end_seq, lg->replay_end_off, lg->replay_outcome,
			  ktime_get_ns() - t0, ret);
	if (!ret) {
		WRITE_ONCE(prog->end_ns, ktime_get_real_ns());
		WRITE_ONCE(prog->phase, MARS_REPLAY_DONE);
	}
	lg_kept_reset(&rp);
	lg_rwin_free(rp.rf.win);
	kvfree(buf);
	kfree(path);
	kvfree(ri);
	return ret;
}

/* ---- construction, teardown, state ------------------------------------------- */

static bool lg_host_valid(const char *h)
{
	size_t len = strnlen(h, MARS_HOST_MAX), i;

	if (!len || len >= MARS_HOST_MAX || !isalnum(h[0]))
		return false;
	for (i = 0; i < len; i++) {
		char c = h[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '_' && c != '.' && c != '-')
			return false;
	}
	return !memchr_inv(h + len, 0, MARS_HOST_MAX - len);
}

void mars_logger_set_tun(struct mars_brick *b, const struct mars_tun *eff)
{
	struct mars_logger *lg = to_lg(b);
	u64 buf = eff->buf_max_mb ? (u64)eff->buf_max_mb << 20 :
		  max_t(u64, 16ULL << 20, (u64)(totalram_pages() / 5) << PAGE_SHIFT);
	u32 depth, rate;

	WRITE_ONCE(lg->buf_limit, buf);
	/* A higher bound lets waiting writers go on. */
	wake_up_all(&lg->throttle_wq);
	WRITE_ONCE(lg->rotate_bytes, eff->log_rotate_mb == U32_MAX ? U64_MAX :
		   (u64)eff->log_rotate_mb << 20);
	WRITE_ONCE(lg->batch_bytes, clamp_t(u32, eff->log_batch_kb, 4, 4096) << 10);
	/* The torn window (log-format.md 8.3) caps unsynced bytes at 8 MiB. */
	WRITE_ONCE(lg->sync_bytes, min_t(u32, eff->log_sync_kb << 10, MLOG_TORN_MAX / 2));
	WRITE_ONCE(lg->emerg_free, (u64)eff->emerg_free_mb << 20);
	WRITE_ONCE(lg->wb_flush_bytes, (u64)max_t(u32, eff->wb_flush_mb, 1) << 20);
	WRITE_ONCE(lg->ack_logged, eff->ack_mode);
	WRITE_ONCE(lg->replay_depth, clamp_t(u32, eff->replay_depth, 1, 1024));
	/* Read by logd at its next wait; a wait in progress ends as it was. */
	WRITE_ONCE(lg->commit_ns, (u64)min_t(u32, eff->log_commit_us,
					     MARS_TUN_LOG_COMMIT_US_MAX) * NSEC_PER_USEC);
	/* Waiting writeback reads the new values at once (mid-batch). */
	depth = clamp_t(u32, eff->wb_depth, MARS_TUN_WB_DEPTH_MIN, MARS_TUN_WB_DEPTH_MAX);
	if (READ_ONCE(lg->wb_depth) != depth) {
		WRITE_ONCE(lg->wb_depth, depth);
		wake_up(&lg->wb_slot_wq);
	}
	rate = eff->wb_rate_kib ? eff->wb_rate_kib : U32_MAX;
	if (READ_ONCE(lg->wb_rate_kib) != rate) {
		WRITE_ONCE(lg->wb_rate_kib, rate);
		wake_up(&lg->wbd_wq);
	}
}

static void lg_default_tun(struct mars_logger *lg)
{
	struct mars_tun t = {
		.buf_max_mb = MARS_TUN_BUF_MAX_MB_DEF,
		.log_rotate_mb = MARS_TUN_LOG_ROTATE_MB_DEF,
		.log_batch_kb = MARS_TUN_LOG_BATCH_KB_DEF,
		.log_sync_kb = MARS_TUN_LOG_SYNC_KB_DEF,
		.emerg_free_mb = MARS_TUN_EMERG_FREE_MB_DEF,
		.wb_flush_mb = MARS_TUN_WB_FLUSH_MB_DEF,
		.ack_mode = MARS_TUN_ACK_MODE_DEF,
		.replay_depth = MARS_TUN_REPLAY_DEPTH_DEF,
		.log_commit_us = MARS_TUN_LOG_COMMIT_US_DEF,
		.wb_depth = MARS_TUN_WB_DEPTH_DEF,
		.wb_rate_kib = MARS_TUN_WB_RATE_KIB_DEF,
	};

	mars_logger_set_tun(&lg->brick, &t);
}

static void lg_free(struct mars_logger *lg)
{
	if (lg->logf)
		fput(lg->logf);
	if (lg->dir_path.dentry)
		path_put(&lg->dir_path);
	if (lg->wq)
		destroy_workqueue(lg->wq);
	mempool_destroy(lg->io_pool);
	kvfree(lg->bvecs);
	kvfree(lg->wb_batch);
	kvfree(lg->wb_ios);
	kfree(lg->hdrbuf);
	kfree(lg->dir);
}

static int mars_logger_ctr(struct mars_brick *b, const struct mars_brick_args *args, char *err)
{
	const struct mars_logger_args *la = args->logger;
	struct mars_logger *lg = to_lg(b);
	struct mars_brick *lower = b->lower;
	u64 next_seq, seq;
	int ret;

	if (!lower || !la || !la->progress) {
		mars_err(err, "the logger needs a data backend and its arguments");
		return -EINVAL;
	}
	if (lower->aspect_off < sizeof(struct lg_io)) {
		mars_err(err, "internal: no room for logger requests");
		return -EINVAL;
	}
	b->info = lower->info;
	b->info.fua = true;
	/* One record per request: ranges must fit MLOG_REC_RANGE_MAX (log-format.md 5.2). */
	b->info.max_discard_sectors = min_t(unsigned int, b->info.max_discard_sectors,
					    MLOG_REC_RANGE_MAX >> SECTOR_SHIFT);
	b->info.max_write_zeroes_sectors = min_t(unsigned int,
						 b->info.max_write_zeroes_sectors,
						 MLOG_REC_RANGE_MAX >> SECTOR_SHIFT);
	lg->lbs = lower->info.logical_block_size;
	if (lg->lbs != 512 && lg->lbs != 4096) {
		mars_err(err, "block size %u: the log format knows 512 and 4096", lg->lbs);
		return -EINVAL;
	}
	if (lower->info.readonly) {
		mars_err(err, "a logger needs a writable data device");
		return -EROFS;
	}
	strscpy(lg->name, args->name, sizeof(lg->name));
	lg->res_id = args->res_id;
	memcpy(lg->host, la->host, MARS_HOST_MAX);
	if (!lg_host_valid(lg->host)) {
		mars_err(err, "invalid host name (1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit)");
		return -EINVAL;
	}
	memcpy(lg->uuid, la->uuid, sizeof(lg->uuid));
	lg->prog = la->progress;
	spin_lock_init(&lg->lock);
	lg->tree = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&lg->logq);
	INIT_LIST_HEAD(&lg->unsyncq);
	INIT_LIST_HEAD(&lg->wbq);
	INIT_LIST_HEAD(&lg->writtenq);
	INIT_LIST_HEAD(&lg->ckq);
	INIT_LIST_HEAD(&lg->flushq);
	init_waitqueue_head(&lg->throttle_wq);
	init_waitqueue_head(&lg->mode_wq);
	init_waitqueue_head(&lg->logd_wq);
	init_waitqueue_head(&lg->wbd_wq);
	init_waitqueue_head(&lg->idle_wq);
	init_waitqueue_head(&lg->wb_slot_wq);
	mutex_init(&lg->mode_mutex);
	init_completion(&lg->wb_done);
	lg_default_tun(lg);
	if (la->tun)
		mars_logger_set_tun(b, la->tun);
	lg->lamport = la->lamport;
	lg->next_rec_seq = max_t(u64, la->next_rec_seq, 1);

	ret = -ENOMEM;
	lg->dir = kasprintf(GFP_KERNEL, "%s/resource-%s", la->log_dir, lg->name);
	if (!lg->dir)
		goto err;
	if (strlen(lg->dir) + 32 + MARS_HOST_MAX >= LG_PATH_MAX) {
		mars_err(err, "log directory path too long");
		ret = -ENAMETOOLONG;
		goto err;
	}
	ret = kern_path(lg->dir, LOOKUP_FOLLOW, &lg->dir_path);
	if (ret) {
		mars_err(err, "log directory %s: %d (marsctl creates it)", lg->dir, ret);
		goto err;
	}
	ret = d_is_dir(lg->dir_path.dentry) ? 0 : -ENOTDIR;
	if (ret) {
		mars_err(err, "%s is not a directory", lg->dir);
		goto err;
	}
	ret = -ENOMEM;
	lg->io_size = lower->aspect_off + lower->type->aspect_size;
	/* wbd holds up to LG_WB_BATCH at once; reads and pass-through need some more. */
	lg->io_pool = mempool_create_kmalloc_pool(LG_WB_BATCH + 64, lg->io_size);
	lg->wq = alloc_workqueue("mars_lg_%s", WQ_MEM_RECLAIM, 0, lg->name);
	lg->hdrbuf = kmalloc(LG_BATCH_RECS * LG_HDR_SLOT, GFP_KERNEL);
	lg->max_bvecs = LG_BATCH_RECS + (4U << 20) / PAGE_SIZE + 1;
	lg->bvecs = kvmalloc_array(lg->max_bvecs, sizeof(*lg->bvecs), GFP_KERNEL);
	lg->wb_batch = kvmalloc_array(LG_WB_BATCH, sizeof(*lg->wb_batch), GFP_KERNEL);
	lg->wb_ios = kvmalloc_array(LG_WB_BATCH, sizeof(*lg->wb_ios), GFP_KERNEL);
	if (!lg->io_pool || !lg->wq || !lg->hdrbuf || !lg->bvecs || !lg->wb_batch ||
	    !lg->wb_ios) {
		mars_err(err, "out of memory");
		goto err;
	}

	next_seq = 1;
	if (la->ckpt_seq && !la->no_replay) {
		ret = lg_recover(lg, la->ckpt_seq, la->ckpt_off, &next_seq, err);
		if (ret)
			goto err;
	}
	seq = max(next_seq, la->next_log_seq);
	ret = lg_log_create(lg, seq, err);
	if (la->ckpt_seq && !la->no_replay)
		trace_log_rotate(lg->name, lg->res_id, lg->replay_end_seq,
				 lg->replay_end_off, seq, MARS_ROT_RECOVERY, ret);
	if (ret)
		goto err;
	if (lg->gap_prev && seq == next_seq) {
		ret = lg_log_meta(lg, MLOG_T_GAP, 0, lg->gap_prev);
		if (ret) {
			mars_err(err, "cannot write the GAP record: %d", ret);
			goto err;
		}
	}
	lg->dur_seq = lg->log_seq;
	lg->dur_off = lg->log_durable;
	lg->durable_rec_seq = lg->next_rec_seq - 1;
	lg->dur_rec_seq = lg->durable_rec_seq;
	lg_set_ckpt(lg, lg->dur_seq, lg->dur_off, lg->dur_rec_seq);
	lg_statfs(lg, true);

	lg->wbd = kthread_run(mars_wbd, lg, "mars_wb/%s", lg->name);
	if (IS_ERR(lg->wbd)) {
		ret = PTR_ERR(lg->wbd);
		lg->wbd = NULL;
		mars_err(err, "cannot start the writeback thread: %d", ret);
		goto err;
	}
	lg->logd = kthread_run(mars_logd, lg, "mars_log/%s", lg->name);
	if (IS_ERR(lg->logd)) {
		ret = PTR_ERR(lg->logd);
		lg->logd = NULL;
		kthread_stop(lg->wbd);
		mars_err(err, "cannot start the log thread: %d", ret);
		goto err;
	}
	return 0;
err:
	lg_free(lg);
	return ret;
}

/*
 * Teardown after the if brick drained every request: make the queue durable,
 * write everything back, flush, end the file with EOF(DRAINED). If the data
 * device fails meanwhile, the log still holds the data: the next create replays.
 */
static void mars_logger_dtr(struct mars_brick *b)
{
	struct mars_logger *lg = to_lg(b);
	struct lg_ext *e, *en;
	bool drained;
	int ret;

	spin_lock(&lg->lock);
	lg->stopping = true;
	spin_unlock(&lg->lock);
	wake_up(&lg->logd_wq);
	wait_event(lg->idle_wq, lg_idle_check(lg) || READ_ONCE(lg->mode) != LG_NORMAL);
	drained = lg_drain_wb(lg);
	kthread_stop(lg->logd);
	if (READ_ONCE(lg->mode) == LG_NORMAL && lg->logf && !lg->log_error) {
		ret = lg_log_meta(lg, MLOG_T_EOF, drained ? MLOG_F_DRAINED : 0, 0);
		if (ret)
			pr_err("%s: cannot write the final EOF record: %d\n", lg->name, ret);
	}
	kthread_stop(lg->wbd);
	if (!drained)
		pr_err("%s: data device failed during shutdown; the log keeps the data for replay\n",
		       lg->name);
	/* Normally empty; after a failed drain, what is left is in the log. */
	spin_lock(&lg->lock);
	list_for_each_entry_safe(e, en, &lg->ckq, ck) {
		list_del_init(&e->q);
		lg_ext_untree(lg, e);
		list_del(&e->ck);
		lg_ext_put(e);
	}
	spin_unlock(&lg->lock);
	WARN_ON_ONCE(atomic64_read(&lg->buf_used));
	lg_free(lg);
	pr_info("%s: logger stopped (%s)\n", lg->name, drained ? "drained" : "not drained");
}

void mars_logger_state(struct mars_brick *b, struct mars_rstate *rs)
{
	struct mars_logger *lg = to_lg(b);
	struct lg_ext *oldest;

	rs->role = MARS_ROLE_PRIMARY;
	rs->flags |= MARS_RS_F_LOGGER;
	spin_lock(&lg->lock);
	switch (lg->mode) {
	case LG_ENTERING:
	case LG_EMERGENCY:
	case LG_LEAVING:
		rs->flags |= MARS_RS_F_EMERGENCY;
		break;
	}
	if (lg->log_error)
		rs->flags |= MARS_RS_F_LOG_ERROR;
	/* The head of ckq: the oldest write not yet durable on the data device. */
	oldest = list_first_entry_or_null(&lg->ckq, struct lg_ext, ck);
	if (oldest) {
		rs->flags |= MARS_RS_F_WB_PENDING;
		rs->wb_lag_ns = max_t(u64, jiffies_to_nsecs(jiffies - oldest->born), 1);
	}
	rs->wb_seq = lg->wb_seq;
	rs->wb_off = lg->wb_off;
	rs->log_seq = lg->log_seq;
	rs->log_appended = lg->log_appended;
	rs->log_durable = lg->log_durable;
	rs->durable_rec_seq = lg->durable_rec_seq;
	rs->durable_lamport = lg->durable_lamport;
	spin_unlock(&lg->lock);
	if (atomic_read(&lg->throttled))
		rs->flags |= MARS_RS_F_THROTTLED;
	if (atomic64_read(&lg->wb_errors))
		rs->flags |= MARS_RS_F_DATA_ERROR;
	rs->wb_pending = atomic64_read(&lg->buf_used);
	rs->buf_bytes = rs->wb_pending;
	rs->buf_limit = READ_ONCE(lg->buf_limit);
	rs->replay_seq = lg->replay_end_seq;
	rs->replay_off = lg->replay_end_off;
	rs->replay_bytes = lg->replay_bytes;
	rs->log_fs_free = READ_ONCE(lg->fs_free);
	rs->log_fs_size = READ_ONCE(lg->fs_size);
	rs->emerg_since_ns = READ_ONCE(lg->emerg_since_ns);
}

void mars_logger_replay_info(struct mars_brick *b, struct mars_ioc_dev_create2 *c)
{
	struct mars_logger *lg = to_lg(b);

	c->replay_records = lg->replay_records;
	c->replay_bytes = lg->replay_bytes;
	c->replay_ns = lg->replay_ns;
	c->replay_end_seq = lg->replay_end_seq;
	c->replay_end_off = lg->replay_end_off;
	c->replay_outcome = lg->replay_outcome;
	c->log_seq = lg->log_seq;
}

const struct mars_brick_type mars_logger_type = {
	.name		= "logger",
	.slot		= MARS_SLOT_LOGGER,
	.brick_size	= sizeof(struct mars_logger),
	.aspect_size	= sizeof(struct lg_aspect),
	.ctr		= mars_logger_ctr,
	.dtr		= mars_logger_dtr,
	.submit		= mars_logger_submit,
};
