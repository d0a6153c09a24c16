/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mars.ko private header: what the module's files share. Optional parts get static
 * inline stubs here, so the .c files carry no #ifdef.
 */
#ifndef MARS_H
#define MARS_H

#include <linux/mars.h>

/* Reported by MARS_IOC_VERSION and modinfo. */
#define MARS_VERSION_STRING	"0.1.0"

int mars_ctl_init(void);
void mars_ctl_exit(void);

#endif /* MARS_H */
