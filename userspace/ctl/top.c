// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl top [<res>] [--interval SEC] [--once | --iterations N] [--json]: live
 * per-resource IOPS, throughput and latency percentiles, refreshed every interval
 * (default 1 s), like top(1). The user half of bpf/mars_top.bpf.c (libbpf-tools
 * shape): parse args, set libbpf print, open, configure (targ_res_id), load,
 * attach to tracepoint mars:req_done (raw_tp), run, one cleanup label. The program's
 * counters are cumulative; each interval shows the difference to the previous
 * read. The link is destroyed on exit (also on SIGINT/SIGTERM), so rmmod mars
 * works again afterwards.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/mars.h>

#include "marsctl.h"
#include "mars_top.h"
#include "mars_top.skel.h"

struct top_row {
	struct mars_lat_key key;
	struct mars_top_val now;	/* summed over CPUs */
	struct mars_top_val prev;	/* at the previous read */
};

static volatile sig_atomic_t top_stop;

static void top_sig(int sig)
{
	(void)sig;
	top_stop = 1;
}

static struct top_row *row_find(struct top_row *rows, int *nrows, const struct mars_lat_key *k)
{
	for (int i = 0; i < *nrows; i++)
		if (!memcmp(&rows[i].key, k, sizeof(*k)))
			return &rows[i];
	if (*nrows >= MARS_TOP_MAX_KEYS)
		return NULL;
	memset(&rows[*nrows], 0, sizeof(rows[0]));
	rows[*nrows].key = *k;
	return &rows[(*nrows)++];
}

/* Read every key of the program's map into @rows (sums over CPUs). */
static int top_read(int fd, struct top_row *rows, int *nrows, struct mars_top_val *pcpu,
		    int ncpu)
{
	struct mars_lat_key k, next;
	struct mars_lat_key *cur = NULL;
	struct top_row *r;

	while (!bpf_map_get_next_key(fd, cur, &next)) {
		k = next;
		cur = &k;
		if (bpf_map_lookup_elem(fd, &k, pcpu))
			continue;
		r = row_find(rows, nrows, &k);
		if (!r)
			continue;
		memset(&r->now, 0, sizeof(r->now));
		for (int c = 0; c < ncpu; c++) {
			r->now.count += pcpu[c].count;
			r->now.bytes += pcpu[c].bytes;
			r->now.errors += pcpu[c].errors;
			r->now.sum_ns += pcpu[c].sum_ns;
			for (int b = 0; b < MARS_LAT_BUCKETS; b++)
				r->now.bucket[b] += pcpu[c].bucket[b];
		}
	}
	return 0;
}

/* The resource's name from mars_rstate, or "#<res_id>". */
static void res_name(const struct mars_maps *m, __u32 id, char *buf, size_t len)
{
	struct mars_rstate rs;

	if (m && !mars_state_read(m->fd[MARS_MAP_RSTATE], id, &rs, sizeof(rs)) && rs.gen)
		snprintf(buf, len, "%s", rs.name);
	else
		snprintf(buf, len, "#%u", id);
}

