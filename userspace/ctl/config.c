// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl apply's configuration file: YAML (libyaml's document API) -> struct
 * config -> desired store keys. The schema is in docs/config.md.
 *
 * Every message has the form "file:line:column: what was expected" (1-based, the
 * position of the offending node). All errors of a file are collected (up to
 * CFG_MAX_ERRORS) so that one run shows them all.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include <linux/mars.h>

#include "config.h"

struct pctx {
	const char *file;
	yaml_document_t *doc;
	struct cfg_errors *errs;
	const char *this_host;
	int nomem;
};

__attribute__((format(printf, 3, 4)))
static void perr(struct pctx *p, const yaml_node_t *n, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (p->errs->n < CFG_MAX_ERRORS)
		snprintf(p->errs->msg[p->errs->n], sizeof(p->errs->msg[0]), "%s:%zu:%zu: %s",
			 p->file, n ? n->start_mark.line + 1 : 1,
			 n ? n->start_mark.column + 1 : 1, buf);
	p->errs->n++;
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static yaml_node_t *node(struct pctx *p, int idx)
{
	return yaml_document_get_node(p->doc, idx);
}

static char *xstrdup(struct pctx *p, const char *s)
{
	char *d = strdup(s);

	if (!d)
		p->nomem = 1;
	return d;
}

/* The scalar's text, or NULL with an error naming @what. */
static const char *scalar(struct pctx *p, const yaml_node_t *n, const char *what)
{
	if (!n || n->type != YAML_SCALAR_NODE) {
		perr(p, n, "expected %s, found %s", what, n ? node_kind(n) : "nothing");
		return NULL;
	}
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
		perr(p, n, "expected %s without NUL bytes", what);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

static int is_mapping(struct pctx *p, const yaml_node_t *n, const char *what)
{
	if (n && n->type == YAML_MAPPING_NODE)
		return 1;
	perr(p, n, "expected %s (a mapping), found %s", what, n ? node_kind(n) : "nothing");
	return 0;
}

static int is_sequence(struct pctx *p, const yaml_node_t *n, const char *what)
{
	if (n && n->type == YAML_SEQUENCE_NODE)
		return 1;
	perr(p, n, "expected %s (a list), found %s", what, n ? node_kind(n) : "nothing");
	return 0;
}

/* Field tables: each mapping's allowed keys. A key seen twice is an error. */
struct field {
	const char *name;
	yaml_node_t *key, *val;
};

/* Fill @f (NULL-terminated by name) from mapping @m; report unknown and duplicate
 * keys. Returns the number of errors. */
static int fields(struct pctx *p, yaml_node_t *m, struct field *f, const char *where)
{
	int bad = 0;

	for (yaml_node_pair_t *pr = m->data.mapping.pairs.start;
	     pr < m->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(p, pr->key);
		const char *name = scalar(p, k, "a key name");
		struct field *hit = NULL;
		char known[256] = "";

		if (!name) {
			bad++;
			continue;
		}
		for (struct field *i = f; i->name; i++) {
			if (!strcmp(i->name, name))
				hit = i;
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
				 known[0] ? ", " : "", i->name);
		}
		if (!hit) {
			perr(p, k, "unknown key '%s' in %s; expected one of: %s", name, where,
			     known);
			bad++;
		} else if (hit->key) {
			perr(p, k, "duplicate key '%s' in %s (first at line %zu)", name, where,
			     hit->key->start_mark.line + 1);
			bad++;
		} else {
			hit->key = k;
			hit->val = node(p, pr->value);
		}
	}
	return bad;
}

static int valid_res_name(const char *s)
{
	size_t len = strlen(s);

	if (len < 1 || len > MARS_NAME_LEN || s[0] == '.' || s[0] == '-')
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
	       len;
}

static int parse_uint(const char *s, uint64_t *v)
{
	char *end;

	if (!s[0] || s[0] == '-' || s[0] == '+' || s[0] == ' ')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || *end || end == s)
		return -EINVAL;
	return 0;
}

