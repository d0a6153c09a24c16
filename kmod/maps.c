// SPDX-License-Identifier: GPL-2.0
/*
 * maps: BPF maps as the module's tunables, state and statistics
 * (docs/architecture.md, section 5).
 *
 * Input: map fds handed over by MARS_IOC_MAP_ATTACH. marsctl creates the maps from
 * bpf/mars_maps.bpf.c (BTF-typed values, pinned under /sys/fs/bpf/mars). The ioctl
 * resolves the fd with bpf_map_get() in the caller's process context, checks the
 * map against its kind's definition (type, key size, value size, max_entries, map
 * flags, name, and the BTF kind and size of the value: the name check stands in
 * for the BTF type name, as btf_name_by_offset() is not exported), and publishes
 * it in mars_maps[kind].
 *
 * RCU and references: mars_maps[] is written under mars_maps_lock with
 * rcu_assign_pointer(); every reader dereferences it under rcu_read_lock() and
 * uses the map only inside that section. The module owns exactly one reference
 * (bpf_map_get()) per published map. A replaced or detached map is put after
 * synchronize_rcu(), so no reader can still use it; module unload puts every map
 * (an unpinned map is freed then). Holding a reference (not a uref) keeps a map
 * alive when its pin is deleted.
 *
 * Data path: the statistics helpers run in any context (blk-mq submit, the
 * completion of a backend, hardirq included). Per-CPU values are looked up with
 * preemption disabled (PREEMPT_RCU does not disable it) and incremented with
 * local64 operations, so an interrupt on the same CPU cannot lose an increment;
 * shared hash values use atomic64. Any failure (-EBUSY from same-CPU re-entry into
 * the hash, -E2BIG when full, -ENOMEM, a missing element) is a dropped statistic:
 * it increments mars_stat_drops (gstate.stat_drops) and never fails the IO.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <asm/local64.h>

#include "mars.h"
#include "mars_trace.h"

/* What a map of each kind must look like. */
struct mars_map_def {
	const char *name;
	enum bpf_map_type type;
	u32 key_size;
	u32 value_size;
	u32 max_entries;
	u32 map_flags;
};

static const struct mars_map_def mars_map_defs[MARS_MAP_KIND_LAST + 1] = {
	[MARS_MAP_GTUN] = { "mars_gtun", BPF_MAP_TYPE_ARRAY, sizeof(u32),
			    sizeof(struct mars_tun), 1, 0 },
	[MARS_MAP_RTUN] = { "mars_rtun", BPF_MAP_TYPE_ARRAY, sizeof(u32),
			    sizeof(struct mars_res_tun), MARS_RES_MAX, 0 },
	[MARS_MAP_GSTATE] = { "mars_gstate", BPF_MAP_TYPE_ARRAY, sizeof(u32),
			      sizeof(struct mars_gstate), 1, 0 },
	[MARS_MAP_RSTATE] = { "mars_rstate", BPF_MAP_TYPE_ARRAY, sizeof(u32),
			      sizeof(struct mars_rstate), MARS_RES_MAX, 0 },
	[MARS_MAP_IO] = { "mars_io", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(u32),
			  sizeof(struct mars_io_ctr), MARS_RES_MAX, 0 },
	[MARS_MAP_LAT] = { "mars_lat", BPF_MAP_TYPE_HASH, sizeof(struct mars_lat_key),
			   sizeof(struct mars_lat_hist), MARS_LAT_MAX_ENTRIES,
			   BPF_F_NO_PREALLOC },
};

/* The attached maps; index = kind. Written under mars_maps_lock, read under RCU. */
static struct bpf_map __rcu *mars_maps[MARS_MAP_KIND_LAST + 1];
static DEFINE_MUTEX(mars_maps_lock);
static u64 mars_maps_generation;	/* successful attaches; mars_maps_lock */
static atomic64_t mars_stat_drop_count;

bool mars_lat_on = true;

u64 mars_maps_gen(void)
{
	u64 gen;

	mutex_lock(&mars_maps_lock);
	gen = mars_maps_generation;
	mutex_unlock(&mars_maps_lock);
	return gen;
}

u64 mars_stat_drops(void)
{
	return atomic64_read(&mars_stat_drop_count);
}

static void mars_stat_drop(void)
{
	atomic64_inc(&mars_stat_drop_count);
	pr_debug_ratelimited("a statistics update was dropped\n");
}

