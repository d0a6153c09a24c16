// SPDX-License-Identifier: GPL-2.0
/*
 * mars_top: the kernel half of `marsctl top` (libbpf-tools shape; the user half is
 * userspace/ctl/top.c). Attached to tracepoint mars:req_done as a raw tracepoint
 * (SEC("raw_tp/req_done")): it gets the TP_PROTO arguments directly, so the
 * kernel does not build the event record for it (tp/mars/req_done would copy the
 * whole record, 88 bytes, into a per-CPU buffer on every request); this works
 * without module BTF. It counts completed
 * requests, bytes, errors and a log2 latency histogram per resource, brick slot and
 * operation in its own unpinned per-CPU hash. The counts are cumulative: the user
 * half reads them every interval and shows the differences, so nothing is lost
 * between a read and a reset. The program lives only as long as marsctl top: its
 * link goes when the process exits, so rmmod mars works again.
 */
#include <linux/bpf.h>
#include <linux/mars.h>
#include <bpf/bpf_helpers.h>

#include "mars_top.h"

/* Load-time setting: only this resource (slot number), or all with ~0. */
const volatile __u32 targ_res_id = ~0U;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MARS_TOP_MAX_KEYS);
	__type(key, struct mars_lat_key);
	__type(value, struct mars_top_val);
} top_lat SEC(".maps");

static const struct mars_top_val zero;

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

SEC("raw_tp/req_done")
int handle_req_done(struct bpf_raw_tracepoint_args *ctx)
{
	struct mars_lat_key key = {};
	struct mars_top_val *v;
	__u64 lat = ctx->args[MARS_RTP_LATENCY_NS];
	__u32 b;

	key.res_id = ctx->args[MARS_RTP_RES_ID];
	if (targ_res_id != ~0U && key.res_id != targ_res_id)
		return 0;
	key.slot = ctx->args[MARS_RTP_SLOT];
	key.op = ctx->args[MARS_RTP_OP];
	v = bpf_map_lookup_elem(&top_lat, &key);
	if (!v) {
		bpf_map_update_elem(&top_lat, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&top_lat, &key);
		if (!v)
			return 0;
	}
	/* Per-CPU value: plain adds. */
	v->count++;
	v->bytes += (__u32)ctx->args[MARS_RTP_LEN];
	v->sum_ns += lat;
	if ((__s32)ctx->args[MARS_RTP_ERROR])
		v->errors++;
	b = lat < 2 ? 0 : log2_u64(lat);
	if (b >= MARS_LAT_BUCKETS)
		b = MARS_LAT_BUCKETS - 1;
	v->bucket[b]++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