/* "64MiB", "64M", "1G", "1048576" -> bytes. */
static int parse_size(const char *s, uint64_t *v)
{
	static const struct { const char *sfx; unsigned int shift; } units[] = {
		{ "", 0 }, { "K", 10 }, { "KiB", 10 }, { "M", 20 }, { "MiB", 20 },
		{ "G", 30 }, { "GiB", 30 }, { "T", 40 }, { "TiB", 40 },
	};
	char *end;
	uint64_t n;

	if (!s[0] || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].sfx))
			continue;
		if (units[i].shift && n > (UINT64_MAX >> units[i].shift))
			return -EINVAL;
		*v = n << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

/* Known tunables (docs/architecture.md 5.3 and 9.10; docs/config.md lists them). */
static const struct tunable_def {
	const char *name;
	uint64_t min, max;
	int global_only;
} tunables[] = {
	{ "sio_threads", 1, MARS_SIO_THREADS_MAX, 0 },
	{ "aio_depth", 1, 4096, 0 },
	{ "buf_max_mb", 16, UINT32_MAX, 0 },
	{ "wb_rate_kib", 1, UINT32_MAX, 0 },
	{ "wb_depth", 1, 1024, 0 },
	{ "wb_flush_mb", 1, 4096, 0 },
	{ "log_rotate_mb", 1, 1u << 20, 0 },
	{ "log_batch_kb", 4, 4096, 0 },
	{ "log_sync_kb", 64, 8192, 0 },
	{ "log_commit_us", 0, 10000, 0 },
	{ "emerg_free_mb", 1, UINT32_MAX, 0 },
	{ "replay_depth", 1, 1024, 0 },
	{ "ack_mode", 0, 1, 0 },
	{ "state_ms", 10, 1000, 1 },
	{ "lat_hist", 0, 1, 1 },
	{ "fetch_rate_kib", 1, UINT32_MAX, 0 },
	{ "sync_rate_kib", 1, UINT32_MAX, 0 },
	{ "sync_chunk_kb", 4, 65536, 0 },
	{ "net_conns", 1, 16, 0 },
	{ "peer_timeout_s", 1, 3600, 0 },
	{ "stuck_s", 1, 86400, 0 },
	{ "ckpt_persist_ms", 100, 60000, 0 },
	{ "log_keep_min", 1, 1000, 0 },
	{ "space_warn_pct", 1, 99, 0 },
	{ "space_delete_pct", 1, 99, 0 },
	{ "space_stop_pct", 1, 99, 0 },
	{ "replay_delay_s", 0, 86400, 0 },
	{ "handover_timeout_s", 1, 86400, 0 },
};

int config_tunable_check(const char *name, uint64_t v, int *global_only, char *why,
			 size_t why_size)
{
	for (size_t i = 0; i < sizeof(tunables) / sizeof(tunables[0]); i++) {
		if (strcmp(tunables[i].name, name))
			continue;
		*global_only = tunables[i].global_only;
		if (v < tunables[i].min || v > tunables[i].max) {
			snprintf(why, why_size, "expected an integer in %" PRIu64 "..%" PRIu64
				 " for tunable '%s'", tunables[i].min, tunables[i].max, name);
			return -ERANGE;
		}
		return 0;
	}
	snprintf(why, why_size, "unknown tunable '%s' (see docs/config.md for the list)",
		 name);
	return -ENOENT;
}

static void parse_tunables(struct pctx *p, yaml_node_t *m, int per_res,
			   struct cfg_tunable **out, size_t *nout)
{
	size_t n = 0;

