/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mars: the ABI between mars.ko, its BPF programs and userspace (marsctl).
 *
 * This header is the contract. It compiles in the kernel, in BPF programs and in
 * userspace, so it uses only fixed-width types, explicit padding and no libc headers.
 * The full design is in docs/architecture.md; on-disk formats are specified in
 * docs/log-format.md and docs/journal-format.md.
 *
 * Conventions for every ioctl argument struct:
 *  - It starts with __u32 size: the caller sets it to sizeof() of the struct as it
 *    was compiled. The module refuses sizes it does not know with -EINVAL, so a
 *    struct can grow in later versions without breaking old callers.
 *  - Fields marked "in" are read, "out" are written by the module.
 *  - Flag fields are checked against their *_F_ALL mask: unknown bits give -EINVAL.
 *  - Reserved fields and padding must be zero (-EINVAL otherwise).
 *  - Every ioctl needs CAP_SYS_ADMIN (-EPERM otherwise).
 */
#ifndef _UAPI_LINUX_MARS_H
#define _UAPI_LINUX_MARS_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* The control device, a misc device with a dynamic minor, mode 0600. */
#define MARS_CTL_NAME		"mars-ctl"
#define MARS_CTL_PATH		"/dev/mars-ctl"

/*
 * ABI version. The major number changes when an existing ioctl or struct changes
 * incompatibly (userspace must refuse to drive a module with another major); the
 * minor number grows when ioctls or fields are added.
 */
#define MARS_ABI_MAJOR		1
#define MARS_ABI_MINOR		0

/* ioctl type byte of every mars ioctl ('M' is taken by several drivers). */
#define MARS_IOC_MAGIC		0xB7

/* Feature bits reported by MARS_IOC_VERSION. None are defined yet. */
#define MARS_FEAT_ALL		0ULL

/* Flags of struct mars_ioc_version: none are defined; must be 0. */
#define MARS_VERSION_F_ALL	0U

/*
 * MARS_IOC_VERSION: handshake. Userspace calls it first and refuses to continue
 * when abi_major differs from the MARS_ABI_MAJOR it was built with.
 */
struct mars_ioc_version {
	__u32 size;		/* in: sizeof(struct mars_ioc_version) */
	__u32 flags;		/* in: MARS_VERSION_F_*, must be 0 */
	__u32 abi_major;	/* out: MARS_ABI_MAJOR of the module */
	__u32 abi_minor;	/* out: MARS_ABI_MINOR of the module */
	__u64 features;		/* out: MARS_FEAT_* bits the module supports */
	char release[32];	/* out: module version string, NUL-terminated */
	__u64 reserved[4];	/* in: must be 0 */
};

#define MARS_IOC_VERSION	_IOWR(MARS_IOC_MAGIC, 0x00, struct mars_ioc_version)

#endif /* _UAPI_LINUX_MARS_H */
