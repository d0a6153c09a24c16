// SPDX-License-Identifier: GPL-2.0
/*
 * file: the helpers the file backends (sio, aio) share.
 *
 * Backing: a regular file or a block device, opened O_RDWR | O_LARGEFILE | O_EXCL.
 * O_EXCL claims a block device exclusively (-EBUSY while it is mounted or claimed
 * by someone else) and means nothing for a regular file. Directories are refused
 * with -EISDIR, anything else that is neither a regular file nor a block device
 * with -EINVAL; the type is checked before the open, so no character device or
 * FIFO is ever opened (opening some has side effects), and again after it.
 *
 * O_DIRECT: a backend asks for it with @direct. A filesystem that cannot do direct
 * IO refuses O_DIRECT at open time (-EINVAL, e.g. tmpfs on 6.1); then the backing
 * is opened for buffered IO instead and a line is logged: the device still works,
 * only through the page cache. A backend sees which it got in file->f_flags.
 *
 * What the backing reports (struct mars_backing_info):
 *  - size: i_size of a regular file, the size of a block device; rounded down to
 *    the logical block size, so the whole backing can be the device.
 *  - logical block size: the block device's; for a regular file the logical block
 *    size of the filesystem's block device when opened O_DIRECT (direct IO must be
 *    aligned to it), else 512. Physical block size likewise, never below logical.
 *  - discard and write zeroes: a regular file offers both when its filesystem has
 *    fallocate (punch hole, zero range; a filesystem lacking the mode says
 *    -EOPNOTSUPP per request); a block device offers what the device offers.
 *  - fua is false (a FUA write is emulated, see mars_file_rw()); readonly is the
 *    block device's read-only flag. A backing that cannot be opened for writing is
 *    refused with the open error, never opened read-only.
 *
 * Flushes are group-committed, see mars_file_flush().
 *
 * Memory: every helper that does IO runs under memalloc_noio_save(): our callers
 * serve a block device, so reclaim must not recurse into IO while we hold one of
 * its requests (as loop does for its workers). Buffered writes also set
 * PF_LOCAL_THROTTLE, see mars_file_rw().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/err.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/highmem.h>
#include <linux/mutex.h>
#include <linux/namei.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/uio.h>

#include "mars.h"

#define MARS_FILE_FLAGS		(O_RDWR | O_LARGEFILE | O_EXCL)

static struct inode *mars_file_inode(struct mars_file_backing *fb)
{
	/* For a block device node, the block device's inode, not the node's. */
	return fb->file->f_mapping->host;
}

/* True when the backing was opened with O_DIRECT. */
static bool mars_file_direct(struct mars_file_backing *fb)
{
	return fb->file->f_flags & O_DIRECT;
}

/* Refuse what is neither a regular file nor a block device, with a reason. */
static int mars_file_check_type(umode_t mode, const char *path, char *err)
{
	if (S_ISREG(mode) || S_ISBLK(mode))
		return 0;
	if (S_ISDIR(mode)) {
		mars_err(err, "%s is a directory", path);
		return -EISDIR;
	}
	mars_err(err, "%s is neither a regular file nor a block device", path);
	return -EINVAL;
}

static struct file *mars_file_do_open(const char *path, bool direct, char *err)
{
	struct file *file;
	struct path p;
	int ret;

	ret = kern_path(path, LOOKUP_FOLLOW, &p);
	if (ret) {
		if (ret == -ENOENT)
			mars_err(err, "%s does not exist", path);
		else
			mars_err(err, "cannot look up %s: error %d", path, ret);
		return ERR_PTR(ret);
	}
	ret = mars_file_check_type(d_inode(p.dentry)->i_mode, path, err);
	path_put(&p);
	if (ret)
		return ERR_PTR(ret);