/* Check @map against @def; on a mismatch say what differs in @err. */
static int mars_map_check(const struct bpf_map *map, const struct mars_map_def *def,
			  char *err)
{
	const struct btf_type *t;

	if (map->map_type != def->type) {
		mars_err(err, "map type %u, %s needs %u", map->map_type, def->name,
			 def->type);
		return -EINVAL;
	}
	if (map->key_size != def->key_size || map->value_size != def->value_size) {
		mars_err(err, "key/value size %u/%u, %s needs %u/%u", map->key_size,
			 map->value_size, def->name, def->key_size, def->value_size);
		return -EINVAL;
	}
	if (map->max_entries != def->max_entries) {
		mars_err(err, "max_entries %u, %s needs %u", map->max_entries,
			 def->name, def->max_entries);
		return -EINVAL;
	}
	if (map->map_flags != def->map_flags) {
		mars_err(err, "map flags 0x%x, %s needs 0x%x", map->map_flags,
			 def->name, def->map_flags);
		return -EINVAL;
	}
	if (strncmp(map->name, def->name, BPF_OBJ_NAME_LEN)) {
		mars_err(err, "map name '%.*s', expected '%s'", BPF_OBJ_NAME_LEN,
			 map->name, def->name);
		return -EINVAL;
	}
	if (!map->btf || !map->btf_value_type_id) {
		mars_err(err, "%s carries no BTF (create it from mars_maps.bpf.o)",
			 def->name);
		return -EINVAL;
	}
	t = btf_type_by_id(map->btf, map->btf_value_type_id);
	if (!t || BTF_INFO_KIND(t->info) != BTF_KIND_STRUCT ||
	    t->size != def->value_size) {
		mars_err(err, "the BTF of %s's value is not a struct of %u bytes",
			 def->name, def->value_size);
		return -EINVAL;
	}
	return 0;
}

int mars_maps_attach(struct mars_ioc_map_attach *a)
{
	const struct mars_map_def *def;
	struct bpf_map *map = NULL, *old;
	int ret;

	if (a->kind < MARS_MAP_GTUN || a->kind > MARS_MAP_KIND_LAST) {
		mars_err(a->errmsg, "unknown map kind %u", a->kind);
		return -EINVAL;
	}
	def = &mars_map_defs[a->kind];
	if (a->fd < -1) {
		mars_err(a->errmsg, "fd %d is not valid", a->fd);
		return -EBADF;
	}
	if (a->fd >= 0) {
		/* Resolved in the caller's fd table: we run in its ioctl. */
		map = bpf_map_get(a->fd);
		if (IS_ERR(map)) {
			ret = PTR_ERR(map);
			if (ret == -EBADF)
				mars_err(a->errmsg, "fd %d is not open", a->fd);
			else
				mars_err(a->errmsg, "fd %d is not a BPF map", a->fd);
			goto out_trace;
		}
		ret = mars_map_check(map, def, a->errmsg);
		if (ret) {
			bpf_map_put(map);
			goto out_trace;
		}
	}

	mutex_lock(&mars_maps_lock);
	old = rcu_replace_pointer(mars_maps[a->kind], map,
				  lockdep_is_held(&mars_maps_lock));
	if (map)
		mars_maps_generation++;
	mutex_unlock(&mars_maps_lock);
	/* Readers of the old map all hold rcu_read_lock(): wait for them. */
	if (old) {
		synchronize_rcu();
		bpf_map_put(old);
	}
	a->map_id = map ? map->id : 0;
	ret = 0;
	pr_debug("%s: %s map %u\n", def->name, map ? "attached" : "detached", a->map_id);

	/* New state maps get a full snapshot at once, stale slots cleared. */
	if (map && (a->kind == MARS_MAP_IO || a->kind == MARS_MAP_LAT))
		mars_dev_reset_stats(BIT(a->kind));
	if (a->kind == MARS_MAP_RSTATE || a->kind == MARS_MAP_GSTATE)
		mars_state_refresh(a->kind == MARS_MAP_RSTATE);
	else if (a->kind == MARS_MAP_GTUN || a->kind == MARS_MAP_RTUN)
		mars_state_kick();
out_trace:
	trace_map_attach(a->kind, a->map_id, ret);
	return ret;
}

void mars_maps_info(struct mars_ioc_map_info *info)
{
	struct bpf_map *map;
	u32 kind;

	info->map_abi = MARS_MAP_ABI;
	info->res_max = MARS_RES_MAX;
	rcu_read_lock();
	for (kind = MARS_MAP_GTUN; kind <= MARS_MAP_KIND_LAST; kind++) {
		map = rcu_dereference(mars_maps[kind]);
		info->map_id[kind] = map ? map->id : 0;
	}
	rcu_read_unlock();
}

/* Module unload: nothing uses the maps any more (the ioctl device is gone). */
void mars_maps_exit(void)
{
	struct bpf_map *map;
	u32 kind;

	for (kind = MARS_MAP_GTUN; kind <= MARS_MAP_KIND_LAST; kind++) {
		map = rcu_replace_pointer(mars_maps[kind], NULL, true);
		if (map) {
			synchronize_rcu();
			bpf_map_put(map);
		}
	}
}

