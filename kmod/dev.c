// SPDX-License-Identifier: GPL-2.0
/*
 * dev: resources, each one graph "if -> [logger ->] backend", and their registry.
 *
 * The registry is a list sorted by name under mars_devs_lock (a mutex: creating and
 * deleting sleep).
 *
 * Creation has three steps, because a logger's constructor replays the log, which
 * can take minutes, and the registry must stay usable meanwhile (DEV_LIST,
 * DEV_STATE and the state publisher show the replay's progress):
 *  1. reserve, under mars_devs_lock: the name and a map slot are taken, the
 *     resource is on the list with built == false and no bricks;
 *  2. build, without the lock: the data backend, then the logger (which replays);
 *  3. finish, under mars_devs_lock again: the if brick creates the disk, the brick
 *     pointers are set and built becomes true; or, if step 2 failed, the
 *     reservation is undone (off the list, slot cleared).
 * So a resource on the list is either built (every brick pointer set, the disk
 * exists) or being created (brick pointers NULL; only name, path, backend, res_id,
 * gen, has_logger, size and the replay progress may be read). Every path that
 * walks the list checks built: list and state report the half-built resource
 * (MARS_DEV_S_CREATING, MARS_RS_F_REPLAYING), the publisher resolves but does not
 * apply its tunables, and delete, set, rotate and emergency answer -EBUSY. Only
 * the creating ioctl itself finishes or undoes a reservation, so nobody else ever
 * frees a half-built resource. A reserved resource holds a module reference like
 * a built one, so the module cannot be unloaded during a replay.
 *
 * Lock order: mars_devs_lock, then an if brick's open_mutex (taken inside
 * mars_if_destroy() and mars_if_info()). The block layer calls the if brick's
 * open/release with the disk's open_mutex held and they take only open_mutex, and
 * del_gendisk() is called with mars_devs_lock held but not open_mutex: no cycle.
 * The publisher (state.c) takes mars_devs_lock inside its own mars_state_lock;
 * creation reads the global tunables (mars_state_lock) holding no lock.
 *
 * Map slots: every resource owns a res_id, the lowest free slot of the
 * per-resource maps (0..MARS_RES_MAX-1), from its reservation on; the slot's
 * generation grows with every resource placed in it. Its counters are reset
 * before the disk exists, and its rstate slot is cleared after the disk is gone
 * (or the reservation was undone).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/err.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "mars.h"
#include "mars_trace.h"

struct mars_dev {
	struct list_head list;		/* in mars_devs, sorted by name */
	char name[MARS_NAME_MAX];
	char *path;			/* backing path as given */
	u32 backend;			/* enum mars_backend */
	bool has_logger;		/* created with DEV_CREATE2 */
	/*
	 * Set (with the brick pointers below) under mars_devs_lock when creation
	 * finished; until then the brick pointers are NULL (see the top).
	 */
	bool built;
	u64 size;			/* bytes; 0 until the backend is open; READ_ONCE */
	struct mars_replay_progress replay;	/* written by the logger's ctor only */
	struct mars_brick *lower;	/* the brick under if (logger or backend); our reference */
	struct mars_brick *data;	/* the data backend (held by lower, or lower itself) */
	struct mars_brick *logger;	/* the logger, or NULL (plain resource) */
	struct mars_if *ifb;
	u32 res_id;			/* slot in the per-resource maps */
	u64 gen;			/* slot generation */
	u32 base_sio_threads;		/* DEV_CREATE/DEV_SET value, 0 = none */
	/* Applied by the publisher; all mars_devs_lock. */
	struct mars_tun eff;		/* effective tunables */
	u64 clamped;			/* per-resource tunables that were invalid */
	bool tun_mismatch;		/* the mars_rtun slot names another resource */
	u32 flags;			/* MARS_RS_F_* last published */
};

