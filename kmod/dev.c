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
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mars.h"

struct mars_dev {
	struct list_head list;		/* in mars_devs, sorted by name */
	char name[MARS_NAME_MAX];
	char *path;			/* backing path as given */
	u32 backend;			/* enum mars_backend */
	struct mars_brick *lower;	/* the backend brick; our reference */
	struct mars_if *ifb;
};

static LIST_HEAD(mars_devs);		/* mars_devs_lock */
static unsigned int mars_nr_devs;	/* mars_devs_lock */
static DEFINE_MUTEX(mars_devs_lock);

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

int mars_dev_create(struct mars_ioc_dev_create *c, const char *path)
{
	const struct mars_brick_type *type = mars_backend_type(c->backend);
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
	if (mars_nr_devs >= MARS_DEVS_MAX) {
		mars_err(c->errmsg, "too many devices (%u)", MARS_DEVS_MAX);
		ret = -ENOSPC;
		goto err_unlock;
	}

	/* The backend's aspect goes right after the if brick's per-request state. */
	d->lower = mars_brick_new(type, NULL, mars_if_aspect_off(), &args, c->errmsg);
	if (IS_ERR(d->lower)) {
		ret = PTR_ERR(d->lower);
		goto err_unlock;
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
	mutex_unlock(&mars_devs_lock);
	pr_info("%s: created over %s (%s)\n", d->name, d->path, type->name);
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
		if (d->lower->type->get_threads)
			info->sio_threads = d->lower->type->get_threads(d->lower);
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
		if (!d->lower->type->set_threads) {
			mars_err(s->errmsg, "the %s backend has no thread pool",
				 d->lower->type->name);
			ret = -EINVAL;
			goto out_unlock;
		}
		ret = d->lower->type->set_threads(d->lower, s->sio_threads);
		if (ret)
			mars_err(s->errmsg, "cannot resize the thread pool: %d", ret);
	}
out_unlock:
	mutex_unlock(&mars_devs_lock);
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
