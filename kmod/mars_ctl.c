// SPDX-License-Identifier: GPL-2.0
/*
 * mars_ctl: the control device /dev/mars-ctl.
 *
 * A misc device (dynamic minor, mode 0600). Every ioctl requires CAP_SYS_ADMIN and
 * takes one argument struct from include/uapi/linux/mars.h whose first field is its
 * size. Arguments are copied in whole, validated (size, flags against *_F_ALL,
 * reserved fields zero), acted on, and copied out. Nothing userspace passes can make
 * the module WARN: bad input returns -EINVAL, -EFAULT or -ENOTTY.
 *
 * Structs that carry an errmsg are copied back on failure too, so marsctl can print
 * the kernel's one-line reason. The device keeps no per-open state.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "mars.h"

/* Largest logfile number (log-format.md 7). */
#define MLOG_SEQ_MAX_ABI	999999999ULL

static long mars_ioc_version(struct mars_ioc_version __user *uarg)
{
	struct mars_ioc_version v;

	if (copy_from_user(&v, uarg, sizeof(v)))
		return -EFAULT;
	if (v.size != sizeof(v) || v.flags & ~MARS_VERSION_F_ALL ||
	    memchr_inv(v.reserved, 0, sizeof(v.reserved)))
		return -EINVAL;

	v.abi_major = MARS_ABI_MAJOR;
	v.abi_minor = MARS_ABI_MINOR;
	v.features = MARS_FEAT_ALL;
	strscpy(v.release, MARS_VERSION_STRING, sizeof(v.release));

	if (copy_to_user(uarg, &v, sizeof(v)))
		return -EFAULT;
	return 0;
}

/*
 * The common checks of a struct argument: exact size, known flags, zero reserved
 * fields.
 */
static bool mars_args_ok(u32 size, size_t expect, u32 flags, u32 flags_all,
			 const void *reserved, size_t reserved_size)
{
	return size == expect && !(flags & ~flags_all) &&
	       !memchr_inv(reserved, 0, reserved_size);
}

/*
 * Copy a NUL-terminated absolute path of @len bytes from user memory. Returns the
 * kernel copy or an ERR_PTR with @err set.
 */
static char *mars_user_path(u64 uptr, u32 len, const char *what, char *err)
{
	char *path;

	if (len < 2 || len > MARS_PATH_MAX) {
		mars_err(err, "%s length %u out of range 2..%u", what, len, MARS_PATH_MAX);
		return ERR_PTR(-EINVAL);
	}
	path = memdup_user(u64_to_user_ptr(uptr), len);
	if (IS_ERR(path)) {
		mars_err(err, "cannot read the %s", what);
		return path;
	}
	if (strnlen(path, len) != len - 1) {
		mars_err(err, "%s is not one NUL-terminated string of %u bytes", what, len);
		kfree(path);
		return ERR_PTR(-EINVAL);
	}
	if (path[0] != '/') {
		mars_err(err, "%s %s is not absolute", what, path);
		kfree(path);
		return ERR_PTR(-EINVAL);
	}
	return path;
}

/* MARS_IOC_DEV_CREATE (v1, plain) and MARS_IOC_DEV_CREATE2 (with a logger). */
static long mars_ioc_dev_create(void __user *uarg, bool v2)
{
	size_t size = v2 ? sizeof(struct mars_ioc_dev_create2) : sizeof(struct mars_ioc_dev_create);
	struct mars_ioc_dev_create2 *c2 = NULL;
	struct mars_ioc_dev_create *c;
	char *path = NULL, *log_dir = NULL;
	void *buf;
	long ret;

	buf = memdup_user(uarg, size);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	c = buf;
	if (v2)
		c2 = buf;
	ret = -EINVAL;
	if (!mars_args_ok(c->size, size, c->flags,
			  v2 ? MARS_DEV_CREATE2_F_ALL : MARS_DEV_CREATE_F_ALL,
			  c->reserved, sizeof(c->reserved)))
		goto out_free;
	if (v2 && (c2->pad || memchr_inv(c2->reserved2, 0, sizeof(c2->reserved2))))
		goto out_free;
	memset(c->errmsg, 0, sizeof(c->errmsg));
	if (!mars_name_valid(c->name)) {
		mars_err(c->errmsg, "invalid resource name (1-%u of A-Z a-z 0-9 _ . -, not starting with . or -)",
			 MARS_NAME_LEN);
		goto out_copy;
	}
	if (v2) {
		if (c2->role != MARS_ROLE_PRIMARY) {
			mars_err(c->errmsg, "role %u: only primary (%u) is supported",
				 c2->role, MARS_ROLE_PRIMARY);
			goto out_copy;
		}
		if (c2->log_backend && c2->log_backend != MARS_BACKEND_SIO) {
			mars_err(c->errmsg, "log backend %u: only sio (%u) is supported",
				 c2->log_backend, MARS_BACKEND_SIO);
			ret = -EOPNOTSUPP;
			goto out_copy;
		}
		if (c2->ckpt_seq > MLOG_SEQ_MAX_ABI || c2->next_log_seq > MLOG_SEQ_MAX_ABI) {
			mars_err(c->errmsg, "logfile number out of range 0..%llu",
				 (u64)MLOG_SEQ_MAX_ABI);
			goto out_copy;
		}
		log_dir = mars_user_path(c2->log_dir, c2->log_dir_len, "log directory",
					 c->errmsg);
		if (IS_ERR(log_dir)) {
			ret = PTR_ERR(log_dir);
			log_dir = NULL;
			goto out_copy;
		}
	}
	path = mars_user_path(c->data_path, c->data_path_len, "data path", c->errmsg);
	if (IS_ERR(path)) {
		ret = PTR_ERR(path);
		path = NULL;
		goto out_copy;
	}
	ret = mars_dev_create(c, path, c2, log_dir);
out_copy:
	/* Copied back on failure too: errmsg tells the caller why. */
	if (copy_to_user(uarg, buf, size))
		ret = -EFAULT;
out_free:
	kfree(path);
	kfree(log_dir);
	kfree(buf);
	return ret;
}

