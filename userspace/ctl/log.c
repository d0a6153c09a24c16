// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl log: transaction logfiles (docs/log-format.md).
 *
 *   log dump FILE [--json] [--torn] [--may-grow] [--uuid UUID] [--prev HEX64]
 *                 [--valid-len BYTES] [--records | --no-records]
 *
 * dump decodes and verifies one logfile with the decoder that mars.ko uses
 * (lib/mlog/mlog.c), reading it with pread(). It prints the file header, every
 * record (unless --no-records), the time_backward warnings, the scan's outcome
 * (10.2) with its offset, and the file's content_end and version-chain entry
 * (11.1).
 *
 * What the scan expects comes from the path, as a reader in the daemon would see it:
 * a file name log-<9 digits>-<host> gives log_seq and host, and a parent folder
 * resource-<res> gives the resource name. --uuid gives the resource UUID. A file
 * name of another form expects nothing (the output says so).
 *
 * The chain entry is computed for a file whose header is good and whose outcome is
 * not fatal, over content_end. Its prev is --prev (the previous file's entry, 64
 * hex digits), else the genesis of the resource UUID: the header's, or --uuid if
 * the header's is all zero (unknown). The output names which one it used.
 *
 * Memory stays bounded for any file size: records are printed as the scan delivers
 * them, also in JSON mode, where the document is written piece by piece (every
 * value serialised by json-c) and at most DUMP_WARN_MAX warnings are listed.
 *
 * Exit status: 0 for a non-fatal outcome (clean_eof, clean_open, zero_tail,
 * incomplete, torn_tail, empty), 1 for a fatal one (or a file that cannot be
 * opened), 2 for a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "marsctl.h"
#include "mlog.h"
#include "mlog_user.h"
#include "store.h"

#define DUMP_WARN_MAX	100	/* time_backward warnings listed in JSON; all are counted */

static int do_log_dump(int argc, char **argv);
static int do_log_help(int argc, char **argv);

static const struct cmd log_cmds[] = {
	{ "dump", do_log_dump, LOG_USAGE_DUMP },
	{ "rotate", do_log_rotate, LOG_USAGE_ROTATE },
	{ "emergency", do_log_emergency, LOG_USAGE_EMERGENCY },
	{ "help", do_log_help, "help" },
	{ NULL, NULL, NULL },
};

/* Everything one dump needs: the options, the file, the scan and the output state. */
struct dump {
	const char *path;
	bool records;			/* print the records */
	bool have_uuid, have_prev;
	uint8_t uuid[MLOG_UUID_LEN];	/* --uuid */
	uint8_t prev[MLOG_CHAIN_LEN];	/* --prev */
	/* from the path */
	bool name_matches, dir_matches;
	uint64_t name_seq;
	char name_host[MLOG_HOST_LEN + 1];
	char dir_res[MLOG_RES_NAME_LEN + 1];
	int fd;
	struct mlog_scan s;
	bool header_ok;			/* mlog_scan_begin() returned 1 */
	struct json_object *warnings;	/* JSON mode: the first DUMP_WARN_MAX warnings */
};

/* --- the path ------------------------------------------------------------------------ */

/* The resource-name rule of architecture.md 4.2 (1..26 of [A-Za-z0-9_.-], no leading . -). */
static bool res_name_ok(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= MARS_NAME_LEN && s[0] != '.' && s[0] != '-' &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == len;
}

/*
 * What the path says the header must hold (log-format.md 1): log-<seq>-<host> as the
 * file name, resource-<res> as the folder it is in.
 */
static void expect_from_path(struct dump *d)
{
	const char *base = strrchr(d->path, '/');
	char dir[PATH_MAX], real[PATH_MAX];
	const char *dbase;
	size_t i;

	base = base ? base + 1 : d->path;
	if (!strncmp(base, "log-", 4) && strlen(base) > 14 && base[13] == '-') {
		for (i = 4; i < 13 && base[i] >= '0' && base[i] <= '9'; i++)
			;
		if (i == 13 && strlen(base + 14) <= MLOG_HOST_LEN &&
		    !store_host_validate(base + 14, NULL)) {
			d->name_seq = strtoull(base + 4, NULL, 10);
			d->name_matches = d->name_seq >= 1;
			snprintf(d->name_host, sizeof(d->name_host), "%s", base + 14);
		}
	}
	if (base == d->path)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(base - d->path), d->path);
	if (!realpath(dir, real))
		return;
	dbase = strrchr(real, '/');
	dbase = dbase ? dbase + 1 : real;
	if (!strncmp(dbase, "resource-", 9) && res_name_ok(dbase + 9)) {
		d->dir_matches = true;
		snprintf(d->dir_res, sizeof(d->dir_res), "%s", dbase + 9);
	}
}

