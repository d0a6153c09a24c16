// SPDX-License-Identifier: GPL-2.0
/*
 * if: the frontend brick, /dev/mars/<name>.
 *
 * Input: the backend brick below (b->lower). Output: a blk-mq disk named
 * "mars/<name>" (devtmpfs makes it /dev/mars/<name>) with a dynamic device number,
 * no partitions, one hardware queue of queue_depth tags.
 *
 * Requests: every blk-mq request becomes one struct mref living in the request's
 * PDU, followed by the backend's aspect (struct mars_if_cmd), so the IO path
 * allocates nothing except, for a request made of several bios, the bio_vec array
 * (as loop does). The queue is BLK_MQ_F_BLOCKING, so queue_rq and the backend's
 * submit run in process context and may allocate with GFP_NOIO.
 *
 * Ordering and durability: the queue declares a volatile write cache with FUA.
 * The block layer's flush machinery then hands us REQ_OP_FLUSH requests (passed down
 * as MREF_FLUSH: every write completed before it becomes durable) and writes with
 * REQ_FUA (passed down as MREF_F_FUA: durable when it completes); a write with
 * REQ_PREFLUSH arrives as a FLUSH followed by the write. Completion of a request is
 * reported only after the backend completed it, so these guarantees hold end to end
 * exactly as far as the backend keeps its own promise (see each backend's header).
 *
 * Sizes: capacity from the backend (or the configured size), logical and physical
 * block size from the backing; DMA alignment is the logical block size, which
 * O_DIRECT backends need. DISCARD and WRITE_ZEROES are offered when the backing
 * supports them.
 *
 * Observability: every request is counted in mars_io at submit (and its error at
 * completion), its latency goes to mars_lat at completion, and the tracepoints
 * mars:req_submit and mars:req_done fire (slot MARS_SLOT_IF). None of it can fail
 * an IO (maps.c). inflight_reqs/inflight_bytes and the error record feed the
 * resource's rstate.
 *
 * Teardown: delete is refused with -EBUSY while the disk is open unless forced.
 * del_gendisk() fails new IO and waits for every request in flight (the backend
 * completes them normally), so after it returns no request can reach the backend
 * and the backend brick is put. The struct mars_if itself lives until the gendisk
 * is released (free_disk), because a forced delete leaves openers holding it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "mars.h"
#include "mars_trace.h"

/* Hardware queues at most. */
#define MARS_IF_HW_QUEUES	8

/* Largest request: 1 MiB, so a request's bio_vec array stays small. */
#define MARS_IF_MAX_SECTORS	2048

struct mars_if {
	char name[MARS_NAME_MAX];
	struct mars_brick *lower;	/* backend; NULL once destroyed */
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
	struct mutex open_mutex;	/* protects open_count and dying */
	unsigned int open_count;	/* openers of the disk; open_mutex */
	bool dying;			/* delete started: no new opens; open_mutex */
	unsigned int queue_depth;
	u32 res_id;			/* slot in the per-resource maps */
	atomic64_t inflight_reqs;	/* submitted to the backend, not completed */
	atomic64_t inflight_bytes;
	spinlock_t err_lock;		/* irq-safe: errors complete in any context */
	u64 error_count;		/* IO errors since create; err_lock */
	u32 last_error;			/* positive errno; err_lock */
	u32 last_error_where;		/* MARS_SLOT_IF << 8 | op; err_lock */
	u64 last_error_ns;		/* CLOCK_REALTIME; err_lock */
};

/* Per-request PDU; the backend's aspect follows at lower->aspect_off. */
struct mars_if_cmd {
	struct mref m;
	struct bio_vec *bvec_alloc;	/* owned copy of the bvecs, or NULL */
	blk_status_t status;		/* result, set before completion */
	u64 start_ns;			/* ktime_get_ns() at creation (or submit) */
};

/* Where the backend's aspect starts in the PDU. */
size_t mars_if_aspect_off(void)
{
	return mars_aspect_align(sizeof(struct mars_if_cmd));
}

static void mars_if_record_error(struct mars_if *ifb, const struct mref *m, int err)
{
	unsigned long flags;

	spin_lock_irqsave(&ifb->err_lock, flags);
	ifb->error_count++;
	ifb->last_error = -err;
	ifb->last_error_where = MARS_SLOT_IF << 8 | m->op;
	ifb->last_error_ns = ktime_get_real_ns();
	spin_unlock_irqrestore(&ifb->err_lock, flags);
}

