// SPDX-License-Identifier: GPL-2.0
/*
 * marsctl log rotate RES, marsctl log emergency RES enter|leave: the logger's
 * low-level controls (MARS_IOC_LOG_ROTATE, MARS_IOC_EMERGENCY). `log dump` and
 * the log command table are in log.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
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