/* --- reading ------------------------------------------------------------------------- */

/* The scan's read callback: exactly @len bytes at @off, or -errno (-EIO: the file shrank). */
static int dump_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	int fd = *(int *)ctx;
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint32_t)n;
	}
	return 0;
}

/* --- formatting ---------------------------------------------------------------------- */

/* A header string made printable: bytes outside ' '..'~' and '\' as \xNN. */
static const char *printable(const char *s, char *out, size_t size)
{
	size_t o = 0;

	for (; *s && o + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= ' ' && c <= '~' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
	}
	out[o] = 0;
	return out;
}

/* The record flags as "SYNC|DRAINED", or "-". */
static const char *flag_names(uint16_t flags, char *out, size_t size)
{
	static const struct {
		uint16_t bit;
		const char *name;
	} names[] = {
		{ MLOG_F_SYNC, "SYNC" }, { MLOG_F_DRAINED, "DRAINED" },
		{ MLOG_F_EMERGENCY, "EMERGENCY" }, { MLOG_F_NOUNMAP, "NOUNMAP" },
	};
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (flags & names[i].bit)
			o += (size_t)snprintf(out + o, size - o, "%s%s", o ? "|" : "",
					      names[i].name);
	}
	if (!o)
		snprintf(out, size, "-");
	return out;
}

static struct json_object *flags_json(uint16_t flags)
{
	struct json_object *a = json_object_new_array();
	char buf[64], *save = NULL;

	flag_names(flags, buf, sizeof(buf));
	if (strcmp(buf, "-")) {
		for (char *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save))
			json_object_array_add(a, json_object_new_string(t));
	}
	return a;
}

static struct json_object *hex32_json(uint32_t v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "0x%08" PRIx32, v);
	return json_object_new_string(buf);
}

/* Print one piece of the JSON document: ,\n  "key": value (one line). Drops @v. */
static void json_member(bool first, const char *key, struct json_object *v)
{
	printf("%s\n  \"%s\": %s", first ? "" : ",", key,
	       v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_SPACED |
						  JSON_C_TO_STRING_NOSLASHESCAPE) : "null");
	json_object_put(v);
}

/* --- the parts of the output --------------------------------------------------------- */

static void print_expect(const struct dump *d)
{
	char host[4 * MLOG_HOST_LEN + 1], uuid[MLOG_UUID_TEXT_LEN + 1];

	if (g_opts.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "log_seq", d->name_matches ?
				       json_object_new_uint64(d->name_seq) : NULL);
		json_object_object_add(o, "host", d->name_matches ?
				       json_object_new_string(d->name_host) : NULL);
		json_object_object_add(o, "res_name", d->dir_matches ?
				       json_object_new_string(d->dir_res) : NULL);
		if (d->have_uuid)
			mlog_uuid_format(d->uuid, uuid);
		json_object_object_add(o, "res_uuid", d->have_uuid ?
				       json_object_new_string(uuid) : NULL);
		json_member(false, "expect", o);
		return;
	}
	printf("expect:\n");
	if (d->name_matches)
		printf("  log_seq %09" PRIu64 ", host %s (from the file name)\n", d->name_seq,
		       printable(d->name_host, host, sizeof(host)));
	else
		printf("  nothing from the file name (not log-<seq>-<host>)\n");
	if (d->dir_matches)
		printf("  res_name %s (from the folder resource-%s)\n", d->dir_res, d->dir_res);
	if (d->have_uuid) {
		mlog_uuid_format(d->uuid, uuid);
		printf("  res_uuid %s (--uuid)\n", uuid);
	}
}

