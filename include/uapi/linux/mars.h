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
#define MARS_ABI_MINOR		3	/* 1: maps (issue 5); 2: logger (issue 4);
					 * 3: replay progress and writeback lag in
					 * mars_rstate, DEV_STATE v2, MARS_DEV_S_CREATING and
					 * _REPLAYING
					 */

/* ioctl type byte of every mars ioctl ('M' is taken by several drivers). */
#define MARS_IOC_MAGIC		0xB7

/*
 * Feature bits reported by MARS_IOC_VERSION: userspace checks the bit before it
 * uses a capability (docs/architecture.md, 4.3).
 */
#define MARS_FEAT_DEV		(1ULL << 0)	/* DEV_CREATE/DELETE/LIST/SET; sio, aio, bio */
#define MARS_FEAT_LOGGER	(1ULL << 1)	/* DEV_CREATE2, DEV_STATE, LOG_ROTATE, EMERGENCY */
#define MARS_FEAT_MAPS		(1ULL << 2)	/* MAP_ATTACH/MAP_INFO, map ABI 1 */
#define MARS_FEAT_ALL		(MARS_FEAT_DEV | MARS_FEAT_LOGGER | MARS_FEAT_MAPS)

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
/*
 * The resource is being created (DEV_CREATE has not returned yet): its name and map
 * slot are taken, /dev/mars/<name> does not exist yet. Only name, backend,
 * data_path and dev_size (0 until the data device is open) are filled; DEV_DELETE
 * and DEV_SET answer -EBUSY until it is built. With a logger this lasts as long as
 * the replay of its log, which MARS_DEV_S_REPLAYING says; the progress is in
 * mars_rstate (MARS_IOC_DEV_STATE, replay_* fields).
 */
#define MARS_DEV_S_CREATING	(1U << 3)
#define MARS_DEV_S_REPLAYING	(1U << 4)	/* CREATING, and replaying its log */

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

/*
 * The transaction logger (issue 4; docs/architecture.md 3.3-3.10, log-format.md).
 *
 * MARS_IOC_DEV_CREATE2: DEV_CREATE with a logger between if and the data backend.
 * base.size is sizeof(struct mars_ioc_dev_create2); base.flags takes
 * MARS_DEV_CREATE2_F_*. Logfiles are <log_dir>/resource-<name>/log-<seq>-<host>;
 * the directory must exist. When ckpt_seq is non-zero and NO_REPLAY is not set,
 * the module first replays the logfiles ckpt_seq, ckpt_seq + 1, ... of this host
 * (from ckpt_off in the first) until the next one does not exist, and exposes the
 * device only after the replay finished and the data device was flushed. A fatal
 * log error fails the ioctl with -EUCLEAN and errmsg naming file, offset and
 * reason (the device is not created). New logfiles start at
 * max(next_log_seq, last replayed + 1) (+ 2 after an emergency end).
 */
/* Skip replay: acknowledged writes may be lost. */
#define MARS_DEV_CREATE2_F_NO_REPLAY	(1U << 0)
#define MARS_DEV_CREATE2_F_ALL		MARS_DEV_CREATE2_F_NO_REPLAY

#define MARS_HOST_MAX		64	/* host name field, NUL-padded; 1..63 characters */

struct mars_ioc_dev_create2 {
	struct mars_ioc_dev_create base;	/* as DEV_CREATE; base.size = sizeof(this) */
	__u32 res_id;			/* out: slot in the per-resource maps */
	__u32 role;			/* in: MARS_ROLE_PRIMARY (the only one so far) */
	__u64 log_dir;			/* in: user pointer to the log directory's path */
	__u32 log_dir_len;		/* in: bytes at log_dir, including the NUL */
	__u32 log_backend;		/* in: 0 or MARS_BACKEND_SIO (buffered writes, fdatasync) */
	char host[MARS_HOST_MAX];	/* in: this host's name, used in logfile names */
	__u8 res_uuid[16];		/* in: written into logfile headers; zero = unknown */
	__u64 ckpt_seq;			/* in: replay from logfile ckpt_seq ... */
	__u64 ckpt_off;			/* in: ... at this offset (0 = from its start) */
	__u64 next_log_seq;		/* in: first logfile number to write, at least 1 */
	__u64 next_rec_seq;		/* in: first record sequence number, at least 1 */
	__u64 lamport;			/* in: floor of the log's Lamport clock, ns */
	__u64 replay_records;		/* out: records replayed */
	__u64 replay_bytes;		/* out: bytes written to the data device by replay */
	__u64 replay_ns;		/* out: time the replay took */
	__u64 replay_end_seq;		/* out: where replay ended (file, offset) */
	__u64 replay_end_off;
	__u64 log_seq;			/* out: the logfile the module writes now */
	__u32 replay_outcome;		/* out: scan outcome of the last file (lib/mlog/mlog.h) */
	__u32 pad;			/* in: must be 0 */
	__u64 reserved2[4];		/* in: must be 0 */
};

