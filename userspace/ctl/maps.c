// SPDX-License-Identifier: GPL-2.0
/*
 * The pinned BPF maps (docs/architecture.md, 5.1) and `marsctl maps`.
 *
 * mars_maps_ensure() is the one function every command that needs the maps calls:
 * it mounts bpffs if needed, creates MARS_BPF_PIN_ROOT (0700), loads the embedded
 * mars_maps skeleton with that pin root (libbpf reuses compatible pins and creates
 * and pins missing maps), sets the pins to 0600, and, when mars.ko is loaded,
 * hands every map whose id the module does not hold yet to it (MAP_INFO, then
 * MAP_ATTACH per kind). So a module reload or a deleted pin is repaired by the
 * next command.
 *
 *   marsctl maps [show]     pinned map ids and the ids the module holds
 *   marsctl maps attach     create or reuse the pins and hand them over
 *   marsctl maps reset      remove the pins (the module keeps its maps until the
 *                           next attach); for an incompatible layout after upgrade
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/mars.h>

#include "marsctl.h"
#include "mars_maps.skel.h"

#define BPF_FS_MAGIC_NR	0xcafe4a11

static const char *const kind_names[MARS_MAP_KINDS] = {
	[MARS_MAP_GTUN] = "mars_gtun",
	[MARS_MAP_RTUN] = "mars_rtun",
	[MARS_MAP_GSTATE] = "mars_gstate",
	[MARS_MAP_RSTATE] = "mars_rstate",
	[MARS_MAP_IO] = "mars_io",
	[MARS_MAP_LAT] = "mars_lat",
};

__attribute__((format(printf, 2, 0)))
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !g_opts.verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void mars_libbpf_setup(void)
{
	libbpf_set_print(g_opts.verbose ? libbpf_print : NULL);
}

static int bpffs_ready(void)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) == 0 && (unsigned long)st.f_type == BPF_FS_MAGIC_NR)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		err_msg("cannot mount bpffs at /sys/fs/bpf: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static struct bpf_map *skel_map(struct mars_maps_bpf *skel, int kind)
{
	switch (kind) {
	case MARS_MAP_GTUN:
		return skel->maps.mars_gtun;
	case MARS_MAP_RTUN:
		return skel->maps.mars_rtun;
	case MARS_MAP_GSTATE:
		return skel->maps.mars_gstate;
	case MARS_MAP_RSTATE:
		return skel->maps.mars_rstate;
	case MARS_MAP_IO:
		return skel->maps.mars_io;
	case MARS_MAP_LAT:
		return skel->maps.mars_lat;
	default:
		return NULL;
	}
}

static __u32 fd_map_id(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

/* MAP_INFO; returns 0, or -1 with errno. */
static int module_map_info(int ctl, struct mars_ioc_map_info *mi)
{
	memset(mi, 0, sizeof(*mi));
	mi->size = sizeof(*mi);
	return ioctl(ctl, MARS_IOC_MAP_INFO, mi);
}

/* Hand the pinned maps the module does not hold to it. */
static int hand_over(struct mars_maps *m, int ctl)
{
	struct mars_ioc_map_info mi;
	struct mars_ioc_map_attach a;

	if (module_map_info(ctl, &mi)) {
		err_msg("MARS_IOC_MAP_INFO: %s", strerror(errno));
		return -1;
	}
	for (int kind = MARS_MAP_GTUN; kind <= MARS_MAP_KIND_LAST; kind++) {
		if (m->fd[kind] < 0 || mi.map_id[kind] == fd_map_id(m->fd[kind]))
			continue;
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.kind = kind;
		a.fd = m->fd[kind];
		if (ioctl(ctl, MARS_IOC_MAP_ATTACH, &a)) {
			err_msg("cannot hand %s to mars.ko: %s%s%s", kind_names[kind],
				strerror(errno), a.errmsg[0] ? ": " : "", a.errmsg);
			return -1;
		}
		if (g_opts.verbose)
			fprintf(stderr, "marsctl: handed %s (map id %u) to mars.ko\n",
				kind_names[kind], a.map_id);
	}
	return 0;
}

int mars_maps_ensure(struct mars_maps *m)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = MARS_BPF_PIN_ROOT);
	char path[128];
	int ctl, err;

	memset(m, 0, sizeof(*m));
	for (int i = 0; i < MARS_MAP_KINDS; i++)
		m->fd[i] = -1;
	mars_libbpf_setup();
	if (bpffs_ready())
		return -1;
	if (mkdir(MARS_BPF_PIN_ROOT, 0700) && errno != EEXIST) {
		err_msg("cannot create %s: %s", MARS_BPF_PIN_ROOT, strerror(errno));
		return -1;
	}
	m->skel = mars_maps_bpf__open_opts(&opts);
	if (!m->skel) {
		err_msg("cannot open the embedded map definitions: %s", strerror(errno));
		return -1;
	}
	err = mars_maps_bpf__load(m->skel);
	if (err) {
		err_msg("cannot create or reuse the maps in %s: %s (a pinned map of another layout? 'marsctl maps reset' removes the pins)",
			MARS_BPF_PIN_ROOT, strerror(-err));
		goto err_destroy;
	}
	for (int kind = MARS_MAP_GTUN; kind <= MARS_MAP_KIND_LAST; kind++) {
		m->fd[kind] = bpf_map__fd(skel_map(m->skel, kind));
		snprintf(path, sizeof(path), "%s/%s", MARS_BPF_PIN_ROOT, kind_names[kind]);
		if (chmod(path, 0600)) {
			err_msg("cannot set mode 0600 on %s: %s", path, strerror(errno));
			goto err_destroy;
		}
	}

	ctl = open(g_opts.ctl_path, O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		if (errno == ENOENT)
			return 0;	/* no module: the maps wait for it */
		err_msg("cannot open %s: %s", g_opts.ctl_path, strerror(errno));
		goto err_destroy;
	}
	err = hand_over(m, ctl);
	close(ctl);
	if (err)
		goto err_destroy;
	return 0;

