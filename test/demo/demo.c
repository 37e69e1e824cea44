// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A short tour of kvmshim for a newcomer: it starts a daemon and talks to
 * its nodes with the real KVM ioctl numbers, saying what happens.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "test/e2e/lib/e2e.h"

static void say(const char *what, long ret)
{
	if (ret < 0)
		printf("  %-52s -> error %s\n", what, strerror((int)-ret));
	else
		printf("  %-52s -> %ld\n", what, ret);
}

int main(void)
{
	struct e2e_daemon d;
	int sys, vm, status;

	printf("Starting kvmshimd --name kvmshim-demo (profile power8)\n");
	e2e_daemon_start(&d, "kvmshim-demo", "--profile", "power8", NULL);
	printf("The daemon serves %s (like /dev/kvm) and %s (a new VM per "
	       "open).\n",
	       d.sys_path, d.vm_path);

	sys = e2e_open(d.sys_path, O_RDWR);
	say("KVM_GET_API_VERSION", e2e_ioctl(sys, KS_GET_API_VERSION, 0));
	say("KVM_CHECK_EXTENSION(KVM_CAP_PPC_ALLOC_HTAB)",
	    e2e_ioctl(sys, KS_CHECK_EXTENSION, KS_CAP_PPC_ALLOC_HTAB));
	say("KVM_CHECK_EXTENSION(KVM_CAP_SPAPR_RESIZE_HPT)",
	    e2e_ioctl(sys, KS_CHECK_EXTENSION, KS_CAP_SPAPR_RESIZE_HPT));
	say("KVM_CHECK_EXTENSION(KVM_CAP_PPC_RMA)",
	    e2e_ioctl(sys, KS_CHECK_EXTENSION, KS_CAP_PPC_RMA));

	vm = e2e_open(d.vm_path, O_RDWR);
	printf("Opened %s: this is a fresh ppc VM.\n", d.vm_path);
	say("an ioctl KVM does not know, on the VM", e2e_ioctl(vm, 0xAE99, 0));
	close(vm);
	close(sys);

	status = e2e_daemon_stop(&d);
	printf("Sent SIGTERM: the daemon exited with status %d and removed "
	       "its nodes.\n",
	       status);
	return status == 0 ? 0 : 1;
}
