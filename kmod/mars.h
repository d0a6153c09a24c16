/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mars.ko private header: the brick framework and what the module's files share.
 * Optional parts get static inline stubs here, so the .c files carry no #ifdef.
 *
 * Bricks and requests
 * -------------------
 * A brick type (struct mars_brick_type) is an ops table, like device-mapper's
 * target_type: a constructor that parses its arguments and returns -errno with a
 * human message, a destructor, submit, and a status hook. A brick is an instance of
 * a type. Its single input is connected to the output of the brick below it
 * (brick->lower); the graph of a device is a chain built at creation:
 *
 *	if  ->  backend (sio | aio | bio)
 *
 * The if brick (brick_if.c) is the top of every graph: it turns blk-mq requests into
 * mrefs and is never stacked under another brick, so it has no type entry.
 *
 * IO travels as struct mref. A request is owned by exactly one brick at a time:
 * the brick that called ->submit() gives the request away and gets it back through
 * mref->endio (the completion chain: a brick that needs to see completions saves
 * the caller's endio in its aspect and installs its own). A request is never freed
 * by a lower brick; the brick that created it frees it after endio.
 *
 * Aspects: every brick type declares aspect_size, the private per-request state it
 * needs. When a graph is built, each brick gets an offset into one per-request
 * allocation (for the if brick: the blk-mq request PDU), so stacking bricks costs
 * no allocation per layer: mref_aspect(m, brick) finds a brick's state.
 *
 * Lifetime: a brick holds a reference on the brick below (kref). A device's bricks
 * are torn down from the top after the top brick drained its requests, so a lower
 * brick never sees a request after its destructor started.
 */
#ifndef MARS_H
#define MARS_H

#include <linux/blkdev.h>
#include <linux/bvec.h>
#include <linux/kref.h>
#include <linux/mars.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/types.h>

/* Reported by MARS_IOC_VERSION and modinfo. */
#define MARS_VERSION_STRING	"0.2.0"

/*
 * Devices at most (bounds MARS_IOC_DEV_LIST and the registry). Equal to the ABI's
 * MARS_RES_MAX, so every resource has a slot in the per-resource maps.
 */
#define MARS_DEVS_MAX		MARS_RES_MAX

struct mars_brick;
struct mref;

/* What a request asks for. */
enum mref_op {
	MREF_READ,
	MREF_WRITE,
	MREF_FLUSH,		/* make every write completed before it durable; no data */
	MREF_DISCARD,		/* no data */
	MREF_WRITE_ZEROES,	/* no data */
};

/* Request flags. */
#define MREF_F_FUA	BIT(0)	/* any writing op: durable on the backing when it completes */
#define MREF_F_NOUNMAP	BIT(1)	/* WRITE_ZEROES: keep the blocks allocated */
/*
 * Submitted from the if brick's queue_rq: process context, no lock held, may
 * sleep. A backend may then start the IO right there (mars_direct_begin()) instead
 * of handing it to a worker. Only for the brick the if brick talks to: a brick
 * that passes a request on from another context must clear it.
 */
#define MREF_F_TASK	BIT(2)

/*
 * A request. pos/len/op/flags/bvec are set by the creator and read-only below it.
 * The data is the byte range [bvec_offset, bvec_offset + len) of the bio_vec
 * array bvec[0..nr_bvec) (MREF_READ and MREF_WRITE only).
 */
struct mref {
	loff_t pos;			/* byte offset on the device */
	u32 len;			/* bytes */
	u8 op;				/* enum mref_op */
	u8 flags;			/* MREF_F_* */
	u16 ioprio;
	struct bio_vec *bvec;		/* data pages */
	unsigned int nr_bvec;
	unsigned int bvec_offset;	/* bytes into bvec[0] */
	/*
	 * ktime_get_ns() at completion if the completing brick read the clock
	 * anyway (mars_brick_done()), else 0: the brick above reuses it instead
	 * of reading the clock again (a clock read is an emulated HPET access in
	 * some VMs, a visible cost per request).
	 */
	u64 done_ns;
	/*
	 * Completion: called once, from any context (hardirq included), with 0 or
	 * -errno. After it returns the callee may not touch the request.
	 */
	void (*endio)(struct mref *m, int err);
};

/*
 * A brick type. Registered once in mars_brick_types[] (brick.c).
 *
 * @ctr: set up @b (b->lower is connected already) from @args. Returns 0, or -errno
 *	 with a one-line human message in @err (size MARS_ERRMSG_MAX). May sleep.
 * @dtr: tear down; called only after every request submitted to @b completed.
 * @submit: start @m. Never fails synchronously: errors complete @m with -errno.
 *	 Called in process context (the if brick's queue is BLK_MQ_F_BLOCKING, the
 *	 logger's threads): it may allocate with GFP_NOIO, but must not wait for IO
 *	 to complete. With MREF_F_TASK it may start the IO itself (mars_direct_*).
 * @set_threads: optional; resize a thread pool (sio). Returns 0 or -errno.
 * @get_threads: optional; the number of threads running now.
 * @set_tun: optional; take the resource's effective tunables (the publisher
 *	 calls it on every change, under mars_devs_lock; must not sleep long).
 */
struct mars_brick_args;

struct mars_brick_type {
	const char *name;
	u16 slot;			/* MARS_SLOT_*: in tracepoints and mars_lat */
	size_t brick_size;		/* bytes of the type's brick struct */
	size_t aspect_size;		/* bytes of per-request state */
	int (*ctr)(struct mars_brick *b, const struct mars_brick_args *args, char *err);
	void (*dtr)(struct mars_brick *b);
	void (*submit)(struct mars_brick *b, struct mref *m);
	int (*set_threads)(struct mars_brick *b, unsigned int n);
	unsigned int (*get_threads)(struct mars_brick *b);
	void (*set_tun)(struct mars_brick *b, const struct mars_tun *eff);
};

/*
 * Progress of the replay at create (DEV_CREATE2; mars_rstate replay_* fields).
 * dev.c owns it, in its resource, which is on the registry while the logger's
 * constructor replays without mars_devs_lock; the constructor is its only writer.
 * Readers take no lock: they read each field once (READ_ONCE, atomic64_read) and
 * clamp done to total; so a torn view is at worst one state behind.
 */
struct mars_replay_progress {
	u64 start_ns;			/* CLOCK_REALTIME: scan began; 0 = no replay */
	u64 apply_ns;			/* CLOCK_REALTIME: writing began; 0 = not yet */
	u64 end_ns;			/* CLOCK_REALTIME: finished; 0 = not yet */
	u64 total;			/* bytes to write, set at the end of the scan */
	atomic64_t done;		/* bytes written (completed), or skipped */
	u32 phase;			/* MARS_REPLAY_* */
};

/* The logger's constructor arguments (from MARS_IOC_DEV_CREATE2). */
struct mars_logger_args {
	const char *log_dir;		/* parent of resource-<name>/ */
	char host[MARS_HOST_MAX];
	u8 uuid[16];
	u64 ckpt_seq, ckpt_off;		/* replay from here; ckpt_seq 0: no replay */
	u64 next_log_seq, next_rec_seq, lamport;
	bool no_replay;
	const struct mars_tun *tun;	/* initial tunables, or NULL for defaults */
	struct mars_replay_progress *progress;	/* written during the replay */
};

/* Constructor arguments; each type reads the fields it needs. */
struct mars_brick_args {
	const char *path;		/* backing path (backends) */
	const char *name;		/* resource name (if) */
	u64 dev_size;			/* bytes, 0 = whole backing (if) */
	unsigned int threads;		/* sio pool size */
	unsigned int queue_depth;	/* if */
	u32 res_id;			/* slot in the per-resource maps (if, logger) */
	const struct mars_logger_args *logger;	/* logger */
};

/* What a backend reports about its backing to the brick above. */
struct mars_backing_info {
	u64 size;			/* bytes */
	unsigned int logical_block_size;
	unsigned int physical_block_size;
	unsigned int max_discard_sectors;	/* 0: no discard */
	unsigned int max_write_zeroes_sectors;	/* 0: no write zeroes */
	bool fua;			/* FUA is native (else emulated by a flush) */
	bool readonly;
};

/*
 * A brick instance. Types embed it first in their own struct (brick_size) and use
 * container_of.
 */
struct mars_brick {
	const struct mars_brick_type *type;
	struct kref kref;		/* users: the brick above, the graph */
	struct mars_brick *lower;	/* the brick our input is connected to, or NULL */
	size_t aspect_off;		/* offset of our aspect in a request allocation */
	struct mars_backing_info info;	/* backends: filled by ctr */
	/* For tracepoints and mars_lat (mars_brick_start/done): set by mars_brick_new. */
	char res[MARS_NAME_MAX];	/* resource name */
	u32 res_id;			/* slot in the per-resource maps */
	atomic_t inflight;		/* requests between start and done */
};

/*
 * A backend calls mars_brick_start() when a request reaches it (->submit) and
 * mars_brick_done() right before it completes the request (m->endio), with the
 * time start returned: that fires mars:req_submit and mars:req_done with the
 * brick's slot and adds the latency (ordering waits included) to mars_lat.
 * Any context; cheap when nothing traces and lat_hist is off: then the clock
 * is not read, start returns 0 and m->done_ns stays 0.
 * mars_brick_done_at() takes the completion time @now (0: read it) from a
 * brick below (its m->done_ns), which saves a clock read.
 */
u64 mars_brick_start(struct mars_brick *b, const struct mref *m);
void mars_brick_done(struct mars_brick *b, struct mref *m, int err, u64 start_ns);
void mars_brick_done_at(struct mars_brick *b, struct mref *m, int err, u64 start_ns, u64 now);

/*
 * Starting IO in the submitter's context (a request with MREF_F_TASK).
 *
 * The if brick's queue_rq often runs inside the flush of the writer's plug
 * (blk_finish_plug() in blkdev_write_iter(), under the upper queue's dispatch
 * SRCU). A bio submitted from there to a blk-mq device below would join that
 * plug and be issued by the same flush loop under the upper queue's protection
 * instead of the lower one's. So between mars_direct_begin() and
 * mars_direct_end() current->plug is our own plug: the bios of this request are
 * batched there and issued by blk_finish_plug() through the lower queue's own
 * dispatch path. The upper plug is put back untouched (the flush loop popped our
 * request from it already and goes on with the rest after we return).
 *
 * If queue_rq runs inside submit_bio() (current->bio_list set: direct issue
 * without a plug), bios we submit are only queued there and sent after we
 * return; that is safe for bios from a bio set with a rescuer (the bio backend)
 * but not for a filesystem's direct IO, which may wait for its own earlier bios
 * (inode_dio_wait) or allocate from a pool without rescuer: mars_direct_ok()
 * tells a backend which case it is in. Also sets memalloc_noio, as the
 * backends' workers do.
 */
struct mars_direct {
	struct blk_plug *saved;
	struct blk_plug plug;
	unsigned int noio;
};

/*
 * Whether a backend should start requests inline at all, for its backing device
 * @bdev (NULL: a regular file). A synchronous device (RAM disk, zram, pmem: the
 * kernel marks them by ->rw_page, as the swap code tests) does its whole work,
 * the copy included, inside submit_bio(): started from queue_rq that work runs
 * on the submitting CPU, one request after the other, while a worker pipelines
 * it with the submitter on another CPU (measured: docs/performance.md). Any
 * other device works in hardware or in its own threads, and a hop to a worker
 * would only add a context switch per request.
 */
static inline bool mars_direct_suits(const struct block_device *bdev)
{
	return !bdev || !bdev->bd_disk->fops->rw_page;
}

/*
 * @fs: the backend runs a filesystem's (or the block device file's) read_iter/
 * write_iter, not only submit_bio(). Such code must not run inside submit_bio()
 * recursion (above), nor in reclaim (PF_MEMALLOC: swap on mars, or kswapd
 * writing back pages of a file on mars), nor inside another filesystem's
 * transaction (current->journal_info: e.g. a filesystem on a loop device on a
 * file on mars); those requests go to the worker.
 *
 * The caller's plug is set aside while we run (mars_direct_begin()). We may
 * sleep then, and schedule() flushes only the plug in place: callbacks on the
 * caller's plug (md, dm, btrfs add them) would stay unrun, their IO unissued,
 * while we wait. So a caller plug with callbacks keeps the request off the
 * inline path. Its cached requests (blk_start_plug_nr_ios()) are tags of the
 * queue above us, which our IO never waits for.
 */
static inline bool mars_direct_ok(const struct mref *m, bool fs)
{
	const struct blk_plug *plug = current->plug;

	if (!(m->flags & MREF_F_TASK))
		return false;
	if (plug && !list_empty(&plug->cb_list))
		return false;
	return !fs || (!current->bio_list && !current->journal_info &&
		       !(current->flags & PF_MEMALLOC));
}

static inline void mars_direct_begin(struct mars_direct *d)
{
	d->noio = memalloc_noio_save();
	d->saved = current->plug;
	current->plug = NULL;
	blk_start_plug(&d->plug);
}

/* The plug's flush may allocate (requests, tags): still under memalloc_noio. */
static inline void mars_direct_end(struct mars_direct *d)
{
	blk_finish_plug(&d->plug);
	current->plug = d->saved;
	memalloc_noio_restore(d->noio);
}

/*
 * The same for IO that is not a struct mref of @b's type: @b names the resource,
 * @slot the brick slot it is counted in (MARS_SLOT_*), @inflight the requests
 * between start and done in that slot. The logger counts its logfile writes and
 * syncs as slot MARS_SLOT_LOG with these (pos: offset in the logfile).
 * mars_io_done() returns the time it read (ktime_get_ns()), or 0 if it read
 * none; mars_io_done_at() is given it (@now, 0: read it if needed).
 */
u64 mars_io_start(struct mars_brick *b, u16 slot, atomic_t *inflight, u32 op, u32 flags,
		  u64 pos, u32 len);
u64 mars_io_done(struct mars_brick *b, u16 slot, atomic_t *inflight, u32 op, u64 pos,
		 u32 len, int err, u64 start_ns);
u64 mars_io_done_at(struct mars_brick *b, u16 slot, atomic_t *inflight, u32 op, u64 pos,
		    u32 len, int err, u64 start_ns, u64 now);

static inline void *mref_aspect(struct mref *m, const struct mars_brick *b)
{
	return (char *)m + b->aspect_off;
}

static inline bool mref_is_write(const struct mref *m)
{
	return m->op == MREF_WRITE || m->op == MREF_DISCARD || m->op == MREF_WRITE_ZEROES;
}

/*
 * logger.c: the transaction logger brick. Its lower brick is the data backend,
 * created with aspect_off = mars_logger_io_size() so the logger can send its own
 * requests (writeback, replay, reads) down.
 */
extern const struct mars_brick_type mars_logger_type;
size_t mars_logger_io_size(void);
void mars_logger_set_tun(struct mars_brick *b, const struct mars_tun *eff);
void mars_logger_state(struct mars_brick *b, struct mars_rstate *rs);
void mars_logger_replay_info(struct mars_brick *b, struct mars_ioc_dev_create2 *c);
int mars_logger_rotate(struct mars_brick *b, u64 *old_seq, u64 *old_end, u64 *new_seq,
		       char *err);
int mars_logger_emergency(struct mars_brick *b, u32 action, u64 *log_seq, char *err);

/* brick.c: the type registry and brick lifetime. */
extern const struct mars_brick_type mars_sio_type, mars_aio_type, mars_bio_type;
const struct mars_brick_type *mars_backend_type(u32 backend);
struct mars_brick *mars_brick_new(const struct mars_brick_type *type,
				  struct mars_brick *lower, size_t aspect_off,
				  const struct mars_brick_args *args, char *err);
void mars_brick_put(struct mars_brick *b);

/* Round an aspect size up so the next aspect is aligned. */
static inline size_t mars_aspect_align(size_t n)
{
	return ALIGN(n, sizeof(u64));
}

/*
 * Write ordering (overlap.c). Writes to overlapping byte ranges must reach the
 * backing in the order they were submitted even when several threads or many
 * asynchronous requests are in flight. A backend embeds struct mars_overlap_node in
 * its aspect, calls mars_overlap_begin() before starting a write: it returns true
 * when the write may start now, false when it was queued behind an earlier
 * overlapping write, in which case @start is called with the node later, from
 * mars_overlap_end() of the last earlier write it waited for. Every begun write calls
 * mars_overlap_end() once it completed.
 */
struct mars_overlap {
	spinlock_t lock;		/* irq-safe: end may run in interrupt context */
	struct rb_root_cached tree;	/* writes begun and not ended, by range; lock */
	u64 next_seq;			/* order of begin calls; lock */
};

struct mars_overlap_node {
	struct rb_node rb;		/* in mars_overlap.tree while begun */
	loff_t start, last;		/* byte range, inclusive */
	loff_t subtree_last;		/* interval tree bookkeeping */
	u64 seq;			/* begin order: lower = earlier */
	unsigned int blockers;		/* earlier overlapping writes not ended; lock */
	struct list_head ready;		/* private to mars_overlap_end() */
	struct mref *m;
	/* Called when blockers drops to 0; find your aspect with container_of. */
	void (*start_fn)(struct mars_overlap_node *n);
};

void mars_overlap_init(struct mars_overlap *o);
bool mars_overlap_begin(struct mars_overlap *o, struct mars_overlap_node *n,
			struct mref *m, void (*start)(struct mars_overlap_node *n));
void mars_overlap_end(struct mars_overlap *o, struct mars_overlap_node *n);

/*
 * Group commit of flushes for file backends (file.c). A flush must make durable
 * every write that completed before it was submitted; one fsync started after that
 * moment covers it, so concurrent flushes share fsyncs: a flush waits for the
 * first fsync that starts after it arrived.
 */
struct mars_file_backing {
	struct file *file;
	struct mutex sync_lock;		/* one fsync at a time */
	/* Generation of the last fsync started: written under sync_lock, sampled
	 * without it by an arriving flush.
	 */
	u64 sync_started;
	u64 sync_done;			/* generation of the last fsync finished; sync_lock */
	errseq_t wb_err;		/* writeback error state sampled at open */
	/* Generation of the last failed fsync, 0: none; sync_lock */
	u64 sync_err_gen;
	int sync_err;			/* error of that failed fsync; sync_lock */
	atomic64_t syncs;		/* fsyncs issued, for tests and stats */
	atomic64_t flushes;		/* flushes served */
};

int mars_file_open(struct mars_file_backing *fb, struct mars_backing_info *info,
		   const char *path, bool direct, char *err);
void mars_file_close(struct mars_file_backing *fb);
int mars_file_flush(struct mars_file_backing *fb);
int mars_file_rw(struct mars_file_backing *fb, struct mref *m);
int mars_file_fallocate(struct mars_file_backing *fb, struct mref *m);
void mars_mref_iter(struct mref *m, struct iov_iter *iter);

/* dev.c: resources (one graph each) and their registry. */
int mars_dev_create(struct mars_ioc_dev_create *c, const char *path,
		    struct mars_ioc_dev_create2 *c2, const char *log_dir);
int mars_dev_state(struct mars_ioc_dev_state *s);
int mars_dev_log_rotate(struct mars_ioc_log_rotate *r);
int mars_dev_emergency(struct mars_ioc_emergency *e);
int mars_dev_delete(struct mars_ioc_dev_delete *d);
int mars_dev_list(struct mars_dev_info *out, u32 capacity, u32 *count);
int mars_dev_set(struct mars_ioc_dev_set *s);
int mars_dev_init(void);
void mars_dev_exit(void);

/* brick_if.c: the if brick exposes the graph as a blk-mq disk. */
struct mars_if;
struct mars_if *mars_if_create(const char *name, struct mars_brick *lower,
			       const struct mars_brick_args *args, char *err);
int mars_if_destroy(struct mars_if *ifb, bool force, char *err);
void mars_if_info(struct mars_if *ifb, struct mars_dev_info *info);
void mars_if_devt(struct mars_if *ifb, u32 *major, u32 *minor);
void mars_if_state(struct mars_if *ifb, struct mars_rstate *rs);
size_t mars_if_aspect_off(void);

/*
 * maps.c: the BPF maps userspace hands over (docs/architecture.md, section 5).
 * The module holds one reference per attached map, published under RCU; every
 * user of a map pointer holds rcu_read_lock(). The statistics helpers work in any
 * context and never fail an IO: a failed update is a dropped statistic.
 */
int mars_maps_attach(struct mars_ioc_map_attach *a);
void mars_maps_info(struct mars_ioc_map_info *info);
void mars_maps_exit(void);
u64 mars_maps_gen(void);
u64 mars_stat_drops(void);
void mars_stat_submit(u32 res_id, const struct mref *m);
void mars_stat_done(u32 res_id, const struct mref *m, int err, u64 lat_ns);
void mars_stat_lat(u32 res_id, u16 slot, u32 op, u64 lat_ns);
void mars_stat_throttled(u32 res_id);
void mars_stat_res_reset(u32 res_id, u32 kinds);
#define MARS_STAT_ALL	(BIT(MARS_MAP_IO) | BIT(MARS_MAP_LAT))
bool mars_map_read(u32 kind, u32 key, void *buf, size_t size);
void mars_map_clear(u32 kind, u32 key);
void mars_map_publish(u32 kind, u32 key, const void *val, size_t size);

/* mars_lat is filled only while the global tunable lat_hist is 1 (state.c). */
extern bool mars_lat_on;

/*
 * state.c: the publisher. A delayed work re-reads the tunable maps, applies the
 * effective values, and publishes gstate and every resource's rstate, every
 * state_ms and at once when kicked (create, delete, map attach).
 */
void mars_tun_resolve(const struct mars_tun *geff, const struct mars_res_tun *rt,
		      const char *name, u32 base_sio_threads, struct mars_tun *eff,
		      u64 *clamped, bool *mismatch);
void mars_state_kick(void);
/* The global effective tunables, resolved from mars_gtun now. */
void mars_state_geff(struct mars_tun *geff);
void mars_state_refresh(bool clear_unused);
int mars_state_init(void);
void mars_state_exit(void);

/*
 * dev.c: the publisher's view of the resources. Caller holds no lock; takes
 * mars_devs_lock. Resolves each resource's tunables against @geff, applies them,
 * publishes its rstate, and with @clear_unused zeroes the rstate slots no resource
 * uses. Returns the number of resources.
 */
u32 mars_dev_refresh_all(const struct mars_tun *geff, bool clear_unused);
/* Reset the counters (maps of @kinds) of every live resource; mars_devs_lock. */
void mars_dev_reset_stats(u32 kinds);

/*
 * crc.c: the log's CRC32C, the fastest driver measured at module load (or the
 * one mars.crc32c names); same results as crc32c(). Any context.
 */
u32 mars_crc32c(u32 crc, const void *p, unsigned int len);
int mars_crc_init(void);
void mars_crc_exit(void);
const char *mars_crc_driver(void);

/* mars_ctl.c */
int mars_ctl_init(void);
void mars_ctl_exit(void);

/* Validate a resource name (see include/uapi/linux/mars.h). */
bool mars_name_valid(const char name[MARS_NAME_MAX]);

/* Print into a ctr/ioctl error message buffer of MARS_ERRMSG_MAX bytes. */
#define mars_err(buf, fmt, ...) snprintf(buf, MARS_ERRMSG_MAX, fmt, ##__VA_ARGS__)

#endif /* MARS_H */
