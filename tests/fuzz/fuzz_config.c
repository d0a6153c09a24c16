// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for marsctl apply's configuration parser (userspace/ctl/config.c):
 * any input must give either a valid config or error messages, never a crash, a
 * leak or undefined behaviour; a valid config must turn into store keys the store
 * library accepts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cfg_errors errs;
	struct config c;
	struct kvset kv = { 0 };
	struct store_error se;

	/* this_host NULL: no file system checks */
	if (!config_parse("fuzz.yaml", (const char *)data, size, NULL, &c, &errs) &&
	    !config_to_kv(&c, &kv)) {
		for (size_t i = 0; i < kv.n; i++)
			if (store_key_validate(kv.v[i].key, &se))
				abort();	/* a valid config made an invalid key */
	}
	for (unsigned int i = 0; i < errs.n && i < CFG_MAX_ERRORS; i++)
		if (!memchr(errs.msg[i], 0, sizeof(errs.msg[i])))
			abort();
	kvset_free(&kv);
	config_free(&c);
	return 0;
}
