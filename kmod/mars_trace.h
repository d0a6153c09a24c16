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
 * The logger's events (log_append, log_commit, log_rotate, writeback, replay,
 * replay_done, replay_stop, checkpoint, throttle, emergency) carry log
 * positions as log_seq (logfile number; seq in checkpoint, as in the design)
 * and off (byte offset in that file), data positions as pos/len (bytes on the
 * device), record types as type (MLOG_T_*: 1 DATA, 2 ZERO, 3 DISCARD, 4 PAD,
 * 5 GAP, 6 EOF; log-format.md). Callers compute what only an event needs (a
 * latency, a statfs) under trace_<event>_enabled(), so a disabled event costs a
 * patched-out branch.
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

/* log_rotate reasons. */
#define MARS_ROT_SIZE		0	/* the file reached log_rotate_mb */
#define MARS_ROT_REQUEST	1	/* MARS_IOC_LOG_ROTATE */
#define MARS_ROT_RECOVERY	2	/* create: first file after the replayed ones */
#define MARS_ROT_EMERGENCY	3	/* leaving emergency mode: file N + 2 */

/*
 * A record got its place in the log (the log thread builds a batch): rec_seq at
 * log_seq:off, for the device range pos/len (type MLOG_T_DATA, ZERO, DISCARD).
 * It is written by the next log_commit of the same file.
 */
TRACE_EVENT(log_append,
	    TP_PROTO(const char *res, u32 res_id, u64 log_seq, u64 rec_seq, u64 off,
		     u32 type, u64 pos, u32 len),
	    TP_ARGS(res, res_id, log_seq, rec_seq, off, type, pos, len),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u64, log_seq)
			     __field(u64, rec_seq)
			     __field(u64, off)
			     __field(u32, type)
			     __field(u64, pos)
			     __field(u32, len)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->log_seq = log_seq;
			   __entry->rec_seq = rec_seq;
			   __entry->off = off;
			   __entry->type = type;
			   __entry->pos = pos;
			   __entry->len = len;),
	    TP_printk("res=%s res_id=%u log_seq=%llu rec_seq=%llu off=%llu type=%u pos=%llu len=%u",
		      __entry->res, __entry->res_id, __entry->log_seq, __entry->rec_seq,
		      __entry->off, __entry->type, __entry->pos, __entry->len)
);

/*
 * One round of the log thread that wrote a batch and/or synced the file. The
 * round wrote records (bytes) at [from_off, to_off) of file log_seq (from_off
 * == to_off: it only synced). synced: the round ended with a sync, so the file
 * is durable up to to_off; durable_records: records that became durable with
 * it (appended in this or earlier rounds). latency_ns: write plus sync time.
 * error: 0 or the -errno of the failed write or sync (the logger then enters
 * emergency mode).
 */
TRACE_EVENT(log_commit,
	    TP_PROTO(const char *res, u32 res_id, u64 log_seq, u64 from_off, u64 to_off,
		     u32 records, u64 bytes, u32 synced, u64 durable_records,
		     u64 latency_ns, int error),
	    TP_ARGS(res, res_id, log_seq, from_off, to_off, records, bytes, synced,
		    durable_records, latency_ns, error),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u64, log_seq)
			     __field(u64, from_off)
			     __field(u64, to_off)
			     __field(u32, records)
			     __field(u64, bytes)
			     __field(u32, synced)
			     __field(u64, durable_records)
			     __field(u64, latency_ns)
			     __field(s32, error)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->log_seq = log_seq;
			   __entry->from_off = from_off;
			   __entry->to_off = to_off;
			   __entry->records = records;
			   __entry->bytes = bytes;
			   __entry->synced = synced;
			   __entry->durable_records = durable_records;
			   __entry->latency_ns = latency_ns;
			   __entry->error = error;),
	    TP_printk("res=%s res_id=%u log_seq=%llu from_off=%llu to_off=%llu records=%u bytes=%llu synced=%u durable_records=%llu latency_ns=%llu error=%d",
		      __entry->res, __entry->res_id, __entry->log_seq, __entry->from_off,
		      __entry->to_off, __entry->records, __entry->bytes, __entry->synced,
		      __entry->durable_records, __entry->latency_ns, __entry->error)
);

/*
 * The logger switched files: old_seq ended at old_end (its EOF record
 * included; 0 when unknown), new_seq is written from now on. reason:
 * MARS_ROT_*. error: 0, or -errno when the new file could not be created.
 */