static LIST_HEAD(mars_devs);		/* mars_devs_lock */
static unsigned int mars_nr_devs;	/* mars_devs_lock */
static DEFINE_MUTEX(mars_devs_lock);
static DECLARE_BITMAP(mars_res_used, MARS_RES_MAX);	/* mars_devs_lock */
static u64 mars_res_gen[MARS_RES_MAX];			/* mars_devs_lock */

/* Scratch for publishing one resource; mars_devs_lock. */
static struct mars_rstate mars_rs;
static struct mars_res_tun mars_rt;

bool mars_name_valid(const char name[MARS_NAME_MAX])
{
	size_t len = strnlen(name, MARS_NAME_MAX);
	size_t i;

	if (!len || len > MARS_NAME_LEN || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		/* ASCII only: the kernel's isalnum() accepts Latin-1 letters. */
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '_' && c != '.' && c != '-')
			return false;
	}
	/* The rest of the array must be zero, so names compare as byte arrays. */
	return !memchr_inv(name + len, 0, MARS_NAME_MAX - len);
}

/* Caller holds mars_devs_lock. */
static struct mars_dev *mars_dev_find(const char *name)
{
	struct mars_dev *d;

	list_for_each_entry(d, &mars_devs, list)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

/* Caller holds mars_devs_lock. */
static void mars_dev_insert_sorted(struct mars_dev *nd)
{
	struct mars_dev *d;

	list_for_each_entry(d, &mars_devs, list) {
		if (strcmp(nd->name, d->name) < 0) {
			list_add_tail(&nd->list, &d->list);
			return;
		}
	}
	list_add_tail(&nd->list, &mars_devs);
}

/* Is @d's logger replaying now (scan or apply)? Any context, no lock. */
static bool mars_dev_replaying(struct mars_dev *d)
{
	u32 phase = READ_ONCE(d->replay.phase);

	return phase == MARS_REPLAY_SCAN || phase == MARS_REPLAY_APPLY;
}

/* "-EBUSY: being created" for the ioctls that need a built resource. */
static int mars_dev_busy(struct mars_dev *d, char *err)
{
	u64 total = READ_ONCE(d->replay.total);

	if (mars_dev_replaying(d) && total)
		mars_err(err, "%s is replaying its log (%llu of %llu MiB): try again when the device exists",
			 d->name, min_t(u64, atomic64_read(&d->replay.done), total) >> 20,
			 total >> 20);
	else if (mars_dev_replaying(d))
		mars_err(err, "%s is scanning its log for replay: try again when the device exists",
			 d->name);
	else
		mars_err(err, "%s is being created: try again when the device exists", d->name);
	return -EBUSY;
}

/*
 * The tunables new bricks start with: the global effective values and the
 * resource's mars_rtun slot, as the publisher will resolve them. No lock held.
 */
static void mars_dev_initial_tun(struct mars_dev *d, struct mars_tun *eff)
{
	struct mars_res_tun *rt = kmalloc(sizeof(*rt), GFP_KERNEL);
	struct mars_tun geff;
	bool mismatch;
	u64 clamped;

	mars_state_geff(&geff);
	if (rt && !mars_map_read(MARS_MAP_RTUN, d->res_id, rt, sizeof(*rt))) {
		kfree(rt);
		rt = NULL;
	}
	mars_tun_resolve(&geff, rt, d->name, d->base_sio_threads, eff, &clamped, &mismatch);
	kfree(rt);
}

/* Clear @d's slot: no stale state, no stale counters. Caller holds mars_devs_lock. */
static void mars_dev_release_slot(struct mars_dev *d)
{
	memset(&mars_rs, 0, sizeof(mars_rs));
	mars_map_publish(MARS_MAP_RSTATE, d->res_id, &mars_rs, sizeof(mars_rs));
	mars_stat_res_reset(d->res_id, MARS_STAT_ALL);
	/* No stale overrides: a new resource of the same name would take them over. */
	mars_map_clear(MARS_MAP_RTUN, d->res_id);
	__clear_bit(d->res_id, mars_res_used);
}

int mars_dev_create(struct mars_ioc_dev_create *c, const char *path,
		    struct mars_ioc_dev_create2 *c2, const char *log_dir)
{
	const struct mars_brick_type *type = mars_backend_type(c->backend);
	struct mars_logger_args la = { };
	struct mars_brick_args args = {
		.path = path,
		.name = c->name,
		.dev_size = c->dev_size,
		.threads = c->sio_threads ?: MARS_SIO_THREADS_DEFAULT,
		.queue_depth = c->queue_depth ?: MARS_QUEUE_DEPTH_DEFAULT,
	};
	struct mars_brick *data, *lower, *logger = NULL;
	struct mars_tun *tun = NULL;
	struct mars_if *ifb;
	struct mars_dev *d;
	int ret;

