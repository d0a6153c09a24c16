// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl wrappers for MARS_IOC_DEV_CREATE/DELETE/LIST/SET; see kdev.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kdev.h"

static void set_msg(char *msg, const char *kmsg, int err)
{
	if (!msg)
		return;
	if (kmsg && kmsg[0])
		snprintf(msg, MARS_ERRMSG_MAX, "%.*s", MARS_ERRMSG_MAX - 1, kmsg);
	else
		snprintf(msg, MARS_ERRMSG_MAX, "%s", strerror(err));
}

/*
 * One ioctl whose struct carries an errmsg (the module copies it back on failure
 * too): 0, or -errno with @msg set from @errmsg or strerror().
 */
static int ctl_ioctl(int fd, unsigned long cmd, void *arg, char *errmsg, char *msg)
{
	int err;

	if (ioctl(fd, cmd, arg) >= 0)
		return 0;
	err = errno;
	errmsg[MARS_ERRMSG_MAX - 1] = 0;
	set_msg(msg, errmsg, err);
	return -err;
}

static int copy_name(char *dst, const char *name, char *msg)
{
	size_t len = strlen(name);

	if (len == 0 || len > MARS_NAME_LEN) {
		set_msg(msg, "resource name must be 1..26 bytes", EINVAL);
		return -EINVAL;
	}
	memcpy(dst, name, len);
	return 0;
}

int kdev_create(int fd, struct kdev_create_args *a, char *msg)
{
	struct mars_ioc_dev_create2 c2;
	struct mars_ioc_dev_create *c = &c2.base;
	char *abs = NULL;
	const char *path = a->data_path;
	int err;

	memset(&c2, 0, sizeof(c2));
	c->size = a->log_dir ? sizeof(c2) : sizeof(*c);
	err = copy_name(c->name, a->name, msg);
	if (err)
		return err;
	/* The module takes absolute paths only (it shows them back in dev list). */
	if (path[0] != '/') {
		abs = realpath(path, NULL);
		if (!abs) {
			err = errno;
			set_msg(msg, "cannot resolve the data path", err);
			return -err;
		}
		path = abs;
	}
	c->data_path = (uintptr_t)path;
	c->data_path_len = strlen(path) + 1;
	c->backend = a->backend;
	c->dev_size = a->size;
	c->sio_threads = a->sio_threads;
	c->queue_depth = a->queue_depth;
	if (a->log_dir) {
		if (!a->host || !a->host[0] || strlen(a->host) >= MARS_HOST_MAX) {
			free(abs);
			set_msg(msg, "host name must be 1..63 bytes", EINVAL);
			return -EINVAL;
		}
		c->flags = a->no_replay ? MARS_DEV_CREATE2_F_NO_REPLAY : 0;
		c2.role = MARS_ROLE_PRIMARY;
		c2.log_dir = (uintptr_t)a->log_dir;
		c2.log_dir_len = strlen(a->log_dir) + 1;
		memcpy(c2.host, a->host, strlen(a->host));
		c2.ckpt_seq = a->ckpt_seq;
		c2.ckpt_off = a->ckpt_off;
		c2.next_log_seq = a->next_log_seq;
	}
	err = ctl_ioctl(fd, a->log_dir ? MARS_IOC_DEV_CREATE2 : MARS_IOC_DEV_CREATE, &c2,
			c->errmsg, msg);
	free(abs);
	if (err)
		return err;
	a->replay_records = c2.replay_records;
	a->replay_bytes = c2.replay_bytes;
	a->replay_ns = c2.replay_ns;
	a->replay_end_seq = c2.replay_end_seq;
	a->replay_end_off = c2.replay_end_off;
	a->log_seq = c2.log_seq;
	return 0;
}

int kdev_state(int fd, const char *name, struct mars_rstate *st, char *msg)
{
	struct mars_ioc_dev_state s;
	int err;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	err = copy_name(s.name, name, msg);
	if (err)
		return err;
	err = ctl_ioctl(fd, MARS_IOC_DEV_STATE, &s, s.errmsg, msg);
	if (err)
		return err;
	*st = s.state;
	return 0;
}

