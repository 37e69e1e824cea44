// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvmshimd gives up its privileges once the nodes exist: every thread runs
 * as --user with no capabilities, no_new_privs and an empty bounding set;
 * the nodes and the control socket get --node-group and --mode.  Without
 * --user it stays root but still holds no capability.
 *
 * The lab VM's /etc/passwd has kvmshim (uid 990, group 990) and kvm (991).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "lib/e2e.h"

#define KVMSHIM_UID 990
#define KVMSHIM_GID 990
#define KVM_GID 991
#define NO_CAPS "0000000000000000"

/* Checks one thread's credentials. */
static void check_task(pid_t pid, pid_t tid, const char *uid, const char *gid,
		       const char *who)
{
	static const char *const caps[] = { "CapInh", "CapPrm", "CapEff",
					    "CapBnd", "CapAmb" };
	char v[128], want[64];
	unsigned int i;

	snprintf(want, sizeof(want), "%s\t%s\t%s\t%s", uid, uid, uid, uid);
	e2e_ok(e2e_proc_field(pid, tid, "Uid", v, sizeof(v)) &&
		       !strcmp(v, want),
	       "%s: Uid is %s (got '%s')", who, uid, v);
	snprintf(want, sizeof(want), "%s\t%s\t%s\t%s", gid, gid, gid, gid);
	e2e_ok(e2e_proc_field(pid, tid, "Gid", v, sizeof(v)) &&
		       !strcmp(v, want),
	       "%s: Gid is %s (got '%s')", who, gid, v);
	e2e_ok(e2e_proc_field(pid, tid, "Groups", v, sizeof(v)) && !*v,
	       "%s: no supplementary groups (got '%s')", who, v);
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		e2e_ok(e2e_proc_field(pid, tid, caps[i], v, sizeof(v)) &&
			       !strcmp(v, NO_CAPS),
		       "%s: %s is empty (got '%s')", who, caps[i], v);
	e2e_ok(e2e_proc_field(pid, tid, "NoNewPrivs", v, sizeof(v)) &&
		       !strcmp(v, "1"),
	       "%s: NoNewPrivs is 1", who);
}

/* Every thread of the daemon. */
static void check_all_tasks(pid_t pid, const char *uid, const char *gid)
{
	char path[64], who[64];
	struct dirent *e;
	unsigned int n = 0;
	DIR *dir;

	check_task(pid, 0, uid, gid, "daemon");
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		e2e_bail("cannot list %s", path);
	while ((e = readdir(dir))) {
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid <= 0 || tid == pid)
			continue;
		snprintf(who, sizeof(who), "thread %d", (int)tid);
		check_task(pid, tid, uid, gid, who);
		n++;
	}
	closedir(dir);
	e2e_ok(n >= 4, "the workers and the control thread exist (%u)", n);
}

static void check_file(const char *path, mode_t type, uid_t uid, gid_t gid,
		       mode_t mode)
{
	struct stat st;

	if (lstat(path, &st)) {
		e2e_ok(false, "%s exists", path);
		return;
	}
	e2e_ok((st.st_mode & S_IFMT) == type, "%s has the right type", path);
	e2e_is(st.st_uid, uid, "%s owner", path);
	e2e_is(st.st_gid, gid, "%s group", path);
	e2e_is(st.st_mode & 07777, mode, "%s mode", path);
}

static void check_serves(struct e2e_daemon *d)
{
	int sys = e2e_open(d->sys_path, O_RDWR);
	int vm = e2e_open(d->vm_path, O_RDWR);

	e2e_is(e2e_ioctl(sys, KS_GET_API_VERSION, 0), 12,
	       "%s: the system node still answers", d->name);
	e2e_is(e2e_ioctl(vm, KS_CHECK_EXTENSION, KS_CAP_PPC_HTAB_FD), 1,
	       "%s: a new VM still answers", d->name);
	close(vm);
	close(sys);
}

int main(void)
{
	struct e2e_daemon d;
	char *text = NULL;

	/* a fresh directory: the daemon creates it and can remove its socket */
	e2e_daemon_start(&d, "ksd-privs", "--user", "kvmshim", "--node-group",
			 "kvm", "--control", "/run/ksd-privs/ctl.sock", NULL);
	check_all_tasks(d.pid, "990", "990");
	check_file("/dev/ksd-privs", S_IFCHR, 0, KVM_GID, 0660);
	check_file("/dev/ksd-privs-vm", S_IFCHR, 0, KVM_GID, 0660);
	check_file("/run/ksd-privs/ctl.sock", S_IFSOCK, 0, KVM_GID, 0660);
	check_serves(&d);
	{
		const char *argv[] = { e2e_kvmshimctl_path(), "--socket",
				       "/run/ksd-privs/ctl.sock", "status",
				       NULL };

		e2e_is(e2e_run(argv, &text), 0, "kvmshimctl status");
		e2e_ok(text && strstr(text, "identity: uid=990(kvmshim) "
					    "gid=990 capabilities=none"),
		       "status names the identity");
		free(text);
	}
	e2e_is(e2e_daemon_stop(&d), 0, "SIGTERM: exit status 0");
	e2e_ok(e2e_wait_path("/dev/ksd-privs", false, 3000), "node removed");
	e2e_ok(e2e_wait_path("/run/ksd-privs/ctl.sock", false, 3000),
	       "control socket removed by the unprivileged daemon");

	/* root without --user: still no capability at all */
	e2e_daemon_start(&d, "ksd-root", "--mode", "0640", NULL);
	check_all_tasks(d.pid, "0", "0");
	check_file("/dev/ksd-root", S_IFCHR, 0, 0, 0640);
	check_file("/dev/ksd-root-vm", S_IFCHR, 0, 0, 0640);
	check_serves(&d);
	e2e_is(e2e_daemon_stop(&d), 0, "SIGTERM: exit status 0");

	/* the kernel's 0600 root:root stays when nothing is asked */
	e2e_daemon_start(&d, "ksd-plain", NULL);
	check_file("/dev/ksd-plain", S_IFCHR, 0, 0, 0600);
	check_file("/run/kvmshim/ksd-plain.sock", S_IFSOCK, 0, 0, 0600);
	e2e_is(e2e_daemon_stop(&d), 0, "SIGTERM: exit status 0");

	/* an unknown user is refused before anything is created */
	{
		const char *argv[] = { e2e_daemon_path(),
				       "--foreground",
				       "--name",
				       "ksd-nouser",
				       "--user",
				       "no-such-user",
				       NULL };

		e2e_is(e2e_run(argv, NULL), 67, "unknown --user: exit 67");
		e2e_ok(!e2e_wait_path("/dev/ksd-nouser", true, 0),
		       "no node was created");
	}
	return e2e_done();
}