	if (!type) {
		mars_err(c->errmsg, "unknown backend %u", c->backend);
		return -EINVAL;
	}
	if (args.threads > MARS_SIO_THREADS_MAX) {
		mars_err(c->errmsg, "sio_threads %u is above the maximum %u",
			 c->sio_threads, MARS_SIO_THREADS_MAX);
		return -EINVAL;
	}
	if (args.queue_depth > MARS_QUEUE_DEPTH_MAX) {
		mars_err(c->errmsg, "queue_depth %u is above the maximum %u",
			 c->queue_depth, MARS_QUEUE_DEPTH_MAX);
		return -EINVAL;
	}

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	memcpy(d->name, c->name, MARS_NAME_MAX);
	d->backend = c->backend;
	d->has_logger = !!c2;
	d->base_sio_threads = c->sio_threads;
	atomic64_set(&d->replay.done, 0);
	d->path = kstrdup(path, GFP_KERNEL);
	if (!d->path) {
		ret = -ENOMEM;
		goto err_free_dev;
	}
	tun = kmalloc(sizeof(*tun), GFP_KERNEL);
	if (!tun) {
		ret = -ENOMEM;
		goto err_free;
	}

	/* 1. Reserve the name and a slot. */
	mutex_lock(&mars_devs_lock);
	if (mars_dev_find(d->name)) {
		mars_err(c->errmsg, "resource %s exists already", d->name);
		ret = -EEXIST;
		goto err_unlock;
	}
	d->res_id = find_first_zero_bit(mars_res_used, MARS_RES_MAX);
	if (mars_nr_devs >= MARS_DEVS_MAX || d->res_id >= MARS_RES_MAX) {
		mars_err(c->errmsg, "too many devices (%u)", MARS_DEVS_MAX);
		ret = -ENOSPC;
		goto err_unlock;
	}
	d->gen = ++mars_res_gen[d->res_id];
	__set_bit(d->res_id, mars_res_used);
	/* Counters count since create; the disk may see IO once it is added. */
	mars_stat_res_reset(d->res_id, MARS_STAT_ALL);
	mars_dev_insert_sorted(d);
	mars_nr_devs++;
	/*
	 * Each resource pins the module, from its reservation on: rmmod is refused
	 * while resources exist, so an unload never takes a device (or a replay)
	 * away. Called from our own ioctl, so the module is live and a plain get is
	 * safe.
	 */
	__module_get(THIS_MODULE);
	mutex_unlock(&mars_devs_lock);
	mars_state_kick();