/*
 * Copy the value at @key of an array map to @buf. Returns false when the map is
 * not attached. The value may be written concurrently by userspace: tunables are
 * level-triggered, so a torn copy is corrected at the next refresh.
 */
bool mars_map_read(u32 kind, u32 key, void *buf, size_t size)
{
	struct bpf_map *map;
	void *val = NULL;

	rcu_read_lock();
	map = rcu_dereference(mars_maps[kind]);
	if (map && !WARN_ON_ONCE(map->value_size != size))
		val = map->ops->map_lookup_elem(map, &key);
	if (val)
		memcpy(buf, val, size);
	rcu_read_unlock();
	return val;
}

/*
 * Zero the value at @key of the array map of @kind, if attached. Used for the
 * mars_rtun slot of a deleted resource: a later resource in that slot, even one
 * of the same name, starts without overrides. Userspace may write the slot at
 * the same time; then either write may win (one marsctl tune racing a delete
 * of its own resource), and the name check of mars_tun_resolve() still applies.
 */
void mars_map_clear(u32 kind, u32 key)
{
	struct bpf_map *map;
	void *val;

	rcu_read_lock();
	map = rcu_dereference(mars_maps[kind]);
	val = map ? map->ops->map_lookup_elem(map, &key) : NULL;
	if (val)
		memset(val, 0, map->value_size);
	rcu_read_unlock();
}

/*
 * Write a state value (struct mars_gstate or mars_rstate, both starting with
 * __u32 seq) with the sequence counter protocol of architecture.md 5.4: seq odd,
 * fields, seq even. Callers are serialized, so each value has one writer: rstate
 * slots are written under mars_devs_lock (dev.c), gstate under mars_state_lock
 * (state.c). The seq of @val is ignored.
 */
void mars_map_publish(u32 kind, u32 key, const void *val, size_t size)
{
	struct bpf_map *map;
	u32 *p, seq;

	rcu_read_lock();
	map = rcu_dereference(mars_maps[kind]);
	if (!map || WARN_ON_ONCE(map->value_size != size))
		goto out;
	p = map->ops->map_lookup_elem(map, &key);
	if (!p)
		goto out;
	/* Userspace may have scribbled an odd seq: start from the next even one. */
	seq = (READ_ONCE(*p) + 1) & ~1U;
	WRITE_ONCE(*p, seq + 1);
	smp_wmb();	/* seq odd before the fields */
	memcpy(p + 1, (const u32 *)val + 1, size - sizeof(u32));
	smp_wmb();	/* the fields before seq even */
	WRITE_ONCE(*p, seq + 2);
out:
	rcu_read_unlock();
}

/* Add to a per-CPU counter; irq-safe on this CPU. Caller disabled preemption. */
static inline void mars_ctr_add(__u64 *ctr, u64 v)
{
	local64_add(v, (local64_t *)ctr);
}

void mars_stat_submit(u32 res_id, const struct mref *m)
{
	struct mars_io_ctr *c;
	struct bpf_map *map;

	rcu_read_lock();
	map = rcu_dereference(mars_maps[MARS_MAP_IO]);
	if (!map)
		goto out;
	preempt_disable();	/* the lookup returns this CPU's copy */
	c = map->ops->map_lookup_elem(map, &res_id);
	if (!c) {
		mars_stat_drop();
	} else {
		switch (m->op) {
		case MREF_READ:
			mars_ctr_add(&c->reads, 1);
			mars_ctr_add(&c->read_bytes, m->len);
			break;
		case MREF_WRITE:
			mars_ctr_add(&c->writes, 1);
			mars_ctr_add(&c->write_bytes, m->len);
			if (m->flags & MREF_F_FUA)
				mars_ctr_add(&c->fua_writes, 1);
			break;
		case MREF_FLUSH:
			mars_ctr_add(&c->flushes, 1);
			break;
		case MREF_DISCARD:
			mars_ctr_add(&c->discards, 1);
			mars_ctr_add(&c->discard_bytes, m->len);
			break;
		case MREF_WRITE_ZEROES:
			mars_ctr_add(&c->write_zeroes, 1);
			mars_ctr_add(&c->zero_bytes, m->len);
			break;
		}
	}
	preempt_enable();
out:
	rcu_read_unlock();
}

/* A write waited for buffer memory (the logger's throttle). Process context. */
void mars_stat_throttled(u32 res_id)
{
	struct mars_io_ctr *c;
	struct bpf_map *map;

	rcu_read_lock();
	map = rcu_dereference(mars_maps[MARS_MAP_IO]);
	if (!map)
		goto out;
	preempt_disable();	/* the lookup returns this CPU's copy */
	c = map->ops->map_lookup_elem(map, &res_id);
	if (c)
		mars_ctr_add(&c->throttled, 1);
	else
		mars_stat_drop();
	preempt_enable();
out:
	rcu_read_unlock();
}

