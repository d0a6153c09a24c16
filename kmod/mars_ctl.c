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
 * The device keeps no per-open state, so open and release are the misc defaults.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "mars.h"

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

static long mars_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	switch (cmd) {
	case MARS_IOC_VERSION:
		return mars_ioc_version(argp);
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
