// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl stats [<res>] [--latency] [--json]: IO counters (mars_io, summed over
 * CPUs) and, with --latency, the latency histograms (mars_lat) of every resource,
 * cumulative since the resource was created. Resources are found in mars_rstate
 * with the double read of architecture.md 5.4.
 *
 * Percentiles come from log2 buckets: "p99 <= 2^k ns" is the upper bound of the
 * bucket holding the 99th percentile, so they are exact to a factor of two.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/mars.h>

#include "marsctl.h"

static const char *const slot_names[MARS_SLOTS] = { "if", "logger", "data", "log" };
static const char *const op_names[MARS_OPS] = {
	"read", "write", "flush", "discard", "write_zeroes",
};

#define IO_FIELDS(X) X(reads) X(writes) X(flushes) X(fua_writes) X(discards) \
	X(write_zeroes) X(read_bytes) X(write_bytes) X(discard_bytes) X(zero_bytes) \
	X(read_errors) X(write_errors) X(flush_errors) X(other_errors) X(throttled)

const char *mars_slot_name(unsigned int slot)
{
	return slot < MARS_SLOTS ? slot_names[slot] : "?";
}

const char *mars_op_name(unsigned int op)
{
	return op < MARS_OPS ? op_names[op] : "?";
}

/* Upper bound in ns of the bucket that holds quantile @q of @b[0..n). */
__u64 hist_quantile(const __u64 *b, unsigned int n, double q)
{
	__u64 total = 0, acc = 0;

	for (unsigned int i = 0; i < n; i++)
		total += b[i];
	if (!total)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		acc += b[i];
		if ((double)acc >= q * (double)total)
			return 2ULL << i;
	}
	return 2ULL << (n - 1);
}

/* Sum the per-CPU copies of mars_io[res_id]. */
static int io_read(int fd, __u32 res_id, struct mars_io_ctr *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mars_io_ctr *v;
	int ret = 0;

	memset(sum, 0, sizeof(*sum));
	if (ncpu <= 0)
		return -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &res_id, v)) {
		ret = -errno;
		goto out;
	}
	for (int c = 0; c < ncpu; c++) {
#define ADD(f) sum->f += v[c].f;
		IO_FIELDS(ADD)
#undef ADD
	}
out:
	free(v);
	return ret;
}

static struct json_object *hist_json(const struct mars_lat_hist *h)
{
	struct json_object *o = json_object_new_object();
	struct json_object *b = json_object_new_array();
	unsigned int last = 0;

	json_object_object_add(o, "count", json_object_new_uint64(h->count));
	json_object_object_add(o, "sum_ns", json_object_new_uint64(h->sum_ns));
	json_object_object_add(o, "p50_ns_le",
			       json_object_new_uint64(hist_quantile(h->bucket, MARS_LAT_BUCKETS, 0.5)));
	json_object_object_add(o, "p99_ns_le",
			       json_object_new_uint64(hist_quantile(h->bucket, MARS_LAT_BUCKETS, 0.99)));
	for (unsigned int i = 0; i < MARS_LAT_BUCKETS; i++)
		if (h->bucket[i])
			last = i + 1;
	for (unsigned int i = 0; i < last; i++)
		json_object_array_add(b, json_object_new_uint64(h->bucket[i]));
	json_object_object_add(o, "log2_buckets", b);
	return o;
}

static void hist_plain(const struct mars_lat_key *k, const struct mars_lat_hist *h)
{
	__u64 max = 0;

	printf("  %s %s: %llu requests, avg %.1f us, p50 <= %.1f us, p99 <= %.1f us\n",
	       mars_slot_name(k->slot), mars_op_name(k->op), (unsigned long long)h->count,
	       h->count ? (double)h->sum_ns / (double)h->count / 1000 : 0.0,
	       hist_quantile(h->bucket, MARS_LAT_BUCKETS, 0.5) / 1000.0,
	       hist_quantile(h->bucket, MARS_LAT_BUCKETS, 0.99) / 1000.0);
	for (unsigned int i = 0; i < MARS_LAT_BUCKETS; i++)
		if (h->bucket[i] > max)
			max = h->bucket[i];
	for (unsigned int i = 0; i < MARS_LAT_BUCKETS; i++) {
		int bar;

		if (!h->bucket[i])
			continue;
		bar = (int)(h->bucket[i] * 40 / max);
		printf("    [%8llu, %8llu) ns %10llu |%-40.*s|\n", 1ULL << i, 2ULL << i,
		       (unsigned long long)h->bucket[i], bar ? bar : 1,
		       "****************************************");
	}
}