static void mars_if_endio(struct mref *m, int err)
{
	struct mars_if_cmd *cmd = container_of(m, struct mars_if_cmd, m);
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct mars_if *ifb = rq->q->queuedata;
	u64 lat = (m->done_ns ?: ktime_get_ns()) - cmd->start_ns;

	trace_req_done(ifb->name, ifb->res_id, MARS_SLOT_IF, m->op, m->pos, m->len,
		       lat, err);
	mars_stat_done(ifb->res_id, m, err, lat);
	if (err)
		mars_if_record_error(ifb, m, err);
	atomic64_dec(&ifb->inflight_reqs);
	atomic64_sub(m->len, &ifb->inflight_bytes);
	cmd->status = errno_to_blk_status(err);
	/* Bounce to blk-mq's completion path; may be called in hardirq context. */
	if (likely(!blk_should_fake_timeout(rq->q)))
		blk_mq_complete_request(rq);
}

static void mars_if_complete(struct request *rq)
{
	struct mars_if_cmd *cmd = blk_mq_rq_to_pdu(rq);

	kfree(cmd->bvec_alloc);
	cmd->bvec_alloc = NULL;
	blk_mq_end_request(rq, cmd->status);
}

/*
 * Point the mref at the request's data. A request of one bio uses that bio's
 * bvec array in place (starting mid-array after a split, hence the offset); a
 * request of several bios gets a copied array.
 */
static blk_status_t mars_if_map_data(struct request *rq, struct mars_if_cmd *cmd)
{
	struct mref *m = &cmd->m;
	struct req_iterator iter;
	struct bio_vec bv, *bvec;
	unsigned int nr = 0;

	rq_for_each_bvec(bv, rq, iter)
		nr++;

	if (rq->bio != rq->biotail) {
		bvec = kmalloc_array(nr, sizeof(*bvec), GFP_NOIO);
		if (!bvec)
			return BLK_STS_RESOURCE;
		cmd->bvec_alloc = bvec;
		rq_for_each_bvec(bv, rq, iter) {
			*bvec = bv;
			bvec++;
		}
		m->bvec = cmd->bvec_alloc;
		m->bvec_offset = 0;
	} else {
		struct bio *bio = rq->bio;

		m->bvec = __bvec_iter_bvec(bio->bi_io_vec, bio->bi_iter);
		m->bvec_offset = bio->bi_iter.bi_bvec_done;
	}
	m->nr_bvec = nr;
	return BLK_STS_OK;
}

static blk_status_t mars_if_queue_rq(struct blk_mq_hw_ctx *hctx,
				     const struct blk_mq_queue_data *bd)
{
	struct mars_if *ifb = hctx->queue->queuedata;
	struct request *rq = bd->rq;
	struct mars_if_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct mref *m = &cmd->m;
	blk_status_t sts;

	memset(m, 0, sizeof(*m));
	cmd->bvec_alloc = NULL;
	cmd->status = BLK_STS_OK;
	m->pos = (loff_t)blk_rq_pos(rq) << SECTOR_SHIFT;
	m->len = blk_rq_bytes(rq);
	m->ioprio = req_get_ioprio(rq);
	m->endio = mars_if_endio;

	switch (req_op(rq)) {
	case REQ_OP_READ:
		m->op = MREF_READ;
		break;
	case REQ_OP_WRITE:
		m->op = MREF_WRITE;
		break;
	case REQ_OP_FLUSH:
		m->op = MREF_FLUSH;
		break;
	case REQ_OP_DISCARD:
		m->op = MREF_DISCARD;
		break;
	case REQ_OP_WRITE_ZEROES:
		m->op = MREF_WRITE_ZEROES;
		break;
	default:
		return BLK_STS_NOTSUPP;
	}

	/*
	 * With a volatile write cache declared, the block layer passes REQ_FUA down
	 * on any writing op, DISCARD and WRITE_ZEROES included.
	 */
	if (mref_is_write(m) && (rq->cmd_flags & REQ_FUA))
		m->flags |= MREF_F_FUA;
	if (m->op == MREF_WRITE_ZEROES && (rq->cmd_flags & REQ_NOUNMAP))
		m->flags |= MREF_F_NOUNMAP;
	/* BLK_MQ_F_BLOCKING: we are in process context and may sleep. */
	m->flags |= MREF_F_TASK;

	if (m->op == MREF_READ || m->op == MREF_WRITE) {
		sts = mars_if_map_data(rq, cmd);
		if (sts != BLK_STS_OK)
			return sts;
	}

	blk_mq_start_request(rq);
	mars_stat_submit(ifb->res_id, m);
	atomic64_add(m->len, &ifb->inflight_bytes);
	trace_req_submit(ifb->name, ifb->res_id, MARS_SLOT_IF, m->op, m->flags, m->pos,
			 m->len, atomic64_inc_return(&ifb->inflight_reqs));
	/*
	 * Latency is counted from the request's creation: blk-mq stamped it
	 * already when it keeps disk statistics (iostats), else we do.
	 */
	cmd->start_ns = rq->start_time_ns ?: ktime_get_ns();
	ifb->lower->type->submit(ifb->lower, m);
	return BLK_STS_OK;
}

