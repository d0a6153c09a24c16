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

/*
 * Feature bits reported by MARS_IOC_VERSION: userspace checks the bit before it
 * uses a capability (docs/architecture.md, 4.3).
 */
#define MARS_FEAT_DEV		(1ULL << 0)	/* DEV_CREATE/DELETE/LIST/SET; sio, aio, bio */
#define MARS_FEAT_ALL		MARS_FEAT_DEV

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

/*
 * Names and paths.
 *
 * A resource name is 1..MARS_NAME_LEN bytes of [A-Za-z0-9_.-], not starting with
 * '.' or '-', NUL-terminated, rest of the MARS_NAME_MAX array zero. The disk appears
 * as /dev/mars/<name> (MARS_NAME_LEN keeps "mars/<name>" within the kernel's disk
 * name limit of 31 characters). Paths are passed by user pointer and length (including the
 * terminating NUL), at most MARS_PATH_MAX bytes.
 */
#define MARS_NAME_MAX		32	/* size of name arrays */
#define MARS_NAME_LEN		26	/* longest name */
#define MARS_PATH_MAX		4096
#define MARS_ERRMSG_MAX		128

/* Backends: the brick that does the IO on the data path. */
enum mars_backend {
	MARS_BACKEND_SIO	= 1,	/* kernel thread pool, blocking IO; files, block devices */
	MARS_BACKEND_AIO	= 2,	/* in-kernel async IO (kiocb); files, block devices */
	MARS_BACKEND_BIO	= 3,	/* bios straight to a block device */
};

/* sio thread pool size. */
#define MARS_SIO_THREADS_DEFAULT	4
#define MARS_SIO_THREADS_MAX		64

/* Requests in flight per device (blk-mq queue depth). */
#define MARS_QUEUE_DEPTH_DEFAULT	128
#define MARS_QUEUE_DEPTH_MAX		1024

/* Smallest usable device. */
#define MARS_DEV_MIN_SIZE	(1ULL << 20)

/* Flags of struct mars_ioc_dev_create: none are defined; must be 0. */
#define MARS_DEV_CREATE_F_ALL	0U

/*
 * MARS_IOC_DEV_CREATE: build the graph if -> <backend> over data_path and expose it
 * as /dev/mars/<name>.
 *
 * The device's size is dev_size, or the size of the backing when dev_size is 0;
 * dev_size must be a multiple of the logical block size, at least MARS_DEV_MIN_SIZE
 * and not larger than the backing. Logical and physical block sizes are taken from
 * the backing (512 for files on a filesystem without a block device below).
 *
 * Errors: -EINVAL bad struct, name or value; -EEXIST a resource of that name exists;
 * -ENOENT/-EACCES/... from opening data_path; -ENOTBLK the bio backend needs a block
 * device; -EISDIR data_path is a directory; -ENOSPC the backing is smaller than
 * dev_size or MARS_DEV_MIN_SIZE; -EBUSY the block device is in exclusive use. On
 * error, errmsg holds a one-line human explanation (the struct is copied back).
 */
struct mars_ioc_dev_create {
	__u32 size;			/* in: sizeof(struct mars_ioc_dev_create) */
	__u32 flags;			/* in: MARS_DEV_CREATE_F_*, must be 0 */
	char name[MARS_NAME_MAX];	/* in: resource name */
	__u64 data_path;		/* in: user pointer to the backing's path */
	__u32 data_path_len;		/* in: bytes at data_path, including the NUL */
	__u32 backend;			/* in: enum mars_backend */
	__u64 dev_size;			/* in: bytes, 0 = size of the backing */
	__u32 sio_threads;		/* in: sio pool size, 0 = default */
	__u32 queue_depth;		/* in: 0 = default, max MARS_QUEUE_DEPTH_MAX */
	__u32 major;			/* out: device number of /dev/mars/<name> */
	__u32 minor;			/* out */
	char errmsg[MARS_ERRMSG_MAX];	/* out: why it failed, NUL-terminated */
	__u64 reserved[4];		/* in: must be 0 */
};

/* Flags of struct mars_ioc_dev_delete. */
#define MARS_DEV_DELETE_F_FORCE	(1U << 0)	/* delete even while open: IO fails from then on */
#define MARS_DEV_DELETE_F_ALL	MARS_DEV_DELETE_F_FORCE

