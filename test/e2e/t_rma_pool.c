// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVM_ALLOCATE_RMA through a real CUSE node, without the control socket:
 * results per profile and fd (spec: rma.md §1, §3), the pool running out,
 * and entries coming back when their VM goes (M7) or their tokens expire.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "lib/e2e.h"

#define RMA_GENERIC 0x8008AEA9UL
#define RMA_PPC 0x4008AEA9UL

static long rma_request(int vm, struct kvmshim_fd_request *req)
{
	memset(req, 0, sizeof(*req));
	req->cmd = (unsigned int)RMA_GENERIC;
	return e2e_ioctl(vm, KVMSHIM_FD_REQUEST, (unsigned long)req);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Retries an RMA request on vm until it succeeds or ms pass. */
static long rma_request_within(int vm, struct kvmshim_fd_request *req, int ms)
{
	int64_t end = now_ms() + ms;
	long ret;

	while ((ret = rma_request(vm, req)) == -ENOMEM && now_ms() < end)
		usleep(50000);
	return ret;
}

static int child_eio(int vm)
{
	struct kvmshim_fd_request req;
	struct ks_allocate_rma a;
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(rma_request(vm, &req) == -EIO &&
				      e2e_ioctl(vm, RMA_GENERIC,
						(unsigned long)&a) == -EIO ?
			      0 :
			      1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void ppc970(void)
{
	struct kvmshim_fd_request req;
	struct ks_allocate_rma a = { 0x1234 };
	struct e2e_daemon d;
	uint64_t toks[4];
	int sys, vm, vm2, nfd, i, distinct = 1, j;

	e2e_daemon_start(&d, "ks-rmap-970", "--profile", "ppc970", NULL);
	sys = e2e_open(d.sys_path, O_RDWR);
	vm = e2e_open(d.vm_path, O_RDWR);

	e2e_is(e2e_ioctl(sys, RMA_GENERIC, (unsigned long)&a), -EINVAL,
	       "ALLOCATE_RMA on the system fd: EINVAL");
	e2e_is(e2e_ioctl(sys, RMA_PPC, (unsigned long)&a), -EINVAL,
	       "the powerpc encoding on the system fd: EINVAL");
	e2e_is(e2e_ioctl(vm, RMA_GENERIC, (unsigned long)&a), -EOPNOTSUPP,
	       "the plain ioctl passes its checks, then needs the launcher");
	e2e_is(e2e_ioctl(vm, RMA_PPC, (unsigned long)&a), -EOPNOTSUPP,
	       "likewise in the powerpc encoding");
	e2e_is(a.rma_size, 0x1234, "rma_size is not written without an fd");
	e2e_is(child_eio(vm), 0, "a forked child gets EIO on both paths");

	for (i = 0; i < 4; i++) {
		req.rma_size = 0;
		e2e_is(rma_request(vm, &req), 0, "FD_REQUEST ALLOCATE_RMA %d",
		       i + 1);
		e2e_is(req.rma_size, 64 << 20, "rma_size is 64 MiB");
		toks[i] = req.token;
		for (j = 0; j < i; j++)
			distinct &= toks[j] != toks[i] && toks[i];
	}
	e2e_ok(distinct, "four distinct tokens");
	e2e_is(rma_request(vm, &req), -ENOMEM, "the fifth: ENOMEM");
	e2e_is(e2e_ioctl(vm, RMA_GENERIC, (unsigned long)&a), -ENOMEM,
	       "the plain ioctl on an empty pool: ENOMEM");
	e2e_is(child_eio(vm), 0, "EIO still comes before ENOMEM");
	nfd = e2e_open(d.sys_path, O_RDWR);
	e2e_is(e2e_ioctl(nfd, KVMSHIM_BIND, (unsigned long)&toks[0]), -EINVAL,
	       "an RMA token cannot be bound to a node");
	close(nfd);

	/* M7: the VM goes, its entries come back */
	vm2 = e2e_open(d.vm_path, O_RDWR);
	e2e_is(rma_request(vm2, &req), -ENOMEM, "the pool is global");
	close(vm);
	e2e_is(rma_request_within(vm2, &req, 5000), 0,
	       "closing the VM returns its entries");
	for (i = 1; i < 4; i++)
		e2e_is(rma_request(vm2, &req), 0, "entry %d is back", i + 1);
	e2e_is(rma_request(vm2, &req), -ENOMEM, "and the pool is empty again");

	/* tokens that nobody claims expire and release their entries */
	e2e_diag("waiting for the tokens to expire");
	e2e_is(rma_request_within(vm2, &req, KVMSHIM_TOKEN_TTL_MS + 10000), 0,
	       "unclaimed tokens expire and return their entries");
	close(vm2);
	close(sys);
	e2e_is(e2e_daemon_stop(&d), 0, "daemon stops");
}

static void other_profiles(void)
{
	static const char *const names[] = { "power7", "power8", "s390x" };
	static const long vm_want[] = { -ENOMEM, -ENOTTY, -ENOTTY };
	struct kvmshim_fd_request req;
	struct ks_allocate_rma a;
	struct e2e_daemon d;
	char name[32];
	int i, sys, vm;

	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "ks-rmap-%s", names[i]);
		e2e_daemon_start(&d, name, "--profile", names[i], NULL);
		sys = e2e_open(d.sys_path, O_RDWR);
		vm = e2e_open(d.vm_path, O_RDWR);
		e2e_is(e2e_ioctl(sys, RMA_GENERIC, (unsigned long)&a), -EINVAL,
		       "%s: ALLOCATE_RMA on the system fd: EINVAL", names[i]);
		e2e_is(e2e_ioctl(vm, RMA_GENERIC, (unsigned long)&a),
		       vm_want[i], "%s: ALLOCATE_RMA on a VM fd", names[i]);
		e2e_is(rma_request(vm, &req), vm_want[i],
		       "%s: FD_REQUEST ALLOCATE_RMA", names[i]);
		e2e_is(e2e_ioctl(vm, KS_CHECK_EXTENSION, KS_CAP_PPC_RMA),
		       i == 0 ? 1 : 0, "%s: KVM_CAP_PPC_RMA", names[i]);
		close(vm);
		close(sys);
		e2e_is(e2e_daemon_stop(&d), 0, "%s: daemon stops", names[i]);
	}
}

int main(void)
{
	ppc970();
	other_profiles();
	return e2e_done();
}