/*
 * MARS_IOC_LOG_ROTATE: close the current logfile with an EOF record and continue
 * in the next one. -EINVAL: no logger; -EAGAIN: in emergency mode.
 */
struct mars_ioc_log_rotate {
	__u32 size;			/* in: sizeof(struct mars_ioc_log_rotate) */
	__u32 flags;			/* in: must be 0 */
	char name[MARS_NAME_MAX];	/* in */
	__u64 old_seq;			/* out: the file that was closed */
	__u64 old_end;			/* out: its size, EOF record included */
	__u64 new_seq;			/* out: the file written now */
	char errmsg[MARS_ERRMSG_MAX];	/* out */
	__u64 reserved[4];		/* in: must be 0 */
};

#define MARS_LOG_ROTATE_F_ALL	0U

/*
 * MARS_IOC_EMERGENCY: leave emergency mode (the log continues in file N + 2 after
 * a GAP record), or enter it (tests, or an operator who wants the log off).
 * -EINVAL: no logger or wrong state; -ENOSPC: leaving refused while the log
 * filesystem has less than 2 * emerg_free_mb free.
 */
#define MARS_EMERG_LEAVE	1
#define MARS_EMERG_ENTER	2

struct mars_ioc_emergency {
	__u32 size;			/* in: sizeof(struct mars_ioc_emergency) */
	__u32 flags;			/* in: must be 0 */
	char name[MARS_NAME_MAX];	/* in */
	__u32 action;			/* in: MARS_EMERG_* */
	__u32 pad;			/* in: must be 0 */
	__u64 log_seq;			/* out: the logfile written after leaving */
	char errmsg[MARS_ERRMSG_MAX];	/* out */
	__u64 reserved[4];		/* in: must be 0 */
};

#define MARS_EMERGENCY_F_ALL	0U

/*
 * BPF maps (docs/architecture.md, section 5).
 *
 * marsctl creates the maps from bpf/mars_maps.bpf.c (BTF-typed values, pinned by
 * name under MARS_BPF_PIN_ROOT, mode 0600) and hands each one to the module with
 * MARS_IOC_MAP_ATTACH. The module checks that the map matches its kind (type, key
 * size, value size, max_entries, map flags, map name, BTF kind and size of the
 * value) and publishes it under RCU. No map is needed for correct IO: without
 * maps the module uses built-in defaults and publishes nothing.
 */
#define MARS_MAP_ABI		2		/* layout version of the structs below;
						 * 2: mars_rstate grew (wb_lag_ns, replay
						 * progress)
						 */
#define MARS_RES_MAX		1024		/* resources at most; slots of per-resource maps */
#define MARS_MAP_KINDS		16		/* size of mars_ioc_map_info.map_id */
#define MARS_BPF_PIN_ROOT	"/sys/fs/bpf/mars"

/* Map kinds: index into mars_ioc_map_info.map_id. Names at most 15 characters. */
enum mars_map_kind {
	MARS_MAP_GTUN		= 1,	/* "mars_gtun" ARRAY [1] of mars_tun */
	MARS_MAP_RTUN		= 2,	/* "mars_rtun" ARRAY [RES_MAX] of mars_res_tun */
	MARS_MAP_GSTATE		= 3,	/* "mars_gstate" ARRAY [1] of mars_gstate */
	MARS_MAP_RSTATE		= 4,	/* "mars_rstate" ARRAY [RES_MAX] of mars_rstate */
	MARS_MAP_IO		= 5,	/* "mars_io" PERCPU_ARRAY [RES_MAX] of mars_io_ctr */
	MARS_MAP_LAT		= 6,	/* "mars_lat" HASH, BPF_F_NO_PREALLOC, [65536]
					 * mars_lat_key -> mars_lat_hist
					 */
	MARS_MAP_EVENTS		= 7,	/* "mars_events" (not implemented yet) */
	MARS_MAP_KIND_LAST	= MARS_MAP_LAT,	/* highest kind the module accepts */
};