TRACE_EVENT(log_rotate,
	    TP_PROTO(const char *res, u32 res_id, u64 old_seq, u64 old_end, u64 new_seq,
		     u32 reason, int error),
	    TP_ARGS(res, res_id, old_seq, old_end, new_seq, reason, error),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u64, old_seq)
			     __field(u64, old_end)
			     __field(u64, new_seq)
			     __field(u32, reason)
			     __field(s32, error)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->old_seq = old_seq;
			   __entry->old_end = old_end;
			   __entry->new_seq = new_seq;
			   __entry->reason = reason;
			   __entry->error = error;),
	    TP_printk("res=%s res_id=%u old_seq=%llu old_end=%llu new_seq=%llu reason=%s error=%d",
		      __entry->res, __entry->res_id, __entry->old_seq, __entry->old_end,
		      __entry->new_seq,
		      __print_symbolic(__entry->reason, { MARS_ROT_SIZE, "size" },
				       { MARS_ROT_REQUEST, "request" },
				       { MARS_ROT_RECOVERY, "recovery" },
				       { MARS_ROT_EMERGENCY, "emergency" }),
		      __entry->error)
);

/*
 * A writeback write to the data device completed (any context). op is
 * MARS_OP_WRITE, DISCARD or WRITE_ZEROES; inflight counts the writeback writes
 * in flight when this one was submitted, itself included (at most wb_depth).
 */
TRACE_EVENT(writeback,
	    TP_PROTO(const char *res, u32 res_id, u32 op, u64 pos, u32 len, u32 inflight,
		     u64 latency_ns, int error),
	    TP_ARGS(res, res_id, op, pos, len, inflight, latency_ns, error),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u32, op)
			     __field(u64, pos)
			     __field(u32, len)
			     __field(u32, inflight)
			     __field(u64, latency_ns)
			     __field(s32, error)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->op = op;
			   __entry->pos = pos;
			   __entry->len = len;
			   __entry->inflight = inflight;
			   __entry->latency_ns = latency_ns;
			   __entry->error = error;),
	    TP_printk("res=%s res_id=%u op=%u pos=%llu len=%u inflight=%u latency_ns=%llu error=%d",
		      __entry->res, __entry->res_id, __entry->op, __entry->pos,
		      __entry->len, __entry->inflight, __entry->latency_ns, __entry->error)
);

/*
 * A replayed record's write to the data device completed (any context): record
 * rec_seq of type at log_seq:off, device range pos/len.
 */
TRACE_EVENT(replay,
	    TP_PROTO(const char *res, u32 res_id, u64 log_seq, u64 off, u64 rec_seq,
		     u32 type, u64 pos, u32 len, u64 latency_ns, int error),
	    TP_ARGS(res, res_id, log_seq, off, rec_seq, type, pos, len, latency_ns, error),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u64, log_seq)
			     __field(u64, off)
			     __field(u64, rec_seq)
			     __field(u32, type)
			     __field(u64, pos)
			     __field(u32, len)
			     __field(u64, latency_ns)
			     __field(s32, error)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->log_seq = log_seq;
			   __entry->off = off;
			   __entry->rec_seq = rec_seq;
			   __entry->type = type;
			   __entry->pos = pos;
			   __entry->len = len;
			   __entry->latency_ns = latency_ns;
			   __entry->error = error;),
	    TP_printk("res=%s res_id=%u log_seq=%llu off=%llu rec_seq=%llu type=%u pos=%llu len=%u latency_ns=%llu error=%d",
		      __entry->res, __entry->res_id, __entry->log_seq, __entry->off,
		      __entry->rec_seq, __entry->type, __entry->pos, __entry->len,
		      __entry->latency_ns, __entry->error)
);

/*
 * A recovery at create ended: files scanned, records and payload bytes
 * replayed, where the log ends (end_seq:end_off, outcome MLOG_O_* of the last
 * file), its duration, and 0 or -errno (the create then fails).
 */
TRACE_EVENT(replay_done,
	    TP_PROTO(const char *res, u32 res_id, u64 files, u64 records, u64 bytes,
		     u64 end_seq, u64 end_off, u32 outcome, u64 latency_ns, int error),
	    TP_ARGS(res, res_id, files, records, bytes, end_seq, end_off, outcome,
		    latency_ns, error),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u64, files)
			     __field(u64, records)
			     __field(u64, bytes)
			     __field(u64, end_seq)
			     __field(u64, end_off)
			     __field(u32, outcome)
			     __field(u64, latency_ns)
			     __field(s32, error)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->files = files;
			   __entry->records = records;
			   __entry->bytes = bytes;
			   __entry->end_seq = end_seq;
			   __entry->end_off = end_off;
			   __entry->outcome = outcome;
			   __entry->latency_ns = latency_ns;
			   __entry->error = error;),
	    TP_printk("res=%s res_id=%u files=%llu records=%llu bytes=%llu end_seq=%llu end_off=%llu outcome=%u latency_ns=%llu error=%d",
		      __entry->res, __entry->res_id, __entry->files, __entry->records,
		      __entry->bytes, __entry->end_seq, __entry->end_off, __entry->outcome,
		      __entry->latency_ns, __entry->error)
);

/*
 * Emergency mode (architecture.md 3.10): enter 1 when the logger has entered
 * it (every buffered write is on the data device), 0 when it has left it;
 * error -errno when the transition failed (the mode stays as it was, or, for a
 * failed entry at shutdown, the log keeps the data). reason says why (the same
 * words as the kernel log); free_bytes: free space of the log filesystem then.
 */
