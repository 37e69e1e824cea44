// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * --trace: each request the kernel delivers is logged once, decoded, with
 * its caller, its result or errno and its duration.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "lib/e2e.h"

#define LOG "/tmp/ksd-trace.log"

static void expect(const char *log, const char *what)
{
	e2e_ok(strstr(log, what) != NULL, "trace has: %s", what);
}

int main(void)
{
	struct e2e_daemon_opts o = { .stderr_path = LOG };
	struct kvmshim_vcpus v = { .created = 2, .running = 1 };
	struct kvmshim_whoami w;
	struct e2e_daemon d;
	uint32_t order = 18;
	char line[256], *log;
	int sys, vm, me = (int)getpid();
	unsigned long long id;

	e2e_daemon_start_opts(&d, &o, "ksd-trace", "--trace", NULL);
	sys = e2e_open(d.sys_path, O_RDWR);
	vm = e2e_open(d.vm_path, O_RDWR);
	/* the VM's id: the start-up check opened the node before us */
	e2e_is(e2e_ioctl(vm, KVMSHIM_WHOAMI, (unsigned long)&w), 0, "WHOAMI");
	id = (unsigned long long)w.vm_id;
	e2e_is(e2e_ioctl(sys, KS_GET_API_VERSION, 0), 12, "GET_API_VERSION");
	e2e_is(e2e_ioctl(sys, KS_CHECK_EXTENSION, KS_CAP_PPC_HTAB_FD), 1,
	       "CHECK_EXTENSION");
	e2e_is(e2e_ioctl(sys, 0xAE99, 0), -EINVAL, "unknown ioctl");
	e2e_is(e2e_ioctl(vm, KVMSHIM_SET_VCPUS, (unsigned long)&v), 0,
	       "SET_VCPUS");
	e2e_ioctl(vm, KS_PPC_ALLOCATE_HTAB, (unsigned long)&order);
	close(vm);
	close(sys);
	e2e_is(e2e_daemon_stop(&d), 0, "exit status 0");

	log = e2e_read_file(LOG);
	if (!log)
		e2e_bail("no log at " LOG);
	snprintf(line, sizeof(line), "[pid %d] sys open(O_RDWR) = 0 <", me);
	expect(log, line);
	snprintf(line, sizeof(line), "[pid %d] vm %llu open(O_RDWR) = 0 <", me,
		 id);
	expect(log, line);
	snprintf(line, sizeof(line),
		 "[pid %d] sys KVM_GET_API_VERSION(0) = 12 <", me);
	expect(log, line);
	expect(log, "sys KVM_CHECK_EXTENSION(KVM_CAP_PPC_HTAB_FD) = 1 <");
	expect(log, "sys ioctl(0x0000ae99, 0x0) = -1 EINVAL (Invalid "
		    "argument) <");
	snprintf(line, sizeof(line),
		 "vm %llu KVMSHIM_SET_VCPUS({created=2, running=1}) = 0 <", id);
	expect(log, line);
	expect(log, "s> rounds=2\n");
	snprintf(line, sizeof(line), "vm %llu KVMSHIM_WHOAMI(0x", id);
	expect(log, line);
	snprintf(line, sizeof(line), " => {kind=vm, vm_id=%llu, ", id);
	expect(log, line);
	snprintf(line, sizeof(line), "vm %llu KVM_PPC_ALLOCATE_HTAB(", id);
	expect(log, line);
	snprintf(line, sizeof(line), "[pid 0] vm %llu release() = 0 <", id);
	expect(log, line);
	expect(log, "[pid 0] sys release() = 0 <");
	free(log);
	unlink(LOG);
	return e2e_done();
}
