/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Ownership of the nodes, and giving up every privilege once they exist.
 * The drop must happen while the process is single-threaded: capabilities
 * and the no-new-privileges flag belong to each thread.
 */
#ifndef KVMSHIM_CUSE_PRIVS_H
#define KVMSHIM_CUSE_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct daemon_opts;

struct privs {
	bool change_user; /* --user */
	uid_t uid;
	gid_t gid;
	const char *user; /* for messages */
	bool node_group; /* --node-group */
	gid_t node_gid;
	mode_t mode; /* 0: leave the kernel's mode */
	/* filled by privs_drop */
	bool had_setpcap; /* the bounding set could be cleared */
	bool had_setgid; /* supplementary groups could be dropped */
};

/* Resolves --user, --group, --node-group: 0 or KSD_EXIT_* after a message. */
int privs_resolve(const struct daemon_opts *o, struct privs *p);

/*
 * Gives /dev/NAME the configured group and mode after checking that it is
 * the character device sysfs names for the CUSE device NAME: 0 or -errno.
 */
int privs_own_node(const struct privs *p, const char *name);
/* The same for a socket the daemon created. */
int privs_own_socket(const struct privs *p, const char *path);

/*
 * Becomes the configured user and group without supplementary groups,
 * clears every capability (effective, permitted, inheritable, ambient and,
 * where allowed, the bounding set), locks the securebits and sets
 * no_new_privs.  0, or -errno with a reason in why.
 */
int privs_drop(struct privs *p, char *why, size_t why_len);
/* 0 if nothing dropped can be regained, else -EPERM and the reason. */
int privs_verify(const struct privs *p, char *why, size_t why_len);

#endif /* KVMSHIM_CUSE_PRIVS_H */