	if (!is_mapping(p, m, "tunables"))
		return;
	*out = calloc((size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start) + 1,
		      sizeof(**out));
	if (!*out) {
		p->nomem = 1;
		return;
	}
	for (yaml_node_pair_t *pr = m->data.mapping.pairs.start;
	     pr < m->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
		const char *name = scalar(p, k, "a tunable name");
		const char *val;
		char why[200];
		uint64_t x;
		int g = 0, dup = 0;

		if (!name)
			continue;
		for (size_t i = 0; i < n; i++)
			dup |= !strcmp((*out)[i].name, name);
		if (dup) {
			perr(p, k, "duplicate tunable '%s'", name);
			continue;
		}
		if (config_tunable_check(name, 0, &g, why, sizeof(why)) == -ENOENT) {
			perr(p, k, "%s", why);
			continue;
		}
		val = scalar(p, v, "an integer");
		if (!val)
			continue;
		if (parse_uint(val, &x)) {
			perr(p, v, "expected a non-negative integer for tunable '%s', found '%s'",
			     name, val);
			continue;
		}
		if (config_tunable_check(name, x, &g, why, sizeof(why))) {
			perr(p, v, "%s", why);
			continue;
		}
		if (per_res && g) {
			perr(p, k, "tunable '%s' is global only: expected it under the top-level "
			     "'tunables'", name);
			continue;
		}
		(*out)[n].name = xstrdup(p, name);
		(*out)[n].value = x;
		n++;
	}
	*nout = n;
}

static void parse_hosts(struct pctx *p, yaml_node_t *seq, struct config *c)
{
	size_t cnt;

	if (!is_sequence(p, seq, "the list of hosts"))
		return;
	cnt = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (!cnt)
		perr(p, seq, "expected at least one host");
	c->hosts = calloc(cnt + 1, sizeof(*c->hosts));
	if (!c->hosts) {
		p->nomem = 1;
		return;
	}
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *h = node(p, *it);
		struct field f[] = { { .name = "name" }, { .name = "address" }, { .name = NULL } };
		const char *name, *addr;
		struct store_error se;
		int dup = 0;

		if (!is_mapping(p, h, "a host") || fields(p, h, f, "a host"))
			continue;
		if (!f[0].val || !f[1].val) {
			perr(p, h, "expected '%s' in the host", !f[0].val ? "name" : "address");
			continue;
		}
		name = scalar(p, f[0].val, "a host name");
		addr = scalar(p, f[1].val, "an address (host or host:port)");
		if (!name || !addr)
			continue;
		if (store_host_validate(name, &se)) {
			perr(p, f[0].val, "expected a host name of 1..63 characters [A-Za-z0-9._-] "
			     "starting with a letter or digit, found '%s'", name);
			continue;
		}
		for (size_t i = 0; i < c->nhosts; i++)
			dup |= !strcmp(c->hosts[i].name, name);
		if (dup) {
			perr(p, f[0].val, "duplicate host name '%s'", name);
			continue;
		}
		if (!addr[0] || strpbrk(addr, " \t/") || addr[0] == ':') {
			perr(p, f[1].val, "expected an address 'host' or 'host:port', found '%s'",
			     addr);
			continue;
		}
		c->hosts[c->nhosts].name = xstrdup(p, name);
		if (strrchr(addr, ':') && !strchr(addr, ']') == !strchr(addr, '[')) {
			c->hosts[c->nhosts].addr = xstrdup(p, addr);
		} else {
			char buf[300];

			snprintf(buf, sizeof(buf), "%s:%d", addr, CFG_DEFAULT_PORT);
			c->hosts[c->nhosts].addr = xstrdup(p, buf);
		}
		c->nhosts++;
	}
}

static int known_host(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nhosts; i++)
		if (!strcmp(c->hosts[i].name, name))
			return 1;
	return 0;
}

static int abs_path(struct pctx *p, yaml_node_t *n, const char *s, const char *what)
{
	if (s[0] != '/' || strlen(s) >= 256) {
		perr(p, n, "expected %s as an absolute path shorter than 256 bytes, found '%s'",
		     what, s);
		return 0;
	}
	return 1;
}

static void parse_res_hosts(struct pctx *p, yaml_node_t *m, const struct config *c,
			    struct cfg_res *r)
{
	size_t cnt;

