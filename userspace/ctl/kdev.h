/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Thin wrappers around the device ioctls of /dev/mars-ctl (MARS_IOC_DEV_*), shared
 * by every marsctl command that creates, deletes, lists or changes devices
 * (`dev`, `apply`, `reconcile`, `status`, `up`, `down`).
 *
 * Each wrapper takes an fd from ctl_open(), returns 0 or -errno and never prints:
 * on failure @msg (if not NULL, at least MARS_ERRMSG_MAX bytes) holds the module's
 * one-line explanation or strerror().
 */
#ifndef MARSCTL_KDEV_H
#define MARSCTL_KDEV_H

#include <stddef.h>
#include <stdint.h>

#include <linux/mars.h>

struct kdev_create_args {
	const char *name;		/* resource name */
	const char *data_path;		/* backing device or file */
	uint32_t backend;		/* enum mars_backend */
	uint64_t size;			/* bytes, 0 = size of the backing */
	uint32_t sio_threads;		/* 0 = module default */
	uint32_t queue_depth;		/* 0 = module default */
	/* With log_dir: the resource gets a transaction logger (DEV_CREATE2). */
	const char *log_dir;		/* parent of resource-<name>/ */
	const char *host;		/* this host's name, in logfile names */
	uint64_t ckpt_seq, ckpt_off;	/* replay from here; ckpt_seq 0: no replay */
	uint64_t next_log_seq;		/* first logfile number to write */
	int no_replay;			/* skip replay (acknowledged writes may be lost) */
	/* out (logger only) */
	uint64_t replay_records, replay_bytes, replay_ns, replay_end_seq, replay_end_off;
	uint64_t log_seq;
};

/* @a is not const: the logger's replay results are written back into it. */
int kdev_create(int fd, struct kdev_create_args *a, char *msg);
/* The state of one resource (as mars_rstate publishes it). */
int kdev_state(int fd, const char *name, struct mars_rstate *st, char *msg);
int kdev_log_rotate(int fd, const char *name, uint64_t *old_seq, uint64_t *old_end,
		    uint64_t *new_seq, char *msg);
int kdev_emergency(int fd, const char *name, uint32_t action, uint64_t *log_seq, char *msg);
int kdev_delete(int fd, const char *name, int force, char *msg);
int kdev_set_sio_threads(int fd, const char *name, uint32_t threads, char *msg);

/* All devices, sorted by name: *devs is malloc'ed (free() it), *n its length. */
int kdev_list(int fd, struct mars_dev_info **devs, size_t *n);

/* The device named @name in @devs (sorted, as kdev_list returns it), or NULL. */
const struct mars_dev_info *kdev_find(const struct mars_dev_info *devs, size_t n,
				      const char *name);

/* "sio", "aio", "bio" <-> enum mars_backend; 0 / NULL when unknown. */
uint32_t kdev_backend_parse(const char *s);
const char *kdev_backend_name(uint32_t backend);

#endif /* MARSCTL_KDEV_H */