static const struct blk_mq_ops mars_if_mq_ops = {
	.queue_rq	= mars_if_queue_rq,
	.complete	= mars_if_complete,
};

static int mars_if_open(struct block_device *bdev, fmode_t mode)
{
	struct mars_if *ifb = bdev->bd_disk->private_data;
	int ret = 0;

	mutex_lock(&ifb->open_mutex);
	if (ifb->dying)
		ret = -ENXIO;
	else
		ifb->open_count++;
	mutex_unlock(&ifb->open_mutex);
	return ret;
}

static void mars_if_release(struct gendisk *disk, fmode_t mode)
{
	struct mars_if *ifb = disk->private_data;

	mutex_lock(&ifb->open_mutex);
	ifb->open_count--;
	mutex_unlock(&ifb->open_mutex);
}

/* The last reference to the gendisk is gone: nobody can reach ifb any more. */
static void mars_if_free_disk(struct gendisk *disk)
{
	struct mars_if *ifb = disk->private_data;

	mutex_destroy(&ifb->open_mutex);
	kfree(ifb);
}

static const struct block_device_operations mars_if_fops = {
	.owner		= THIS_MODULE,
	.open		= mars_if_open,
	.release	= mars_if_release,
	.free_disk	= mars_if_free_disk,
};

static void mars_if_set_limits(struct mars_if *ifb, const struct mars_backing_info *info)
{
	struct request_queue *q = ifb->disk->queue;

	blk_queue_logical_block_size(q, info->logical_block_size);
	blk_queue_physical_block_size(q, info->physical_block_size);
	blk_queue_io_min(q, info->physical_block_size);
	blk_queue_dma_alignment(q, info->logical_block_size - 1);
	blk_queue_max_hw_sectors(q, MARS_IF_MAX_SECTORS);
	blk_queue_write_cache(q, true, true);
	if (info->max_discard_sectors) {
		blk_queue_max_discard_sectors(q, info->max_discard_sectors);
		q->limits.discard_granularity = info->logical_block_size;
	}
	if (info->max_write_zeroes_sectors)
		blk_queue_max_write_zeroes_sectors(q, info->max_write_zeroes_sectors);
	blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, q);
	if (info->readonly)
		set_disk_ro(ifb->disk, true);
}

struct mars_if *mars_if_create(const char *name, struct mars_brick *lower,
			       const struct mars_brick_args *args, char *err)
{
	const struct mars_backing_info *info = &lower->info;
	u64 size = args->dev_size ? args->dev_size : info->size;
	struct mars_if *ifb;
	int ret;

	if (size & (info->logical_block_size - 1)) {
		mars_err(err, "size %llu is not a multiple of the backing's block size %u",
			 size, info->logical_block_size);
		return ERR_PTR(-EINVAL);
	}
	if (size > info->size || size < MARS_DEV_MIN_SIZE) {
		mars_err(err, "size %llu does not fit: the backing has %llu bytes, the minimum is %llu",
			 size, info->size, (u64)MARS_DEV_MIN_SIZE);
		return ERR_PTR(-ENOSPC);
	}

	ifb = kzalloc(sizeof(*ifb), GFP_KERNEL);
	if (!ifb)
		goto err_nomem;
	strscpy(ifb->name, name, sizeof(ifb->name));
	mutex_init(&ifb->open_mutex);
	spin_lock_init(&ifb->err_lock);
	ifb->res_id = args->res_id;
	ifb->queue_depth = args->queue_depth;

	ifb->tag_set.ops = &mars_if_mq_ops;
	/*
	 * Several hardware queues: the block layer keeps one flush in flight per
	 * hardware queue, so with one queue concurrent flushes could never share a
	 * backend fsync (group commit).
	 */
	ifb->tag_set.nr_hw_queues = min(num_online_cpus(), MARS_IF_HW_QUEUES);
	ifb->tag_set.queue_depth = args->queue_depth;
	ifb->tag_set.numa_node = NUMA_NO_NODE;
	ifb->tag_set.cmd_size = lower->aspect_off + lower->type->aspect_size;
	ifb->tag_set.flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_BLOCKING;
	ifb->tag_set.driver_data = ifb;
	ret = blk_mq_alloc_tag_set(&ifb->tag_set);
	if (ret) {
		mars_err(err, "cannot allocate the request queue: %d", ret);
		goto err_free_ifb;
	}

	ifb->disk = blk_mq_alloc_disk(&ifb->tag_set, ifb);
	if (IS_ERR(ifb->disk)) {
		ret = PTR_ERR(ifb->disk);
		mars_err(err, "cannot allocate the disk: %d", ret);
		goto err_free_tag_set;
	}
	ifb->disk->fops = &mars_if_fops;
	ifb->disk->private_data = ifb;
	ifb->disk->flags |= GENHD_FL_NO_PART;
	snprintf(ifb->disk->disk_name, DISK_NAME_LEN, "mars/%s", name);
	set_capacity(ifb->disk, size >> SECTOR_SHIFT);
	mars_if_set_limits(ifb, info);

	/* The disk may get IO (partition scan) as soon as it is added. */
	ifb->lower = lower;
	ret = add_disk(ifb->disk);
	if (ret) {
		mars_err(err, "cannot add the disk: %d", ret);
		ifb->lower = NULL;
		goto err_put_disk;
	}
	return ifb;

err_put_disk:
	/* Not added: put_disk does not call free_disk, so ifb is ours to free. */
	put_disk(ifb->disk);
err_free_tag_set:
	blk_mq_free_tag_set(&ifb->tag_set);
err_free_ifb:
	mutex_destroy(&ifb->open_mutex);
	kfree(ifb);
	return ERR_PTR(ret);
err_nomem:
	mars_err(err, "out of memory");
	return ERR_PTR(-ENOMEM);
}

