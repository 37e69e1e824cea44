// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procstat.h"

/* No real process tree is this deep; it bounds a walk that races exits. */
#define PROC_MAX_DEPTH 4096

long proc_status_field(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t len = strlen(key);
	long v = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

pid_t proc_tgid_of(pid_t tid)
{
	long tgid = proc_status_field(tid, "Tgid");

	return tgid > 0 ? (pid_t)tgid : 0;
}

long proc_uid_of(pid_t pid)
{
	return proc_status_field(pid, "Uid");
}

bool proc_is_ancestor(pid_t anc, pid_t pid)
{
	long p = pid;
	int depth;

	if (anc <= 0)
		return false;
	for (depth = 0; depth < PROC_MAX_DEPTH && p > 0; depth++) {
		if (p == anc)
			return true;
		p = proc_status_field((pid_t)p, "PPid");
	}
	return false;
}
