// SPDX-License-Identifier: GPL-2.0
/*
 * crc: the CRC32C of the transaction log (docs/log-format.md, section 3), from
 * the fastest implementation this machine has.
 *
 * The kernel's crc32c() (libcrc32c) uses the crypto API's "crc32c" of the highest
 * priority, which is fixed when the driver is written, not measured: on x86 that
 * is crc32c-intel (the crc32 and pclmulqdq instructions). On hardware it is by far
 * the fastest; under an emulator that has to emulate those instructions (QEMU's
 * TCG) it is several times slower than the table-driven crc32c-generic (175 against
 * 610 MB/s in this project's test VM). Every logged byte is checksummed once when
 * it is written and once more at replay, so the log pays for that choice.
 *
 * Like the kernel's raid6 and xor code, which time their routines at boot and keep
 * the fastest, mars_crc_init() (module load) times every distinct crc32c driver on
 * a buffer and keeps the fastest for the log; the pr_info() says which and why, and
 * /sys/module/mars/parameters/crc32c shows it. The result is the same function
 * (CRC32C is CRC32C): each candidate must match crc32c() on the known vectors of
 * RFC 3720 and on a random buffer, or it is not used. If no candidate passes (or
 * none can be allocated), the log uses crc32c() itself.
 *
 * The parameter picks a driver by name instead (mars.crc32c=crc32c-generic);
 * "auto" (the default) measures.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/hash.h>
#include <linux/crc32c.h>
#include <linux/err.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mars.h"

#define MARS_CRC_DRV_LEN	CRYPTO_MAX_ALG_NAME
/* Timing: the best of this many runs over a buffer of this size (per driver). */
#define MARS_CRC_RUNS		8
#define MARS_CRC_BUF		(64 * 1024)
/* ... in pieces of this size: a 4 KiB write is the log's common record. */
#define MARS_CRC_PIECE		4096

/* Set once by mars_crc_init(), before any logger exists; never changed after. */
static struct crypto_shash *mars_crc_tfm;
static char mars_crc_want[MARS_CRC_DRV_LEN] = "auto";
static char mars_crc_chosen[MARS_CRC_DRV_LEN];

static int mars_crc_param_set(const char *val, const struct kernel_param *kp)
{
	size_t len = strcspn(val, "\n");

	if (!len || len >= sizeof(mars_crc_want))
		return -EINVAL;
	memcpy(mars_crc_want, val, len);
	mars_crc_want[len] = 0;
	return 0;
}

static int mars_crc_param_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", mars_crc_driver());
}

static const struct kernel_param_ops mars_crc_param_ops = {
	.set = mars_crc_param_set,
	.get = mars_crc_param_get,
};

/* Read-only after load: the implementation must not change under a running log. */
module_param_cb(crc32c, &mars_crc_param_ops, NULL, 0444);
MODULE_PARM_DESC(crc32c,
		 "CRC32C driver of the log: auto (the fastest, measured at load) or a crypto driver name; reads back the one in use");

/* The update step through @tfm; as lib/libcrc32c.c, the descriptor's context is the register. */
static u32 mars_crc_with(struct crypto_shash *tfm, u32 crc, const void *p, unsigned int len)
{
	SHASH_DESC_ON_STACK(desc, tfm);
	u32 *ctx = (u32 *)shash_desc_ctx(desc), ret;

	desc->tfm = tfm;
	*ctx = crc;
	/* crc32c drivers cannot fail an update (lib/libcrc32c.c BUG()s on it). */
	WARN_ON_ONCE(crypto_shash_update(desc, p, len));
	ret = *ctx;
	barrier_data(ctx);
	return ret;
}

/**
 * mars_crc32c() - the CRC32C update step of the log, as crc32c(): continues @crc
 * over @len bytes at @p, with no inversion of seed or result.
 * @crc: the running register.
 * @p: the bytes.
 * @len: how many.
 *
 * Any context (a crc32c shash update never sleeps).
 *
 * Return: the register after the bytes.
 */
u32 mars_crc32c(u32 crc, const void *p, unsigned int len)
{
	struct crypto_shash *tfm = READ_ONCE(mars_crc_tfm);

	return tfm ? mars_crc_with(tfm, crc, p, len) : crc32c(crc, p, len);
}

/*
 * Does @tfm compute CRC32C? The vectors of RFC 3720 B.4 (final CRC, i.e. seed
 * ~0 and result inverted) and the check value, then @buf (random) against crc32c() in pieces that
 * cover odd lengths and misaligned starts.
 */
static bool mars_crc_ok(struct crypto_shash *tfm, const u8 *buf, size_t len)
{
	static const u32 want[3] = { 0x8a9136aa, 0x62a8ab43, 0x46dd794e };
	u8 v[32];
	u32 a, b;
	size_t i, off, n;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		size_t j;

		for (j = 0; j < sizeof(v); j++)
			v[j] = i == 0 ? 0 : i == 1 ? 0xff : j;
		if (~mars_crc_with(tfm, ~0U, v, sizeof(v)) != want[i] ||
		    ~crc32c(~0U, v, sizeof(v)) != want[i])
			return false;
	}
	/* The check value of log-format.md, section 3. */
	if (~mars_crc_with(tfm, ~0U, "123456789", 9) != 0xe3069283)
		return false;
	a = ~0U;
	b = ~0U;
	for (off = 0, n = 1; off < len; off += n, n = n * 3 + 1) {
		n = min(n, len - off);
		a = mars_crc_with(tfm, a, buf + off, n);
		b = crc32c(b, buf + off, n);
	}
	return a == b;
}

