// SPDX-License-Identifier: GPL-2.0
/*
 * dev: resources, each one graph "if -> backend", and their registry.
 *
 * The registry is a list sorted by name under mars_devs_lock (a mutex: creating and
 * deleting sleep). Creation and deletion of all devices are serialized by it,
 * which keeps the rules simple: a name is either absent or fully set up.
 *
 * Lock order: mars_devs_lock, then an if brick's open_mutex (taken inside
 * mars_if_destroy() and mars_if_info()). The block layer calls the if brick's
 * open/release with the disk's open_mutex held and they take only open_mutex, and
 * del_gendisk() is called with mars_devs_lock held but not open_mutex: no cycle.
 * The publisher (state.c) takes mars_devs_lock inside its own mars_state_lock.
 *
 * Map slots: every resource owns a res_id, the lowest free slot of the
 * per-resource maps (0..MARS_RES_MAX-1), for its lifetime; the slot's generation
 * grows with every resource placed in it. Its counters are reset before the disk
 * exists, and its rstate slot is cleared after the disk is gone.
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
		args.logger = &la;
	}

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	memcpy(d->name, c->name, MARS_NAME_MAX);
	d->backend = c->backend;
	d->path = kstrdup(path, GFP_KERNEL);
	if (!d->path) {
		ret = -ENOMEM;
		goto err_free_dev;
	}

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
	d->base_sio_threads = c->sio_threads;
	args.res_id = d->res_id;
	/* Counters count since create; the disk may see IO once it is added. */
	mars_stat_res_reset(d->res_id, MARS_STAT_ALL);

	/* The backend's aspect goes right after the per-request state above it. */
	d->data = mars_brick_new(type, NULL, c2 ? mars_logger_io_size() : mars_if_aspect_off(),
				 &args, c->errmsg);
	if (IS_ERR(d->data)) {
		ret = PTR_ERR(d->data);
		goto err_unlock;
	}
	d->lower = d->data;
	if (c2) {
		/* The logger replays (if asked) in its constructor: before the disk exists. */
		d->logger = mars_brick_new(&mars_logger_type, d->data, mars_if_aspect_off(),
					   &args, c->errmsg);
		/* The logger holds the backend now (or it failed): drop ours. */
		mars_brick_put(d->data);
		if (IS_ERR(d->logger)) {
			ret = PTR_ERR(d->logger);
			goto err_unlock;
		}
		d->lower = d->logger;
		mars_logger_replay_info(d->logger, c2);
		c2->res_id = d->res_id;
	}
	d->ifb = mars_if_create(d->name, d->lower, &args, c->errmsg);
	if (IS_ERR(d->ifb)) {
		ret = PTR_ERR(d->ifb);
		goto err_put_lower;
	}
	mars_if_devt(d->ifb, &c->major, &c->minor);
	/*
	 * Each resource pins the module: rmmod is refused while resources exist, so
	 * an unload never takes a device away. Called from our own ioctl, so the
	 * module is live and a plain get is safe.
	 */
	__module_get(THIS_MODULE);
	mars_dev_insert_sorted(d);
	mars_nr_devs++;
	__set_bit(d->res_id, mars_res_used);
	mutex_unlock(&mars_devs_lock);
	pr_info("%s: created over %s (%s), slot %u\n", d->name, d->path, type->name,
		d->res_id);
	trace_res(d->name, d->res_id, 0, 0);
	mars_state_kick();
	return 0;

err_put_lower:
	mars_brick_put(d->lower);
err_unlock:
	mutex_unlock(&mars_devs_lock);
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
	ret = mars_if_destroy(d->ifb, force, dd->errmsg);
	if (ret)
		goto out_unlock;
	/* No request can reach the backend any more: del_gendisk drained them. */
	list_del(&d->list);
	mars_nr_devs--;
	pr_info("%s: deleted%s\n", d->name, force ? " (forced)" : "");
	trace_res(d->name, d->res_id, 1, 0);
	/*
	 * The slot is free again: no stale state, no stale counters, and no stale
	 * overrides (a new resource of the same name would take them over).
	 */
	memset(&mars_rs, 0, sizeof(mars_rs));
	mars_map_publish(MARS_MAP_RSTATE, d->res_id, &mars_rs, sizeof(mars_rs));
	mars_stat_res_reset(d->res_id, MARS_STAT_ALL);
	mars_map_clear(MARS_MAP_RTUN, d->res_id);
	__clear_bit(d->res_id, mars_res_used);
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
		n++;
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

/* Resolve @d's tunables and apply them. Caller holds mars_devs_lock. */
static void mars_dev_apply_tun(struct mars_dev *d, const struct mars_tun *geff)
{
	const struct mars_brick_type *type = d->data->type;
	bool have_rt;
	int ret;

	have_rt = mars_map_read(MARS_MAP_RTUN, d->res_id, &mars_rt, sizeof(mars_rt));
	mars_tun_resolve(geff, have_rt ? &mars_rt : NULL, d->name, d->base_sio_threads,
			 &d->eff, &d->clamped, &d->tun_mismatch);
	if (d->clamped)
		pr_notice_ratelimited("%s: tunables out of range (mask 0x%llx): clamped or ignored\n",
				      d->name, d->clamped);
	if (type->set_threads && type->get_threads(d->data) != d->eff.sio_threads) {
		ret = type->set_threads(d->data, d->eff.sio_threads);
		if (ret)
			pr_warn_ratelimited("%s: cannot resize the sio pool to %u: %d\n",
					    d->name, d->eff.sio_threads, ret);
	}
	if (!type->set_threads)
		d->eff.sio_threads = 0;	/* no pool: say so in the state */
	if (d->logger)
		mars_logger_set_tun(d->logger, &d->eff);
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
	mars_if_state(d->ifb, rs);
	if (d->logger)
		mars_logger_state(d->logger, rs);
	if (d->lower->info.readonly)
		rs->flags |= MARS_RS_F_RDONLY;
	if (d->tun_mismatch)
		rs->flags |= MARS_RS_F_TUN_MISMATCH;
	rs->clamped_mask = d->clamped;
	rs->eff = d->eff;
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
