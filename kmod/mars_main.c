// SPDX-License-Identifier: GPL-2.0
/*
 * mars.ko: asynchronous block device replication, the data plane.
 *
 * The module builds and runs graphs of bricks (docs/architecture.md); it keeps no
 * persistent metadata and has no network code. Userspace (marsctl) drives it through
 * ioctls on /dev/mars-ctl, see mars_ctl.c and include/uapi/linux/mars.h.
 *
 * This file holds module load and unload only. Every resource holds a module
 * reference, so unload happens only when no resource exists. Unload stops the
 * publisher (state.c) before it drops the BPF maps (maps.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/module.h>

#include "mars.h"

static int __init mars_init(void)
{
	int err;

	/* The ABI structs must have the same layout for 32- and 64-bit callers. */
	/*
	 * 64-bit only: file.c samples u64 flush generation counters without a lock,
	 * which a 32-bit CPU could read torn (a flush could then skip its fsync).
	 */
	BUILD_BUG_ON(BITS_PER_LONG != 64);
	BUILD_BUG_ON(sizeof(struct mars_ioc_version) != 88);
	BUILD_BUG_ON(sizeof(struct mars_ioc_dev_create) != 240);
	BUILD_BUG_ON(sizeof(struct mars_ioc_dev_delete) != 200);
	BUILD_BUG_ON(sizeof(struct mars_ioc_dev_list) != 56);
	BUILD_BUG_ON(sizeof(struct mars_ioc_dev_set) != 208);
	BUILD_BUG_ON(sizeof(struct mars_dev_info) != 352);
	BUILD_BUG_ON(sizeof(struct mars_ioc_map_attach) != 184);
	BUILD_BUG_ON(sizeof(struct mars_ioc_map_info) != 240);
	BUILD_BUG_ON(sizeof(struct mars_tun) != 136);
	BUILD_BUG_ON(sizeof(struct mars_res_tun) != 168);
	BUILD_BUG_ON(sizeof(struct mars_gstate) != 248);
	BUILD_BUG_ON(sizeof(struct mars_rstate) != 504);
	BUILD_BUG_ON(sizeof(struct mars_ioc_dev_state) != 704);
	BUILD_BUG_ON(sizeof(struct mars_io_ctr) != 128);
	BUILD_BUG_ON(sizeof(struct mars_lat_key) != 8);
	BUILD_BUG_ON(sizeof(struct mars_lat_hist) != 336);
	BUILD_BUG_ON(MARS_DEVS_MAX != MARS_RES_MAX);

	/* Before any logger can exist: the log's CRC32C implementation. */
	err = mars_crc_init();
	if (err)
		return err;
	err = mars_dev_init();
	if (err)
		goto err_crc_exit;
	err = mars_state_init();
	if (err)
		goto err_dev_exit;
	/* Last: once /dev/mars-ctl exists, userspace can reach everything. */
	err = mars_ctl_init();
	if (err)
		goto err_state_exit;
	pr_info("version %s loaded (ABI %u.%u)\n", MARS_VERSION_STRING,
		MARS_ABI_MAJOR, MARS_ABI_MINOR);
	return 0;

err_state_exit:
	mars_state_exit();
err_dev_exit:
	mars_dev_exit();
err_crc_exit:
	mars_crc_exit();
	return err;
}

static void __exit mars_exit(void)
{
	mars_ctl_exit();
	mars_state_exit();
	mars_maps_exit();
	mars_dev_exit();
	mars_crc_exit();
	pr_info("unloaded\n");
}

module_init(mars_init);
module_exit(mars_exit);

MODULE_DESCRIPTION("mars: asynchronous block device replication (data plane)");
MODULE_LICENSE("GPL");
MODULE_VERSION(MARS_VERSION_STRING);