static void print_header(const struct dump *d)
{
	const struct mlog_fhdr *h = &d->s.fh;
	char name[4 * MLOG_RES_NAME_LEN + 1], host[4 * MLOG_HOST_LEN + 1];
	char uuid[MLOG_UUID_TEXT_LEN + 1], salt[24];
	bool shown = d->header_ok || (d->s.outcome == MLOG_O_BAD_HEADER && d->s.end >= MLOG_HDR_LEN);

	if (shown) {
		mlog_uuid_format(h->res_uuid, uuid);
		snprintf(salt, sizeof(salt), "0x%016" PRIx64, h->salt);
		printable(h->res_name, name, sizeof(name));
		printable(h->host, host, sizeof(host));
	}
	if (g_opts.json) {
		struct json_object *o = NULL;

		if (shown) {
			o = json_object_new_object();
			json_object_object_add(o, "version", json_object_new_int(h->version));
			json_object_object_add(o, "hdr_len", json_object_new_int(h->hdr_len));
			json_object_object_add(o, "hdr_crc", hex32_json(h->hdr_crc));
			json_object_object_add(o, "salt", json_object_new_string(salt));
			json_object_object_add(o, "log_seq", json_object_new_uint64(h->log_seq));
			json_object_object_add(o, "create_lamport",
					       json_object_new_uint64(h->create_lamport));
			json_object_object_add(o, "first_rec_seq",
					       json_object_new_uint64(h->first_rec_seq));
			json_object_object_add(o, "flags", json_object_new_uint64(h->flags));
			json_object_object_add(o, "block_size",
					       json_object_new_uint64(h->block_size));
			json_object_object_add(o, "res_uuid", json_object_new_string(uuid));
			json_object_object_add(o, "res_name", json_object_new_string(name));
			json_object_object_add(o, "host", json_object_new_string(host));
			json_object_object_add(o, "valid", json_object_new_boolean(d->header_ok));
		}
		json_member(false, "header", o);
		return;
	}
	if (!shown) {
		printf("header: none\n");
		return;
	}
	printf("header:%s\n", d->header_ok ? "" : " (as found; it failed a check)");
	printf("  version         %u\n", h->version);
	printf("  hdr_len         %u\n", h->hdr_len);
	printf("  hdr_crc         0x%08" PRIx32 "\n", h->hdr_crc);
	printf("  salt            %s\n", salt);
	printf("  log_seq         %" PRIu64 "\n", h->log_seq);
	printf("  create_lamport  %" PRIu64 "\n", h->create_lamport);
	printf("  first_rec_seq   %" PRIu64 "\n", h->first_rec_seq);
	printf("  flags           0x%" PRIx32 "\n", h->flags);
	printf("  block_size      %" PRIu32 "\n", h->block_size);
	printf("  res_uuid        %s\n", uuid);
	printf("  res_name        %s\n", name);
	printf("  host            %s\n", host);
}

/* The GAP record's payload: the logfile that ended with the EMERGENCY marker. */
static uint64_t gap_prev_seq(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void print_record(struct dump *d, bool first)
{
	const struct mlog_rec *r = &d->s.rec;
	char flags[64];

	if (g_opts.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "offset", json_object_new_uint64(r->off));
		json_object_object_add(o, "rec_seq", json_object_new_uint64(r->rec_seq));
		json_object_object_add(o, "type", json_object_new_string(mlog_type_name(r->type)));
		json_object_object_add(o, "flags", flags_json(r->flags));
		json_object_object_add(o, "pos", json_object_new_uint64(r->pos));
		json_object_object_add(o, "len", json_object_new_uint64(r->len));
		json_object_object_add(o, "payload_len", json_object_new_uint64(r->payload_len));
		json_object_object_add(o, "lamport", json_object_new_uint64(r->lamport));
		json_object_object_add(o, "crc", hex32_json(r->crc));
		if (r->type == MLOG_T_GAP)
			json_object_object_add(o, "prev_log_seq",
					       json_object_new_uint64(gap_prev_seq(d->s.buf)));
		printf("%s\n    %s", first ? "" : ",",
		       json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		return;
	}
	if (first)
		printf("records:\n  %10s  %10s  %-7s  %-9s  %14s  %10s  %s\n", "OFFSET", "REC_SEQ",
		       "TYPE", "FLAGS", "POS", "LEN", "LAMPORT");
	printf("  %10" PRIu64 "  %10" PRIu64 "  %-7s  %-9s  %14" PRIu64 "  %10" PRIu32 "  %"
	       PRIu64, r->off, r->rec_seq, mlog_type_name(r->type),
	       flag_names(r->flags, flags, sizeof(flags)), r->pos, r->len, r->lamport);
	if (r->type == MLOG_T_GAP)
		printf("  prev_log_seq %" PRIu64, gap_prev_seq(d->s.buf));
	else if (r->type == MLOG_T_PAD)
		printf("  payload_len %" PRIu32, r->payload_len);
	printf("\n");
}

/* A time_backward warning for the record just delivered. */
static void warn_time_backward(struct dump *d, uint64_t prev_lamport)
{
	const struct mlog_rec *r = &d->s.rec;

	if (!g_opts.json) {
		printf("warning: time_backward at %" PRIu64 ": lamport %" PRIu64
		       " is not after the previous record's %" PRIu64 "\n", r->off, r->lamport,
		       prev_lamport);
	} else if (d->s.time_backward <= DUMP_WARN_MAX) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "warning", json_object_new_string("time_backward"));
		json_object_object_add(o, "offset", json_object_new_uint64(r->off));
		json_object_object_add(o, "lamport", json_object_new_uint64(r->lamport));
		json_object_object_add(o, "prev_lamport", json_object_new_uint64(prev_lamport));
		json_object_array_add(d->warnings, o);
	}
}

