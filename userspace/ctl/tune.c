// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl tune [<res>] [key=value ...]: live tunables (docs/architecture.md, 5.3).
 *
 * Without <res> the global values (mars_gtun), with it the resource's overrides
 * (its mars_rtun slot, claimed for the resource by writing its name). value is a
 * number in the key's range, "unlimited" for keys where ~0 means that, or
 * "default" to clear the key (it inherits again). Everything is validated before
 * anything is written. The module applies the values within state_ms.
 * Without key=value, the effective values are printed (from mars_gstate or the
 * resource's mars_rstate).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/mars.h>

#include "marsctl.h"
#include "model.h"

#define TUN(f, F) { #f, offsetof(struct mars_tun, f), MARS_TUN_##F##_BIT, \
	MARS_TUN_##F##_MIN, MARS_TUN_##F##_MAX, MARS_TUN_##F##_FL }

const struct tun_def tun_defs[] = {
	TUN(sio_threads, SIO_THREADS),
	TUN(aio_depth, AIO_DEPTH),
	TUN(buf_max_mb, BUF_MAX_MB),
	TUN(wb_rate_kib, WB_RATE_KIB),
	TUN(wb_depth, WB_DEPTH),
	TUN(wb_flush_mb, WB_FLUSH_MB),
	TUN(log_rotate_mb, LOG_ROTATE_MB),
	TUN(log_batch_kb, LOG_BATCH_KB),
	TUN(log_sync_kb, LOG_SYNC_KB),
	TUN(log_commit_us, LOG_COMMIT_US),
	TUN(emerg_free_mb, EMERG_FREE_MB),
	TUN(replay_depth, REPLAY_DEPTH),
	TUN(ack_mode, ACK_MODE),
	TUN(state_ms, STATE_MS),
	TUN(lat_hist, LAT_HIST),
	{ NULL, 0, 0, 0, 0, 0 },
};

__u32 tun_get(const struct mars_tun *t, const struct tun_def *d)
{
	return *(const __u32 *)((const char *)t + d->off);
}

static void tun_set(struct mars_tun *t, const struct tun_def *d, __u32 v)
{
	*(__u32 *)((char *)t + d->off) = v;
}

static const struct tun_def *tun_find(const char *key, size_t len)
{
	for (const struct tun_def *d = tun_defs; d->name; d++)
		if (strlen(d->name) == len && !strncmp(d->name, key, len))
			return d;
	return NULL;
}

/* Parse and apply "key=value" to @t. Returns 0, or 2 after a usage message. */
static int tun_parse(struct mars_tun *t, const char *arg, bool per_res)
{
	const char *eq = strchr(arg, '=');
	const struct tun_def *d;
	unsigned long long v;
	char *end;

	if (!eq) {
		err_msg("'%s' is not key=value", arg);
		return 2;
	}
	d = tun_find(arg, eq - arg);
	if (!d) {
		err_msg("unknown tunable '%.*s'", (int)(eq - arg), arg);
		return 2;
	}
	if (per_res && (d->flags & MARS_TUNF_GLOBAL)) {
		err_msg("%s is global only", d->name);
		return 2;
	}
	if (!strcmp(eq + 1, "default")) {
		t->set_mask &= ~(1ULL << d->bit);
		tun_set(t, d, 0);
		return 0;
	}
	if (!strcmp(eq + 1, "unlimited") && (d->flags & MARS_TUNF_MAX_OK)) {
		v = 0xffffffffULL;
	} else {
		errno = 0;
		v = strtoull(eq + 1, &end, 0);
		if (errno || end == eq + 1 || *end || eq[1] == '-' || v < d->min ||
		    v > d->max) {
			err_msg("%s: '%s' is not in %u..%u%s", d->name, eq + 1, d->min, d->max,
				d->flags & MARS_TUNF_MAX_OK ? " or 'unlimited'" : "");
			return 2;
		}
	}
	tun_set(t, d, (__u32)v);
	t->set_mask |= 1ULL << d->bit;
	return 0;
}

/* Append ", name old -> new" (or "name reset") to @what for each field that differs. */
static void tun_describe(const struct mars_tun *old, const struct mars_tun *want,
			 char *what, size_t size)
{
	size_t len;

	for (const struct tun_def *d = tun_defs; d->name && what; d++) {
		__u64 bit = 1ULL << d->bit;
		bool was = old->set_mask & bit, is = want->set_mask & bit;

		if (!was && !is)
			continue;
		if (was && is && tun_get(old, d) == tun_get(want, d))
			continue;
		len = strlen(what);
		if (!is)
			snprintf(what + len, size - len, "%s%s reset to default", len ? ", " : "",
				 d->name);
		else if (!was)
			snprintf(what + len, size - len, "%s%s=%u", len ? ", " : "", d->name,
				 tun_get(want, d));
		else
			snprintf(what + len, size - len, "%s%s %u -> %u", len ? ", " : "", d->name,
				 tun_get(old, d), tun_get(want, d));
	}
}

int tun_write(const struct mars_maps *m, const char *res, __u32 res_id,
	      const struct mars_tun *want, char *what, size_t what_size)
{
	int fd = m->fd[res ? MARS_MAP_RTUN : MARS_MAP_GTUN];
	struct mars_res_tun cur, next;
	__u32 key = res ? res_id : 0;
	void *old = res ? (void *)&cur : (void *)&cur.tun;
	void *val = res ? (void *)&next : (void *)&next.tun;
	size_t size = res ? sizeof(cur) : sizeof(cur.tun);

	if (what && what_size)
		what[0] = 0;
	memset(&cur, 0, sizeof(cur));
	memset(&next, 0, sizeof(next));
	if (bpf_map_lookup_elem(fd, &key, old)) {
		err_msg("cannot read %s: %s", res ? "mars_rtun" : "mars_gtun", strerror(errno));
		return -1;
	}
	if (res)
		strncpy(next.name, res, MARS_NAME_MAX - 1);
	next.tun = *want;
	if (!memcmp(old, val, size))
		return 0;
	if (res && strncmp(cur.name, next.name, MARS_NAME_MAX)) {
		/* A slot left by another resource: none of its overrides are ours. */
		memset(&cur.tun, 0, sizeof(cur.tun));
		if (what && what_size)
			snprintf(what, what_size, "claim slot %u", res_id);
	}
	tun_describe(&cur.tun, want, what, what_size);
	if (bpf_map_update_elem(fd, &key, val, BPF_ANY)) {
		err_msg("cannot write %s: %s", res ? "mars_rtun" : "mars_gtun", strerror(errno));
		return -1;
	}
	return 1;
}

void tun_from_store(const struct kvset *kv, const char *res, struct mars_tun *out)
{
	char key[STORE_KEY_MAX + 1];
	const char *v;
	uint64_t x;

	memset(out, 0, sizeof(*out));
	for (const struct tun_def *d = tun_defs; d->name; d++) {
		if (res && (d->flags & MARS_TUNF_GLOBAL))
			continue;
		if (res)
			snprintf(key, sizeof(key), "/res/%s/tunables/%s", res, d->name);
		else
			snprintf(key, sizeof(key), "/cluster/tunables/%s", d->name);
		v = kvset_get(kv, key);
		/* apply checked the range; the module clamps whatever else is there */
		if (!v || parse_u64(v, &x) || x > 0xffffffffULL)
			continue;
		tun_set(out, d, (__u32)x);
		out->set_mask |= 1ULL << d->bit;
	}
}

static void tun_print(const struct mars_tun *eff, __u64 clamped, const char *what)
{
	if (g_opts.json) {
		struct json_object *o = json_object_new_object();
		struct json_object *e = json_object_new_object();

		for (const struct tun_def *d = tun_defs; d->name; d++)
			json_object_object_add(e, d->name, json_object_new_int64(tun_get(eff, d)));
		json_object_object_add(o, "scope", json_object_new_string(what));
		json_object_object_add(o, "effective", e);
		json_object_object_add(o, "from_map_mask", json_object_new_uint64(eff->set_mask));
		json_object_object_add(o, "clamped_mask", json_object_new_uint64(clamped));
		json_print(o);
		return;
	}
	printf("%s (effective values; * = set in a map, ! = clamped):\n", what);
	for (const struct tun_def *d = tun_defs; d->name; d++)
		printf("  %-14s %10u %s%s\n", d->name, tun_get(eff, d),
		       eff->set_mask & (1ULL << d->bit) ? "*" : "",
		       clamped & (1ULL << d->bit) ? "!" : "");
}

int do_tune(int argc, char **argv)
{
	const char *res = NULL;
	struct mars_rstate rs;
	struct mars_maps m;
	struct mars_res_tun rt;
	struct mars_tun gt;
	__u32 key = 0;
	int i = 1, ret = 1;

	if (argc > 1 && !strchr(argv[1], '=')) {
		res = argv[1];
		i = 2;
		if (!res[0] || strlen(res) > MARS_NAME_LEN) {
			err_msg("invalid resource name '%s'", res);
			return 2;
		}
	}
	if (mars_maps_ensure(&m))
		return 1;
	if (res && mars_res_lookup(&m, res, &key, &rs)) {
		err_msg("no resource %s (or mars.ko does not publish it)", res);
		goto out;
	}

	if (i == argc) {	/* show */
		struct mars_gstate gs;

		if (res) {
			tun_print(&rs.eff, rs.clamped_mask, res);
			ret = 0;
		} else if (mars_state_read(m.fd[MARS_MAP_GSTATE], 0, &gs, sizeof(gs)) ||
			   !gs.map_abi) {
			err_msg("mars.ko publishes no state (is it loaded?)");
		} else {
			tun_print(&gs.eff, gs.clamped_mask, "global");
			ret = 0;
		}
		goto out;
	}

	/*
	 * TODO(issue 6): write the store first (key space of architecture.md 8.2),
	 * then the map, so a reconcile keeps the value. Until the store lands, the
	 * map is the only copy: it survives module reloads (the pin does) but not a
	 * reboot.
	 */
	if (!res) {
		if (bpf_map_lookup_elem(m.fd[MARS_MAP_GTUN], &key, &gt)) {
			err_msg("cannot read mars_gtun: %s", strerror(errno));
			goto out;
		}
		for (; i < argc; i++)
			if ((ret = tun_parse(&gt, argv[i], false)))
				goto out;
		ret = 1;
		if (tun_write(&m, NULL, 0, &gt, NULL, 0) < 0)
			goto out;
	} else {
		if (bpf_map_lookup_elem(m.fd[MARS_MAP_RTUN], &key, &rt)) {
			err_msg("cannot read mars_rtun: %s", strerror(errno));
			goto out;
		}
		/* A slot left by another resource: its overrides are not ours. */
		if (strncmp(rt.name, res, MARS_NAME_MAX)) {
			memset(&rt, 0, sizeof(rt));
			strncpy(rt.name, res, MARS_NAME_MAX - 1);
		}
		for (; i < argc; i++)
			if ((ret = tun_parse(&rt.tun, argv[i], true)))
				goto out;
		ret = 1;
		if (tun_write(&m, res, key, &rt.tun, NULL, 0) < 0)
			goto out;
	}
	ret = 0;
out:
	mars_maps_close(&m);
	return ret;
}