#define MARS_LAT_MAX_ENTRIES	65536

/*
 * Tunables. One struct serves for the global values (mars_gtun), the per-resource
 * overrides (mars_rtun) and the effective values (eff in the state structs).
 * set_mask bit i says field i (in the order below, MARS_TUN_*) is set; an unset
 * field inherits. Resolution per field, first match wins: the mars_rtun slot of
 * the resource, if its bit is set and the slot's name equals the resource's; for
 * sio_threads the value of DEV_CREATE/DEV_SET if non-zero; mars_gtun if its bit is
 * set; the built-in default. An invalid value is clamped to the nearest valid one
 * (or ignored if it has none) and its bit set in clamped_mask of the state.
 * The module re-reads the maps every state_ms.
 */
struct mars_tun {
	__u64 set_mask;		/* bit i: field i is set */
	__u32 sio_threads;	/*  0 threads per sio brick           1..64 */
	__u32 aio_depth;	/*  1 requests in flight per aio      1..4096 */
	__u32 buf_max_mb;	/*  2 MiB of shadow buffers           16.. */
	__u32 wb_rate_kib;	/*  3 KiB/s writeback limit           1..; ~0 = unlimited */
	__u32 wb_depth;		/*  4 writeback writes in flight      1..1024 */
	__u32 wb_flush_mb;	/*  5 flush data dev every N MiB      1..4096 */
	__u32 log_rotate_mb;	/*  6 rotate at N MiB                 1..2^20; ~0 = on request */
	__u32 log_batch_kb;	/*  7 max KiB per log write           4..4096 */
	__u32 log_sync_kb;	/*  8 sync the log every N KiB        64..8192 */
	__u32 log_commit_us;	/*  9 wait for more records           0..10000 */
	__u32 emerg_free_mb;	/* 10 emergency below N MiB free      1.. */
	__u32 replay_depth;	/* 11 replay writes in flight         1..1024 */
	__u32 ack_mode;		/* 12 0 = early, 1 = logged           0..1 */
	__u32 state_ms;		/* 13 global only: publish period ms  10..1000 */
	__u32 lat_hist;		/* 14 global only: fill mars_lat      0..1 */
	__u32 reserved[17];	/* future tunables; zero, their set bits zero */
};

/*
 * Ranges, defaults and flags of the tunables, for the module and marsctl alike:
 * MARS_TUN_<FIELD>_{MIN,MAX,DEF,FL}. A default of 0 with MARS_TUNF_AUTO is
 * computed by the module (buf_max_mb: 20% of RAM). Field i of set_mask is
 * MARS_TUN_<FIELD>_BIT.
 */
#define MARS_TUNF_GLOBAL	(1U << 0)	/* global only; set per resource, ignored */
#define MARS_TUNF_MAX_OK	(1U << 1)	/* ~0 is valid too (unlimited, on request) */
#define MARS_TUNF_AUTO		(1U << 2)	/* default computed by the module */

#define MARS_TUN_SIO_THREADS_BIT		0
#define MARS_TUN_SIO_THREADS_MIN		1
#define MARS_TUN_SIO_THREADS_MAX		64
#define MARS_TUN_SIO_THREADS_DEF		4
#define MARS_TUN_SIO_THREADS_FL			0

#define MARS_TUN_AIO_DEPTH_BIT			1
#define MARS_TUN_AIO_DEPTH_MIN			1
#define MARS_TUN_AIO_DEPTH_MAX			4096
#define MARS_TUN_AIO_DEPTH_DEF			128
#define MARS_TUN_AIO_DEPTH_FL			0

#define MARS_TUN_BUF_MAX_MB_BIT			2
#define MARS_TUN_BUF_MAX_MB_MIN			16
#define MARS_TUN_BUF_MAX_MB_MAX			0xffffffffU
#define MARS_TUN_BUF_MAX_MB_DEF			0
#define MARS_TUN_BUF_MAX_MB_FL			MARS_TUNF_AUTO