	/*
	 * 2. Build without mars_devs_lock. Nobody else touches the bricks: they are
	 * not reachable from @d until step 3, and delete refuses a resource that is
	 * not built.
	 */
	args.res_id = d->res_id;
	/*
	 * The bricks start with the tunables the publisher will resolve (a
	 * mars_rtun override of this slot included), not with defaults until its
	 * next round.
	 */
	mars_dev_initial_tun(d, tun);
	if (tun->sio_threads)
		args.threads = tun->sio_threads;
	/* The backend's aspect goes right after the per-request state above it. */
	data = mars_brick_new(type, NULL, c2 ? mars_logger_io_size() : mars_if_aspect_off(),
			      &args, c->errmsg);
	if (IS_ERR(data)) {
		ret = PTR_ERR(data);
		goto err_unreserve;
	}
	if (type->set_tun)
		type->set_tun(data, tun);
	WRITE_ONCE(d->size, c->dev_size ?: data->info.size);
	lower = data;
	if (c2) {
		la.log_dir = log_dir;
		memcpy(la.host, c2->host, sizeof(la.host));
		memcpy(la.uuid, c2->res_uuid, sizeof(la.uuid));
		la.ckpt_seq = c2->ckpt_seq;
		la.ckpt_off = c2->ckpt_off;
		la.next_log_seq = c2->next_log_seq;
		la.next_rec_seq = c2->next_rec_seq;
		la.lamport = c2->lamport;
		la.no_replay = c->flags & MARS_DEV_CREATE2_F_NO_REPLAY;
		la.tun = tun;
		la.progress = &d->replay;
		args.logger = &la;
		/* The logger replays (if asked) in its constructor: before the disk exists. */
		logger = mars_brick_new(&mars_logger_type, data, mars_if_aspect_off(),
					&args, c->errmsg);
		/* The logger holds the backend now (or it failed): drop ours. */
		mars_brick_put(data);
		if (IS_ERR(logger)) {
			ret = PTR_ERR(logger);
			goto err_unreserve;
		}
		lower = logger;
		mars_logger_replay_info(logger, c2);
		c2->res_id = d->res_id;
	}

