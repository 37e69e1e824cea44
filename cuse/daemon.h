/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kvmshimd: options and the state of one daemon instance. */
#ifndef KVMSHIM_CUSE_DAEMON_H
#define KVMSHIM_CUSE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "core/engine.h"
#include "node.h"

/* Exit statuses (sysexits.h values, documented in kvmshimd(8)) */
#define KSD_EXIT_OK 0
#define KSD_EXIT_FAILURE 1
#define KSD_EXIT_USAGE 64
#define KSD_EXIT_NODE_EXISTS 73
#define KSD_EXIT_NO_CUSE 69

#define KSD_NAME_MAX 61 /* so that NAME-vm fits CUSE's 64 */

struct daemon_opts {
	const char *name;
	const char *profile;
	bool foreground;
	unsigned int workers;
	struct ks_engine_config cfg;
};

/* 0, or a KSD_EXIT_* status after printing why */
int daemon_parse_args(int argc, char **argv, struct daemon_opts *o);
/* "64M" and friends; -EINVAL if malformed or overflowing */
int parse_size(const char *s, uint64_t *out);
/* 0 if name is an acceptable CUSE device name */
int daemon_check_name(const char *name);

#endif /* KVMSHIM_CUSE_DAEMON_H */
