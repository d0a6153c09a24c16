// SPDX-License-Identifier: GPL-2.0
/*
 * mars_top: the kernel half of `marsctl top` (libbpf-tools shape; the user half is
 * userspace/ctl/top.c). Attached to tracepoint mars:req_done as a raw tracepoint
 * (SEC("raw_tp/req_done")): it gets the TP_PROTO arguments directly, so the
 * kernel does not build the event record for it (tp/mars/req_done would copy the
 * whole record, 88 bytes, into a per-CPU buffer on every request); this works
 * without module BTF. It counts completed
 * requests, bytes, errors and a log2 latency histogram per resource, brick slot and
 * operation in its own unpinned per-CPU array (mars_top.h: one entry per resource
 * slot, brick slot and op, sized at load), so the hot path is one array lookup and
 * plain adds to this CPU's copy: no hashing, no insert, no lock, no atomic. Events
 * of resources outside the array (created after top started, beyond its spare
 * slots) are counted in top_drops. The counts are cumulative: the user half reads
 * them every interval and shows the differences, so nothing is lost
 * between a read and a reset. The program lives only as long as marsctl top: its
 * link goes when the process exits, so rmmod mars works again.
 */
#include <linux/bpf.h>
#include <linux/mars.h>
#include <bpf/bpf_helpers.h>

#include "mars_top.h"

/* Load-time settings: count resources [res_base, res_base + nr_res). */
const volatile __u32 res_base;
const volatile __u32 nr_res = 1;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MARS_TOP_PER_RES);	/* the user half: nr_res * MARS_TOP_PER_RES */
	__type(key, __u32);
	__type(value, struct mars_top_val);
} top_lat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} top_drops SEC(".maps");

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
	__u32 r = (__u32)ctx->args[MARS_RTP_RES_ID] - res_base;
	__u32 slot = ctx->args[MARS_RTP_SLOT];
	__u32 op = ctx->args[MARS_RTP_OP];
	__u64 lat = ctx->args[MARS_RTP_LATENCY_NS];
	struct mars_top_val *v;
	__u32 idx, b;
	__u64 *drops;

	if (r >= nr_res || slot >= MARS_SLOTS || op >= MARS_OPS) {
		idx = 0;
		drops = bpf_map_lookup_elem(&top_drops, &idx);
		if (drops)
			(*drops)++;
		return 0;
	}
	idx = MARS_TOP_IDX(r, slot, op);
	v = bpf_map_lookup_elem(&top_lat, &idx);
	if (!v)
		return 0;
	/* This CPU's copy, and raw_tp programs do not nest on a CPU: plain adds. */
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