/* Print one resource. @out: JSON array, or NULL for plain output. */
static int stats_res(const struct mars_maps *m, __u32 id, const struct mars_rstate *rs,
		     bool latency, struct json_object *out)
{
	struct json_object *o = NULL, *io, *lat = NULL;
	struct mars_lat_hist h;
	struct mars_lat_key k;
	struct mars_io_ctr c;
	int err;

	err = io_read(m->fd[MARS_MAP_IO], id, &c);
	if (err) {
		err_msg("cannot read mars_io[%u]: %s", id, strerror(-err));
		return -1;
	}
	if (out) {
		o = json_object_new_object();
		io = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(rs->name));
		json_object_object_add(o, "res_id", json_object_new_int64(id));
		json_object_object_add(o, "gen", json_object_new_uint64(rs->gen));
#define JS(f) json_object_object_add(io, #f, json_object_new_uint64(c.f));
		IO_FIELDS(JS)
#undef JS
		json_object_object_add(o, "io", io);
		if (latency)
			lat = json_object_new_array();
	} else {
		printf("%s (slot %u): reads %llu (%llu bytes), writes %llu (%llu bytes, %llu fua), flushes %llu, discards %llu, write_zeroes %llu, errors r/w/f/o %llu/%llu/%llu/%llu\n",
		       rs->name, id, (unsigned long long)c.reads,
		       (unsigned long long)c.read_bytes, (unsigned long long)c.writes,
		       (unsigned long long)c.write_bytes, (unsigned long long)c.fua_writes,
		       (unsigned long long)c.flushes, (unsigned long long)c.discards,
		       (unsigned long long)c.write_zeroes, (unsigned long long)c.read_errors,
		       (unsigned long long)c.write_errors, (unsigned long long)c.flush_errors,
		       (unsigned long long)c.other_errors);
	}
	for (k.res_id = id, k.slot = 0; latency && k.slot < MARS_SLOTS; k.slot++) {
		for (k.op = 0; k.op < MARS_OPS; k.op++) {
			if (bpf_map_lookup_elem(m->fd[MARS_MAP_LAT], &k, &h) || !h.count)
				continue;
			if (lat) {
				struct json_object *e = hist_json(&h);

				json_object_object_add(e, "slot",
						       json_object_new_string(mars_slot_name(k.slot)));
				json_object_object_add(e, "op",
						       json_object_new_string(mars_op_name(k.op)));
				json_object_array_add(lat, e);
			} else {
				hist_plain(&k, &h);
			}
		}
	}
	if (o) {
		if (lat)
			json_object_object_add(o, "latency", lat);
		json_object_array_add(out, o);
	}
	return 0;
}

int do_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "latency", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *out = NULL;
	struct mars_rstate rs;
	const char *res = NULL;
	bool latency = false;
	struct mars_maps m;
	int opt, ret = 0, found = 0;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "lj", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			latency = true;
			break;
		case 'j':
			g_opts.json = true;
			break;
		default:
			err_msg("usage: marsctl stats [<res>] [--latency] [--json]");
			return 2;
		}
	}
	if (optind < argc)
		res = argv[optind++];
	if (optind < argc) {
		err_msg("usage: marsctl stats [<res>] [--latency] [--json]");
		return 2;
	}
	if (mars_maps_ensure(&m))
		return 1;
	if (g_opts.json)
		out = json_object_new_array();
	for (__u32 id = 0; id < MARS_RES_MAX; id++) {
		int err = mars_state_read(m.fd[MARS_MAP_RSTATE], id, &rs, sizeof(rs));

		if (err) {
			err_msg("mars_rstate[%u]: %s", id,
				err == -EBUSY ? "state busy" : strerror(-err));
			ret = 1;
			continue;
		}
		if (!rs.gen || (res && strncmp(rs.name, res, MARS_NAME_MAX)))
			continue;
		found++;
		if (stats_res(&m, id, &rs, latency, out))
			ret = 1;
	}
	if (res && !found) {
		if (out)
			json_object_put(out);
		err_msg("no resource %s", res);
		ret = 1;
	} else if (out) {
		json_print(out);
	}
	mars_maps_close(&m);
	return ret;
}