/* Scan the records, printing each as it comes (the header was printed already). */
static void scan_records(struct dump *d)
{
	uint64_t warned = 0, prev_lamport = 0;
	bool first = true;

	if (g_opts.json && d->records)
		printf(",\n  \"records\": [");
	while (d->header_ok && mlog_scan_next(&d->s) == 1) {
		if (d->records)
			print_record(d, first);
		first = false;
		if (d->s.time_backward != warned) {
			warned = d->s.time_backward;
			warn_time_backward(d, prev_lamport);
		}
		prev_lamport = d->s.rec.lamport;
	}
	if (g_opts.json && d->records)
		printf("%s]", first ? "" : "\n  ");
	else if (!g_opts.json && d->records && first)
		printf("records: none\n");
}

static void print_outcome(const struct dump *d)
{
	const struct mlog_scan *s = &d->s;
	bool fatal = mlog_outcome_fatal(s->outcome);
	char flags[64];

	if (g_opts.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "outcome",
				       json_object_new_string(mlog_outcome_name(s->outcome)));
		json_object_object_add(o, "offset", json_object_new_uint64(s->pos));
		json_object_object_add(o, "detail", s->detail ?
				       json_object_new_string(s->detail) : NULL);
		json_object_object_add(o, "fatal", json_object_new_boolean(fatal));
		json_object_object_add(o, "records", json_object_new_uint64(s->records));
		json_object_object_add(o, "time_backward",
				       json_object_new_uint64(s->time_backward));
		if (s->outcome == MLOG_O_ZERO_TAIL || s->zero_bytes)
			json_object_object_add(o, "zero_bytes",
					       json_object_new_uint64(s->zero_bytes));
		if (s->outcome == MLOG_O_TORN_TAIL)
			json_object_object_add(o, "valid_after",
					       json_object_new_uint64(s->valid_after));
		if (s->eof_seen)
			json_object_object_add(o, "eof_flags", flags_json(s->eof_flags));
		if (s->outcome == MLOG_O_READ_ERROR)
			json_object_object_add(o, "error", json_object_new_string(strerror(-s->err)));
		json_member(false, "outcome", o);
		return;
	}
	printf("outcome: %s at %" PRIu64, mlog_outcome_name(s->outcome), s->pos);
	if (s->outcome == MLOG_O_READ_ERROR)
		printf(": %s", strerror(-s->err));
	else if (s->detail)
		printf(": %s", s->detail);
	printf("\n");
	if (s->outcome == MLOG_O_ZERO_TAIL || s->zero_bytes)
		printf("  %" PRIu64 " zero bytes follow\n", s->zero_bytes);
	if (s->outcome == MLOG_O_TORN_TAIL)
		printf("  %" PRIu64 " records with a valid CRC after it%s\n", s->valid_after,
		       s->valid_after ? " (acknowledged writes may be lost)" : "");
	if (s->eof_seen)
		printf("  EOF flags %s\n", flag_names(s->eof_flags, flags, sizeof(flags)));
	printf("  %" PRIu64 " records, %" PRIu64 " time_backward warnings\n", s->records,
	       s->time_backward);
	if (fatal)
		printf("  fatal: no consumer uses this file beyond offset %" PRIu64 "\n", s->pos);
}

