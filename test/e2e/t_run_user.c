// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvmshim-run as an unprivileged user who may open the node (group kvm,
 * mode 0660): its /dev/kvm is the node through a user namespace that maps
 * only its own ids, both when the host has no /dev/kvm (a tmpfs /dev of
 * binds) and when it has one (a bind over it); the supervisor reaches the
 * program without privileges (it is its parent).  A user outside the
 * group cannot use the node at all.
 */
#include "t_run.h"

#define NAME "ks-run-user"
#define NODE "/dev/" NAME
#define UID 990 /* kvmshim in the lab VM's /etc/passwd */
#define GID_KVM 991

static const gid_t in_kvm[] = { UID, GID_KVM };
static const gid_t not_in_kvm[] = { UID };

static int run_as(const gid_t *groups, int n, const char *vmm_test)
{
	const struct tr_user u = { UID, UID, groups, n };
	const char *argv[] = { tr_launcher(),	 "-n",	   NODE, "--",
			       tr_vmm("static"), vmm_test, NULL };

	return tr_run(&u, argv);
}

int main(void)
{
	struct e2e_daemon d;
	bool had_kvm = tr_have_dev_kvm(), loaded;

	if (getuid() != 0) {
		e2e_diag("needs root to become uid %d", UID);
		e2e_ok(true, "skipped");
		return e2e_done();
	}
	e2e_daemon_start(&d, NAME, "--profile", "ppc970", "--node-group", "kvm",
			 "--mode", "0660", NULL);
	e2e_diag("/dev/kvm %s", had_kvm ? "exists" : "does not exist");
	e2e_is(run_as(in_kvm, 2, "basic"), 0,
	       "uid %d in group kvm: /dev/kvm is the node", UID);
	e2e_is(run_as(in_kvm, 2, "ppc"), 0, "  the whole ppc test");
	e2e_is(run_as(in_kvm, 2, "fork"), 0, "  forked and exec'd children");
	e2e_is(run_as(in_kvm, 2, "threads"), 0, "  threads");
	e2e_is(run_as(not_in_kvm, 1, "basic"), 125,
	       "outside group kvm the node cannot be opened: 125");
	e2e_is(tr_have_dev_kvm(), had_kvm, "the host's /dev is as it was");
	loaded = tr_kvm_load();
	if (loaded) {
		e2e_is(run_as(in_kvm, 2, "basic"), 0,
		       "with a real /dev/kvm: the node is bound over it");
		tr_kvm_unload();
	} else {
		e2e_diag("the other case (/dev/kvm %s) needs the KVM modules",
			 had_kvm ? "absent" : "present");
	}
	tr_nothing_left(NAME, "at the end");
	e2e_is(e2e_daemon_stop(&d), 0, "daemon stops");
	return e2e_done();
}
