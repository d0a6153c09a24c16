// SPDX-License-Identifier: GPL-2.0
/*
 * state: live tunables and the state publisher (docs/architecture.md, 5.3, 5.4).
 *
 * One delayed work (mars_state_work) runs every state_ms (a global tunable,
 * 10..1000 ms, default 100) and at once when kicked (resource created or deleted,
 * map attached). Each run, under mars_state_lock:
 *  1. reads mars_gtun, validates and clamps every set field (clamped bits go to
 *     gstate.clamped_mask) and resolves the global effective values;
 *  2. lets dev.c resolve every resource's effective values (mars_rtun slot, then
 *     the DEV_CREATE/DEV_SET value for sio_threads, then global, then default),
 *     apply them (sio_threads resizes the pool through the brick type's
 *     set_threads), and publish its mars_rstate slot;
 *  3. publishes mars_gstate.
 * The data path never reads the tunable maps: it uses the values applied here.
 * Without maps the same run applies the built-in defaults and publishes nothing.
 *
 * mars_state_lock serializes refreshes, so each state value has a single writer
 * (the sequence counter protocol in maps.c relies on it). Lock order:
 * mars_state_lock, then mars_devs_lock (dev.c), then RCU read sections.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "mars.h"

struct mars_tun_def {
	const char *name;
	size_t off;		/* offset of the field in struct mars_tun */
	u32 min, max, def;
	u32 flags;		/* MARS_TUNF_* */
};

#define MARS_TUN_DEF(f, F) { #f, offsetof(struct mars_tun, f), MARS_TUN_##F##_MIN, \
	MARS_TUN_##F##_MAX, MARS_TUN_##F##_DEF, MARS_TUN_##F##_FL }

/* In set_mask bit order (MARS_TUN_*_BIT), which is the field order. */
static const struct mars_tun_def mars_tun_defs[MARS_TUN_NR] = {
	MARS_TUN_DEF(sio_threads, SIO_THREADS),
	MARS_TUN_DEF(aio_depth, AIO_DEPTH),
	MARS_TUN_DEF(buf_max_mb, BUF_MAX_MB),
	MARS_TUN_DEF(wb_rate_kib, WB_RATE_KIB),
	MARS_TUN_DEF(wb_depth, WB_DEPTH),
	MARS_TUN_DEF(wb_flush_mb, WB_FLUSH_MB),
	MARS_TUN_DEF(log_rotate_mb, LOG_ROTATE_MB),
	MARS_TUN_DEF(log_batch_kb, LOG_BATCH_KB),
	MARS_TUN_DEF(log_sync_kb, LOG_SYNC_KB),
	MARS_TUN_DEF(log_commit_us, LOG_COMMIT_US),
	MARS_TUN_DEF(emerg_free_mb, EMERG_FREE_MB),
	MARS_TUN_DEF(replay_depth, REPLAY_DEPTH),
	MARS_TUN_DEF(ack_mode, ACK_MODE),
	MARS_TUN_DEF(state_ms, STATE_MS),
	MARS_TUN_DEF(lat_hist, LAT_HIST),
};

static DEFINE_MUTEX(mars_state_lock);
static struct delayed_work mars_state_work;
static u64 mars_load_ns;		/* CLOCK_REALTIME of module load */
static struct mars_tun mars_geff;	/* effective global values; mars_state_lock */
static struct mars_gstate mars_gs;	/* scratch for publishing; mars_state_lock */
static bool mars_state_stopping;	/* unload: do not requeue; mars_state_lock */

static u32 *mars_tun_field(struct mars_tun *t, unsigned int i)
{
	return (u32 *)((char *)t + mars_tun_defs[i].off);
}

static u32 mars_tun_get(const struct mars_tun *t, unsigned int i)
{
	return *(const u32 *)((const char *)t + mars_tun_defs[i].off);
}

/*
 * Take field @i of @src (its set bit is set) into @eff, clamped. Returns false
 * when the value was invalid (clamped or ignored).
 */
static bool mars_tun_take(const struct mars_tun *src, struct mars_tun *eff,
			  unsigned int i, bool per_res)
{
	const struct mars_tun_def *d = &mars_tun_defs[i];
	u32 v = mars_tun_get(src, i);

	if (per_res && (d->flags & MARS_TUNF_GLOBAL))
		return false;	/* global only: ignored */
	if ((d->flags & MARS_TUNF_MAX_OK) && v == U32_MAX) {
		*mars_tun_field(eff, i) = v;
		return true;
	}
	*mars_tun_field(eff, i) = clamp(v, d->min, d->max);
	return v >= d->min && v <= d->max;
}

/* Set bits beyond the known fields are invalid; they are reported, never used. */
static u64 mars_tun_merge(const struct mars_tun *src, struct mars_tun *eff,
			  bool per_res)
{
	u64 clamped = src->set_mask & ~MARS_TUN_F_ALL;
	unsigned int i;

	for (i = 0; i < MARS_TUN_NR; i++) {
		if (!(src->set_mask & BIT_ULL(i)))
			continue;
		if (!mars_tun_take(src, eff, i, per_res))
			clamped |= BIT_ULL(i);
		else
			eff->set_mask |= BIT_ULL(i);
	}
	return clamped;
}