/*
 * Tear down. On success the backend brick reference the if held is handed back
 * to the caller's accounting: the caller puts the brick (dev.c). Returns -EBUSY
 * (nothing changed) while open and !force.
 */
int mars_if_destroy(struct mars_if *ifb, bool force, char *err)
{
	bool open;

	mutex_lock(&ifb->open_mutex);
	open = ifb->open_count > 0;
	if (open && !force) {
		mutex_unlock(&ifb->open_mutex);
		mars_err(err, "/dev/mars/%s is open (%u openers); use force to delete anyway",
			 ifb->name, ifb->open_count);
		return -EBUSY;
	}
	ifb->dying = true;
	mutex_unlock(&ifb->open_mutex);

	if (open) {
		/*
		 * Fail new IO at once, before del_gendisk() writes back the openers'
		 * dirty page cache (which would then fail fast instead of waiting).
		 */
		blk_mark_disk_dead(ifb->disk);
		pr_warn("%s: forced delete while open: IO on it fails from now on\n",
			ifb->name);
	}
	/* Fails new IO and waits until every request in flight completed. */
	del_gendisk(ifb->disk);
	/*
	 * The queue is dead now; the tag set must go before the disk may be
	 * released (see disk_release()); ifb is freed by free_disk.
	 */
	blk_mq_free_tag_set(&ifb->tag_set);
	ifb->lower = NULL;
	put_disk(ifb->disk);
	return 0;
}

void mars_if_devt(struct mars_if *ifb, u32 *major, u32 *minor)
{
	*major = ifb->disk->major;
	*minor = ifb->disk->first_minor;
}

void mars_if_info(struct mars_if *ifb, struct mars_dev_info *info)
{
	struct request_queue *q = ifb->disk->queue;

	info->dev_size = get_capacity(ifb->disk) << SECTOR_SHIFT;
	mars_if_devt(ifb, &info->major, &info->minor);
	info->queue_depth = ifb->queue_depth;
	info->logical_block_size = queue_logical_block_size(q);
	info->physical_block_size = queue_physical_block_size(q);
	mutex_lock(&ifb->open_mutex);
	info->open_count = ifb->open_count;
	if (ifb->dying)
		info->state |= MARS_DEV_S_DYING;
	mutex_unlock(&ifb->open_mutex);
}

/* The if brick's part of the resource's rstate. */
void mars_if_state(struct mars_if *ifb, struct mars_rstate *rs)
{
	unsigned long flags;

	rs->size = get_capacity(ifb->disk) << SECTOR_SHIFT;
	rs->inflight_reqs = atomic64_read(&ifb->inflight_reqs);
	rs->inflight_bytes = atomic64_read(&ifb->inflight_bytes);
	mutex_lock(&ifb->open_mutex);
	rs->open_count = ifb->open_count;
	rs->flags |= ifb->dying ? MARS_RS_F_DYING : MARS_RS_F_EXPOSED;
	mutex_unlock(&ifb->open_mutex);
	spin_lock_irqsave(&ifb->err_lock, flags);
	rs->error_count = ifb->error_count;
	rs->last_error = ifb->last_error;
	rs->last_error_where = ifb->last_error_where;
	rs->last_error_ns = ifb->last_error_ns;
	spin_unlock_irqrestore(&ifb->err_lock, flags);
	if (rs->error_count)
		rs->flags |= MARS_RS_F_DATA_ERROR;
}