#define MARS_TUN_WB_RATE_KIB_BIT		3
#define MARS_TUN_WB_RATE_KIB_MIN		1
#define MARS_TUN_WB_RATE_KIB_MAX		0xffffffffU
#define MARS_TUN_WB_RATE_KIB_DEF		0xffffffffU
#define MARS_TUN_WB_RATE_KIB_FL			MARS_TUNF_MAX_OK

#define MARS_TUN_WB_DEPTH_BIT			4
#define MARS_TUN_WB_DEPTH_MIN			1
#define MARS_TUN_WB_DEPTH_MAX			1024
#define MARS_TUN_WB_DEPTH_DEF			64
#define MARS_TUN_WB_DEPTH_FL			0

#define MARS_TUN_WB_FLUSH_MB_BIT		5
#define MARS_TUN_WB_FLUSH_MB_MIN		1
#define MARS_TUN_WB_FLUSH_MB_MAX		4096
#define MARS_TUN_WB_FLUSH_MB_DEF		64
#define MARS_TUN_WB_FLUSH_MB_FL			0

#define MARS_TUN_LOG_ROTATE_MB_BIT		6
#define MARS_TUN_LOG_ROTATE_MB_MIN		1
#define MARS_TUN_LOG_ROTATE_MB_MAX		1048576
#define MARS_TUN_LOG_ROTATE_MB_DEF		1024
#define MARS_TUN_LOG_ROTATE_MB_FL		MARS_TUNF_MAX_OK

#define MARS_TUN_LOG_BATCH_KB_BIT		7
#define MARS_TUN_LOG_BATCH_KB_MIN		4
#define MARS_TUN_LOG_BATCH_KB_MAX		4096
#define MARS_TUN_LOG_BATCH_KB_DEF		1024
#define MARS_TUN_LOG_BATCH_KB_FL		0

#define MARS_TUN_LOG_SYNC_KB_BIT		8
#define MARS_TUN_LOG_SYNC_KB_MIN		64
#define MARS_TUN_LOG_SYNC_KB_MAX		8192
#define MARS_TUN_LOG_SYNC_KB_DEF		4096
#define MARS_TUN_LOG_SYNC_KB_FL			0

#define MARS_TUN_LOG_COMMIT_US_BIT		9
#define MARS_TUN_LOG_COMMIT_US_MIN		0
#define MARS_TUN_LOG_COMMIT_US_MAX		10000
#define MARS_TUN_LOG_COMMIT_US_DEF		0
#define MARS_TUN_LOG_COMMIT_US_FL		0

#define MARS_TUN_EMERG_FREE_MB_BIT		10
#define MARS_TUN_EMERG_FREE_MB_MIN		1
#define MARS_TUN_EMERG_FREE_MB_MAX		0xffffffffU
#define MARS_TUN_EMERG_FREE_MB_DEF		16
#define MARS_TUN_EMERG_FREE_MB_FL		0

#define MARS_TUN_REPLAY_DEPTH_BIT		11
#define MARS_TUN_REPLAY_DEPTH_MIN		1
#define MARS_TUN_REPLAY_DEPTH_MAX		1024
#define MARS_TUN_REPLAY_DEPTH_DEF		64
#define MARS_TUN_REPLAY_DEPTH_FL		0

#define MARS_TUN_ACK_MODE_BIT			12
#define MARS_TUN_ACK_MODE_MIN			0
#define MARS_TUN_ACK_MODE_MAX			1
#define MARS_TUN_ACK_MODE_DEF			0
#define MARS_TUN_ACK_MODE_FL			0

#define MARS_TUN_STATE_MS_BIT			13
#define MARS_TUN_STATE_MS_MIN			10
#define MARS_TUN_STATE_MS_MAX			1000
#define MARS_TUN_STATE_MS_DEF			100
#define MARS_TUN_STATE_MS_FL			MARS_TUNF_GLOBAL

#define MARS_TUN_LAT_HIST_BIT			14
#define MARS_TUN_LAT_HIST_MIN			0
#define MARS_TUN_LAT_HIST_MAX			1
#define MARS_TUN_LAT_HIST_DEF			1
#define MARS_TUN_LAT_HIST_FL			MARS_TUNF_GLOBAL

