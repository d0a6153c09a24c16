/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mars_top: what the BPF half (mars_top.bpf.c) and the user half
 * (userspace/ctl/top.c) of `marsctl top` share.
 */
#ifndef MARS_TOP_H
#define MARS_TOP_H

#include <linux/types.h>
#include <linux/mars.h>

/*
 * The arguments of tracepoint mars:req_done as a SEC("raw_tp/req_done") program
 * sees them (ctx->args[i], each widened to 64 bits), in TP_PROTO order of
 * kmod/mars_trace.h: res (pointer), res_id, slot, op, pos, len, latency_ns, error.
 */
enum {
	MARS_RTP_RES, MARS_RTP_RES_ID, MARS_RTP_SLOT, MARS_RTP_OP, MARS_RTP_POS,
	MARS_RTP_LEN, MARS_RTP_LATENCY_NS, MARS_RTP_ERROR,
};

/* Per CPU, per key (struct mars_lat_key), cumulative since the program loaded. */
struct mars_top_val {
	__u64 count;		/* completed requests */
	__u64 bytes;
	__u64 errors;
	__u64 sum_ns;
	__u64 bucket[MARS_LAT_BUCKETS];	/* as struct mars_lat_hist */
};

/*
 * top_lat is a per-CPU array, one entry per (resource, brick slot, op) of the
 * resources [res_base, res_base + nr_res) (load-time settings; the user half
 * sizes the map to nr_res * MARS_TOP_PER_RES entries). An array lookup costs no
 * hashing and never needs an insert on the tracepoint path.
 */
#define MARS_TOP_PER_RES	(MARS_SLOTS * MARS_OPS)
#define MARS_TOP_IDX(r, slot, op)	((r) * MARS_TOP_PER_RES + (slot) * MARS_OPS + (op))
/* Resources covered beyond the highest slot in use at start (created later). */
#define MARS_TOP_RES_SPARE	16

/* Rows (resource, slot, op) that marsctl top shows at most. */
#define MARS_TOP_MAX_KEYS	4096

#endif /* MARS_TOP_H */