int kdev_log_rotate(int fd, const char *name, uint64_t *old_seq, uint64_t *old_end,
		    uint64_t *new_seq, char *msg)
{
	struct mars_ioc_log_rotate r;
	int err;

	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	err = copy_name(r.name, name, msg);
	if (err)
		return err;
	err = ctl_ioctl(fd, MARS_IOC_LOG_ROTATE, &r, r.errmsg, msg);
	if (err)
		return err;
	*old_seq = r.old_seq;
	*old_end = r.old_end;
	*new_seq = r.new_seq;
	return 0;
}

int kdev_emergency(int fd, const char *name, uint32_t action, uint64_t *log_seq, char *msg)
{
	struct mars_ioc_emergency e;
	int err;

	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.action = action;
	err = copy_name(e.name, name, msg);
	if (err)
		return err;
	err = ctl_ioctl(fd, MARS_IOC_EMERGENCY, &e, e.errmsg, msg);
	if (err)
		return err;
	*log_seq = e.log_seq;
	return 0;
}

int kdev_delete(int fd, const char *name, int force, char *msg)
{
	struct mars_ioc_dev_delete d;
	int err;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.flags = force ? MARS_DEV_DELETE_F_FORCE : 0;
	err = copy_name(d.name, name, msg);
	if (err)
		return err;
	err = ctl_ioctl(fd, MARS_IOC_DEV_DELETE, &d, d.errmsg, msg);
	if (err)
		return err;
	return 0;
}

int kdev_set_sio_threads(int fd, const char *name, uint32_t threads, char *msg)
{
	struct mars_ioc_dev_set s;
	int err;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	err = copy_name(s.name, name, msg);
	if (err)
		return err;
	s.sio_threads = threads;
	err = ctl_ioctl(fd, MARS_IOC_DEV_SET, &s, s.errmsg, msg);
	if (err)
		return err;
	return 0;
}

int kdev_list(int fd, struct mars_dev_info **devs, size_t *n)
{
	struct mars_ioc_dev_list l;
	struct mars_dev_info *v = NULL;
	uint32_t cap = 16;

	*devs = NULL;
	*n = 0;
	for (;;) {
		struct mars_dev_info *nv = realloc(v, (size_t)cap * sizeof(*v));

		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		memset(v, 0, (size_t)cap * sizeof(*v));
		memset(&l, 0, sizeof(l));
		l.size = sizeof(l);
		l.devs = (uintptr_t)v;
		l.capacity = cap;
		if (ioctl(fd, MARS_IOC_DEV_LIST, &l) < 0) {
			int err = errno;

			free(v);
			return -err;
		}
		if (l.count <= cap)
			break;
		cap = l.count + 16;	/* devices may appear between the calls */
	}
	for (uint32_t i = 0; i < l.count; i++) {
		v[i].name[MARS_NAME_MAX - 1] = 0;
		v[i].data_path[sizeof(v[i].data_path) - 1] = 0;
	}
	*devs = v;
	*n = l.count;
	return 0;
}

const struct mars_dev_info *kdev_find(const struct mars_dev_info *devs, size_t n,
				      const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(devs[i].name, name))
			return &devs[i];
	return NULL;
}

uint32_t kdev_backend_parse(const char *s)
{
	if (!strcmp(s, "sio"))
		return MARS_BACKEND_SIO;
	if (!strcmp(s, "aio"))
		return MARS_BACKEND_AIO;
	if (!strcmp(s, "bio"))
		return MARS_BACKEND_BIO;
	return 0;
}

const char *kdev_backend_name(uint32_t backend)
{
	switch (backend) {
	case MARS_BACKEND_SIO:
		return "sio";
	case MARS_BACKEND_AIO:
		return "aio";
	case MARS_BACKEND_BIO:
		return "bio";
	default:
		return NULL;
	}
}