	if (direct) {
		file = filp_open(path, MARS_FILE_FLAGS | O_DIRECT, 0);
		if (!IS_ERR(file) || PTR_ERR(file) != -EINVAL)
			goto opened;
		/*
		 * do_dentry_open() refuses O_DIRECT with -EINVAL when the filesystem
		 * has no direct IO. Any other cause of -EINVAL fails again below.
		 */
		file = filp_open(path, MARS_FILE_FLAGS, 0);
		if (!IS_ERR(file))
			pr_info("%s: no direct IO on this filesystem, using buffered IO\n",
				path);
	} else {
		file = filp_open(path, MARS_FILE_FLAGS, 0);
	}
opened:
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		if (ret == -EBUSY)
			mars_err(err, "%s is in exclusive use (mounted or claimed)", path);
		else if (ret == -EACCES || ret == -EPERM || ret == -EROFS)
			mars_err(err, "cannot open %s for writing: error %d", path, ret);
		else
			mars_err(err, "cannot open %s: error %d", path, ret);
	}
	return file;
}

int mars_file_open(struct mars_file_backing *fb, struct mars_backing_info *info,
		   const char *path, bool direct, char *err)
{
	struct block_device *bdev = NULL;
	struct inode *inode;
	unsigned int lbs = SECTOR_SIZE, pbs = SECTOR_SIZE;
	struct file *file;
	int ret;

	memset(fb, 0, sizeof(*fb));
	mutex_init(&fb->sync_lock);
	atomic64_set(&fb->syncs, 0);
	atomic64_set(&fb->flushes, 0);

	file = mars_file_do_open(path, direct, err);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_destroy;
	}
	fb->file = file;
	fb->wb_err = filemap_sample_wb_err(file->f_mapping);
	inode = mars_file_inode(fb);

	/* The path may have been replaced between the check and the open. */
	ret = mars_file_check_type(inode->i_mode, path, err);
	if (ret)
		goto err_close;

	memset(info, 0, sizeof(*info));
	if (S_ISBLK(inode->i_mode)) {
		bdev = I_BDEV(inode);
		info->size = bdev_nr_bytes(bdev);
		lbs = bdev_logical_block_size(bdev);
		pbs = bdev_physical_block_size(bdev);
		info->max_discard_sectors = bdev_max_discard_sectors(bdev);
		info->max_write_zeroes_sectors = bdev_write_zeroes_sectors(bdev);
		info->readonly = bdev_read_only(bdev);
	} else {
		info->size = i_size_read(inode);
		bdev = inode->i_sb->s_bdev;
		if (bdev) {
			if (mars_file_direct(fb))
				lbs = bdev_logical_block_size(bdev);
			pbs = bdev_physical_block_size(bdev);
		}
		if (file->f_op->fallocate) {
			info->max_discard_sectors = UINT_MAX >> SECTOR_SHIFT;
			info->max_write_zeroes_sectors = UINT_MAX >> SECTOR_SHIFT;
		}
	}
	info->logical_block_size = lbs;
	info->physical_block_size = max(pbs, lbs);
	info->size = round_down(info->size, lbs);
	info->fua = false;
	return 0;

err_close:
	filp_close(file, NULL);
	fb->file = NULL;
err_destroy:
	mutex_destroy(&fb->sync_lock);
	return ret;
}

void mars_file_close(struct mars_file_backing *fb)
{
	unsigned int noio = memalloc_noio_save();
	int ret;

	/*
	 * Write back what the page cache still holds, so that whoever opens the
	 * backing next (perhaps with O_DIRECT) sees every completed write. Best
	 * effort: nothing waits for this result.
	 */
	ret = vfs_fsync(fb->file, 0);
	memalloc_noio_restore(noio);
	if (ret)
		pr_warn("%pD: writeback at close failed: %d\n", fb->file, ret);
	pr_debug("%pD: %lld flushes served by %lld fsyncs\n", fb->file,
		 atomic64_read(&fb->flushes),
		 atomic64_read(&fb->syncs));
	/* fput() is deferred: a block device's claim ends when the caller returns. */
	filp_close(fb->file, NULL);
	fb->file = NULL;
	mutex_destroy(&fb->sync_lock);
}

