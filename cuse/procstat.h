/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the daemon learns about a caller from /proc/PID/status, in the
 * daemon's pid namespace.
 */
#ifndef KVMSHIM_CUSE_PROCSTAT_H
#define KVMSHIM_CUSE_PROCSTAT_H

#include <stdbool.h>
#include <sys/types.h>

/* The first number of the "key:" line of pid's status; -1 if unreadable. */
long proc_status_field(pid_t pid, const char *key);

/* The thread group of thread tid, or 0 if it cannot be seen (M4). */
pid_t proc_tgid_of(pid_t tid);

/* The real uid of pid, or -1 if it cannot be seen. */
long proc_uid_of(pid_t pid);

/*
 * Whether process anc is pid itself or one of its ancestors: a launcher
 * (a child subreaper) is one of every program it runs.
 */
bool proc_is_ancestor(pid_t anc, pid_t pid);

#endif
