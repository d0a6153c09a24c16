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
 * The record of tracepoint mars:req_done as a SEC("tp/...") program sees it:
 * struct trace_entry (8 bytes), then the fields of TP_STRUCT__entry in
 * kmod/mars_trace.h, with the same types and so the same offsets. Without module
 * BTF this copy is the only way to name them; `cat
 * /sys/kernel/tracing/events/mars/req_done/format` shows the offsets.
 */
struct mars_tp_req_done {
	__u64 common;		/* struct trace_entry */
	char res[MARS_NAME_MAX];
	__u32 res_id;
	__u32 slot;
	__u32 op;
	__u64 pos;
	__u32 len;
	__u64 latency_ns;
	__s32 error;
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