#define MARS_TUN_NR		15
#define MARS_TUN_F_ALL		((1ULL << MARS_TUN_NR) - 1)	/* valid set_mask bits */

/* A mars_rtun slot: overrides for the resource called name (else ignored). */
struct mars_res_tun {
	char name[MARS_NAME_MAX];	/* the resource this slot is meant for */
	struct mars_tun tun;
};

/*
 * Consistency of the state values (mars_gstate, mars_rstate): the module writes
 * seq (odd), the fields, seq (even), with write barriers between. A reader copies
 * the value twice and accepts it when both copies are identical and seq is even;
 * otherwise it retries (docs/architecture.md, 5.4).
 */
struct mars_gstate {
	__u32 seq;		/* sequence counter, odd while being written */
	__u32 map_abi;		/* MARS_MAP_ABI */
	__u64 published_ns;	/* CLOCK_REALTIME of this snapshot */
	__u64 load_ns;		/* CLOCK_REALTIME of module load; changes on reload */
	__u64 maps_gen;		/* +1 on every successful MAP_ATTACH */
	__u32 nr_res;		/* resources, dying ones included */
	__u32 res_max;		/* MARS_RES_MAX */
	__u64 buf_bytes;	/* shadow buffer bytes in use, all resources */
	__u64 buf_limit;	/* effective global limit, bytes */
	__u64 stat_drops;	/* statistics updates dropped */
	__u64 event_head;	/* events pushed since load */
	__u64 clamped_mask;	/* global tunables that were invalid */
	struct mars_tun eff;	/* effective global values */
	char release[32];	/* module version */
};

/* Roles (mars_rstate.role). */
#define MARS_ROLE_PLAIN		0	/* no logger */
#define MARS_ROLE_PRIMARY	1
#define MARS_ROLE_SECONDARY	2

/* mars_rstate.flags. */
#define MARS_RS_F_EXPOSED		(1U << 0)	/* /dev/mars/<res> exists */
#define MARS_RS_F_LOGGER		(1U << 1)
#define MARS_RS_F_RECOVERY		(1U << 2)
#define MARS_RS_F_RECOVERY_FAILED	(1U << 3)
#define MARS_RS_F_REPLAYING		(1U << 4)	/* replaying its log; no device yet */
#define MARS_RS_F_EMERGENCY		(1U << 5)
#define MARS_RS_F_THROTTLED		(1U << 6)
#define MARS_RS_F_WB_PENDING		(1U << 7)
#define MARS_RS_F_LOG_ERROR		(1U << 8)
#define MARS_RS_F_DATA_ERROR		(1U << 9)	/* an IO error happened since create */
#define MARS_RS_F_DYING			(1U << 10)	/* being deleted */
#define MARS_RS_F_RDONLY		(1U << 11)	/* the backing is read-only */
#define MARS_RS_F_TUN_MISMATCH		(1U << 12)	/* mars_rtun slot names another resource */
#define MARS_RS_F_FORCED		(1U << 13)	/* deleted by force */

/* Brick slots (latency keys, last_error_where, tracepoints). */
#define MARS_SLOT_IF		0
#define MARS_SLOT_LOGGER	1
#define MARS_SLOT_DATA		2
#define MARS_SLOT_LOG		3
#define MARS_SLOTS		4

/* Operations (latency keys, tracepoints). */
#define MARS_OP_READ		0
#define MARS_OP_WRITE		1
#define MARS_OP_FLUSH		2
#define MARS_OP_DISCARD		3
#define MARS_OP_WRITE_ZEROES	4
#define MARS_OPS		5