/* content_end and the chain entry (11.1). Returns -1 if libcrypto failed. */
static int print_chain(const struct dump *d)
{
	const struct mlog_scan *s = &d->s;
	uint8_t prev[MLOG_CHAIN_LEN], entry[MLOG_CHAIN_LEN], uuid[MLOG_UUID_LEN];
	char prev_hex[MLOG_CHAIN_HEX_LEN + 1], entry_hex[MLOG_CHAIN_HEX_LEN + 1];
	char uuid_text[MLOG_UUID_TEXT_LEN + 1];
	static const uint8_t zero[MLOG_UUID_LEN];
	const char *why = NULL, *uuid_from = NULL;
	struct json_object *o = NULL;

	if (!d->header_ok)
		why = "no valid header";
	else if (mlog_outcome_fatal(s->outcome))
		why = "the outcome is fatal";
	if (!why) {
		if (d->have_prev) {
			memcpy(prev, d->prev, sizeof(prev));
		} else {
			bool header_uuid = memcmp(s->fh.res_uuid, zero, MLOG_UUID_LEN) != 0;

			memcpy(uuid, header_uuid || !d->have_uuid ? s->fh.res_uuid : d->uuid,
			       MLOG_UUID_LEN);
			uuid_from = header_uuid ? "header" : d->have_uuid ? "--uuid" :
				"none (all zero)";
			mlog_uuid_format(uuid, uuid_text);
			if (mlog_chain_genesis(uuid, prev))
				return -1;
		}
		if (mlog_chain_entry(s->fh.log_seq, s->fh.host, s->content_end, prev, entry))
			return -1;
		mlog_hex(prev, MLOG_CHAIN_LEN, prev_hex);
		mlog_hex(entry, MLOG_CHAIN_LEN, entry_hex);
	}
	if (g_opts.json) {
		json_member(false, "content_end", d->header_ok ?
			    json_object_new_uint64(s->content_end) : NULL);
		if (!why) {
			o = json_object_new_object();
			json_object_object_add(o, "entry", json_object_new_string(entry_hex));
			json_object_object_add(o, "log_seq", json_object_new_uint64(s->fh.log_seq));
			json_object_object_add(o, "host", json_object_new_string(s->fh.host));
			json_object_object_add(o, "end", json_object_new_uint64(s->content_end));
			json_object_object_add(o, "prev", json_object_new_string(prev_hex));
			json_object_object_add(o, "prev_from", json_object_new_string(
						       d->have_prev ? "--prev" : "genesis"));
			if (!d->have_prev) {
				json_object_object_add(o, "genesis_uuid",
						       json_object_new_string(uuid_text));
				json_object_object_add(o, "genesis_uuid_from",
						       json_object_new_string(uuid_from));
			}
		}
		json_member(false, "chain", o);
		return 0;
	}
	if (d->header_ok)
		printf("content_end: %" PRIu64 "\n", s->content_end);
	if (why) {
		printf("chain: none (%s)\n", why);
		return 0;
	}
	printf("chain: %s\n  entry(%" PRIu64 ") of host %s, end %" PRIu64 "\n", entry_hex,
	       s->fh.log_seq, s->fh.host, s->content_end);
	if (d->have_prev)
		printf("  prev %s (--prev)\n", prev_hex);
	else
		printf("  prev = genesis %s of res_uuid %s (from the %s)\n", prev_hex, uuid_text,
		       uuid_from);
	return 0;
}

/* --- the command --------------------------------------------------------------------- */

/* A usage error: the message, the grammar, exit status 2. */
static int __attribute__((format(printf, 1, 2))) dump_usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_msg("log dump: %s; see 'marsctl log help'", msg);
	return 2;
}

