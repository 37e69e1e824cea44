// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sd_notify as a Type=notify unit sees it: READY=1 arrives only when both
 * nodes exist, can be opened and privileges are gone; STATUS= follows the
 * VMs; the watchdog is pinged when WATCHDOG_USEC asks; STOPPING=1 comes on
 * SIGTERM.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "lib/e2e.h"

static int listener(char *env, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "kvmshim-e2e-notify-%d", (int)getpid());
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		e2e_bail("socket: %m");
	memcpy(sa.sun_path + 1, name, strlen(name));
	if (bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			     strlen(name))))
		e2e_bail("bind: %m");
	snprintf(env, size, "NOTIFY_SOCKET=@%s", name);
	return fd;
}

/* Next message within ms, or false. */
static bool next_msg(int fd, char *buf, size_t size, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0)
		return false;
	n = recv(fd, buf, size - 1, 0);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* Waits for a message containing what; true if one came. */
static bool wait_for(int fd, const char *what, char *buf, size_t size, int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int left;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
				  (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || !next_msg(fd, buf, size, left))
			return false;
		if (strstr(buf, what))
			return true;
	}
}

int main(void)
{
	char env[128], msg[1024], v[64];
	const char *envs[] = { env, "WATCHDOG_USEC=400000", NULL };
	struct e2e_daemon_opts o = { .env = envs, .no_wait = true };
	struct e2e_daemon d;
	int fd = listener(env, sizeof(env)), sys, vm, vm2;
	bool ready;

	e2e_daemon_start_opts(&d, &o, "ksd-notify", "--user", "kvmshim",
			      "--node-group", "kvm", NULL);
	ready = wait_for(fd, "READY=1", msg, sizeof(msg), 20000);
	e2e_ok(ready, "READY=1 arrives");
	if (!ready)
		e2e_bail("no READY=1");
	/* at this moment, not later: the nodes exist and open */
	sys = open(d.sys_path, O_RDWR | O_CLOEXEC);
	vm = open(d.vm_path, O_RDWR | O_CLOEXEC);
	e2e_ok(sys >= 0, "the system node opens at READY");
	e2e_ok(vm >= 0, "the VM node opens at READY");
	e2e_ok(e2e_proc_field(d.pid, 0, "CapEff", v, sizeof(v)) &&
		       !strcmp(v, "0000000000000000"),
	       "capabilities are gone at READY");
	e2e_ok(e2e_proc_field(d.pid, 0, "Uid", v, sizeof(v)) &&
		       !strncmp(v, "990\t", 4),
	       "the daemon runs as kvmshim at READY");
	snprintf(env, sizeof(env), "MAINPID=%d", (int)d.pid);
	e2e_ok(strstr(msg, env) != NULL, "READY names the main pid");
	e2e_ok(strstr(msg, "STATUS=power8: ") != NULL,
	       "READY carries a STATUS line");
	e2e_is(e2e_ioctl(sys, KS_GET_API_VERSION, 0), 12, "and it answers");

	e2e_ok(wait_for(fd, "WATCHDOG=1", msg, sizeof(msg), 3000),
	       "the watchdog is pinged");
	e2e_ok(wait_for(fd, "WATCHDOG=1", msg, sizeof(msg), 3000),
	       "and pinged again");
	vm2 = open(d.vm_path, O_RDWR | O_CLOEXEC);
	e2e_ok(wait_for(fd, "STATUS=power8: 2 VMs, 3 open handles", msg,
			sizeof(msg), 6000),
	       "STATUS follows the VMs");
	close(vm2);
	close(vm);
	close(sys);
	e2e_ok(wait_for(fd, "STATUS=power8: 0 VMs, 0 open handles", msg,
			sizeof(msg), 6000),
	       "STATUS follows the closes");

	kill(d.pid, SIGTERM);
	e2e_ok(wait_for(fd, "STOPPING=1", msg, sizeof(msg), 5000),
	       "STOPPING=1 on SIGTERM");
	e2e_is(e2e_daemon_stop(&d), 0, "exit status 0");
	close(fd);
	return e2e_done();
}
