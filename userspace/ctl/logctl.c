// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl log rotate RES, marsctl log emergency RES enter|leave: the logger's
 * low-level controls (MARS_IOC_LOG_ROTATE, MARS_IOC_EMERGENCY). `log dump` and
 * the log command table are in log.c.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kdev.h"
#include "marsctl.h"

/* Parse "[--json] RES [WORD]": returns 0 and the operands, or 2 (usage). */
static int log_operands(const char *verb, int argc, char **argv, int nwords,
			const char **res, const char **word)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 0;	/* glibc: re-initialise, so main's "+" is dropped */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "j", lo, NULL)) != -1) {
		if (opt != 'j') {
			err_msg("log %s: unknown option '%s'", verb, argv[optind - 1]);
			return 2;
		}
		g_opts.json = true;
	}
	if (argc - optind != 1 + nwords) {
		err_msg("usage: marsctl log %s RES%s", verb,
			nwords ? " enter|leave" : "");
		return 2;
	}
	*res = argv[optind];
	if (word)
		*word = nwords ? argv[optind + 1] : NULL;
	if (!**res || strlen(*res) > MARS_NAME_LEN) {
		err_msg("log %s: bad resource name '%s'", verb, *res);
		return 2;
	}
	return 0;
}

int do_log_rotate(int argc, char **argv)
{
	uint64_t old_seq, old_end, new_seq;
	char msg[MARS_ERRMSG_MAX];
	const char *res;
	int fd, err, rc;

	rc = log_operands("rotate", argc, argv, 0, &res, NULL);
	if (rc)
		return rc;
	fd = ctl_open();
	if (fd < 0)
		return 1;
	err = kdev_log_rotate(fd, res, &old_seq, &old_end, &new_seq, msg);
	close(fd);
	if (err) {
		err_msg("log rotate %s: %s", res, msg);
		return 1;
	}
	if (g_opts.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(res));
		json_object_object_add(o, "old_seq", json_object_new_uint64(old_seq));
		json_object_object_add(o, "old_end", json_object_new_uint64(old_end));
		json_object_object_add(o, "new_seq", json_object_new_uint64(new_seq));
		json_print(o);
	} else {
		printf("%s: closed logfile %09" PRIu64 " at %" PRIu64 " bytes, now writing %09"
		       PRIu64 "\n", res, old_seq, old_end, new_seq);
	}
	return 0;
}

int do_log_emergency(int argc, char **argv)
{
	char msg[MARS_ERRMSG_MAX];
	const char *res, *word;
	uint64_t seq = 0;
	uint32_t action;
	int fd, err, rc;

	rc = log_operands("emergency", argc, argv, 1, &res, &word);
	if (rc)
		return rc;
	if (!strcmp(word, "enter")) {
		action = MARS_EMERG_ENTER;
	} else if (!strcmp(word, "leave")) {
		action = MARS_EMERG_LEAVE;
	} else {
		err_msg("log emergency: '%s' is neither enter nor leave", word);
		return 2;
	}
	fd = ctl_open();
	if (fd < 0)
		return 1;
	err = kdev_emergency(fd, res, action, &seq, msg);
	close(fd);
	if (err) {
		err_msg("log emergency %s %s: %s", res, word, msg);
		return 1;
	}
	if (g_opts.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(res));
		json_object_object_add(o, "emergency",
				       json_object_new_boolean(action == MARS_EMERG_ENTER));
		json_object_object_add(o, "log_seq", json_object_new_uint64(seq));
		json_print(o);
	} else if (action == MARS_EMERG_ENTER) {
		printf("%s: emergency mode: the log ended with file %09" PRIu64
		       "; writes go straight to the data device\n", res, seq);
	} else {
		printf("%s: logging again in file %09" PRIu64
		       " (after a gap: secondaries need a full sync)\n", res, seq);
	}
	return 0;
}

int parse_ckpt(const char *s, uint64_t *seq, uint64_t *off)
{
	unsigned long long a, b;
	int used = 0;

	if (sscanf(s, "%llu:%llu%n", &a, &b, &used) != 2 || s[used] || !a ||
	    a > 999999999ULL)
		return -1;
	*seq = a;
	*off = b;
	return 0;
}

