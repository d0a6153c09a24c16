// SPDX-License-Identifier: GPL-2.0
/*
 * mars_maps: the definitions of the maps mars.ko reads and writes
 * (docs/architecture.md, 5.2). No programs: marsctl embeds this object as a
 * skeleton and loads it with pin_root_path = MARS_BPF_PIN_ROOT, so libbpf reuses
 * the compatible maps pinned there and creates and pins the missing ones; then
 * marsctl hands them to the module (MARS_IOC_MAP_ATTACH). The values are typed
 * with the structs of include/uapi/linux/mars.h, so the maps carry BTF and
 * `bpftool map dump` prints field names. The module checks type, sizes, flags and
 * names against the same definitions (kmod/maps.c).
 */
#include <linux/bpf.h>
#include <linux/mars.h>
#include <bpf/bpf_helpers.h>

/* global tunables (marsctl tune, bpftool map update) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mars_tun);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mars_gtun SEC(".maps");

/* per-resource overrides, key res_id */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MARS_RES_MAX);
	__type(key, __u32);
	__type(value, struct mars_res_tun);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mars_rtun SEC(".maps");

/* global state, written by the module */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mars_gstate);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mars_gstate SEC(".maps");

/* per-resource state, key res_id */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MARS_RES_MAX);
	__type(key, __u32);
	__type(value, struct mars_rstate);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mars_rstate SEC(".maps");

/* IO counters per CPU, key res_id */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MARS_RES_MAX);
	__type(key, __u32);
	__type(value, struct mars_io_ctr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mars_io SEC(".maps");

/* latency histograms */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MARS_LAT_MAX_ENTRIES);
	__type(key, struct mars_lat_key);
	__type(value, struct mars_lat_hist);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mars_lat SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