	if (!is_mapping(p, m, "the resource's hosts (host name: {data: ..., log_dir: ...})"))
		return;
	cnt = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
	if (!cnt)
		perr(p, m, "expected at least one host in resource '%s'", r->name);
	r->hosts = calloc(cnt + 1, sizeof(*r->hosts));
	if (!r->hosts) {
		p->nomem = 1;
		return;
	}
	for (yaml_node_pair_t *pr = m->data.mapping.pairs.start;
	     pr < m->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
		struct field f[] = { { .name = "data" }, { .name = "log_dir" }, { .name = NULL } };
		const char *host = scalar(p, k, "a host name");
		const char *data, *log_dir = NULL;
		struct stat st;
		int dup = 0;

		if (!host)
			continue;
		for (size_t i = 0; i < r->nhosts; i++)
			dup |= !strcmp(r->hosts[i].host, host);
		if (dup) {
			perr(p, k, "duplicate host '%s' in resource '%s'", host, r->name);
			continue;
		}
		if (!known_host(c, host)) {
			perr(p, k, "unknown host '%s': expected one of the names under 'hosts'",
			     host);
			continue;
		}
		if (!is_mapping(p, v, "the host's settings {data: PATH, log_dir: PATH}") ||
		    fields(p, v, f, "a resource's host"))
			continue;
		if (!f[0].val) {
			perr(p, v, "expected 'data' (the data device path) for host '%s'", host);
			continue;
		}
		data = scalar(p, f[0].val, "a device path");
		if (!data || !abs_path(p, f[0].val, data, "the data device"))
			continue;
		if (f[1].val) {
			log_dir = scalar(p, f[1].val, "a directory path");
			if (!log_dir || !abs_path(p, f[1].val, log_dir, "the log directory"))
				continue;
		}
		if (p->this_host && !strcmp(p->this_host, host) && stat(data, &st)) {
			perr(p, f[0].val, "expected an existing data device on this host (%s), "
			     "but '%s': %s", host, data, strerror(errno));
			continue;
		}
		r->hosts[r->nhosts].host = xstrdup(p, host);
		r->hosts[r->nhosts].data = xstrdup(p, data);
		r->hosts[r->nhosts].log_dir = log_dir ? xstrdup(p, log_dir) : NULL;
		r->nhosts++;
	}
}

static void parse_resource(struct pctx *p, yaml_node_t *m, struct config *c)
{
	struct field f[] = { { .name = "name" }, { .name = "size" }, { .name = "backend" }, { .name = "sio_threads" },
			     { .name = "primary" }, { .name = "hosts" }, { .name = "tunables" }, { .name = NULL } };
	struct cfg_res *r = &c->res[c->nres];
	const char *s;
	int bad = 0;

	if (!is_mapping(p, m, "a resource") || fields(p, m, f, "a resource"))
		return;
	for (int i = 0; i < 6; i++) {
		if (i == 2 || i == 3 || i == 4)
			continue;	/* optional */
		if (!f[i].val) {
			perr(p, m, "expected '%s' in the resource", f[i].name);
			return;
		}
	}
	s = scalar(p, f[0].val, "a resource name");
	if (!s)
		return;
	if (!valid_res_name(s)) {
		perr(p, f[0].val, "expected a resource name of 1..%d characters [A-Za-z0-9_.-], "
		     "not starting with '.' or '-', found '%s'", MARS_NAME_LEN, s);
		return;
	}
	for (size_t i = 0; i < c->nres; i++) {
		if (!strcmp(c->res[i].name, s)) {
			perr(p, f[0].val, "duplicate resource name '%s'", s);
			return;
		}
	}
	r->name = xstrdup(p, s);
	if (!r->name)
		return;

	s = scalar(p, f[1].val, "a size");
	if (s && (parse_size(s, &r->size) || r->size < MARS_DEV_MIN_SIZE || r->size % 4096)) {
		perr(p, f[1].val, "expected a size of at least 1MiB and a multiple of 4KiB "
		     "(bytes, or with K/M/G/T or KiB/MiB/GiB/TiB), found '%s'", s);
		bad++;
	}
	bad += !s;

	r->backend = MARS_BACKEND_SIO;
	if (f[2].val) {
		s = scalar(p, f[2].val, "a backend");
		if (s && !(r->backend = kdev_backend_parse(s))) {
			perr(p, f[2].val, "expected backend sio, aio or bio, found '%s'", s);
			bad++;
		}
		bad += !s;
	}
	if (r->backend == MARS_BACKEND_SIO)
		r->sio_threads = MARS_SIO_THREADS_DEFAULT;
	if (f[3].val) {
		uint64_t t = 0;

		s = scalar(p, f[3].val, "an integer");
		if (s && (parse_uint(s, &t) || t < 1 || t > MARS_SIO_THREADS_MAX)) {
			perr(p, f[3].val, "expected sio_threads as an integer in 1..%d, found '%s'",
			     MARS_SIO_THREADS_MAX, s);
			bad++;
		} else if (s && r->backend && r->backend != MARS_BACKEND_SIO) {
			perr(p, f[3].key, "sio_threads only applies to backend sio, expected no "
			     "sio_threads with backend %s", kdev_backend_name(r->backend));
			bad++;
		} else if (s) {
			r->sio_threads = (uint32_t)t;
		}
		bad += !s;
	}
	if (f[4].val) {
		s = scalar(p, f[4].val, "a host name");
		if (s && s[0] && !known_host(c, s)) {
			perr(p, f[4].val, "unknown primary host '%s': expected one of the names "
			     "under 'hosts'", s);
			bad++;
		} else if (s && s[0]) {
			r->primary = xstrdup(p, s);
		}
		bad += !s;
	}
	bad = (int)p->errs->n;
	parse_res_hosts(p, f[5].val, c, r);
	/* a primary whose host entry was refused has been reported already */
	if (r->primary && (unsigned int)bad == p->errs->n) {
		int member = 0;

		for (size_t i = 0; i < r->nhosts; i++)
			member |= !strcmp(r->hosts[i].host, r->primary);
		if (!member) {
			perr(p, f[4].val, "expected the primary '%s' to be one of the resource's "
			     "hosts", r->primary);
			bad++;
		}
	}
	if (f[6].val)
		parse_tunables(p, f[6].val, 1, &r->tun, &r->ntun);
	c->nres++;
}