/*
 * The logfiles of @host in @dir: lowest and highest number (0, 0: none). Other
 * hosts' files and other names are ignored.
 */
static int logdir_scan(const char *dir, const char *host, uint64_t *lo, uint64_t *hi,
		       char *msg)
{
	size_t hl = strlen(host);
	struct dirent *de;
	DIR *d = opendir(dir);

	*lo = *hi = 0;
	if (!d) {
		snprintf(msg, MARS_ERRMSG_MAX, "cannot read %.80s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		uint64_t seq = 0;
		int i;

		/* log-<9 digits>-<host> */
		if (strncmp(n, "log-", 4) || strlen(n) != 4 + 9 + 1 + hl || n[13] != '-' ||
		    strcmp(n + 14, host))
			continue;
		for (i = 4; i < 13; i++) {
			if (n[i] < '0' || n[i] > '9')
				break;
			seq = seq * 10 + (uint64_t)(n[i] - '0');
		}
		if (i != 13 || !seq)
			continue;
		if (!*lo || seq < *lo)
			*lo = seq;
		if (seq > *hi)
			*hi = seq;
	}
	closedir(d);
	return 0;
}

/* mkdir -p @path (mode 0700 for what it creates). */
static int mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0700) && errno != EEXIST ? -1 : 0;
}

int logdir_prune(const char *log_dir, const char *name, const char *host, uint64_t below)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	uint64_t lo, hi;
	char msg[MARS_ERRMSG_MAX];
	int n = 0;

	if (snprintf(dir, sizeof(dir), "%s/resource-%s", log_dir, name) >= (int)sizeof(dir) ||
	    logdir_scan(dir, host, &lo, &hi, msg))
		return 0;
	for (uint64_t seq = lo; lo && seq < below && seq <= hi; seq++) {
		snprintf(path, sizeof(path), "%s/log-%09" PRIu64 "-%s", dir, seq, host);
		if (!unlink(path))
			n++;
		else if (errno != ENOENT)
			fprintf(stderr, "marsctl: cannot delete %s: %s\n", path, strerror(errno));
	}
	return n;
}

int logdir_prepare(const char *log_dir, const char *name, const char *host,
		   const char *ckpt, bool create, struct kdev_create_args *c, char *msg)
{
	char dir[PATH_MAX];
	uint64_t lo, hi;
	struct stat st;

	if (create && mkdirs(log_dir)) {
		snprintf(msg, MARS_ERRMSG_MAX, "cannot create %.80s: %s", log_dir,
			 strerror(errno));
		return -1;
	}
	if (stat(log_dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(msg, MARS_ERRMSG_MAX, "log directory %.80s is not a directory", log_dir);
		return -1;
	}
	if (snprintf(dir, sizeof(dir), "%s/resource-%s", log_dir, name) >= (int)sizeof(dir)) {
		snprintf(msg, MARS_ERRMSG_MAX, "log directory path too long");
		return -1;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(msg, MARS_ERRMSG_MAX, "cannot create %.80s: %s", dir, strerror(errno));
		return -1;
	}
	if (logdir_scan(dir, host, &lo, &hi, msg))
		return -1;
	c->log_dir = log_dir;
	c->host = host;
	c->next_log_seq = hi + 1;
	c->ckpt_seq = 0;
	c->ckpt_off = 0;
	if (ckpt) {
		if (parse_ckpt(ckpt, &c->ckpt_seq, &c->ckpt_off)) {
			snprintf(msg, MARS_ERRMSG_MAX, "checkpoint '%.40s' is not SEQ:OFFSET", ckpt);
			return -1;
		}
		/* Files before the checkpoint's may be deleted already; none after it. */
		if (lo && c->ckpt_seq < lo) {
			c->ckpt_seq = lo;
			c->ckpt_off = 0;
		}
	} else if (lo) {
		c->ckpt_seq = lo;
	}
	return 0;
}