/*
 * Group commit. A flush must make durable every write completed before it
 * arrived, and any fsync that starts after its arrival does. Fsyncs run one at
 * a time under sync_lock, numbered by generation: sync_started is the number of
 * the last one started, sync_done of the last one finished.
 *
 * On arrival a flush samples sync_started without the lock (the lock is held for
 * the whole fsync) and needs generation target = sample + 1: if an fsync is
 * running, it started before us and may miss our writes, so we need the next.
 * Then it takes sync_lock. If sync_done >= target, an fsync that started after
 * our arrival has finished while we waited: done, no fsync of our own. Else we
 * run generation target ourselves (sync_done == target - 1 then: with the lock
 * held no fsync runs, and the sample is never ahead of sync_done). Concurrent
 * flushes that arrived while one fsync ran all wait for the same next one, and
 * the first of them to get the lock runs it for all.
 *
 * The lockless sample is safe with a full barrier on both sides (store
 * buffering): the runner stores sync_started, smp_mb(), then fsync looks at the
 * page cache; the flush's writes completed, smp_mb(), then it loads
 * sync_started. Either the flush sees the new generation (and waits for the one
 * after it), or that fsync sees the flush's writes. A sample that is newer than
 * the arrival only makes the flush wait longer. (u64 loads do not tear on the
 * 64-bit kernels this module is built for.)
 *
 * Errors: the kernel reports a writeback error to one fsync of a file only, so a
 * flush must get the error of the fsync that covered it, not of a later one.
 * sync_lock is not FIFO: a flush may find that several fsyncs ran since its
 * arrival. sync_err_gen remembers the generation of the last failed fsync, and
 * a flush fails if any fsync in [target, sync_done] failed.
 */
int mars_file_flush(struct mars_file_backing *fb)
{
	unsigned int noio;
	u64 target;
	int ret;

	/* Pairs with the smp_mb() after the store of sync_started below. */
	smp_mb();
	target = READ_ONCE(fb->sync_started) + 1;

	mutex_lock(&fb->sync_lock);
	if (fb->sync_done >= target) {
		ret = fb->sync_err_gen >= target ? fb->sync_err : 0;
		goto out_unlock;
	}

	WRITE_ONCE(fb->sync_started, fb->sync_done + 1);
	/* Pairs with the smp_mb() at arrival above. */
	smp_mb();
	noio = memalloc_noio_save();
	ret = vfs_fsync(fb->file, 0);
	memalloc_noio_restore(noio);
	fb->sync_done = fb->sync_started;
	if (ret) {
		fb->sync_err = ret;
		fb->sync_err_gen = fb->sync_done;
		pr_err_ratelimited("%pD: fsync failed: %d\n", fb->file, ret);
	}
	atomic64_inc(&fb->syncs);
out_unlock:
	mutex_unlock(&fb->sync_lock);
	atomic64_inc(&fb->flushes);
	/*
	 * A writeback error is reported to one fsync of the file only, and that
	 * may have been a FUA write's range sync or an fsync before this flush
	 * arrived. Check the mapping against what we sampled at open, so a lost
	 * write fails every later flush (sticky until the device is re-created).
	 */
	if (!ret)
		ret = filemap_check_wb_err(fb->file->f_mapping, fb->wb_err);
	return ret;
}

/* An iov_iter over the data of a read or write, without copying the bvec array. */
void mars_mref_iter(struct mref *m, struct iov_iter *iter)
{
	iov_iter_bvec(iter, m->op == MREF_WRITE ? ITER_SOURCE : ITER_DEST, m->bvec,
		      m->nr_bvec, m->len);
	/* The data may start inside bvec[0] (a split bio), as in loop. */
	iter->iov_offset = m->bvec_offset;
}

/* After the CPU wrote into the pages of a read, as for any buffered read. */
static void mars_mref_flush_dcache(struct mref *m)
{
	struct bvec_iter it = {
		.bi_size = m->len,
		.bi_bvec_done = m->bvec_offset,
	};
	struct bvec_iter start = it;
	struct bio_vec bv;

	for_each_bvec(bv, m->bvec, it, start)
		flush_dcache_page(bv.bv_page);
}