/*
 * MARS_IOC_DEV_DELETE: remove /dev/mars/<name> and tear its graph down.
 *
 * Refused with -EBUSY while the device is open, unless MARS_DEV_DELETE_F_FORCE:
 * then new IO fails with an IO error, IO in flight is drained, and the device node
 * disappears at once (openers keep a dead device until they close it).
 * -ENOENT: no such resource.
 */
struct mars_ioc_dev_delete {
	__u32 size;			/* in: sizeof(struct mars_ioc_dev_delete) */
	__u32 flags;			/* in: MARS_DEV_DELETE_F_* */
	char name[MARS_NAME_MAX];	/* in */
	char errmsg[MARS_ERRMSG_MAX];	/* out */
	__u64 reserved[4];		/* in: must be 0 */
};

/* State bits of struct mars_dev_info. */
#define MARS_DEV_S_DYING	(1U << 0)	/* being deleted, IO fails */
#define MARS_DEV_S_PATH_TRUNC	(1U << 1)	/* data_path was cut to fit */
#define MARS_DEV_S_READONLY	(1U << 2)	/* the backing was opened read-only */

/* One device in the answer of MARS_IOC_DEV_LIST. */
struct mars_dev_info {
	char name[MARS_NAME_MAX];	/* resource name */
	__u64 dev_size;			/* bytes */
	__u32 backend;			/* enum mars_backend */
	__u32 state;			/* MARS_DEV_S_* */
	__u32 major;
	__u32 minor;
	__u32 open_count;		/* openers of /dev/mars/<name> */
	__u32 sio_threads;		/* running sio threads (0 for other backends) */
	__u32 queue_depth;
	__u32 logical_block_size;	/* bytes */
	__u32 physical_block_size;	/* bytes */
	__u32 features;			/* MARS_DEV_FEAT_*: what the backing supports */
	char data_path[256];		/* backing path as given, NUL-terminated */
	__u64 reserved[2];
};

#define MARS_DEV_FEAT_DISCARD		(1U << 0)
#define MARS_DEV_FEAT_WRITE_ZEROES	(1U << 1)
#define MARS_DEV_FEAT_FUA		(1U << 2)	/* passed down natively (bio) */

/*
 * MARS_IOC_DEV_LIST: copy up to capacity entries, sorted by name, to the user array
 * at devs; count is set to the number of devices (which may exceed capacity: call
 * again with a larger array).
 */
struct mars_ioc_dev_list {
	__u32 size;			/* in: sizeof(struct mars_ioc_dev_list) */
	__u32 flags;			/* in: must be 0 */
	__u64 devs;			/* in: user pointer to struct mars_dev_info[capacity] */
	__u32 capacity;			/* in: entries at devs */
	__u32 count;			/* out: devices that exist */
	__u64 reserved[4];		/* in: must be 0 */
};

#define MARS_DEV_LIST_F_ALL	0U

/*
 * MARS_IOC_DEV_SET: change a running device's settings. A field left 0 is not
 * changed. sio_threads resizes the sio pool without stopping IO.
 */
struct mars_ioc_dev_set {
	__u32 size;			/* in: sizeof(struct mars_ioc_dev_set) */
	__u32 flags;			/* in: must be 0 */
	char name[MARS_NAME_MAX];	/* in */
	__u32 sio_threads;		/* in: 1..MARS_SIO_THREADS_MAX, or 0 */
	__u32 pad;			/* in: must be 0 */
	char errmsg[MARS_ERRMSG_MAX];	/* out */
	__u64 reserved[4];		/* in: must be 0 */
};

#define MARS_DEV_SET_F_ALL	0U

#define MARS_IOC_DEV_CREATE	_IOWR(MARS_IOC_MAGIC, 0x10, struct mars_ioc_dev_create)
#define MARS_IOC_DEV_DELETE	_IOWR(MARS_IOC_MAGIC, 0x11, struct mars_ioc_dev_delete)
#define MARS_IOC_DEV_LIST	_IOWR(MARS_IOC_MAGIC, 0x12, struct mars_ioc_dev_list)
#define MARS_IOC_DEV_SET	_IOWR(MARS_IOC_MAGIC, 0x13, struct mars_ioc_dev_set)

#endif /* _UAPI_LINUX_MARS_H */
