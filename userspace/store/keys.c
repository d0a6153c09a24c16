// SPDX-License-Identifier: GPL-2.0-only
/*
 * Key and host name rules (docs/journal-format.md section 5): what a valid key is,
 * and which host owns it. One rule for ownership: a component "@<host>" names the
 * owner; keys without one are shared.
 */
#include <errno.h>
#include <string.h>

#include "store_int.h"

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

int sk_host_check(const char *h, size_t len, const char **why)
{
	size_t i;

	if (len == 0) {
		*why = "empty host name";
		return -EINVAL;
	}
	if (len > STORE_HOST_MAX) {
		*why = "host name longer than 63 bytes";
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (!host_char(h[i])) {
			*why = "host name may only hold letters, digits, '.', '-' and '_'";
			return -EINVAL;
		}
	}
	if (h[0] == '.' || h[0] == '-' || h[0] == '_') {
		*why = "host name must start with a letter or a digit";
		return -EINVAL;
	}
	return 0;
}

int sk_key_check(const char *k, size_t len, const char **owner, size_t *owner_len,
		 const char **why)
{
	size_t i, start;

	*owner = NULL;
	*owner_len = 0;
	if (len < 2) {
		*why = len ? "key has no component after '/'" : "empty key";
		return -EINVAL;
	}
	if (len > STORE_KEY_MAX) {
		*why = "key longer than 1024 bytes";
		return -ENAMETOOLONG;
	}
	if (k[0] != '/') {
		*why = "key must start with '/'";
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (k[i] < 0x21 || k[i] > 0x7e) {
			*why = "key may only hold printable ASCII characters other than space";
			return -EINVAL;
		}
	}
	/* Components k[start .. i) between slashes. */
	for (start = 1; start <= len; start = i + 1) {
		size_t clen;

		for (i = start; i < len && k[i] != '/'; i++)
			;
		clen = i - start;
		if (clen == 0) {
			*why = "key has an empty component ('//' or a trailing '/')";
			return -EINVAL;
		}
		if ((clen == 1 && k[start] == '.') ||
		    (clen == 2 && k[start] == '.' && k[start + 1] == '.')) {
			*why = "key component may not be '.' or '..'";
			return -EINVAL;
		}
		if (memchr(k + start + 1, '@', clen - 1)) {
			*why = "'@' may only start a key component";
			return -EINVAL;
		}
		if (k[start] == '@') {
			const char *hwhy;

			if (*owner) {
				*why = "key has more than one owner tag ('@<host>')";
				return -EINVAL;
			}
			if (sk_host_check(k + start + 1, clen - 1, &hwhy)) {
				*why = "owner tag '@<host>' does not name a valid host";
				return -EINVAL;
			}
			*owner = k + start + 1;
			*owner_len = clen - 1;
		}
	}
	return 0;
}

int store_key_validate(const char *key, struct store_error *err)
{
	const char *owner, *why = "";
	size_t olen, len;
	int ret;

	if (!key)
		return se_set(err, -EINVAL, STORE_NO_OFFSET, "no key given");
	len = strnlen(key, STORE_KEY_MAX + 1);
	ret = sk_key_check(key, len, &owner, &olen, &why);
	if (ret)
		return se_set(err, ret, STORE_NO_OFFSET, "invalid key '%.*s%s': %s",
			      (int)(len > 200 ? 200 : len), key, len > 200 ? "..." : "",
			      why);
	return 0;
}

int store_host_validate(const char *host, struct store_error *err)
{
	const char *why = "";
	size_t len;

	if (!host)
		return se_set(err, -EINVAL, STORE_NO_OFFSET, "no host name given");
	len = strnlen(host, STORE_HOST_MAX + 1);
	if (sk_host_check(host, len, &why))
		return se_set(err, -EINVAL, STORE_NO_OFFSET, "invalid host name '%.*s': %s",
			      (int)len, host, why);
	return 0;
}

int store_key_owner(const char *key, char *host, size_t host_size)
{
	const char *owner, *why;
	size_t olen, len;

	if (!key)
		return -EINVAL;
	len = strnlen(key, STORE_KEY_MAX + 1);
	if (sk_key_check(key, len, &owner, &olen, &why))
		return -EINVAL;
	if (!owner)
		return 0;
	if (host && host_size) {
		size_t n = olen < host_size - 1 ? olen : host_size - 1;

		memcpy(host, owner, n);
		host[n] = '\0';
	}
	return 1;
}