TRACE_EVENT(emergency,
	    TP_PROTO(const char *res, u32 res_id, u32 enter, const char *reason,
		     u64 free_bytes, int error),
	    TP_ARGS(res, res_id, enter, reason, free_bytes, error),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u32, enter)
			     __array(char, reason, 32)
			     __field(u64, free_bytes)
			     __field(s32, error)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->enter = enter;
			   strscpy_pad(__entry->reason, reason, sizeof(__entry->reason));
			   __entry->free_bytes = free_bytes;
			   __entry->error = error;),
	    TP_printk("res=%s res_id=%u enter=%u reason=%s free_bytes=%llu error=%d",
		      __entry->res, __entry->res_id, __entry->enter, __entry->reason,
		      __entry->free_bytes, __entry->error)
);

/*
 * A writer waits for shadow-buffer memory (architecture.md 3.7): enter 1 when it
 * starts waiting because buf_bytes (charged now) plus len (what the write needs)
 * exceed limit (buf_max_mb in bytes), wait_ns 0; enter 0 when it proceeds,
 * wait_ns its time waiting, buf_bytes as then.
 */
TRACE_EVENT(throttle,
	    TP_PROTO(const char *res, u32 res_id, u32 enter, u64 buf_bytes, u64 limit,
		     u32 len, u64 wait_ns),
	    TP_ARGS(res, res_id, enter, buf_bytes, limit, len, wait_ns),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u32, enter)
			     __field(u64, buf_bytes)
			     __field(u64, limit)
			     __field(u32, len)
			     __field(u64, wait_ns)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->enter = enter;
			   __entry->buf_bytes = buf_bytes;
			   __entry->limit = limit;
			   __entry->len = len;
			   __entry->wait_ns = wait_ns;),
	    TP_printk("res=%s res_id=%u enter=%u buf_bytes=%llu limit=%llu len=%u wait_ns=%llu",
		      __entry->res, __entry->res_id, __entry->enter, __entry->buf_bytes,
		      __entry->limit, __entry->len, __entry->wait_ns)
);

/* checkpoint kinds. */
#define MARS_CKPT_WRITEBACK	0	/* wb_seq, wb_off in mars_rstate */
#define MARS_CKPT_REPLAY	1	/* replay_seq, replay_off (replication; not yet) */

/*
 * A checkpoint moved to log_seq:off (architecture.md 3.5): for kind writeback,
 * every record before it is durable on the data device; rec_seq is the last
 * record it covers (0: none yet).
 */
TRACE_EVENT(checkpoint,
	    TP_PROTO(const char *res, u32 res_id, u32 kind, u64 seq, u64 off, u64 rec_seq),
	    TP_ARGS(res, res_id, kind, seq, off, rec_seq),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u32, kind)
			     __field(u64, seq)
			     __field(u64, off)
			     __field(u64, rec_seq)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->kind = kind;
			   __entry->seq = seq;
			   __entry->off = off;
			   __entry->rec_seq = rec_seq;),
	    TP_printk("res=%s res_id=%u kind=%s seq=%llu off=%llu rec_seq=%llu",
		      __entry->res, __entry->res_id,
		      __print_symbolic(__entry->kind, { MARS_CKPT_WRITEBACK, "writeback" },
				       { MARS_CKPT_REPLAY, "replay" }),
		      __entry->seq, __entry->off, __entry->rec_seq)
);

/*
 * Replay stops reading the log at log_seq:off. reason: MARS_REPLAY_STOP_* (END:
 * the valid records of that file end there, outcome MLOG_O_* says how: a torn,
 * zeroed or incomplete tail; the others: the log is refused there). outcome:
 * the decoder's outcome for that file (0 when the stop is between files).
 * error: 0 when recovery accepts the stop as the end of the file, else -errno
 * (-EUCLEAN for a damaged log; the create then fails). At create, during the
 * scan pass: at most one event per logfile, plus one when the files do not fit
 * together.
 */
TRACE_EVENT(replay_stop,
	    TP_PROTO(const char *res, u32 res_id, u32 reason, u64 log_seq, u64 off,
		     u32 outcome, int error),
	    TP_ARGS(res, res_id, reason, log_seq, off, outcome, error),
	    TP_STRUCT__entry(__array(char, res, MARS_NAME_MAX)
			     __field(u32, res_id)
			     __field(u32, reason)
			     __field(u64, log_seq)
			     __field(u64, off)
			     __field(u32, outcome)
			     __field(s32, error)),
	    TP_fast_assign(memcpy(__entry->res, res, MARS_NAME_MAX);
			   __entry->res_id = res_id;
			   __entry->reason = reason;
			   __entry->log_seq = log_seq;
			   __entry->off = off;
			   __entry->outcome = outcome;
			   __entry->error = error;),
	    TP_printk("res=%s res_id=%u reason=%u log_seq=%llu off=%llu outcome=%u error=%d",
		      __entry->res, __entry->res_id, __entry->reason, __entry->log_seq,
		      __entry->off, __entry->outcome, __entry->error)
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