/* Per-resource state (mars_rstate[res_id]); fields of the logger are 0 without it. */
struct mars_rstate {
	__u32 seq;		/* sequence counter, odd while being written */
	__u32 res_id;		/* slot */
	__u64 gen;		/* slot generation; 0 = slot unused */
	__u64 published_ns;	/* CLOCK_REALTIME of this snapshot */
	char name[MARS_NAME_MAX];	/* resource */
	__u32 role;		/* MARS_ROLE_* */
	__u32 flags;		/* MARS_RS_F_* */
	__u32 power;		/* per brick slot 4 bits: bit 0 on requested, bits 1-2 led */
	__u32 open_count;	/* openers of /dev/mars/<res> */
	__u64 size;		/* device size, bytes */
	__u64 log_seq;		/* logfile being written (primary) */
	__u64 log_appended;	/* bytes of that file written */
	__u64 log_durable;	/* bytes of that file durable */
	__u64 durable_rec_seq;	/* last durable record */
	__u64 durable_lamport;
	__u64 wb_seq;		/* writeback checkpoint */
	__u64 wb_off;
	__u64 wb_pending;	/* bytes buffered, not yet written back */
	__u64 replay_seq;	/* replay checkpoint */
	__u64 replay_off;
	__u64 replay_rec_seq;
	__u64 replay_lamport;
	__u64 replay_limit_seq;	/* current replay limit */
	__u64 replay_limit_off;
	__u64 replay_bytes;	/* payload bytes replayed since create */
	__u32 replay_stop;	/* why replay is not moving (architecture.md 5.3) */
	__s32 replay_err;	/* -errno or decoder outcome */
	__u64 replay_err_seq;
	__u64 replay_err_off;
	__u64 buf_bytes;	/* shadow buffers of this resource, bytes */
	__u64 buf_limit;	/* effective limit, bytes */
	__u64 inflight_reqs;	/* requests inside the if brick */
	__u64 inflight_bytes;
	__u64 log_fs_free;	/* bytes, at the last statfs */
	__u64 log_fs_size;
	__u32 last_error;	/* positive errno of the last IO error */
	__u32 last_error_where;	/* brick slot << 8 | op */
	__u64 last_error_ns;	/* CLOCK_REALTIME */
	__u64 error_count;	/* IO errors since create */
	__u64 emerg_since_ns;	/* 0 unless in emergency mode */
	__u64 clamped_mask;	/* per-resource tunables that were invalid */
	struct mars_tun eff;	/* effective values for this resource */
	/* Appended with map ABI 2 (docs/architecture.md 5.3). */
	__u64 wb_lag_ns;	/* age of the oldest write not yet on the data device; 0 = none */
	__u64 replay_total;	/* bytes the replay at create writes; known after its scan */
	__u64 replay_done;	/* bytes of them written so far (<= replay_total) */
	__u64 replay_start_ns;	/* CLOCK_REALTIME: replay (its scan) began; 0 = no replay */
	__u64 replay_apply_ns;	/* CLOCK_REALTIME: the scan ended, writing began; 0 = not yet */
	__u64 replay_end_ns;	/* CLOCK_REALTIME: replay ended; 0 = running or none */
	__u32 replay_phase;	/* MARS_REPLAY_* */
	__u32 pad2;
};

/* mars_rstate.replay_phase: where the replay at create is. */
#define MARS_REPLAY_NONE	0	/* no replay (plain, NO_REPLAY, or no checkpoint) */
#define MARS_REPLAY_SCAN	1	/* first pass: reading and checking every logfile */
#define MARS_REPLAY_APPLY	2	/* second pass: writing to the data device */
#define MARS_REPLAY_DONE	3	/* finished; the device exists */

/*
 * Why replay stops or waits: mars_rstate.replay_stop (architecture.md 5.3) and
 * the reason of tracepoint mars:replay_stop.
 */
#define MARS_REPLAY_STOP_RUNNING	0	/* not stopped */
#define MARS_REPLAY_STOP_END		1	/* the valid records of a logfile end here */
#define MARS_REPLAY_STOP_LIMIT		2	/* replay limit, or too many logfiles */
#define MARS_REPLAY_STOP_PAUSED		3	/* paused by the operator */
#define MARS_REPLAY_STOP_GAP		4	/* a logfile is missing */
#define MARS_REPLAY_STOP_SEQ_JUMP	5	/* rec_seq does not continue */
#define MARS_REPLAY_STOP_CORRUPT	6	/* a damaged header or record */
#define MARS_REPLAY_STOP_IO_ERROR	7	/* reading the log or writing the data failed */
#define MARS_REPLAY_STOP_FINISHED	8	/* the whole log is replayed */

/*
 * IO counters (mars_io[res_id], per CPU: sum over CPUs to read). Requests are
 * counted at if submit, errors at if completion; since the resource's creation.
 */
struct mars_io_ctr {
	__u64 reads, writes, flushes, fua_writes, discards, write_zeroes;
	__u64 read_bytes, write_bytes, discard_bytes, zero_bytes;
	__u64 read_errors, write_errors, flush_errors, other_errors;
	__u64 throttled;	/* writes that waited for buffer memory */
	__u64 reserved;
};

