// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvmshim-run next to a real KVM (the lab VM's own kvm-amd under TCG):
 * the unmodified VMM against the real /dev/kvm gets ENOTTY and EINVAL for
 * everything powerpc and s390 and does not crash; under kvmshim-run the
 * node is bound over the existing /dev/kvm; with --keep-dev-kvm the real
 * KVM's CREATE_VM passes through the filter to the kernel untouched; and
 * the host's /dev/kvm is never changed.
 */
#include <sys/sysmacros.h>

#include "t_run.h"

#define NAME "ks-run-kvm"
#define NODE "/dev/" NAME

int main(void)
{
	struct e2e_daemon d;
	struct stat before, after;
	bool loaded = tr_kvm_load();
	const char *real_s[] = { tr_vmm("static"), "-x", "real", "ppc",
				 "s390",	   NULL };
	const char *real_d[] = {
		tr_vmm("dynamic"), "-x", "real", "ppc", "s390", NULL
	};
	const char *over[] = { tr_launcher(),	 "-n",	  NODE,	 "--",
			       tr_vmm("static"), "basic", "ppc", NULL };
	const char *keep[] = { tr_launcher(), "-n",
			       NODE,	      "--keep-dev-kvm",
			       "--",	      tr_vmm("static"),
			       "-x",	      "real",
			       "ppc",	      "s390",
			       NULL };

	if (stat("/dev/kvm", &before) || !S_ISCHR(before.st_mode)) {
		e2e_diag("no real /dev/kvm here and no KVM module loads; "
			 "nothing to test");
		e2e_ok(true, "skipped");
		return e2e_done();
	}
	e2e_diag("/dev/kvm is %u:%u%s", major(before.st_rdev),
		 minor(before.st_rdev), loaded ? " (modules loaded here)" : "");
	e2e_is(tr_run(NULL, real_s), 0,
	       "vmm-static against the real KVM: ENOTTY/EINVAL, no crash");
	e2e_is(tr_run(NULL, real_d), 0, "vmm-dynamic likewise");

	e2e_daemon_start(&d, NAME, "--profile", "ppc970", NULL);
	e2e_is(tr_run(NULL, over), 0,
	       "under kvmshim-run /dev/kvm is the node, bound over the real "
	       "one");
	e2e_is(tr_run(NULL, keep), 0,
	       "--keep-dev-kvm: the real KVM's ioctls pass through the filter");
	e2e_ok(!stat("/dev/kvm", &after) && after.st_rdev == before.st_rdev &&
		       after.st_ino == before.st_ino,
	       "the host's /dev/kvm is untouched");
	tr_nothing_left(NAME, "at the end");
	e2e_is(e2e_daemon_stop(&d), 0, "daemon stops");
	if (loaded)
		tr_kvm_unload();
	e2e_is(tr_have_dev_kvm(), !loaded, "/dev/kvm is as before the test");
	return e2e_done();
}