static void top_print(const struct mars_maps *m, struct top_row *rows, int nrows,
		      double secs, int iteration)
{
	struct json_object *arr = NULL;
	char name[MARS_NAME_MAX + 8];

	if (g_opts.json) {
		arr = json_object_new_array();
	} else {
		if (isatty(STDOUT_FILENO))
			printf("\033[H\033[2J");
		printf("marsctl top: interval %.1f s, sample %d\n", secs, iteration);
		printf("%-26s %-6s %-12s %10s %10s %10s %10s %8s\n", "resource", "slot", "op",
		       "iops", "MB/s", "p50_us", "p99_us", "errors");
	}
	for (int i = 0; i < nrows; i++) {
		struct top_row *r = &rows[i];
		__u64 d[MARS_LAT_BUCKETS];
		__u64 n = r->now.count - r->prev.count;
		__u64 bytes = r->now.bytes - r->prev.bytes;
		__u64 errs = r->now.errors - r->prev.errors;
		double p50, p99;

		for (int b = 0; b < MARS_LAT_BUCKETS; b++)
			d[b] = r->now.bucket[b] - r->prev.bucket[b];
		p50 = hist_quantile(d, MARS_LAT_BUCKETS, 0.5) / 1000.0;
		p99 = hist_quantile(d, MARS_LAT_BUCKETS, 0.99) / 1000.0;
		res_name(m, r->key.res_id, name, sizeof(name));
		if (arr) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "resource", json_object_new_string(name));
			json_object_object_add(o, "res_id", json_object_new_int64(r->key.res_id));
			json_object_object_add(o, "slot",
					       json_object_new_string(mars_slot_name(r->key.slot)));
			json_object_object_add(o, "op",
					       json_object_new_string(mars_op_name(r->key.op)));
			json_object_object_add(o, "requests", json_object_new_uint64(n));
			json_object_object_add(o, "iops", json_object_new_double(n / secs));
			json_object_object_add(o, "mb_s",
					       json_object_new_double(bytes / secs / 1e6));
			json_object_object_add(o, "p50_us_le", json_object_new_double(p50));
			json_object_object_add(o, "p99_us_le", json_object_new_double(p99));
			json_object_object_add(o, "errors", json_object_new_uint64(errs));
			json_object_array_add(arr, o);
		} else if (n) {
			printf("%-26s %-6s %-12s %10.0f %10.2f %10.1f %10.1f %8llu\n", name,
			       mars_slot_name(r->key.slot), mars_op_name(r->key.op), n / secs,
			       bytes / secs / 1e6, p50, p99, (unsigned long long)errs);
		}
		r->prev = r->now;
	}
	if (arr)
		json_print(arr);
	fflush(stdout);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int do_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, '1' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct mars_maps maps, *m = NULL;
	struct mars_top_bpf *skel = NULL;
	struct mars_top_val *pcpu = NULL;
	struct top_row *rows = NULL;
	double interval = 1.0, t0, t1;
	int opt, ret = 1, nrows = 0, iterations = 0, ncpu, fd;
	const char *res = NULL;
	__u32 res_id = ~0U;
	struct mars_rstate rs;

	/* Parse args. */
	optind = 0;
	while ((opt = getopt_long(argc, argv, "i:1n:j", longopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			interval = atof(optarg);
			break;
		case '1':
			iterations = 1;
			break;
		case 'n':
			iterations = atoi(optarg);
			break;
		case 'j':
			g_opts.json = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind < argc)
		res = argv[optind++];
	if (optind < argc || interval < 0.1 || iterations < 0)
		goto usage;

	/* Resource names come from the state maps; top works without them too. */
	if (!mars_maps_ensure(&maps))
		m = &maps;
	if (res && (!m || mars_res_lookup(m, res, &res_id, &rs))) {
		err_msg("no resource %s", res);
		goto cleanup;
	}
	ncpu = libbpf_num_possible_cpus();
	pcpu = calloc(ncpu > 0 ? ncpu : 1, sizeof(*pcpu));
	rows = calloc(MARS_TOP_MAX_KEYS, sizeof(*rows));
	if (ncpu <= 0 || !pcpu || !rows) {
		err_msg("out of memory");
		goto cleanup;
	}

	/* Set libbpf print, open, configure, load, attach. */
	mars_libbpf_setup();
	skel = mars_top_bpf__open();
	if (!skel) {
		err_msg("cannot open the top program: %s", strerror(errno));
		goto cleanup;
	}
	skel->rodata->targ_res_id = res_id;
	if (mars_top_bpf__load(skel)) {
		err_msg("cannot load the top program (is mars.ko loaded? tracepoint mars:req_done is needed)");
		goto cleanup;
	}
	if (mars_top_bpf__attach(skel)) {
		err_msg("cannot attach to tracepoint mars:req_done: %s", strerror(errno));
		goto cleanup;
	}
	fd = bpf_map__fd(skel->maps.top_lat);
	signal(SIGINT, top_sig);
	signal(SIGTERM, top_sig);

	/* Run. */
	t0 = now_s();
	for (int it = 1; !top_stop && (!iterations || it <= iterations); it++) {
		usleep((useconds_t)(interval * 1e6));
		t1 = now_s();
		top_read(fd, rows, &nrows, pcpu, ncpu);
		top_print(m, rows, nrows, t1 - t0, it);
		t0 = t1;
	}
	ret = 0;

cleanup:
	/* Detaches: the module can be unloaded again. */
	mars_top_bpf__destroy(skel);
	if (m)
		mars_maps_close(m);
	free(rows);
	free(pcpu);
	return ret;
usage:
	err_msg("usage: marsctl top [<res>] [--interval SEC] [--once | --iterations N] [--json]");
	return 2;
}
