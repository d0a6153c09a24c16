// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl version [--json]: the tool's ABI and, when mars.ko is loaded, the module's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/mars.h>

#include "marsctl.h"

/* Query the module. Returns 0, or -errno with the message printed. */
static int query_version(int fd, struct mars_ioc_version *v)
{
	memset(v, 0, sizeof(*v));
	v->size = sizeof(*v);
	if (ioctl(fd, MARS_IOC_VERSION, v) < 0) {
		int err = errno;

		err_msg("MARS_IOC_VERSION on %s: %s", g_opts.ctl_path, strerror(err));
		return -err;
	}
	return 0;
}

int ctl_open(void)
{
	struct mars_ioc_version v;
	int fd = open(g_opts.ctl_path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		err_msg("cannot open %s: %s%s", g_opts.ctl_path, strerror(errno),
			errno == ENOENT ? " (is mars.ko loaded?)" : "");
		return -1;
	}
	if (query_version(fd, &v)) {
		close(fd);
		return -1;
	}
	if (v.abi_major != MARS_ABI_MAJOR) {
		err_msg("mars.ko speaks ABI %u.%u, this marsctl needs %u.x",
			v.abi_major, v.abi_minor, MARS_ABI_MAJOR);
		close(fd);
		return -1;
	}
	return fd;
}

int do_version(int argc, char **argv)
{
	struct mars_ioc_version v;
	bool have_module = false;
	int fd;

	if (argc > 1) {
		err_msg("usage: marsctl version");
		return 2;
	}
	(void)argv;
	fd = open(g_opts.ctl_path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		int err = query_version(fd, &v);

		close(fd);
		if (err)
			return 1;
		have_module = true;
	} else if (errno != ENOENT) {
		err_msg("cannot open %s: %s", g_opts.ctl_path, strerror(errno));
		return 1;
	}

	if (g_opts.json) {
		struct json_object *o = json_object_new_object();
		struct json_object *m = NULL;

		json_object_object_add(o, "abi_major", json_object_new_int(MARS_ABI_MAJOR));
		json_object_object_add(o, "abi_minor", json_object_new_int(MARS_ABI_MINOR));
		if (have_module) {
			m = json_object_new_object();
			json_object_object_add(m, "release",
					       json_object_new_string(v.release));
			json_object_object_add(m, "abi_major",
					       json_object_new_int64(v.abi_major));
			json_object_object_add(m, "abi_minor",
					       json_object_new_int64(v.abi_minor));
			json_object_object_add(m, "features",
					       json_object_new_uint64(v.features));
		}
		json_object_object_add(o, "module", m);
		json_print(o);
	} else {
		printf("marsctl: ABI %d.%d\n", MARS_ABI_MAJOR, MARS_ABI_MINOR);
		if (have_module)
			printf("mars.ko: %s, ABI %u.%u, features 0x%llx\n", v.release,
			       v.abi_major, v.abi_minor, (unsigned long long)v.features);
		else
			printf("mars.ko: not loaded\n");
	}
	return 0;
}
