// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl top [<res>] [--interval SEC] [--once | --iterations N] [--json]: live
 * per-resource IOPS, throughput and latency percentiles, refreshed every interval
 * (default 1 s), like top(1). The user half of bpf/mars_top.bpf.c (libbpf-tools
 * shape): parse args, set libbpf print, open, configure (the resource slots
 * counted: the one asked for, or every slot up to the highest in use plus
 * MARS_TOP_RES_SPARE; the array is sized to match), load, attach to tracepoint
 * mars:req_done (raw_tp), run, one cleanup label. The program's counters are
 * cumulative; each interval shows the difference to the previous read. The link is destroyed on exit (also on SIGINT/SIGTERM), so rmmod mars
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

/*
 * Read the program's array (entries of resources res_base .. res_base + nr_res - 1)
 * into @rows, summed over CPUs; an entry becomes a row once it counted a request.
 * One batch lookup for the whole array (@keys: nr_res * MARS_TOP_PER_RES entries,
 * @vals: as many times @ncpu values), not a system call per entry.
 */
static int top_read(int fd, __u32 res_base, __u32 nr_res, struct top_row *rows, int *nrows,
		    __u32 *keys, struct mars_top_val *vals, int ncpu)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = nr_res * MARS_TOP_PER_RES, out;
	struct mars_top_val sum, *pcpu;
	struct mars_lat_key k;
	struct top_row *r;
	int err;

	err = bpf_map_lookup_batch(fd, NULL, &out, keys, vals, &count, &opts);
	if (err && err != -ENOENT)
		return err;
	for (__u32 i = 0; i < count; i++) {
		__u32 idx = keys[i];

		pcpu = &vals[(size_t)i * ncpu];
		memset(&sum, 0, sizeof(sum));
		for (int c = 0; c < ncpu; c++) {
			sum.count += pcpu[c].count;
			sum.bytes += pcpu[c].bytes;
			sum.errors += pcpu[c].errors;
			sum.sum_ns += pcpu[c].sum_ns;
			for (int b = 0; b < MARS_LAT_BUCKETS; b++)
				sum.bucket[b] += pcpu[c].bucket[b];
		}
		if (!sum.count)
			continue;
		k.res_id = res_base + idx / MARS_TOP_PER_RES;
		k.slot = idx % MARS_TOP_PER_RES / MARS_OPS;
		k.op = idx % MARS_OPS;
		r = row_find(rows, nrows, &k);
		if (r)
			r->now = sum;
	}
	return 0;
}

/* Events of resources beyond the array (created since top started), summed. */
static __u64 top_drops(int fd, __u64 *pcpu, int ncpu)
{
	__u32 zero = 0;
	__u64 n = 0;

	if (bpf_map_lookup_elem(fd, &zero, pcpu))
		return 0;
	for (int c = 0; c < ncpu; c++)
		n += pcpu[c];
	return n;
}

/* The highest resource slot in use + 1, from mars_rstate (0: none, or no maps). */
static __u32 top_res_used(const struct mars_maps *m)
{
	struct mars_rstate rs;
	__u32 n = 0;

	for (__u32 id = 0; m && id < MARS_RES_MAX; id++)
		if (!mars_state_read(m->fd[MARS_MAP_RSTATE], id, &rs, sizeof(rs)) && rs.gen)
			n = id + 1;
	return n;
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
		      double secs, int iteration, __u64 drops)
{
	struct json_object *arr = NULL;
	char name[MARS_NAME_MAX + 8];

	if (g_opts.json) {
		arr = json_object_new_array();
	} else {
		if (isatty(STDOUT_FILENO))
			printf("\033[H\033[2J");
		printf("marsctl top: interval %.1f s, sample %d\n", secs, iteration);
		if (drops)
			printf("(%llu requests of resources created since top started are not shown: restart top)\n",
			       (unsigned long long)drops);
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
	int opt, ret = 1, nrows = 0, iterations = 0, ncpu, fd, dfd;
	const char *res = NULL;
	__u32 res_id = ~0U, res_base = 0, nr_res;
	__u64 *dpcpu = NULL;
	__u32 *keys = NULL;
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
	dpcpu = calloc(ncpu > 0 ? ncpu : 1, sizeof(*dpcpu));
	rows = calloc(MARS_TOP_MAX_KEYS, sizeof(*rows));
	if (ncpu <= 0 || !dpcpu || !rows) {
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
	if (res) {
		res_base = res_id;
		nr_res = 1;
	} else {
		nr_res = top_res_used(m) + MARS_TOP_RES_SPARE;
		if (nr_res > MARS_RES_MAX)
			nr_res = MARS_RES_MAX;
	}
	keys = calloc(nr_res * MARS_TOP_PER_RES, sizeof(*keys));
	pcpu = calloc((size_t)nr_res * MARS_TOP_PER_RES * ncpu, sizeof(*pcpu));
	if (!keys || !pcpu) {
		err_msg("out of memory");
		goto cleanup;
	}
	skel->rodata->res_base = res_base;
	skel->rodata->nr_res = nr_res;
	if (bpf_map__set_max_entries(skel->maps.top_lat, nr_res * MARS_TOP_PER_RES)) {
		err_msg("cannot size the top program's map: %s", strerror(errno));
		goto cleanup;
	}
	if (mars_top_bpf__load(skel)) {
		err_msg("cannot load the top program (is mars.ko loaded? tracepoint mars:req_done is needed)");
		goto cleanup;
	}
	if (mars_top_bpf__attach(skel)) {
		err_msg("cannot attach to tracepoint mars:req_done: %s", strerror(errno));
		goto cleanup;
	}
	fd = bpf_map__fd(skel->maps.top_lat);
	dfd = bpf_map__fd(skel->maps.top_drops);
	signal(SIGINT, top_sig);
	signal(SIGTERM, top_sig);

	/* Run. */
	t0 = now_s();
	for (int it = 1; !top_stop && (!iterations || it <= iterations); it++) {
		usleep((useconds_t)(interval * 1e6));
		t1 = now_s();
		if (top_read(fd, res_base, nr_res, rows, &nrows, keys, pcpu, ncpu)) {
			err_msg("cannot read the top program's map: %s", strerror(errno));
			goto cleanup;
		}
		top_print(m, rows, nrows, t1 - t0, it, top_drops(dfd, dpcpu, ncpu));
		t0 = t1;
	}
	ret = 0;

cleanup:
	/* Detaches: the module can be unloaded again. */
	mars_top_bpf__destroy(skel);
	if (m)
		mars_maps_close(m);
	free(rows);
	free(dpcpu);
	free(keys);
	free(pcpu);
	return ret;
usage:
	err_msg("usage: marsctl top [<res>] [--interval SEC] [--once | --iterations N] [--json]");
	return 2;
}
