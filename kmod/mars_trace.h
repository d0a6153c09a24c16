/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of mars.ko, system "mars" (/sys/kernel/tracing/events/mars/).
 *
 * Field names are an interface (docs/architecture.md, section 6): they are only
 * ever added, never renamed. Every event starts with char res[32] (the resource
 * name, a fixed array so bpftrace prints args->res directly) and u32 res_id.
 * slot is MARS_SLOT_*, op MARS_OP_*, error 0 or -errno, latency_ns from the
 * request's start to its completion. bpf/mars_top.h mirrors the layout of
 * req_done for BPF programs attached with SEC("tp/mars/req_done").
 *
 * Event names are short (req_done, not mars_req_done): the system already says
 * mars. The trace_<event>() functions are local to the module (not exported).
 *
 * CREATE_TRACE_POINTS is defined in trace.c only.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mars

#if !defined(_MARS_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MARS_TRACE_H

#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/types.h>

#include <linux/mars.h>

/* A request enters a brick slot. */
TRACE_EVENT(req_submit,
	    TP_PROTO(const char *res, u32 res_id, u32 slot, u32 op, u32 flags, u64 pos,
		     u32 len, u64 inflight),
	    TP_ARGS(res, res_id, slot, op, flags, pos, len, inflight),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u32, slot)
			     __field(u32, op)
			     __field(u32, flags)
			     __field(u64, pos)
			     __field(u32, len)
			     __field(u64, inflight)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->slot = slot;
			   __entry->op = op;
			   __entry->flags = flags;
			   __entry->pos = pos;
			   __entry->len = len;
			   __entry->inflight = inflight;),
	    TP_printk("res=%s res_id=%u slot=%u op=%u flags=0x%x pos=%llu len=%u inflight=%llu",
		      __entry->res, __entry->res_id, __entry->slot, __entry->op,
		      __entry->flags, __entry->pos, __entry->len, __entry->inflight)
);

/* A request completes in a brick slot. */
TRACE_EVENT(req_done,
	    TP_PROTO(const char *res, u32 res_id, u32 slot, u32 op, u64 pos, u32 len,
		     u64 latency_ns, int error),
	    TP_ARGS(res, res_id, slot, op, pos, len, latency_ns, error),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u32, slot)
			     __field(u32, op)
			     __field(u64, pos)
			     __field(u32, len)
			     __field(u64, latency_ns)
			     __field(s32, error)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->slot = slot;
			   __entry->op = op;
			   __entry->pos = pos;
			   __entry->len = len;
			   __entry->latency_ns = latency_ns;
			   __entry->error = error;),
	    TP_printk("res=%s res_id=%u slot=%u op=%u pos=%llu len=%u latency_ns=%llu error=%d",
		      __entry->res, __entry->res_id, __entry->slot, __entry->op,
		      __entry->pos, __entry->len, __entry->latency_ns, __entry->error)
);

/* Resource life cycle. action: 0 create, 1 delete, 2 role. */
TRACE_EVENT(res,
	    TP_PROTO(const char *res, u32 res_id, u32 action, int error),
	    TP_ARGS(res, res_id, action, error),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u32, action)
			     __field(s32, error)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->action = action;
			   __entry->error = error;),
	    TP_printk("res=%s res_id=%u action=%u error=%d", __entry->res,
		      __entry->res_id, __entry->action, __entry->error)
);

/* State flags of a resource changed (seen by the publisher). */
TRACE_EVENT(state,
	    TP_PROTO(const char *res, u32 res_id, u32 role, u32 old_flags, u32 new_flags),
	    TP_ARGS(res, res_id, role, old_flags, new_flags),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u32, role)
			     __field(u32, old_flags)
			     __field(u32, new_flags)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->role = role;
			   __entry->old_flags = old_flags;
			   __entry->new_flags = new_flags;),
	    TP_printk("res=%s res_id=%u role=%u old_flags=0x%x new_flags=0x%x",
		      __entry->res, __entry->res_id, __entry->role,
		      __entry->old_flags, __entry->new_flags)
);

/* Map handover (MARS_IOC_MAP_ATTACH); res is empty, res_id 0. */
TRACE_EVENT(map_attach,
	    TP_PROTO(u32 kind, u32 map_id, int error),
	    TP_ARGS(kind, map_id, error),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u32, kind)
			     __field(u32, map_id)
			     __field(s32, error)),
	    TP_fast_assign(memset(__entry->res, 0, MARS_NAME_MAX);
			   __entry->res_id = 0;
			   __entry->kind = kind;
			   __entry->map_id = map_id;
			   __entry->error = error;),
	    TP_printk("kind=%u map_id=%u error=%d", __entry->kind, __entry->map_id,
		      __entry->error)
);

#endif /* _MARS_TRACE_H */

/* Out-of-tree module: the trace header is found relative to this directory. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE mars_trace
#include <trace/define_trace.h>
