// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Without --foreground kvmshimd detaches: the command returns 0 once the
 * nodes exist, and the daemon keeps serving until SIGINT.  A start-up
 * failure in the detached child is still the command's exit status.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "lib/e2e.h"

#define NAME "ksd-detach"

int main(void)
{
	const char *start[] = { e2e_daemon_path(), "--name", NAME,
				"--profile",	   "s390x",  NULL };
	char *text = NULL, *p;
	pid_t pid = 0;
	int sys;

	e2e_is(e2e_run(start, NULL), 0, "kvmshimd returns 0 after detaching");
	e2e_ok(e2e_wait_path("/dev/" NAME, true, 0),
	       "the nodes exist when it returns");
	sys = e2e_open("/dev/" NAME, O_RDWR);
	e2e_is(e2e_ioctl(sys, KS_S390_ENABLE_SIE, 0), 0,
	       "the detached daemon serves");
	close(sys);
	e2e_is(e2e_kvmshimctl_status(NAME, &text), 0, "kvmshimctl status");
	p = text ? strstr(text, "\npid: ") : NULL;
	if (p)
		pid = (pid_t)atoi(p + 6);
	e2e_ok(pid > 1 && pid != getpid(), "status names the daemon's pid");
	free(text);
	/* a second start fails in the parent with the child's status */
	e2e_is(e2e_run(start, NULL), 73, "a duplicate: exit 73");
	if (pid > 1)
		kill(pid, SIGINT);
	e2e_ok(e2e_wait_path("/dev/" NAME, false, 5000),
	       "SIGINT removes the nodes");
	e2e_ok(e2e_wait_path("/run/kvmshim/" NAME ".sock", false, 5000),
	       "and the control socket");
	return e2e_done();
}