static void parse_root(struct pctx *p, yaml_node_t *root, struct config *c)
{
	struct field f[] = { { .name = "cluster" }, { .name = "hosts" }, { .name = "resources" }, { .name = "tunables" },
			     { .name = NULL } };
	const char *s;

	if (!is_mapping(p, root, "the configuration") || fields(p, root, f, "the top level"))
		return;
	if (!f[0].val) {
		perr(p, root, "expected 'cluster' (the cluster name) at the top level");
	} else if ((s = scalar(p, f[0].val, "a cluster name"))) {
		struct store_error se;

		if (store_host_validate(s, &se))
			perr(p, f[0].val, "expected a cluster name of 1..63 characters "
			     "[A-Za-z0-9._-], found '%s'", s);
		else
			c->cluster = xstrdup(p, s);
	}
	if (!f[1].val)
		perr(p, root, "expected 'hosts' (a list of {name, address}) at the top level");
	else
		parse_hosts(p, f[1].val, c);
	if (f[2].val && f[2].val->type == YAML_SCALAR_NODE && !f[2].val->data.scalar.length) {
		/* "resources:" with nothing: no resources */
	} else if (f[2].val && is_sequence(p, f[2].val, "the list of resources")) {
		yaml_node_t *seq = f[2].val;
		size_t cnt = (size_t)(seq->data.sequence.items.top -
				      seq->data.sequence.items.start);

		c->res = calloc(cnt + 1, sizeof(*c->res));
		if (!c->res) {
			p->nomem = 1;
			return;
		}
		for (yaml_node_item_t *it = seq->data.sequence.items.start;
		     it < seq->data.sequence.items.top && !p->nomem; it++)
			parse_resource(p, node(p, *it), c);
	}
	if (f[3].val)
		parse_tunables(p, f[3].val, 0, &c->tun, &c->ntun);
}

