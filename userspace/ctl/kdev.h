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
};

int kdev_create(int fd, const struct kdev_create_args *a, char *msg);
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