/* Parse the options into @d and @valid_len. Returns 0, 2 (usage error) or -1 (help). */
static int dump_options(struct dump *d, uint64_t *valid_len, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "torn", no_argument, NULL, 't' },
		{ "may-grow", no_argument, NULL, 'g' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "prev", required_argument, NULL, 'p' },
		{ "valid-len", required_argument, NULL, 'l' },
		{ "records", no_argument, NULL, 'r' },
		{ "no-records", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int opt;

	optind = 0;	/* glibc: full re-initialisation, argv[0] is skipped */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			g_opts.json = true;
			break;
		case 't':
			d->s.tail_may_be_torn = true;
			break;
		case 'g':
			d->s.may_grow = true;
			break;
		case 'u':
			if (mlog_uuid_parse(optarg, d->uuid))
				return dump_usage_error("--uuid '%s' is not a UUID "
							"(8-4-4-4-12 hex digits)", optarg);
			d->have_uuid = true;
			break;
		case 'p':
			if (mlog_unhex(optarg, d->prev, MLOG_CHAIN_LEN))
				return dump_usage_error("--prev '%s' is not 64 hex digits", optarg);
			d->have_prev = true;
			break;
		case 'l':
			errno = 0;
			*valid_len = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-')
				return dump_usage_error("--valid-len '%s' is not a number of bytes",
							optarg);
			break;
		case 'r':
			d->records = true;
			break;
		case 'R':
			d->records = false;
			break;
		case 'h':
			printf("usage: marsctl log %s\n", LOG_USAGE_DUMP);
			return -1;
		case ':':
			return dump_usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return dump_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return dump_usage_error("%s", "no FILE given");
	if (optind + 1 < argc)
		return dump_usage_error("unexpected argument '%s'", argv[optind + 1]);
	d->path = argv[optind];
	return 0;
}

static int do_log_dump(int argc, char **argv)
{
	static struct dump dump;
	struct dump *d = &dump;
	uint64_t valid_len = UINT64_MAX;
	struct stat st;
	int ret;

	memset(d, 0, sizeof(*d));
	d->records = true;
	ret = dump_options(d, &valid_len, argc, argv);
	if (ret)
		return ret < 0 ? 0 : ret;
	d->fd = open(d->path, O_RDONLY | O_CLOEXEC);
	if (d->fd < 0 || fstat(d->fd, &st) < 0) {
		err_msg("log dump: %s: %s", d->path, strerror(errno));
		goto fail_open;
	}
	if (!S_ISREG(st.st_mode)) {
		err_msg("log dump: %s: not a regular file", d->path);
		goto fail_open;
	}
	d->s.buf = malloc(MLOG_REC_DATA_MAX);
	d->warnings = json_object_new_array();
	if (!d->s.buf || !d->warnings) {
		err_msg("log dump: out of memory");
		goto fail_mem;
	}
	expect_from_path(d);
	d->s.read = dump_read;
	d->s.ctx = &d->fd;
	d->s.crc = mlog_crc_isal;
	d->s.end = (uint64_t)st.st_size < valid_len ? (uint64_t)st.st_size : valid_len;
	d->s.expect_seq = d->name_matches ? d->name_seq : 0;
	d->s.expect_host = d->name_matches ? d->name_host : NULL;
	d->s.expect_res = d->dir_matches ? d->dir_res : NULL;
	d->s.expect_uuid = d->have_uuid ? d->uuid : NULL;

	d->header_ok = mlog_scan_begin(&d->s) == 1;
	if (g_opts.json) {
		printf("{");
		json_member(true, "file", json_object_new_string(d->path));
	} else {
		printf("file: %s (%" PRIu64 " bytes%s)\n", d->path, (uint64_t)st.st_size,
		       d->s.end < (uint64_t)st.st_size ? ", scanned up to --valid-len" : "");
	}
	print_expect(d);
	print_header(d);
	scan_records(d);
	if (g_opts.json)
		json_member(false, "warnings", json_object_get(d->warnings));
	print_outcome(d);
	ret = print_chain(d);
	if (g_opts.json)
		printf("\n}\n");
	if (ret) {
		err_msg("log dump: SHA-256 (libcrypto) failed");
		ret = 1;
	} else {
		ret = mlog_outcome_fatal(d->s.outcome) ? 1 : 0;
	}
	json_object_put(d->warnings);
	free(d->s.buf);
	close(d->fd);
	return ret;

fail_mem:
	json_object_put(d->warnings);
	free(d->s.buf);
fail_open:
	if (d->fd >= 0)
		close(d->fd);
	return 1;
}

static int do_log_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("usage:\n");
	for (const struct cmd *c = log_cmds; c->name; c++)
		printf("  marsctl log %s\n", c->usage);
	return 0;
}

int do_log(int argc, char **argv)
{
	return cmd_dispatch(log_cmds, "log command", argc - 1, argv + 1);
}
