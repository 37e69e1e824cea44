/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kvmshimd: options and the state of one daemon instance. */
#ifndef KVMSHIM_CUSE_DAEMON_H
#define KVMSHIM_CUSE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "core/engine.h"
#include "node.h"

/* Exit statuses (sysexits.h values, documented in kvmshimd(8)) */
#define KSD_EXIT_OK 0
#define KSD_EXIT_FAILURE 1
#define KSD_EXIT_USAGE 64
#define KSD_EXIT_NOUSER 67
#define KSD_EXIT_NO_CUSE 69
#define KSD_EXIT_NODE_EXISTS 73
#define KSD_EXIT_NOPERM 77

/*
 * cuse.md §1.  NAME-vm may be longer: the kernel keeps the whole device
 * name and only cuts the one /proc/devices lists to 63 bytes.
 */
#define KSD_NAME_MAX 64
#define KSD_CONTROL_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

struct daemon_opts {
	const char *name;
	const char *profile;
	bool foreground;
	unsigned int workers; /* per node, at most */
	bool trace;
	int log_target; /* enum log_target */
	int log_level;
	/* what to become after setup; NULL: stay */
	const char *user;
	const char *group;
	/* the nodes and the control socket */
	const char *node_group; /* NULL: leave root's */
	mode_t mode;
	bool have_mode; /* else 0660 with node_group, the kernel's 0600 without */
	char control[KSD_CONTROL_MAX]; /* "": no control socket */
	bool control_explicit; /* failing to create it is fatal */
	struct ks_engine_config cfg;
};

/* 0, or a KSD_EXIT_* status after printing why (--help, --version: -1) */
int daemon_parse_args(int argc, char **argv, struct daemon_opts *o);
/* "64M" and friends; -EINVAL if malformed or overflowing */
int parse_size(const char *s, uint64_t *out);
/* 0 if name is an acceptable CUSE device name */
int daemon_check_name(const char *name);
/* "EOPNOTSUPP" or "95" -> 95; -EINVAL if neither */
int parse_errno(const char *s);
/* The mode the nodes get; 0: leave them as the kernel made them. */
mode_t daemon_node_mode(const struct daemon_opts *o);

#endif /* KVMSHIM_CUSE_DAEMON_H */