err_destroy:
	mars_maps_close(m);
	return -1;
}

void mars_maps_close(struct mars_maps *m)
{
	mars_maps_bpf__destroy(m->skel);
	m->skel = NULL;
	for (int i = 0; i < MARS_MAP_KINDS; i++)
		m->fd[i] = -1;
}

int mars_state_read(int fd, __u32 key, void *buf, size_t size)
{
	char second[1024];

	if (size > sizeof(second))
		return -EINVAL;
	/* architecture.md 5.4: two identical copies with an even seq. */
	for (int i = 0; i < 100; i++) {
		if (bpf_map_lookup_elem(fd, &key, buf) ||
		    bpf_map_lookup_elem(fd, &key, second))
			return -errno;
		if (!(*(__u32 *)buf & 1) && !memcmp(buf, second, size))
			return 0;
		usleep(100);
	}
	return -EBUSY;
}

int mars_res_lookup(const struct mars_maps *m, const char *name, __u32 *res_id,
		    struct mars_rstate *rs)
{
	for (__u32 id = 0; id < MARS_RES_MAX; id++) {
		if (mars_state_read(m->fd[MARS_MAP_RSTATE], id, rs, sizeof(*rs)))
			continue;
		if (rs->gen && !strncmp(rs->name, name, MARS_NAME_MAX)) {
			*res_id = id;
			return 0;
		}
	}
	return -ENOENT;
}

static int maps_show(int argc, char **argv)
{
	struct mars_ioc_map_info mi;
	struct json_object *arr = NULL;
	bool have_module = false;
	char path[128];
	int ctl;

	(void)argc;
	(void)argv;
	ctl = open(g_opts.ctl_path, O_RDWR | O_CLOEXEC);
	if (ctl >= 0) {
		have_module = !module_map_info(ctl, &mi);
		close(ctl);
	}
	if (g_opts.json)
		arr = json_object_new_array();
	else
		printf("%-12s %8s %8s\n", "map", "pinned", "module");
	for (int kind = MARS_MAP_GTUN; kind <= MARS_MAP_KIND_LAST; kind++) {
		__u32 pinned = 0, held = have_module ? mi.map_id[kind] : 0;
		int fd;

		snprintf(path, sizeof(path), "%s/%s", MARS_BPF_PIN_ROOT, kind_names[kind]);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			pinned = fd_map_id(fd);
			close(fd);
		}
		if (arr) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "map", json_object_new_string(kind_names[kind]));
			json_object_object_add(o, "kind", json_object_new_int(kind));
			json_object_object_add(o, "pinned_id", json_object_new_int64(pinned));
			json_object_object_add(o, "module_id", json_object_new_int64(held));
			json_object_array_add(arr, o);
		} else {
			printf("%-12s %8u %8u\n", kind_names[kind], pinned, held);
		}
	}
	if (arr)
		json_print(arr);
	return 0;
}

static int maps_attach(int argc, char **argv)
{
	struct mars_maps m;

	(void)argc;
	(void)argv;
	if (mars_maps_ensure(&m))
		return 1;
	mars_maps_close(&m);
	return 0;
}

static int maps_reset(int argc, char **argv)
{
	char path[128];
	int ret = 0;

	(void)argc;
	(void)argv;
	for (int kind = MARS_MAP_GTUN; kind <= MARS_MAP_KIND_LAST; kind++) {
		snprintf(path, sizeof(path), "%s/%s", MARS_BPF_PIN_ROOT, kind_names[kind]);
		if (unlink(path) && errno != ENOENT) {
			err_msg("cannot remove %s: %s", path, strerror(errno));
			ret = 1;
		}
	}
	return ret;
}

static const struct cmd maps_cmds[] = {
	{ "show", maps_show, "maps [show] [--json]" },
	{ "attach", maps_attach, "maps attach" },
	{ "reset", maps_reset, "maps reset" },
	{ NULL, NULL, NULL },
};

int do_maps(int argc, char **argv)
{
	if (argc < 2)
		return maps_show(argc, argv);
	return cmd_dispatch(maps_cmds, "maps command", argc - 1, argv + 1);
}
