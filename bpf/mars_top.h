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

#define MARS_TOP_MAX_KEYS	4096

#endif /* MARS_TOP_H */
