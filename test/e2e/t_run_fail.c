// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvmshim-run when things go wrong, on a ppc970 instance: the program's fd
 * limit makes installation fail (EMFILE, as Linux), the program is killed
 * while the supervisor holds its call, the supervisor is killed while a
 * call waits (the call fails with ENOSYS, it never hangs), and signals
 * arrive during a trapped call (as with a real kernel: the call completes,
 * then the handler runs; an interrupted call restarted with SA_RESTART
 * makes one VM, not two).  After each, the daemon holds nothing extra.
 */
#include "t_run.h"

#define NAME "ks-run-fail"
#define NODE "/dev/" NAME

static void spawn_vmm(struct tr_proc *p, const char *delay, const char *test)
{
	tr_spawn_vmm(p, NULL, NODE, delay, test);
}

static void fd_limit(void)
{
	struct kvmshim_run_info info;
	struct tr_proc p;
	int st;

	e2e_diag("the program's RLIMIT_NOFILE is reached");
	spawn_vmm(&p, NULL, "emfile");
	if (tr_expect(&p, "# pause emfile", 30000)) {
		/* the program holds its VM, nothing else */
		e2e_is(tr_status(NAME, "vms"), 1, "  one VM: the program's");
		e2e_is(tr_status(NAME, "htab_readers"), 0, "  no HTAB stream");
		e2e_is(tr_status_becomes(NAME, "rma_free", 4, 3000), 4,
		       "  every RMA back in the pool");
		memset(&info, 0xff, sizeof(info));
		e2e_is(tr_run_info(NAME, &info), 0, "  run info");
		e2e_is(info.tokens_pending, 0, "  no token pending");
		tr_answer(&p);
	} else {
		e2e_ok(false, "  the program reached the limit");
	}
	st = tr_finish(&p, 30000);
	if (st)
		tr_echo(&p);
	e2e_is(st, 0, "  EMFILE for CREATE_VM, GET_HTAB_FD, ALLOCATE_RMA");
	tr_free(&p);
	tr_nothing_left(NAME, "after the fd limit");
}

/* The program dies while the supervisor holds the new object. */
static void kill_program(const char *what)
{
	const char *line;
	struct tr_proc p;
	int pid = 0, st;

	e2e_diag("SIGKILL to the program in a trapped %s", what);
	spawn_vmm(&p, "install:3000",
		  !strcmp(what, "create") ? "hold-create" :
		  !strcmp(what, "rma")	  ? "hold-rma" :
					    "hold-htab");
	line = tr_expect(&p, "# calling ", 30000);
	if (line)
		sscanf(line, "%*s in %d", &pid);
	e2e_ok(pid > 0, "  the program is calling %s", what);
	if (pid <= 0) {
		tr_finish(&p, 10000);
		tr_echo(&p);
		tr_free(&p);
		return;
	}
	tr_sleep_ms(800);
	kill(pid, SIGKILL);
	st = tr_finish(&p, 30000);
	e2e_is(st, 128 + SIGKILL, "  kvmshim-run reports the SIGKILL");
	e2e_ok(!strstr(p.buf, "# returned"), "  the call never returned");
	tr_free(&p);
	tr_nothing_left(NAME, "  after the kill");
}

static void kill_supervisor(void)
{
	const char *line;
	struct tr_proc p;
	int pid = 0, st;

	e2e_diag("SIGKILL to the supervisor while a grandchild waits");
	spawn_vmm(&p, "install:3000", "orphan");
	line = tr_expect(&p, "# calling ", 30000);
	if (line)
		sscanf(line, "%*s in %d", &pid);
	e2e_ok(pid > 0, "  the grandchild is calling CREATE_VM");
	tr_sleep_ms(800);
	kill(p.pid, SIGKILL);
	line = tr_expect(&p, "# orphan: CREATE_VM returned ", 10000);
	e2e_ok(line && !strcmp(line, "-ENOSYS"),
	       "  its call fails with ENOSYS (%s)", line ? line : "no answer");
	st = tr_finish(&p, 10000);
	e2e_is(st, 128 + SIGKILL, "  (kvmshim-run was killed)");
	tr_free(&p);
	tr_nothing_left(NAME, "  after the supervisor died");
}

static void signal_in_call(const char *delay, const char *test,
			   const char *what)
{
	struct tr_proc p;
	int st;

	e2e_diag("a signal while CREATE_VM waits (%s)", what);
	spawn_vmm(&p, delay, test);
	if (tr_expect(&p, "# pause signal", 30000)) {
		e2e_is(tr_status(NAME, "vms"), 1, "  exactly one VM was made");
		tr_answer(&p);
	} else {
		e2e_ok(false, "  the program got its VM");
	}
	st = tr_finish(&p, 30000);
	if (st)
		tr_echo(&p);
	e2e_is(st, 0, "  the call succeeded, then the handler ran once");
	tr_free(&p);
}

int main(void)
{
	struct e2e_daemon d;

	e2e_daemon_start(&d, NAME, "--profile", "ppc970", NULL);
	fd_limit();
	kill_program("create");
	kill_program("rma");
	kill_program("htab");
	kill_supervisor();
	signal_in_call("install:1000", "signal-norestart",
		       "taken by the supervisor");
	signal_in_call("recv:1000", "signal",
		       "before the supervisor took it; SA_RESTART");
	tr_nothing_left(NAME, "at the end");
	e2e_is(e2e_daemon_stop(&d), 0, "daemon stops");
	return e2e_done();
}