	/* 3. Finish: the disk appears, and the resource is built. */
	mutex_lock(&mars_devs_lock);
	ifb = mars_if_create(d->name, lower, &args, c->errmsg);
	if (IS_ERR(ifb)) {
		ret = PTR_ERR(ifb);
		mutex_unlock(&mars_devs_lock);
		/* The logger's destructor drains and ends its file; no disk saw it. */
		mars_brick_put(lower);
		goto err_unreserve;
	}
	mars_if_devt(ifb, &c->major, &c->minor);
	d->data = logger ? data : lower;
	d->logger = logger;
	d->lower = lower;
	d->ifb = ifb;
	d->built = true;
	mutex_unlock(&mars_devs_lock);
	kfree(tun);
	pr_info("%s: created over %s (%s), slot %u\n", d->name, d->path, type->name,
		d->res_id);
	trace_res(d->name, d->res_id, 0, 0);
	mars_state_kick();
	return 0;

err_unreserve:
	/*
	 * Undo step 1. Only this ioctl finishes or undoes a reservation (delete
	 * refuses half-built resources), so @d is still on the list. Clearing the
	 * slot under the lock keeps the publisher, which publishes under the same
	 * lock, from writing the half-built state back afterwards.
	 */
	mutex_lock(&mars_devs_lock);
	list_del(&d->list);
	mars_nr_devs--;
	mars_dev_release_slot(d);
	mutex_unlock(&mars_devs_lock);
	module_put(THIS_MODULE);
	goto err_free;
err_unlock:
	mutex_unlock(&mars_devs_lock);
err_free:
	kfree(tun);
	kfree(d->path);
err_free_dev:
	kfree(d);
	return ret;
}

/* Caller holds mars_devs_lock; @d is off the list already. */
static void mars_dev_free(struct mars_dev *d)
{
	mars_brick_put(d->lower);
	kfree(d->path);
	kfree(d);
}

int mars_dev_delete(struct mars_ioc_dev_delete *dd)
{
	bool force = dd->flags & MARS_DEV_DELETE_F_FORCE;
	struct mars_dev *d;
	int ret;

	mutex_lock(&mars_devs_lock);
	d = mars_dev_find(dd->name);
	if (!d) {
		mars_err(dd->errmsg, "no resource %s", dd->name);
		ret = -ENOENT;
		goto out_unlock;
	}
	/* Also when forced: the constructor (replay) cannot be interrupted. */
	if (!d->built) {
		ret = mars_dev_busy(d, dd->errmsg);
		goto out_unlock;
	}
	ret = mars_if_destroy(d->ifb, force, dd->errmsg);
	if (ret)
		goto out_unlock;
	/* No request can reach the backend any more: del_gendisk drained them. */
	list_del(&d->list);
	mars_nr_devs--;
	pr_info("%s: deleted%s\n", d->name, force ? " (forced)" : "");
	trace_res(d->name, d->res_id, 1, 0);
	mars_dev_release_slot(d);
	mars_dev_free(d);
	module_put(THIS_MODULE);
out_unlock:
	mutex_unlock(&mars_devs_lock);
	return ret;
}

int mars_dev_list(struct mars_dev_info *out, u32 capacity, u32 *count)
{
	struct mars_dev *d;
	u32 n = 0;

	mutex_lock(&mars_devs_lock);
	list_for_each_entry(d, &mars_devs, list) {
		struct mars_dev_info *info = &out[n];

		if (n >= capacity)
			break;
		memset(info, 0, sizeof(*info));
		memcpy(info->name, d->name, MARS_NAME_MAX);
		info->backend = d->backend;
		if (strscpy(info->data_path, d->path, sizeof(info->data_path)) < 0)
			info->state |= MARS_DEV_S_PATH_TRUNC;
		n++;
		if (!d->built) {
			/* No bricks to ask yet (see the top). */
			info->state |= MARS_DEV_S_CREATING;
			if (mars_dev_replaying(d))
				info->state |= MARS_DEV_S_REPLAYING;
			info->dev_size = READ_ONCE(d->size);
			continue;
		}
		mars_if_info(d->ifb, info);
		if (d->lower->info.max_discard_sectors)
			info->features |= MARS_DEV_FEAT_DISCARD;
		if (d->lower->info.max_write_zeroes_sectors)
			info->features |= MARS_DEV_FEAT_WRITE_ZEROES;
		if (d->lower->info.fua)
			info->features |= MARS_DEV_FEAT_FUA;
		if (d->lower->info.readonly)
			info->state |= MARS_DEV_S_READONLY;
		if (d->data->type->get_threads)
			info->sio_threads = d->data->type->get_threads(d->data);
	}
	*count = mars_nr_devs;
	mutex_unlock(&mars_devs_lock);
	return n;
}

int mars_dev_set(struct mars_ioc_dev_set *s)
{
	struct mars_dev *d;
	int ret = 0;

	if (s->sio_threads > MARS_SIO_THREADS_MAX) {
		mars_err(s->errmsg, "sio_threads %u is above the maximum %u",
			 s->sio_threads, MARS_SIO_THREADS_MAX);
		return -EINVAL;
	}
	mutex_lock(&mars_devs_lock);
	d = mars_dev_find(s->name);
	if (!d) {
		mars_err(s->errmsg, "no resource %s", s->name);
		ret = -ENOENT;
		goto out_unlock;
	}
	if (!d->built) {
		ret = mars_dev_busy(d, s->errmsg);
		goto out_unlock;
	}
	if (s->sio_threads) {
		if (!d->data->type->set_threads) {
			mars_err(s->errmsg, "the %s backend has no thread pool",
				 d->data->type->name);
			ret = -EINVAL;
			goto out_unlock;
		}
		/*
		 * The configured base; a mars_rtun override still wins over it at
		 * the next refresh (architecture.md 5.3).
		 */
		d->base_sio_threads = s->sio_threads;
		ret = d->data->type->set_threads(d->data, s->sio_threads);
		if (ret)
			mars_err(s->errmsg, "cannot resize the thread pool: %d", ret);
		else
			mars_state_kick();
	}
out_unlock:
	mutex_unlock(&mars_devs_lock);
	return ret;
}

/*
 * Resolve @d's tunables and apply them; a resource being created gets them
 * resolved only (its logger started with them, mars_dev_initial_tun()). Caller
 * holds mars_devs_lock.
 */
static void mars_dev_apply_tun(struct mars_dev *d, const struct mars_tun *geff)
{
	const struct mars_brick_type *type;
	bool have_rt;
	int ret;

	have_rt = mars_map_read(MARS_MAP_RTUN, d->res_id, &mars_rt, sizeof(mars_rt));
	mars_tun_resolve(geff, have_rt ? &mars_rt : NULL, d->name, d->base_sio_threads,
			 &d->eff, &d->clamped, &d->tun_mismatch);
	if (d->clamped)
		pr_notice_ratelimited("%s: tunables out of range (mask 0x%llx): clamped or ignored\n",
				      d->name, d->clamped);
	if (!d->built)
		return;
	type = d->data->type;
	if (type->set_threads && type->get_threads(d->data) != d->eff.sio_threads) {
		ret = type->set_threads(d->data, d->eff.sio_threads);
		if (ret)
			pr_warn_ratelimited("%s: cannot resize the sio pool to %u: %d\n",
					    d->name, d->eff.sio_threads, ret);
	}
	if (!type->set_threads)
		d->eff.sio_threads = 0;	/* no pool: say so in the state */
	if (type->set_tun)
		type->set_tun(d->data, &d->eff);
	if (d->logger)
		mars_logger_set_tun(d->logger, &d->eff);
}

/* The replay figures of @d. No lock needed (struct mars_replay_progress). */
static void mars_dev_fill_replay(struct mars_dev *d, struct mars_rstate *rs)
{
	struct mars_replay_progress *p = &d->replay;

	rs->replay_phase = READ_ONCE(p->phase);
	smp_rmb();	/* the phase before total; pairs with lg_recover()'s smp_wmb() */
	rs->replay_start_ns = READ_ONCE(p->start_ns);
	rs->replay_apply_ns = READ_ONCE(p->apply_ns);
	rs->replay_end_ns = READ_ONCE(p->end_ns);
	rs->replay_total = READ_ONCE(p->total);
	rs->replay_done = min_t(u64, atomic64_read(&p->done), rs->replay_total);
	if (rs->replay_phase == MARS_REPLAY_SCAN || rs->replay_phase == MARS_REPLAY_APPLY)
		rs->flags |= MARS_RS_F_REPLAYING;
}

/* Fill @rs with @d's state. Caller holds mars_devs_lock. */
static void mars_dev_fill(struct mars_dev *d, struct mars_rstate *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->res_id = d->res_id;
	rs->gen = d->gen;
	rs->published_ns = ktime_get_real_ns();
	memcpy(rs->name, d->name, MARS_NAME_MAX);
	rs->role = MARS_ROLE_PLAIN;
	if (d->has_logger) {
		rs->role = MARS_ROLE_PRIMARY;
		rs->flags |= MARS_RS_F_LOGGER;
		mars_dev_fill_replay(d, rs);
	}
	rs->clamped_mask = d->clamped;
	rs->eff = d->eff;
	if (d->tun_mismatch)
		rs->flags |= MARS_RS_F_TUN_MISMATCH;
	if (!d->built) {
		/* Being created: no bricks to ask yet (see the top). */
		rs->size = READ_ONCE(d->size);
		return;
	}
	mars_if_state(d->ifb, rs);
	if (d->logger)
		mars_logger_state(d->logger, rs);
	if (d->lower->info.readonly)
		rs->flags |= MARS_RS_F_RDONLY;
}

/* Fill and publish @d's rstate slot. Caller holds mars_devs_lock. */
static void mars_dev_publish(struct mars_dev *d)
{
	struct mars_rstate *rs = &mars_rs;

	mars_dev_fill(d, rs);
	if (rs->flags != d->flags) {
		trace_state(d->name, d->res_id, rs->role, d->flags, rs->flags);
		d->flags = rs->flags;
	}
	mars_map_publish(MARS_MAP_RSTATE, d->res_id, rs, sizeof(*rs));
}

u32 mars_dev_refresh_all(const struct mars_tun *geff, bool clear_unused)
{
	struct mars_dev *d;
	u32 id, nr;

	mutex_lock(&mars_devs_lock);
	list_for_each_entry(d, &mars_devs, list) {
		mars_dev_apply_tun(d, geff);
		mars_dev_publish(d);
	}
	if (clear_unused) {
		/* A new rstate map, or one left by an earlier module instance. */
		memset(&mars_rs, 0, sizeof(mars_rs));
		for_each_clear_bit(id, mars_res_used, MARS_RES_MAX)
			mars_map_publish(MARS_MAP_RSTATE, id, &mars_rs, sizeof(mars_rs));
	}
	nr = mars_nr_devs;
	mutex_unlock(&mars_devs_lock);
	return nr;
}

void mars_dev_reset_stats(u32 kinds)
{
	u32 id;

	mutex_lock(&mars_devs_lock);
	for_each_set_bit(id, mars_res_used, MARS_RES_MAX)
		mars_stat_res_reset(id, kinds);
	mutex_unlock(&mars_devs_lock);
}

int mars_dev_state(struct mars_ioc_dev_state *st)
{
	struct mars_dev *d;
	int ret = 0;

	mutex_lock(&mars_devs_lock);
	d = mars_dev_find(st->name);
	if (d)
		mars_dev_fill(d, &st->state);
	else
		ret = -ENOENT;
	mutex_unlock(&mars_devs_lock);
	if (ret)
		mars_err(st->errmsg, "no resource %s", st->name);
	return ret;
}

/*
 * Find @name's logger. Caller holds mars_devs_lock, which also keeps the resource
 * from being deleted while the logger works for the ioctl.
 */
static struct mars_brick *mars_dev_logger(const char *name, char *err)
{
	struct mars_dev *d = mars_dev_find(name);

