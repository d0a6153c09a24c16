// SPDX-License-Identifier: GPL-2.0
/*
 * brick: the brick type registry and the lifetime of brick instances.
 *
 * A brick is allocated here with its type's brick_size, constructed by the type's
 * ctr, and freed when its last reference is put: the type's dtr runs first, then
 * the reference on the brick below is dropped, so a graph is torn down from the
 * top. Callers guarantee that no request is in flight in a brick whose last
 * reference they put (the if brick drains its queue before it puts the backend).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "mars.h"
#include "mars_trace.h"

const struct mars_brick_type *mars_backend_type(u32 backend)
{
	switch (backend) {
	case MARS_BACKEND_SIO:
		return &mars_sio_type;
	case MARS_BACKEND_AIO:
		return &mars_aio_type;
	case MARS_BACKEND_BIO:
		return &mars_bio_type;
	default:
		return NULL;
	}
}

struct mars_brick *mars_brick_new(const struct mars_brick_type *type,
				  struct mars_brick *lower, size_t aspect_off,
				  const struct mars_brick_args *args, char *err)
{
	struct mars_brick *b;
	int ret;

	if (WARN_ON_ONCE(type->brick_size < sizeof(*b)))
		return ERR_PTR(-EINVAL);
	b = kzalloc(type->brick_size, GFP_KERNEL);
	if (!b) {
		mars_err(err, "out of memory");
		return ERR_PTR(-ENOMEM);
	}
	b->type = type;
	kref_init(&b->kref);
	b->aspect_off = aspect_off;
	if (args->name)
		strscpy(b->res, args->name, sizeof(b->res));
	b->res_id = args->res_id;
	if (lower) {
		kref_get(&lower->kref);
		b->lower = lower;
	}

	ret = type->ctr(b, args, err);
	if (ret)
		goto err_put_lower;
	return b;

err_put_lower:
	if (lower)
		mars_brick_put(lower);
	kfree(b);
	return ERR_PTR(ret);
}

static void mars_brick_release(struct kref *kref)
{
	struct mars_brick *b = container_of(kref, struct mars_brick, kref);
	struct mars_brick *lower = b->lower;

	b->type->dtr(b);
	kfree(b);
	if (lower)
		mars_brick_put(lower);
}

void mars_brick_put(struct mars_brick *b)
{
	kref_put(&b->kref, mars_brick_release);
}

/*
 * The time for a request's latency, or 0 when nobody uses it (lat_hist off and
 * mars:req_done not traced): a clock read is not free everywhere (an emulated
 * HPET access in some VMs costs microseconds).
 */
static u64 mars_io_clock(void)
{
	if (!READ_ONCE(mars_lat_on) && !trace_req_done_enabled())
		return 0;
	return ktime_get_ns();
}

u64 mars_io_start(struct mars_brick *b, u16 slot, atomic_t *inflight, u32 op, u32 flags,
		  u64 pos, u32 len)
{
	int n = atomic_inc_return(inflight);

	trace_req_submit(b->res, b->res_id, slot, op, flags, pos, len, n);
	return mars_io_clock();
}

u64 mars_io_done_at(struct mars_brick *b, u16 slot, atomic_t *inflight, u32 op, u64 pos,
		    u32 len, int err, u64 start_ns, u64 now)
{
	u64 lat = 0;

	/* start_ns 0: the clock was not read at start; the latency is unknown (0). */
	if (!now && (start_ns || trace_req_done_enabled()))
		now = ktime_get_ns();
	if (start_ns && now)
		lat = now - start_ns;
	atomic_dec(inflight);
	trace_req_done(b->res, b->res_id, slot, op, pos, len, lat, err);
	if (start_ns)
		mars_stat_lat(b->res_id, slot, op, lat);
	return now;
}

u64 mars_io_done(struct mars_brick *b, u16 slot, atomic_t *inflight, u32 op, u64 pos,
		 u32 len, int err, u64 start_ns)
{
	return mars_io_done_at(b, slot, inflight, op, pos, len, err, start_ns, 0);
}

u64 mars_brick_start(struct mars_brick *b, const struct mref *m)
{
	return mars_io_start(b, b->type->slot, &b->inflight, m->op, m->flags, m->pos, m->len);
}

void mars_brick_done_at(struct mars_brick *b, struct mref *m, int err, u64 start_ns, u64 now)
{
	m->done_ns = mars_io_done_at(b, b->type->slot, &b->inflight, m->op, m->pos, m->len, err,
				     start_ns, now);
}

void mars_brick_done(struct mars_brick *b, struct mref *m, int err, u64 start_ns)
{
	mars_brick_done_at(b, m, err, start_ns, 0);
}
