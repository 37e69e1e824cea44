// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvmshim-run on an s390x instance: QEMU's CMMA migration loop with its
 * buffer sizes (524288 values per GET and per SET) through an unmodified
 * program, exact at every size up to KVM_S390_SKEYS_MAX because the
 * supervisor moves the values itself (no D1, no D8), with Linux's errors;
 * and the same program without the launcher.
 */
#include "t_run.h"

#define NAME "ks-run-s390"
#define NODE "/dev/" NAME

int main(void)
{
	struct e2e_daemon d;
	const char *stat_run[] = { tr_launcher(),    "-n",   NODE, "--",
				   tr_vmm("static"), "s390", NULL };
	const char *dyn_run[] = { tr_launcher(),     "-n",   NODE, "--",
				  tr_vmm("dynamic"), "s390", NULL };
	const char *plain[] = { tr_vmm("static"), "-d",	  NODE, "-x",
				"nolauncher",	  "s390", NULL };
	int64_t t0;

	e2e_daemon_start(&d, NAME, "--profile", "s390x", NULL);
	t0 = tr_now_ms();
	e2e_is(tr_run(NULL, stat_run), 0,
	       "vmm-static s390 under kvmshim-run: the CMMA loop is exact");
	e2e_diag("took %lld ms", (long long)(tr_now_ms() - t0));
	tr_nothing_left(NAME, "after the static VMM");
	e2e_is(tr_run(NULL, dyn_run), 0, "vmm-dynamic s390 under kvmshim-run");
	e2e_is(tr_run(NULL, plain), 0,
	       "the same program without kvmshim-run: EOPNOTSUPP (D6)");
	tr_nothing_left(NAME, "at the end");
	e2e_is(e2e_daemon_stop(&d), 0, "daemon stops");
	return e2e_done();
}