/*
 * DEV_STATE v1: before map ABI 2 mars_rstate had 448 bytes. Such a caller gets the
 * v1 prefix of the answer (every field it knows); the command number encodes the
 * size, so v1 has its own.
 */
#define MARS_DEV_STATE_SIZE_V1	648
#define MARS_IOC_DEV_STATE_V1	_IOC(_IOC_READ | _IOC_WRITE, MARS_IOC_MAGIC, 0x16, \
				     MARS_DEV_STATE_SIZE_V1)

static long mars_ioc_dev_state(struct mars_ioc_dev_state __user *uarg, size_t size)
{
	struct mars_ioc_dev_state *st;
	long ret;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	ret = -EFAULT;
	if (copy_from_user(st, uarg, size))
		goto out_free;
	ret = -EINVAL;
	if (!mars_args_ok(st->size, size, st->flags, MARS_DEV_STATE_F_ALL,
			  st->reserved, sizeof(st->reserved)))
		goto out_free;
	memset(st->errmsg, 0, sizeof(st->errmsg));
	memset(&st->state, 0, sizeof(st->state));
	if (!mars_name_valid(st->name))
		mars_err(st->errmsg, "invalid resource name");
	else
		ret = mars_dev_state(st);
	if (copy_to_user(uarg, st, size))
		ret = -EFAULT;
out_free:
	kfree(st);
	return ret;
}

static long mars_ioc_log_rotate(struct mars_ioc_log_rotate __user *uarg)
{
	struct mars_ioc_log_rotate r;
	long ret = -EINVAL;

	if (copy_from_user(&r, uarg, sizeof(r)))
		return -EFAULT;
	if (!mars_args_ok(r.size, sizeof(r), r.flags, MARS_LOG_ROTATE_F_ALL,
			  r.reserved, sizeof(r.reserved)))
		return -EINVAL;
	memset(r.errmsg, 0, sizeof(r.errmsg));
	r.old_seq = 0;
	r.old_end = 0;
	r.new_seq = 0;
	if (!mars_name_valid(r.name))
		mars_err(r.errmsg, "invalid resource name");
	else
		ret = mars_dev_log_rotate(&r);
	if (copy_to_user(uarg, &r, sizeof(r)))
		ret = -EFAULT;
	return ret;
}

static long mars_ioc_emergency(struct mars_ioc_emergency __user *uarg)
{
	struct mars_ioc_emergency e;
	long ret = -EINVAL;

	if (copy_from_user(&e, uarg, sizeof(e)))
		return -EFAULT;
	if (!mars_args_ok(e.size, sizeof(e), e.flags, MARS_EMERGENCY_F_ALL,
			  e.reserved, sizeof(e.reserved)) || e.pad)
		return -EINVAL;
	memset(e.errmsg, 0, sizeof(e.errmsg));
	e.log_seq = 0;
	if (!mars_name_valid(e.name))
		mars_err(e.errmsg, "invalid resource name");
	else
		ret = mars_dev_emergency(&e);
	if (copy_to_user(uarg, &e, sizeof(e)))
		ret = -EFAULT;
	return ret;
}

static long mars_ioc_dev_delete(struct mars_ioc_dev_delete __user *uarg)
{
	struct mars_ioc_dev_delete *d;
	long ret;

	d = memdup_user(uarg, sizeof(*d));
	if (IS_ERR(d))
		return PTR_ERR(d);
	ret = -EINVAL;
	if (!mars_args_ok(d->size, sizeof(*d), d->flags, MARS_DEV_DELETE_F_ALL,
			  d->reserved, sizeof(d->reserved)))
		goto out_free;
	memset(d->errmsg, 0, sizeof(d->errmsg));
	if (!mars_name_valid(d->name))
		mars_err(d->errmsg, "invalid resource name");
	else
		ret = mars_dev_delete(d);
	if (copy_to_user(uarg, d, sizeof(*d)))
		ret = -EFAULT;
out_free:
	kfree(d);
	return ret;
}

