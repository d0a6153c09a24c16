// SPDX-License-Identifier: GPL-2.0
/*
 * bio: a backend that submits bios straight to a block device.
 *
 * Input: none (a leaf). Backing: a block device, opened exclusively
 * (FMODE_EXCL, holder = the brick) for reading and writing; anything else is
 * refused with -ENOTBLK.
 *
 * Each mref becomes one or more bios over the same pages (no copy): a request's
 * data is cut into bios of at most BIO_MAX_VECS segments, all submitted at once;
 * the mref completes when the last bio did, with the first error seen. The lower
 * device's queue splits bios further to its own limits.
 *
 * Durability: MREF_FLUSH is an empty REQ_PREFLUSH write, MREF_F_FUA sets REQ_FUA;
 * the lower device's flush machinery honours both (and emulates FUA with a flush
 * when it has no native FUA). So a completed FLUSH covers every write completed
 * before it, and a FUA write is durable when it completes.
 *
 * Ordering: the lower device may reorder bios in flight, as any block device.
 * Overlapping writes in flight at the same time are ordered by the overlap
 * helper, like the other backends, so the device holds the last one submitted.
 *
 * Threads: unless the device is synchronous (mars_direct_suits(): a RAM disk
 * and the like, where a worker pipelines the copy), a request from the if brick
 * (MREF_F_TASK) is started right in its
 * queue_rq, with a plug of our own in place of the caller's (mars_direct_begin()
 * in mars.h says why the caller's plug must not see our bios). Inside submit_bio()
 * of the layer above (current->bio_list set) our bios are only queued there and
 * sent when that call unwinds, as for any stacking driver; they come from the
 * brick's own bio set, which has a rescuer, so a bio waiting in that list cannot
 * starve the next allocation. Everything else is started from a work item of the
 * brick's workqueue (WQ_MEM_RECLAIM): requests from the logger's threads, and a
 * write released by the overlap helper, which runs in the completion (interrupt)
 * context of the write it waited for. One device cannot exhaust another's reserve.
 * Completion runs in the lower device's completion context.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/err.h>
#include <linux/workqueue.h>

#include "mars.h"

#define MARS_BIO_MODE	(FMODE_READ | FMODE_WRITE | FMODE_EXCL)

struct mars_bio_brick {
	struct mars_brick brick;
	struct block_device *bdev;
	struct mars_overlap overlap;
	struct bio_set bs;		/* our bios, with a mempool reserve */
	struct workqueue_struct *wq;	/* submission context */
	bool direct;			/* start requests from queue_rq inline */
};

/* Per-request state. */
struct mars_bio_aspect {
	struct mars_overlap_node ovl;
	struct work_struct work;	/* runs mars_bio_start() */
	struct mars_bio_brick *bb;
	struct mref *m;
	atomic_t pending;		/* bios in flight, +1 while submitting */
	int error;			/* first error, 0 if none */
	u64 start_ns;			/* mars_brick_start() */
};

static struct mars_bio_brick *to_bio_brick(struct mars_brick *b)
{
	return container_of(b, struct mars_bio_brick, brick);
}

static void mars_bio_put_pending(struct mars_bio_aspect *a)
{
	struct mref *m = a->m;

	if (!atomic_dec_and_test(&a->pending))
		return;
	if (mref_is_write(m))
		mars_overlap_end(&a->bb->overlap, &a->ovl);
	mars_brick_done(&a->bb->brick, m, a->error, a->start_ns);
	m->endio(m, a->error);
}

static void mars_bio_endio(struct bio *bio)
{
	struct mars_bio_aspect *a = bio->bi_private;
	int err = blk_status_to_errno(bio->bi_status);

	/* Keep the first error; later ones add nothing. */
	if (err)
		cmpxchg(&a->error, 0, err);
	bio_put(bio);
	mars_bio_put_pending(a);
}