/* Count an error; caller holds rcu_read_lock(). */
static void mars_stat_error(struct bpf_map *map, u32 res_id, const struct mref *m)
{
	struct mars_io_ctr *c;

	preempt_disable();
	c = map->ops->map_lookup_elem(map, &res_id);
	if (!c)
		mars_stat_drop();
	else if (m->op == MREF_READ)
		mars_ctr_add(&c->read_errors, 1);
	else if (m->op == MREF_WRITE)
		mars_ctr_add(&c->write_errors, 1);
	else if (m->op == MREF_FLUSH)
		mars_ctr_add(&c->flush_errors, 1);
	else
		mars_ctr_add(&c->other_errors, 1);
	preempt_enable();
}

/* log2 bucket of a latency: i such that ns is in [2^i, 2^(i+1)); 0 for 0 and 1. */
static unsigned int mars_lat_bucket(u64 ns)
{
	unsigned int i = ns < 2 ? 0 : fls64(ns) - 1;

	return min_t(unsigned int, i, MARS_LAT_BUCKETS - 1);
}

/* Add one latency; caller holds rcu_read_lock(). Any context. */
static void mars_lat_add(struct bpf_map *map, struct mars_lat_key *key, u64 ns)
{
	static const struct mars_lat_hist zero;
	struct mars_lat_hist *h;
	int err;

	h = map->ops->map_lookup_elem(map, key);
	if (!h) {
		/* The hash copies the value; it does not write through the pointer. */
		err = map->ops->map_update_elem(map, key, (void *)&zero, BPF_NOEXIST);
		if (err && err != -EEXIST) {
			mars_stat_drop();
			return;
		}
		h = map->ops->map_lookup_elem(map, key);
		if (!h) {
			mars_stat_drop();
			return;
		}
	}
	/* Shared by all CPUs: atomic adds on the map's (8-byte aligned) value. */
	atomic64_inc((atomic64_t *)&h->count);
	atomic64_add(ns, (atomic64_t *)&h->sum_ns);
	atomic64_inc((atomic64_t *)&h->bucket[mars_lat_bucket(ns)]);
}

void mars_stat_done(u32 res_id, const struct mref *m, int err, u64 lat_ns)
{
	struct mars_lat_key key = {
		.res_id = res_id,
		.slot = MARS_SLOT_IF,
		.op = m->op,
	};
	struct bpf_map *map;

	rcu_read_lock();
	if (err) {
		map = rcu_dereference(mars_maps[MARS_MAP_IO]);
		if (map)
			mars_stat_error(map, res_id, m);
	}
	map = rcu_dereference(mars_maps[MARS_MAP_LAT]);
	if (map && READ_ONCE(mars_lat_on))
		mars_lat_add(map, &key, lat_ns);
	rcu_read_unlock();
}

/* The latency of one request of brick @slot (mars_brick_done). */
void mars_stat_lat(u32 res_id, u16 slot, u32 op, u64 lat_ns)
{
	struct mars_lat_key key = {
		.res_id = res_id,
		.slot = slot,
		.op = op,
	};
	struct bpf_map *map;

	if (!READ_ONCE(mars_lat_on))
		return;
	rcu_read_lock();
	map = rcu_dereference(mars_maps[MARS_MAP_LAT]);
	if (map)
		mars_lat_add(map, &key, lat_ns);
	rcu_read_unlock();
}

/*
 * Zero the counters of slot @res_id in the maps of @kinds (BIT(MARS_MAP_IO),
 * BIT(MARS_MAP_LAT)). Process context: at create before the resource can do IO,
 * at delete after its last IO, and for every live resource when a new counter
 * map is attached (it is empty, or holds an earlier module instance's counts).
 */
void mars_stat_res_reset(u32 res_id, u32 kinds)
{
	struct mars_lat_key key = { .res_id = res_id };
	struct bpf_map *map;
	unsigned int cpu;
	void *c;

	rcu_read_lock();
	map = kinds & BIT(MARS_MAP_IO) ? rcu_dereference(mars_maps[MARS_MAP_IO]) : NULL;
	if (map) {
		for_each_possible_cpu(cpu) {
			c = map->ops->map_lookup_percpu_elem(map, &res_id, cpu);
			if (c)
				memset(c, 0, sizeof(struct mars_io_ctr));
		}
	}
	map = kinds & BIT(MARS_MAP_LAT) ? rcu_dereference(mars_maps[MARS_MAP_LAT]) : NULL;
	if (map) {
		for (key.slot = 0; key.slot < MARS_SLOTS; key.slot++)
			for (key.op = 0; key.op < MARS_OPS; key.op++)
				map->ops->map_delete_elem(map, &key);
	}
	rcu_read_unlock();
}
