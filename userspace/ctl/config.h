/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cluster configuration file of `marsctl apply` (docs/config.md): parsed with
 * libyaml, validated, and turned into the store keys that describe the desired
 * state (docs/architecture.md, 8.2).
 *
 * The parser works on a buffer and touches the file system only for the one check
 * that needs it (this host's data devices must exist), so the fuzzer can drive it.
 */
#ifndef MARSCTL_CONFIG_H
#define MARSCTL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define CFG_MAX_ERRORS	20		/* messages kept; later ones are counted only */
#define CFG_DEFAULT_PORT 7777

struct cfg_errors {
	unsigned int n;				/* errors found (may exceed CFG_MAX_ERRORS) */
	char msg[CFG_MAX_ERRORS][512];		/* "file:line:col: what was expected" */
};

struct cfg_tunable {
	char *name;
	uint64_t value;
};

struct cfg_res_host {
	char *host;		/* a name from the hosts list */
	char *data;		/* data device path on that host */
	char *log_dir;		/* log directory (used by the logger, issue 4), or NULL */
};

struct cfg_res {
	char *name;
	uint64_t size;			/* bytes */
	uint32_t backend;		/* enum mars_backend */
	uint32_t sio_threads;		/* threads, only for sio; 0 for other backends */
	char *primary;			/* designated primary, or NULL = none */
	struct cfg_res_host *hosts;
	size_t nhosts;
	struct cfg_tunable *tun;
	size_t ntun;
};

struct cfg_host {
	char *name;
	char *addr;			/* host:port */
};

struct config {
	char *cluster;
	struct cfg_host *hosts;
	size_t nhosts;
	struct cfg_res *res;
	size_t nres;
	struct cfg_tunable *tun;	/* global tunables */
	size_t ntun;
};

/*
 * Parse and validate @len bytes of YAML. @file names the input in messages.
 * @this_host: the host whose data devices must exist (NULL: do not check).
 * Returns 0 when valid; -EINVAL with @errs filled; -ENOMEM. @c must be freed with
 * config_free() in every case.
 */
int config_parse(const char *file, const char *buf, size_t len, const char *this_host,
		 struct config *c, struct cfg_errors *errs);
void config_free(struct config *c);

/* The desired shared keys of @c (without the UUIDs, which apply adds once). */
int config_to_kv(const struct config *c, struct kvset *out);

/* Known tunables: 0 and *global_only if @name is one and @v is in range. */
int config_tunable_check(const char *name, uint64_t v, int *global_only,
			 char *why, size_t why_size);

#endif /* MARSCTL_CONFIG_H */