static struct bio *mars_bio_new(struct mars_bio_aspect *a, unsigned short nr_vecs,
				blk_opf_t opf, loff_t pos)
{
	/* GFP_NOIO from our bio set's mempool: waits, never fails. */
	struct bio *bio = bio_alloc_bioset(a->bb->bdev, nr_vecs, opf, GFP_NOIO, &a->bb->bs);

	bio->bi_iter.bi_sector = pos >> SECTOR_SHIFT;
	bio->bi_end_io = mars_bio_endio;
	bio->bi_private = a;
	bio->bi_ioprio = a->m->ioprio;
	return bio;
}

static void mars_bio_send(struct mars_bio_aspect *a, struct bio *bio)
{
	atomic_inc(&a->pending);
	submit_bio(bio);
}

/* Cut the data of a read or write into bios over the same pages. */
static void mars_bio_rw(struct mars_bio_aspect *a, blk_opf_t opf)
{
	struct mref *m = a->m;
	unsigned int i = 0, skip = m->bvec_offset, left = m->len;
	loff_t pos = m->pos;
	struct bio *bio = NULL;

	while (left) {
		struct bio_vec bv;
		unsigned int len;

		if (WARN_ON_ONCE(i >= m->nr_bvec)) {
			cmpxchg(&a->error, 0, -EIO);
			break;
		}
		bv = m->bvec[i];
		if (skip >= bv.bv_len) {
			skip -= bv.bv_len;
			i++;
			continue;
		}
		len = min(bv.bv_len - skip, left);
		if (!bio)
			bio = mars_bio_new(a, min_t(unsigned int, m->nr_bvec - i, BIO_MAX_VECS),
					   opf, pos);
		if (bio_add_page(bio, bv.bv_page, len, bv.bv_offset + skip) != len) {
			if (WARN_ON_ONCE(!bio->bi_vcnt)) {
				/* Not even one segment fits: give up, do not spin. */
				cmpxchg(&a->error, 0, -EIO);
				bio_put(bio);
				bio = NULL;
				break;
			}
			/* Full: send it and go on with a new bio. */
			mars_bio_send(a, bio);
			bio = NULL;
			continue;
		}
		pos += len;
		left -= len;
		skip = 0;
		i++;
	}
	if (bio)
		mars_bio_send(a, bio);
}

static void mars_bio_start(struct mars_bio_aspect *a)
{
	struct mref *m = a->m;
	blk_opf_t opf;

	atomic_set(&a->pending, 1);
	a->error = 0;
	switch (m->op) {
	case MREF_READ:
		mars_bio_rw(a, REQ_OP_READ);
		break;
	case MREF_WRITE:
		opf = REQ_OP_WRITE;
		if (m->flags & MREF_F_FUA)
			opf |= REQ_FUA | REQ_SYNC;
		mars_bio_rw(a, opf);
		break;
	case MREF_FLUSH:
		mars_bio_send(a, mars_bio_new(a, 0, REQ_OP_WRITE | REQ_PREFLUSH | REQ_SYNC, 0));
		break;
	case MREF_DISCARD:
	case MREF_WRITE_ZEROES: {
		blk_opf_t fua = (m->flags & MREF_F_FUA) ? REQ_FUA : 0;
		struct bio *bio = mars_bio_new(a, 0, (m->op == MREF_DISCARD ?
					       REQ_OP_DISCARD : REQ_OP_WRITE_ZEROES) | fua, m->pos);

		bio->bi_iter.bi_size = m->len;
		mars_bio_send(a, bio);
		break;
	}
	default:
		cmpxchg(&a->error, 0, -EOPNOTSUPP);
		break;
	}
	/* Drop the submitter's count: completes here if every bio is done. */
	mars_bio_put_pending(a);
}

static void mars_bio_work(struct work_struct *work)
{
	mars_bio_start(container_of(work, struct mars_bio_aspect, work));
}

/* Called from any context, interrupts included: only queue the work. */
static void mars_bio_queue(struct mars_bio_aspect *a)
{
	INIT_WORK(&a->work, mars_bio_work);
	queue_work(a->bb->wq, &a->work);
}