static long mars_ioc_dev_list(struct mars_ioc_dev_list __user *uarg)
{
	struct mars_ioc_dev_list l;
	struct mars_dev_info *infos = NULL;
	u32 cap, count = 0;
	long ret = 0;
	int n;

	if (copy_from_user(&l, uarg, sizeof(l)))
		return -EFAULT;
	if (!mars_args_ok(l.size, sizeof(l), l.flags, MARS_DEV_LIST_F_ALL,
			  l.reserved, sizeof(l.reserved)))
		return -EINVAL;
	/* Never more than can exist: bounds the allocation whatever the caller says. */
	cap = min_t(u32, l.capacity, MARS_DEVS_MAX);
	if (cap) {
		infos = kvcalloc(cap, sizeof(*infos), GFP_KERNEL);
		if (!infos)
			return -ENOMEM;
	}
	n = mars_dev_list(infos, cap, &count);
	if (n && copy_to_user(u64_to_user_ptr(l.devs), infos, n * sizeof(*infos)))
		ret = -EFAULT;
	l.count = count;
	if (!ret && copy_to_user(uarg, &l, sizeof(l)))
		ret = -EFAULT;
	kvfree(infos);
	return ret;
}

static long mars_ioc_dev_set(struct mars_ioc_dev_set __user *uarg)
{
	struct mars_ioc_dev_set *s;
	long ret;

	s = memdup_user(uarg, sizeof(*s));
	if (IS_ERR(s))
		return PTR_ERR(s);
	ret = -EINVAL;
	if (!mars_args_ok(s->size, sizeof(*s), s->flags, MARS_DEV_SET_F_ALL,
			  s->reserved, sizeof(s->reserved)) || s->pad)
		goto out_free;
	memset(s->errmsg, 0, sizeof(s->errmsg));
	if (!mars_name_valid(s->name))
		mars_err(s->errmsg, "invalid resource name");
	else
		ret = mars_dev_set(s);
	if (copy_to_user(uarg, s, sizeof(*s)))
		ret = -EFAULT;
out_free:
	kfree(s);
	return ret;
}

static long mars_ioc_map_attach(struct mars_ioc_map_attach __user *uarg)
{
	struct mars_ioc_map_attach a;
	long ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (!mars_args_ok(a.size, sizeof(a), a.flags, MARS_MAP_ATTACH_F_ALL,
			  a.reserved, sizeof(a.reserved)) || a.pad)
		return -EINVAL;
	memset(a.errmsg, 0, sizeof(a.errmsg));
	a.map_id = 0;
	ret = mars_maps_attach(&a);
	if (copy_to_user(uarg, &a, sizeof(a)))
		ret = -EFAULT;
	return ret;
}

static long mars_ioc_map_info(struct mars_ioc_map_info __user *uarg)
{
	struct mars_ioc_map_info i;

	if (copy_from_user(&i, uarg, sizeof(i)))
		return -EFAULT;
	if (!mars_args_ok(i.size, sizeof(i), i.flags, MARS_MAP_INFO_F_ALL,
			  i.reserved, sizeof(i.reserved)))
		return -EINVAL;
	memset(i.errmsg, 0, sizeof(i.errmsg));
	memset(i.map_id, 0, sizeof(i.map_id));
	mars_maps_info(&i);
	if (copy_to_user(uarg, &i, sizeof(i)))
		return -EFAULT;
	return 0;
}

static long mars_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	switch (cmd) {
	case MARS_IOC_VERSION:
		return mars_ioc_version(argp);
	case MARS_IOC_MAP_ATTACH:
		return mars_ioc_map_attach(argp);
	case MARS_IOC_MAP_INFO:
		return mars_ioc_map_info(argp);
	case MARS_IOC_DEV_CREATE:
		return mars_ioc_dev_create(argp, false);
	case MARS_IOC_DEV_CREATE2:
		return mars_ioc_dev_create(argp, true);
	case MARS_IOC_DEV_STATE:
		return mars_ioc_dev_state(argp, sizeof(struct mars_ioc_dev_state));
	case MARS_IOC_DEV_STATE_V1:
		return mars_ioc_dev_state(argp, MARS_DEV_STATE_SIZE_V1);
	case MARS_IOC_LOG_ROTATE:
		return mars_ioc_log_rotate(argp);
	case MARS_IOC_EMERGENCY:
		return mars_ioc_emergency(argp);
	case MARS_IOC_DEV_DELETE:
		return mars_ioc_dev_delete(argp);
	case MARS_IOC_DEV_LIST:
		return mars_ioc_dev_list(argp);
	case MARS_IOC_DEV_SET:
		return mars_ioc_dev_set(argp);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations mars_ctl_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= mars_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice mars_ctl_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= MARS_CTL_NAME,
	.fops	= &mars_ctl_fops,
	.mode	= 0600,
};

int mars_ctl_init(void)
{
	int err = misc_register(&mars_ctl_dev);

	if (err)
		pr_err("cannot register /dev/%s: %d\n", MARS_CTL_NAME, err);
	return err;
}

void mars_ctl_exit(void)
{
	misc_deregister(&mars_ctl_dev);
}