/* Latency histograms (mars_lat): per resource, brick slot and operation. */
struct mars_lat_key {
	__u32 res_id;
	__u16 slot;		/* MARS_SLOT_* */
	__u16 op;		/* MARS_OP_* */
};

#define MARS_LAT_BUCKETS	40

struct mars_lat_hist {
	__u64 count;		/* completed requests */
	__u64 sum_ns;		/* sum of their latencies */
	__u64 bucket[MARS_LAT_BUCKETS];	/* i counts [2^i, 2^(i+1)) ns; 0 is [0, 2) */
};

/*
 * MARS_IOC_MAP_ATTACH: hand the map open at fd to the module as map kind (or, with
 * fd -1, drop the module's reference to the map of that kind). The module takes
 * its own reference; the caller may close fd afterwards. A map replaced by a new
 * one is released once no IO path uses it any more.
 *
 * Errors: -EBADF fd is not open; -EINVAL unknown kind, fd is not a BPF map, or the
 * map does not match the kind's definition (errmsg says what differs).
 */
struct mars_ioc_map_attach {
	__u32 size;			/* in: sizeof(struct mars_ioc_map_attach) */
	__u32 flags;			/* in: must be 0 */
	__u32 kind;			/* in: enum mars_map_kind */
	__s32 fd;			/* in: BPF map fd, or -1 to detach */
	__u32 map_id;			/* out: id of the attached map, 0 after detach */
	__u32 pad;			/* in: must be 0 */
	char errmsg[MARS_ERRMSG_MAX];	/* out */
	__u64 reserved[4];		/* in: must be 0 */
};

#define MARS_MAP_ATTACH_F_ALL	0U

/* MARS_IOC_MAP_INFO: which map the module holds per kind. */
struct mars_ioc_map_info {
	__u32 size;			/* in: sizeof(struct mars_ioc_map_info) */
	__u32 flags;			/* in: must be 0 */
	__u32 map_abi;			/* out: MARS_MAP_ABI */
	__u32 res_max;			/* out: MARS_RES_MAX */
	__u32 map_id[MARS_MAP_KINDS];	/* out: index = kind; 0 = none attached */
	char errmsg[MARS_ERRMSG_MAX];	/* out */
	__u64 reserved[4];		/* in: must be 0 */
};

#define MARS_MAP_INFO_F_ALL	0U

#define MARS_IOC_MAP_ATTACH	_IOWR(MARS_IOC_MAGIC, 0x01, struct mars_ioc_map_attach)
#define MARS_IOC_MAP_INFO	_IOWR(MARS_IOC_MAGIC, 0x02, struct mars_ioc_map_info)

/*
 * MARS_IOC_DEV_STATE: the state of one resource, filled as for mars_rstate, also
 * when no map is attached, and also while the resource is still replaying (then
 * flags has MARS_RS_F_REPLAYING and the replay_* fields show the progress). In:
 * size, name; out: the rest (errmsg on failure). Sizes: 704 (v2, this struct);
 * 648 (v1, before mars_rstate grew with map ABI 2) gets the v1 prefix.
 */
struct mars_ioc_dev_state {
	__u32 size;			/* in: sizeof(struct mars_ioc_dev_state) */
	__u32 flags;			/* in: must be 0 */
	char name[MARS_NAME_MAX];	/* in */
	char errmsg[MARS_ERRMSG_MAX];	/* out */
	__u64 reserved[4];		/* in: must be 0 */
	struct mars_rstate state;	/* out */
};

#define MARS_DEV_STATE_F_ALL	0U

#define MARS_IOC_DEV_CREATE2	_IOWR(MARS_IOC_MAGIC, 0x10, struct mars_ioc_dev_create2)
#define MARS_IOC_DEV_STATE	_IOWR(MARS_IOC_MAGIC, 0x16, struct mars_ioc_dev_state)
#define MARS_IOC_LOG_ROTATE	_IOWR(MARS_IOC_MAGIC, 0x20, struct mars_ioc_log_rotate)
#define MARS_IOC_EMERGENCY	_IOWR(MARS_IOC_MAGIC, 0x24, struct mars_ioc_emergency)

#endif /* _UAPI_LINUX_MARS_H */
