/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where an instance's control socket lives unless --control says. */
#ifndef KVMSHIM_CUSE_CONTROL_PATH_H
#define KVMSHIM_CUSE_CONTROL_PATH_H

#include <stddef.h>
#include <stdio.h>

#define KVMSHIM_RUN_DIR "/run/kvmshim"

/*
 * /run/kvmshim/NAME.sock, with each '/' of NAME replaced by '!' as sysfs
 * does for the device.  Returns the length snprintf would produce.
 */
static inline int kvmshim_control_path(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s/%s.sock", KVMSHIM_RUN_DIR, name);
	size_t i;

	for (i = sizeof(KVMSHIM_RUN_DIR); n > 0 && i < size && buf[i]; i++)
		if (buf[i] == '/')
			buf[i] = '!';
	return n;
}

#endif /* KVMSHIM_CUSE_CONTROL_PATH_H */