static void mars_tun_defaults(struct mars_tun *eff)
{
	unsigned int i;

	memset(eff, 0, sizeof(*eff));
	for (i = 0; i < MARS_TUN_NR; i++)
		*mars_tun_field(eff, i) = mars_tun_defs[i].def;
}

/*
 * A resource's effective values: @geff (the global effective values, defaults
 * included), overridden by @base_sio_threads if non-zero, overridden by the
 * fields set in @rt if @rt names @name. eff->set_mask tells which fields come
 * from a map. *mismatch: @rt is in use for another name (it is ignored).
 */
void mars_tun_resolve(const struct mars_tun *geff, const struct mars_res_tun *rt,
		      const char *name, u32 base_sio_threads, struct mars_tun *eff,
		      u64 *clamped, bool *mismatch)
{
	*eff = *geff;
	eff->set_mask = 0;
	*clamped = 0;
	*mismatch = false;
	if (base_sio_threads)
		eff->sio_threads = clamp_t(u32, base_sio_threads, 1, MARS_SIO_THREADS_MAX);
	if (!rt)
		return;
	if (strncmp(rt->name, name, MARS_NAME_MAX)) {
		/* An empty slot is no mismatch; a slot naming another resource is. */
		*mismatch = rt->name[0] || rt->tun.set_mask;
		return;
	}
	*clamped = mars_tun_merge(&rt->tun, eff, true);
}

/*
 * Resolve the global effective values from mars_gtun into mars_geff. Returns the
 * invalid fields. Caller holds mars_state_lock.
 */
static u64 mars_geff_update(void)
{
	struct mars_tun gtun;
	u64 clamped = 0;

	mars_tun_defaults(&mars_geff);
	if (mars_map_read(MARS_MAP_GTUN, 0, &gtun, sizeof(gtun)))
		clamped = mars_tun_merge(&gtun, &mars_geff, false);
	if (clamped)
		pr_notice_ratelimited("global tunables out of range (mask 0x%llx): clamped or ignored\n",
				      clamped);
	if (!mars_geff.buf_max_mb)
		mars_geff.buf_max_mb = max_t(u64, 16, (totalram_pages() / 5) >>
					     (20 - PAGE_SHIFT));
	return clamped;
}

/* One refresh: tunables in, state out. Caller holds mars_state_lock. */
static void mars_state_run(bool clear_unused)
{
	u64 clamped = mars_geff_update();
	u32 nr;

	WRITE_ONCE(mars_lat_on, mars_geff.lat_hist);

	nr = mars_dev_refresh_all(&mars_geff, clear_unused);

	memset(&mars_gs, 0, sizeof(mars_gs));
	mars_gs.map_abi = MARS_MAP_ABI;
	mars_gs.published_ns = ktime_get_real_ns();
	mars_gs.load_ns = mars_load_ns;
	mars_gs.maps_gen = mars_maps_gen();
	mars_gs.nr_res = nr;
	mars_gs.res_max = MARS_RES_MAX;
	mars_gs.buf_limit = (u64)mars_geff.buf_max_mb << 20;
	mars_gs.stat_drops = mars_stat_drops();
	mars_gs.clamped_mask = clamped;
	mars_gs.eff = mars_geff;
	strscpy(mars_gs.release, MARS_VERSION_STRING, sizeof(mars_gs.release));
	mars_map_publish(MARS_MAP_GSTATE, 0, &mars_gs, sizeof(mars_gs));
}

void mars_state_refresh(bool clear_unused)
{
	mutex_lock(&mars_state_lock);
	mars_state_run(clear_unused);
	mutex_unlock(&mars_state_lock);
}

static void mars_state_workfn(struct work_struct *work)
{
	mutex_lock(&mars_state_lock);
	mars_state_run(false);
	if (!mars_state_stopping)
		queue_delayed_work(system_long_wq, &mars_state_work,
				   msecs_to_jiffies(mars_geff.state_ms));
	mutex_unlock(&mars_state_lock);
}

/*
 * Re-read from mars_gtun, so a value written just before a create counts for it.
 * Takes mars_state_lock: the caller holds neither it nor mars_devs_lock.
 */
void mars_state_geff(struct mars_tun *geff)
{
	mutex_lock(&mars_state_lock);
	mars_geff_update();
	*geff = mars_geff;
	mutex_unlock(&mars_state_lock);
}

/* Publish soon. Process context; mars_state_lock may or may not be held. */
void mars_state_kick(void)
{
	mod_delayed_work(system_long_wq, &mars_state_work, 0);
}

int mars_state_init(void)
{
	mars_load_ns = ktime_get_real_ns();
	mars_tun_defaults(&mars_geff);
	INIT_DELAYED_WORK(&mars_state_work, mars_state_workfn);
	queue_delayed_work(system_long_wq, &mars_state_work, 0);
	return 0;
}

void mars_state_exit(void)
{
	mutex_lock(&mars_state_lock);
	mars_state_stopping = true;
	mutex_unlock(&mars_state_lock);
	cancel_delayed_work_sync(&mars_state_work);
}