	if (!d) {
		mars_err(err, "no resource %s", name);
		return ERR_PTR(-ENOENT);
	}
	if (!d->built)
		return ERR_PTR(mars_dev_busy(d, err));
	if (!d->logger) {
		mars_err(err, "%s has no logger (created without a log directory)", name);
		return ERR_PTR(-EINVAL);
	}
	return d->logger;
}

int mars_dev_log_rotate(struct mars_ioc_log_rotate *r)
{
	struct mars_brick *lg;
	int ret;

	mutex_lock(&mars_devs_lock);
	lg = mars_dev_logger(r->name, r->errmsg);
	ret = IS_ERR(lg) ? PTR_ERR(lg) :
	      mars_logger_rotate(lg, &r->old_seq, &r->old_end, &r->new_seq, r->errmsg);
	mutex_unlock(&mars_devs_lock);
	if (!ret)
		mars_state_kick();
	return ret;
}

int mars_dev_emergency(struct mars_ioc_emergency *e)
{
	struct mars_brick *lg;
	int ret;

	if (e->action != MARS_EMERG_LEAVE && e->action != MARS_EMERG_ENTER) {
		mars_err(e->errmsg, "unknown action %u", e->action);
		return -EINVAL;
	}
	mutex_lock(&mars_devs_lock);
	lg = mars_dev_logger(e->name, e->errmsg);
	if (IS_ERR(lg))
		ret = PTR_ERR(lg);
	else
		ret = mars_logger_emergency(lg, e->action, &e->log_seq, e->errmsg);
	mutex_unlock(&mars_devs_lock);
	mars_state_kick();
	return ret;
}

int mars_dev_init(void)
{
	return 0;
}

/* Module unload: every resource holds a module reference, so there is none left. */
void mars_dev_exit(void)
{
	WARN_ON_ONCE(!list_empty(&mars_devs));
}
