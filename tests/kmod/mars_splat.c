// SPDX-License-Identifier: GPL-2.0
/*
 * mars_splat: a test-only module that makes the kernel misbehave on purpose, so the
 * test harness can prove that it notices. Never built into or loaded by mars itself.
 *
 *   insmod mars_splat.ko action=warn    WARN() once, then load normally
 *   insmod mars_splat.ko action=panic   panic()
 *   insmod mars_splat.ko                load and do nothing
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/panic.h>
#include <linux/string.h>

static char *action = "none";
module_param(action, charp, 0444);
MODULE_PARM_DESC(action, "none, warn or panic");

static int __init mars_splat_init(void)
{
	if (!strcmp(action, "warn"))
		WARN(1, "mars_splat: warning requested by the test\n");
	else if (!strcmp(action, "panic"))
		panic("mars_splat: panic requested by the test\n");
	else if (strcmp(action, "none"))
		return -EINVAL;
	return 0;
}

static void __exit mars_splat_exit(void)
{
}

module_init(mars_splat_init);
module_exit(mars_splat_exit);

MODULE_DESCRIPTION("mars test helper: trigger kernel warnings and panics");
MODULE_LICENSE("GPL");