static void mars_bio_start_waiting(struct mars_overlap_node *n)
{
	mars_bio_queue(container_of(n, struct mars_bio_aspect, ovl));
}

static void mars_bio_submit(struct mars_brick *b, struct mref *m)
{
	struct mars_bio_brick *bb = to_bio_brick(b);
	struct mars_bio_aspect *a = mref_aspect(m, b);

	a->bb = bb;
	a->m = m;
	a->start_ns = mars_brick_start(b, m);
	if (mref_is_write(m) &&
	    !mars_overlap_begin(&bb->overlap, &a->ovl, m, mars_bio_start_waiting))
		return;	/* started by the end of the earlier overlapping write */
	if (bb->direct && mars_direct_ok(m, false)) {
		struct mars_direct d;

		/* Our bios come from a bio set with a rescuer: bio_list is fine. */
		mars_direct_begin(&d);
		mars_bio_start(a);
		mars_direct_end(&d);
		return;
	}
	mars_bio_queue(a);
}

static int mars_bio_ctr(struct mars_brick *b, const struct mars_brick_args *args,
			char *err)
{
	struct mars_bio_brick *bb = to_bio_brick(b);
	struct mars_backing_info *info = &b->info;
	struct block_device *bdev;
	int ret;

	bdev = blkdev_get_by_path(args->path, MARS_BIO_MODE, bb);
	if (IS_ERR(bdev)) {
		ret = PTR_ERR(bdev);

		if (ret == -ENOTBLK)
			mars_err(err, "%s is not a block device (the bio backend needs one)",
				 args->path);
		else if (ret == -EBUSY)
			mars_err(err, "%s is in exclusive use by someone else", args->path);
		else
			mars_err(err, "cannot open %s: error %d", args->path, ret);
		return ret;
	}
	bb->bdev = bdev;
	bb->direct = mars_direct_suits(bdev);
	mars_overlap_init(&bb->overlap);
	ret = bioset_init(&bb->bs, BIO_POOL_SIZE, 0, BIOSET_NEED_BVECS | BIOSET_NEED_RESCUER);
	if (ret) {
		mars_err(err, "out of memory for the bio set");
		goto err_put_bdev;
	}
	bb->wq = alloc_workqueue("mars_bio/%s", WQ_UNBOUND | WQ_MEM_RECLAIM, 0, args->name);
	if (!bb->wq) {
		ret = -ENOMEM;
		mars_err(err, "out of memory for the workqueue");
		goto err_exit_bioset;
	}

	info->size = bdev_nr_bytes(bdev);
	info->logical_block_size = bdev_logical_block_size(bdev);
	info->physical_block_size = bdev_physical_block_size(bdev);
	info->max_discard_sectors = bdev_max_discard_sectors(bdev);
	info->max_write_zeroes_sectors = bdev_write_zeroes_sectors(bdev);
	info->fua = bdev_fua(bdev);
	info->readonly = bdev_read_only(bdev);
	return 0;

err_exit_bioset:
	bioset_exit(&bb->bs);
err_put_bdev:
	blkdev_put(bdev, MARS_BIO_MODE);
	return ret;
}

static void mars_bio_dtr(struct mars_brick *b)
{
	struct mars_bio_brick *bb = to_bio_brick(b);

	/* Every request completed, so no work is queued and no bio is in flight. */
	destroy_workqueue(bb->wq);
	bioset_exit(&bb->bs);
	blkdev_put(bb->bdev, MARS_BIO_MODE);
}

const struct mars_brick_type mars_bio_type = {
	.name		= "bio",
	.slot		= MARS_SLOT_DATA,
	.brick_size	= sizeof(struct mars_bio_brick),
	.aspect_size	= sizeof(struct mars_bio_aspect),
	.ctr		= mars_bio_ctr,
	.dtr		= mars_bio_dtr,
	.submit		= mars_bio_submit,
};
