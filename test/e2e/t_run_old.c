// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvmshim-run on a kernel older than 5.19, which has no
 * SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV.  The lab VM's kernel has it, so
 * the launcher runs under a seccomp filter of ours that refuses that flag
 * with EINVAL, as such a kernel does.  The launcher must fall back, say so,
 * and still serve an unmodified VMM.  A signal that reaches a trapped call
 * now interrupts it even after the supervisor took it: with SA_RESTART the
 * call is made again and yields one VM, without it the call fails with
 * EINTR; either way the VM made for the interrupted call is not kept.
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "t_run.h"

#define NAME "ks-run-old"
#define NODE "/dev/" NAME
#define AS_OLD "--as-old-kernel"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define ARG_LO(n) offsetof(struct seccomp_data, args[n])

/*
 * seccomp(SECCOMP_SET_MODE_FILTER, flags with WAIT_KILLABLE_RECV, ...)
 * fails with EINVAL; everything else is allowed.  x86-64 only, like the
 * lab VM (the low words of the arguments come first).
 */
static int refuse_wait_killable(void)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_SET_MODE_FILTER, 1,
			 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K,
			 SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(insns) / sizeof(insns[0]),
		.filter = insns,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		return -errno;
	return 0;
}

/* t_run_old --as-old-kernel PROGRAM ARGS...: runs PROGRAM under it. */
static int exec_as_old_kernel(char **argv)
{
	int ret = refuse_wait_killable();

	if (ret) {
		fprintf(stderr, "cannot install the filter: %s\n",
			strerror(-ret));
		return 120;
	}
	/* the launcher's warning is on stderr: read it with stdout */
	dup2(STDOUT_FILENO, STDERR_FILENO);
	execvp(argv[0], argv);
	perror(argv[0]);
	return 127;
}

/* The filter does refuse the flag, and only the flag. */
static void filter_works(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };
	pid_t pid = fork();
	int st;

	if (pid < 0)
		e2e_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		if (refuse_wait_killable())
			_exit(1);
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			    SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV |
				    SECCOMP_FILTER_FLAG_NEW_LISTENER,
			    &prog) != -1 ||
		    errno != EINVAL)
			_exit(2);
		_exit(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) ?
			      3 :
			      0);
	}
	waitpid(pid, &st, 0);
	e2e_ok(WIFEXITED(st) && !WEXITSTATUS(st),
	       "our filter refuses WAIT_KILLABLE_RECV and nothing else "
	       "(status %#x)",
	       st);
}

static void spawn_old(struct tr_proc *p, const char *self, const char *delay,
		      const char *test)
{
	const char *const prefix[] = { self, AS_OLD, NULL };

	tr_spawn_vmm(p, prefix, NODE, delay, test);
}

static void serves_a_vmm(const char *self)
{
	struct tr_proc p;
	int st;

	e2e_diag("the HTAB, resize and RMA paths of an unmodified VMM");
	spawn_old(&p, self, NULL, "ppc");
	st = tr_finish(&p, 120000);
	if (st)
		tr_echo(&p);
	e2e_is(st, 0, "  vmm-static ppc under kvmshim-run passes");
	e2e_ok(strstr(p.buf, "warning: this kernel cannot defer signals") !=
		       NULL,
	       "  the launcher warns that signals are not deferred");
	tr_free(&p);
	tr_nothing_left(NAME, "  after the VMM");
}

/*
 * SIGUSR1 arrives 300 ms into CREATE_VM while the supervisor holds the
 * call for 1000 ms before installing the fd.
 */
static void signal_after_taken(const char *self, bool restart)
{
	struct tr_proc p;
	int st;

	e2e_diag("a signal after the supervisor took CREATE_VM (%s)",
		 restart ? "SA_RESTART" : "no SA_RESTART");
	spawn_old(&p, self, "install:1000",
		  restart ? "signal" : "signal-norestart");
	if (tr_expect(&p, "# pause signal", 30000)) {
		e2e_is(tr_status_becomes(NAME, "vms", restart ? 1 : 0, 5000),
		       restart ? 1 : 0,
		       restart ? "  the restarted call made the one VM left" :
				 "  no VM is left");
		tr_answer(&p);
	} else {
		e2e_ok(false, "  the program reached its pause");
	}
	st = tr_finish(&p, 30000);
	if (restart) {
		if (st)
			tr_echo(&p);
		e2e_is(st, 0, "  the call succeeded, the handler ran once");
	} else {
		e2e_ok(st != 0 && strstr(p.buf, "way (-EINTR)") != NULL,
		       "  CREATE_VM failed with EINTR (status %d)", st);
		if (st == 0 || !strstr(p.buf, "way (-EINTR)"))
			tr_echo(&p);
	}
	tr_free(&p);
	tr_nothing_left(NAME, "  after the signal");
}

int main(int argc, char **argv)
{
	struct e2e_daemon d;

	if (argc > 2 && !strcmp(argv[1], AS_OLD))
		return exec_as_old_kernel(argv + 2);
	filter_works();
	e2e_daemon_start(&d, NAME, "--profile", "ppc970", NULL);
	serves_a_vmm(argv[0]);
	signal_after_taken(argv[0], true);
	signal_after_taken(argv[0], false);
	tr_nothing_left(NAME, "at the end");
	e2e_is(e2e_daemon_stop(&d), 0, "daemon stops");
	return e2e_done();
}
