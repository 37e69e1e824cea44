// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvmshimctl status shows what clients created; a client that dies in the
 * middle of a multi-round ioctl, or while holding handles, leaves nothing
 * behind; SIGTERM with clients still holding fds exits 0 and removes the
 * nodes, and the clients get errors instead of hanging.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "lib/e2e.h"

#define NAME "ksd-ctl"

/* A "key: " or "key=" value of the status text, or -1. */
static long long status_value(const char *text, const char *key)
{
	const char *p = text ? strstr(text, key) : NULL;

	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static char *status(void)
{
	static char *out; /* static: GCC warns about a local's address */
	int rc = e2e_kvmshimctl_status(NAME, &out);

	if (rc)
		e2e_bail("kvmshimctl status failed (%d)", rc);
	return out;
}

/* Polls the status until vms and unfinished ioctls reach the values. */
static bool settles(long long vms, long long unfinished, long long mem)
{
	int i;

	for (i = 0; i < 200; i++) {
		char *t = status();
		bool ok = status_value(t, "vms: ") == vms &&
			  status_value(t, "unfinished_ioctls: ") ==
				  unfinished &&
			  status_value(t, "memory: used=") == mem &&
			  status_value(t, "handles: ") == 0;

		free(t);
		if (ok)
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * A client whose ioctl the kernel fails between rounds (the struct cannot
 * be copied in after R1 asked for it), then waits to be killed.
 */
static pid_t client_stuck_between_rounds(int *ready_fd)
{
	int pfd[2];
	pid_t pid;

	if (pipe(pfd))
		e2e_bail("pipe: %m");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		void *none = mmap(NULL, 4096, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int vm = open("/dev/" NAME "-vm", O_RDWR);
		int vm2 = open("/dev/" NAME "-vm", O_RDWR);
		int sys = open("/dev/" NAME, O_RDWR);
		char ok = ioctl(vm, KVMSHIM_SET_VCPUS, none) < 0 &&
					  errno == EFAULT && vm2 >= 0 &&
					  sys >= 0 ?
				  'y' :
				  'n';

		if (write(pfd[1], &ok, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	*ready_fd = pfd[0];
	return pid;
}

static void *busy_thread(void *arg)
{
	int vm = *(int *)arg;
	struct kvmshim_vcpus v;
	struct kvmshim_whoami w;
	unsigned int i;

	for (i = 0;; i++) {
		v.created = i;
		v.running = 0;
		ioctl(vm, KVMSHIM_SET_VCPUS, &v);
		ioctl(vm, KVMSHIM_GET_VCPUS, &v);
		ioctl(vm, KVMSHIM_WHOAMI, &w);
	}
	return NULL;
}

/* A client hammering multi-round ioctls from several threads. */
static pid_t client_busy(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		static int fds[4];
		pthread_t t;
		int i;

		for (i = 0; i < 4; i++) {
			fds[i] = open("/dev/" NAME "-vm", O_RDWR);
			if (fds[i] < 0)
				_exit(1);
			pthread_create(&t, NULL, busy_thread, &fds[i]);
		}
		pause();
		_exit(0);
	}
	return pid;
}

static void kill_client(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

static void check_cli(void)
{
	const char *help[] = { e2e_kvmshimctl_path(), "--help", NULL };
	const char *none[] = { e2e_kvmshimctl_path(), "--name", NAME, NULL };
	const char *bad[] = { e2e_kvmshimctl_path(), "--name", NAME,
			      "frobnicate", NULL };
	const char *gone[] = { e2e_kvmshimctl_path(), "--name", "ksd-nobody",
			       "status", NULL };
	const char *sock[] = { e2e_kvmshimctl_path(), "--socket",
			       "/run/kvmshim/" NAME ".sock", "status", NULL };
	char *text = NULL;

	e2e_is(e2e_run(help, &text), 0, "kvmshimctl --help");
	e2e_ok(text && strstr(text, "Usage: kvmshimctl"), "help text");
	free(text);
	e2e_is(e2e_run(none, NULL), 64, "no command: exit 64");
	e2e_is(e2e_run(bad, NULL), 64, "unknown command: exit 64");
	e2e_is(e2e_run(gone, NULL), 69, "no such daemon: exit 69");
	e2e_is(e2e_run(sock, &text), 0, "--socket PATH status");
	e2e_ok(text && strstr(text, "instance: " NAME "\n"), "same daemon");
	free(text);
}

int main(void)
{
	struct kvmshim_vcpus v = { .created = 2, .running = 1 };
	struct kvmshim_whoami w1, w2;
	struct e2e_daemon d;
	long long base;
	char *t, line[160], ok;
	int vm1, vm2, sys, ready, i;
	pid_t pid;

	e2e_daemon_start(&d, NAME, "--memory-limit", "64M", NULL);
	t = status();
	base = status_value(t, "memory: used=");
	e2e_ok(base >= 0, "status reports model memory (%lld)", base);
	e2e_is(status_value(t, "vms: "), 0, "no VMs yet");
	e2e_ok(strstr(t, "limit=67108864") != NULL, "and the memory limit");
	e2e_ok(strstr(t, "profile: power8\n") != NULL, "and the profile");
	free(t);
	check_cli();

	vm1 = e2e_open(d.vm_path, O_RDWR);
	vm2 = e2e_open(d.vm_path, O_RDWR);
	sys = e2e_open(d.sys_path, O_RDWR);
	e2e_is(e2e_ioctl(vm1, KVMSHIM_SET_VCPUS, (unsigned long)&v), 0,
	       "SET_VCPUS on VM 1");
	e2e_is(e2e_ioctl(vm1, KVMSHIM_WHOAMI, (unsigned long)&w1), 0, "WHOAMI");
	e2e_is(e2e_ioctl(vm2, KVMSHIM_WHOAMI, (unsigned long)&w2), 0, "WHOAMI");
	t = status();
	e2e_is(status_value(t, "vms: "), 2, "status shows 2 VMs");
	e2e_is(status_value(t, "handles: "), 3, "and 3 open handles");
	snprintf(line, sizeof(line),
		 "\nvm %llu profile=power8 creator=%d vcpus=2 running=1 ",
		 (unsigned long long)w1.vm_id, (int)getpid());
	e2e_ok(strstr(t, line) != NULL, "VM 1 with its creator and vCPUs");
	if (!strstr(t, line))
		e2e_diag("status:\n%s", t);
	snprintf(line, sizeof(line),
		 "\nvm %llu profile=power8 creator=%d vcpus=0 running=0 ",
		 (unsigned long long)w2.vm_id, (int)getpid());
	e2e_ok(strstr(t, line) != NULL, "VM 2 with its creator");
	e2e_ok(strstr(t, " hpt_order=") && strstr(t, " resize=") &&
		       strstr(t, " htab_readers=") && strstr(t, " rmas_held="),
	       "VM lines carry the HPT, stream and RMA fields");
	free(t);
	close(vm1);
	close(vm2);
	close(sys);
	e2e_ok(settles(0, 0, base), "closing frees the VMs");

	/* a client that dies between two rounds of an ioctl */
	pid = client_stuck_between_rounds(&ready);
	e2e_ok(read(ready, &ok, 1) == 1 && ok == 'y',
	       "the client's ioctl failed between rounds with EFAULT");
	close(ready);
	t = status();
	e2e_is(status_value(t, "unfinished_ioctls: "), 1,
	       "the daemon holds its unfinished round");
	e2e_is(status_value(t, "vms: "), 2, "and its 2 VMs");
	free(t);
	kill_client(pid);
	e2e_ok(settles(0, 0, base),
	       "killed: its VMs, handles and round state are gone");

	/* clients killed at random points of multi-round ioctls */
	for (i = 0; i < 5; i++) {
		pid = client_busy();
		usleep(100000 + 50000 * i);
		kill_client(pid);
		e2e_ok(settles(0, 0, base),
		       "busy client %d killed: nothing "
		       "left behind",
		       i);
	}

	/* SIGTERM while clients hold fds */
	vm1 = e2e_open(d.vm_path, O_RDWR);
	sys = e2e_open(d.sys_path, O_RDWR);
	e2e_is(e2e_daemon_stop(&d), 0, "SIGTERM with open fds: exit 0");
	e2e_ok(e2e_wait_path(d.sys_path, false, 3000), "system node removed");
	e2e_ok(e2e_wait_path(d.vm_path, false, 3000), "VM node removed");
	e2e_ok(e2e_wait_path("/run/kvmshim/" NAME ".sock", false, 3000),
	       "control socket removed");
	{
		long r = e2e_ioctl(vm1, KVMSHIM_SET_VCPUS, (unsigned long)&v);

		e2e_ok(r == -ENODEV || r == -ENOTCONN,
		       "a held fd fails instead of hanging (%ld)", r);
	}
	close(vm1);
	close(sys);
	return e2e_done();
}
