// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvmshim-run with an unmodified VMM (vmm.c: only <linux/kvm.h>, opens
 * "/dev/kvm"), statically and dynamically linked, on a ppc970 instance:
 * CREATE_VM, the HTAB save and load loops, resize, ALLOCATE_RMA and its
 * mapping, forked children, exec'd programs and threads; the same program
 * without the launcher (D6); the exit status; and nothing left behind.
 */
#include "t_run.h"

#define NAME "ks-run"
#define NODE "/dev/" NAME

static void under_launcher(const char *which, const char *test)
{
	const char *argv[] = { tr_launcher(), "--node", NODE, "--",
			       tr_vmm(which), test,	NULL };

	e2e_is(tr_run(NULL, argv), 0, "vmm-%s %s under kvmshim-run", which,
	       test);
}

static void exit_status(void)
{
	const char *seven[] = { tr_launcher(), "-n", NODE,     "--",
				"sh",	       "-c", "exit 7", NULL };
	const char *term[] = { tr_launcher(),	"-n", NODE, "--", "sh", "-c",
			       "kill -TERM $$", NULL };
	const char *missing[] = { tr_launcher(),	  "-n", NODE, "--",
				  "/nonexistent/program", NULL };
	const char *bad_node[] = { tr_launcher(), "-n",	  "/dev/null",
				   "--",	  "true", NULL };
	const char *no_prog[] = { tr_launcher(), "-n", NODE, NULL };
	const char *not_runnable[] = { tr_launcher(), "-n", NODE,
				       "--",	      "/",  NULL };

	e2e_is(tr_run(NULL, seven), 7, "the program's exit status");
	e2e_is(tr_run(NULL, term), 128 + SIGTERM, "killed by SIGTERM: 143");
	e2e_is(tr_run(NULL, missing), 127, "a program not found: 127");
	e2e_is(tr_run(NULL, not_runnable), 126,
	       "a directory as program cannot run: 126");
	e2e_is(tr_run(NULL, bad_node), 125, "not a kvmshim node: 125");
	e2e_is(tr_run(NULL, no_prog), 125, "no program: 125");
}

int main(void)
{
	struct e2e_daemon d;
	bool had_kvm = tr_have_dev_kvm();
	const char *plain[] = { tr_vmm("static"), "-d",	 NODE, "-x",
				"nolauncher",	  "ppc", NULL };
	const char *direct[] = { tr_launcher(), "--keep-dev-kvm",
				 "-n",		NODE,
				 "--",		tr_vmm("static"),
				 "-d",		NODE,
				 "ppc",		NULL };

	e2e_diag("/dev/kvm %s on this machine",
		 had_kvm ? "exists" : "does not exist");
	e2e_daemon_start(&d, NAME, "--profile", "ppc970", NULL);
	under_launcher("static", "ppc");
	tr_nothing_left(NAME, "after the static VMM");
	under_launcher("dynamic", "ppc");
	under_launcher("static", "fork");
	under_launcher("dynamic", "threads");
	tr_nothing_left(NAME, "after forks and threads");
	e2e_is(tr_run(NULL, direct), 0,
	       "--keep-dev-kvm: the program opens the node by its name");
	e2e_is(tr_run(NULL, plain), 0,
	       "the same program without kvmshim-run: EOPNOTSUPP (D6), no "
	       "crash");
	exit_status();
	e2e_is(tr_have_dev_kvm(), had_kvm,
	       "the host's /dev is as it was (no /dev/kvm created)");
	tr_nothing_left(NAME, "at the end");
	e2e_is(e2e_daemon_stop(&d), 0, "daemon stops");
	return e2e_done();
}