int config_parse(const char *file, const char *buf, size_t len, const char *this_host,
		 struct config *c, struct cfg_errors *errs)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	struct pctx p = { .file = file, .doc = &doc, .errs = errs, .this_host = this_host };
	yaml_node_t *root;

	memset(c, 0, sizeof(*c));
	memset(errs, 0, sizeof(*errs));
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_node_t fake = { 0 };

		fake.start_mark = parser.problem_mark;
		perr(&p, &fake, "expected valid YAML: %s%s%s",
		     parser.problem ? parser.problem : "parse error",
		     parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		perr(&p, NULL, "expected a configuration, found an empty file");
	} else {
		parse_root(&p, root, c);
		/* A second document would be silently ignored otherwise. */
		if (yaml_parser_load(&parser, &extra)) {
			if (yaml_document_get_root_node(&extra)) {
				yaml_node_t fake = { 0 };

				fake.start_mark = parser.mark;
				perr(&p, &fake, "expected one YAML document, found more");
			}
			yaml_document_delete(&extra);
		} else {
			yaml_node_t fake = { 0 };

			fake.start_mark = parser.problem_mark;
			perr(&p, &fake, "expected valid YAML: %s",
			     parser.problem ? parser.problem : "parse error");
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (p.nomem)
		return -ENOMEM;
	return errs->n ? -EINVAL : 0;
}

static void free_tun(struct cfg_tunable *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].name);
	free(t);
}

void config_free(struct config *c)
{
	free(c->cluster);
	for (size_t i = 0; i < c->nhosts; i++) {
		free(c->hosts[i].name);
		free(c->hosts[i].addr);
	}
	free(c->hosts);
	for (size_t i = 0; i < c->nres; i++) {
		struct cfg_res *r = &c->res[i];

		free(r->primary);
		for (size_t j = 0; j < r->nhosts; j++) {
			free(r->hosts[j].host);
			free(r->hosts[j].data);
			free(r->hosts[j].log_dir);
		}
		free(r->hosts);
		free_tun(r->tun, r->ntun);
		free(r->name);
	}
	free(c->res);
	free_tun(c->tun, c->ntun);
	memset(c, 0, sizeof(*c));
}

static int put(struct kvset *out, const char *val, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int put(struct kvset *out, const char *val, const char *fmt, ...)
{
	char key[STORE_KEY_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	return kvset_add(out, key, val, 0, NULL);
}

int config_to_kv(const struct config *c, struct kvset *out)
{
	char num[32];
	int err = 0;

	err |= put(out, c->cluster, "/cluster/name");
	for (size_t i = 0; i < c->nhosts; i++)
		err |= put(out, c->hosts[i].addr, "/cluster/hosts/%s/addr", c->hosts[i].name);
	for (size_t i = 0; i < c->ntun; i++) {
		snprintf(num, sizeof(num), "%" PRIu64, c->tun[i].value);
		err |= put(out, num, "/cluster/tunables/%s", c->tun[i].name);
	}
	for (size_t i = 0; i < c->nres; i++) {
		const struct cfg_res *r = &c->res[i];

		snprintf(num, sizeof(num), "%" PRIu64, r->size);
		err |= put(out, num, "/res/%s/size", r->name);
		err |= put(out, r->primary ? r->primary : "", "/res/%s/primary", r->name);
		for (size_t j = 0; j < r->nhosts; j++) {
			const struct cfg_res_host *h = &r->hosts[j];

			err |= put(out, h->data, "/res/%s/hosts/%s/data", r->name, h->host);
			if (h->log_dir)
				err |= put(out, h->log_dir, "/res/%s/hosts/%s/log-dir", r->name,
					   h->host);
			err |= put(out, kdev_backend_name(r->backend), "/res/%s/hosts/%s/io",
				   r->name, h->host);
			if (r->backend == MARS_BACKEND_SIO) {
				snprintf(num, sizeof(num), "%u", r->sio_threads);
				err |= put(out, num, "/res/%s/hosts/%s/sio-threads", r->name,
					   h->host);
			}
		}
		for (size_t j = 0; j < r->ntun; j++) {
			snprintf(num, sizeof(num), "%" PRIu64, r->tun[j].value);
			err |= put(out, num, "/res/%s/tunables/%s", r->name, r->tun[j].name);
		}
	}
	kvset_sort(out);
	return err ? -ENOMEM : 0;
}