/*
 * Best time of MARS_CRC_RUNS runs over @buf through @tfm, each in calls of
 * MARS_CRC_PIECE bytes as the log makes them (per-call costs count), in ns (at
 * least 1).
 */
static u64 mars_crc_time(struct crypto_shash *tfm, const u8 *buf, size_t len)
{
	u64 best = U64_MAX, t;
	u32 sink = 0;
	int i;

	for (i = 0; i < MARS_CRC_RUNS; i++) {
		size_t off;

		t = ktime_get_ns();
		for (off = 0; off < len; off += MARS_CRC_PIECE)
			sink ^= mars_crc_with(tfm, ~0U, buf + off, min_t(size_t, len - off,
									 MARS_CRC_PIECE));
		t = ktime_get_ns() - t;
		best = min(best, t);
		cond_resched();
	}
	/* Keeps the work from being optimised away (the result is otherwise unused). */
	barrier_data(&sink);
	return max_t(u64, best, 1);
}

/**
 * mars_crc_init() - choose the log's CRC32C implementation (module load, before
 * any logger exists).
 *
 * Never fails the load: without a usable candidate the log uses crc32c().
 * Return: 0.
 */
int mars_crc_init(void)
{
	/* "crc32c" resolves to the driver of the highest priority (crc32c()'s). */
	static const char * const names[] = { "crc32c", "crc32c-generic" };
	struct crypto_shash *tfm[ARRAY_SIZE(names)] = { };
	u64 ns[ARRAY_SIZE(names)] = { };
	bool force = strcmp(mars_crc_want, "auto");
	int i, j, best = -1;
	u8 *buf;

	/* Without the buffer no candidate can be checked: the log uses crc32c(). */
	buf = kmalloc(MARS_CRC_BUF, GFP_KERNEL);
	if (buf)
		get_random_bytes(buf, MARS_CRC_BUF);
	for (i = 0; buf && i < ARRAY_SIZE(names); i++) {
		const char *name = force ? (i ? NULL : mars_crc_want) : names[i];
		struct crypto_shash *t;

		if (!name)
			break;
		t = crypto_alloc_shash(name, 0, 0);
		if (IS_ERR(t)) {
			pr_info("crc32c: driver %s not available (%ld)\n", name, PTR_ERR(t));
			continue;
		}
		/* The same driver twice ("crc32c" may be crc32c-generic): time it once. */
		for (j = 0; j < i; j++) {
			if (tfm[j] && !strcmp(crypto_shash_driver_name(tfm[j]),
					      crypto_shash_driver_name(t)))
				break;
		}
		if (j < i || crypto_shash_descsize(t) != sizeof(u32) ||
		    !mars_crc_ok(t, buf, MARS_CRC_BUF)) {
			if (j == i)
				pr_warn("crc32c: driver %s does not compute crc32c(); not used\n",
					crypto_shash_driver_name(t));
			crypto_free_shash(t);
			continue;
		}
		tfm[i] = t;
		ns[i] = mars_crc_time(t, buf, MARS_CRC_BUF);
		pr_info("crc32c: %s: %llu MB/s\n", crypto_shash_driver_name(t),
			div64_u64((u64)MARS_CRC_BUF * 1000, ns[i]));
		if (best < 0 || ns[i] < ns[best])
			best = i;
	}
	if (best < 0) {
		pr_warn("crc32c: no usable driver%s%s%s; the log uses crc32c() (%s)\n",
			force ? " named " : "", force ? mars_crc_want : "",
			buf ? "" : " (no memory to test one)", crc32c_impl());
		kfree(buf);
		return 0;
	}
	kfree(buf);
	strscpy(mars_crc_chosen, crypto_shash_driver_name(tfm[best]), sizeof(mars_crc_chosen));
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (tfm[i] && i != best)
			crypto_free_shash(tfm[i]);
	}
	WRITE_ONCE(mars_crc_tfm, tfm[best]);
	pr_info("crc32c: the log uses %s (%s; crc32c() uses %s)\n", mars_crc_chosen,
		force ? "mars.crc32c" : "fastest measured", crc32c_impl());
	return 0;
}

/* mars_crc_exit() - module unload (no logger exists any more). */
void mars_crc_exit(void)
{
	if (mars_crc_tfm)
		crypto_free_shash(mars_crc_tfm);
	mars_crc_tfm = NULL;
}

/*
 * mars_crc_driver() - the driver the log uses (messages, and the parameter
 * reads it back): crc32c()'s own until mars_crc_init() chose one.
 */
const char *mars_crc_driver(void)
{
	return mars_crc_chosen[0] ? mars_crc_chosen : crc32c_impl();
}