int mars_file_rw(struct mars_file_backing *fb, struct mref *m)
{
	struct file *file = fb->file;
	bool write = m->op == MREF_WRITE;
	struct iov_iter iter;
	loff_t pos = m->pos;
	unsigned int noio;
	ssize_t done;
	int ret = 0;

	if (WARN_ON_ONCE(!write && m->op != MREF_READ))
		return -EINVAL;

	mars_mref_iter(m, &iter);
	noio = memalloc_noio_save();
	if (write) {
		unsigned long pflags = current->flags;

		/*
		 * We clean dirty pages of the device above by dirtying the
		 * backing's: be throttled against the backing's limits only, or
		 * we could wait for the very pages only we can clean (as loop).
		 */
		current->flags |= PF_LOCAL_THROTTLE;
		/* Freeze protection, which vfs_iter_write() leaves to its caller. */
		file_start_write(file);
		done = vfs_iter_write(file, &iter, &pos, 0);
		file_end_write(file);
		current_restore_flags(pflags, PF_LOCAL_THROTTLE);
	} else {
		done = vfs_iter_read(file, &iter, &pos, 0);
	}
	/* The device never reaches beyond the backing: short is an error. */
	if (done < 0)
		ret = done;
	else if (done != m->len)
		ret = -EIO;
	/* FUA is emulated: write back and make durable just this range. */
	if (!ret && write && (m->flags & MREF_F_FUA))
		ret = vfs_fsync_range(file, m->pos, m->pos + m->len - 1, 1);
	memalloc_noio_restore(noio);

	if (ret) {
		pr_err_ratelimited("%pD: %s of %u bytes at %lld failed: %d (%zd done)\n",
				   file, write ? "write" : "read", m->len, m->pos, ret,
				   done);
		return ret;
	}
	if (!write)
		mars_mref_flush_dcache(m);
	return 0;
}

/*
 * DISCARD punches a hole in a regular file; on a block device it is a real
 * discard (blkdev_fallocate() needs FALLOC_FL_NO_HIDE_STALE for that; without it,
 * a hole is a write-zeroes that fails when the device has none). WRITE_ZEROES is
 * a zero range on both; on a regular file whose filesystem has no zero range
 * (tmpfs) it becomes a hole, which reads back as zeroes too.
 */
int mars_file_fallocate(struct mars_file_backing *fb, struct mref *m)
{
	struct file *file = fb->file;
	bool blk = S_ISBLK(mars_file_inode(fb)->i_mode);
	unsigned int noio;
	int mode, ret;

	switch (m->op) {
	case MREF_DISCARD:
		mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		if (blk)
			mode |= FALLOC_FL_NO_HIDE_STALE;
		break;
	case MREF_WRITE_ZEROES:
		mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		break;
	default:
		WARN_ON_ONCE(1);
		return -EINVAL;
	}
	if (!file->f_op->fallocate)
		return -EOPNOTSUPP;

	/*
	 * Called directly, as loop does: vfs_fallocate() would refuse
	 * FALLOC_FL_NO_HIDE_STALE. Freeze protection is ours to take then.
	 */
	noio = memalloc_noio_save();
	file_start_write(file);
	ret = file->f_op->fallocate(file, mode, m->pos, m->len);
	if (ret == -EOPNOTSUPP && !blk && m->op == MREF_WRITE_ZEROES)
		ret = file->f_op->fallocate(file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					    m->pos, m->len);
	file_end_write(file);
	/* FUA: the range must be durable (as zeros, or deallocated) on completion. */
	if (!ret && (m->flags & MREF_F_FUA))
		ret = vfs_fsync_range(file, m->pos, m->pos + m->len - 1, 1);
	memalloc_noio_restore(noio);

	if (ret && ret != -EOPNOTSUPP)
		pr_err_ratelimited("%pD: %s of %u bytes at %lld failed: %d\n", file,
				   m->op == MREF_DISCARD ? "discard" : "write zeroes",
				   m->len, m->pos, ret);
	return ret;
}
