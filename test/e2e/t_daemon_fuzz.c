// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Random ioctls through a real CUSE kernel, as syzkaller and trinity send
 * them (spec: clients.md §6), on the system node, VM fds and, in a forked
 * child, on a VM fd it inherited: KVM numbers in both encodings and one bit
 * off, kvmshim's numbers, garbage; random structs whose pointers may point
 * anywhere (the kernel does every copy); unmapped, kernel and wrapping
 * addresses.  Every result is one the spec allows (unknown numbers:
 * exactly EINVAL on the system fd, ENOTTY on a VM fd; every KVM ioctl of
 * a process that did not create the VM: EIO; never ENOSYS), the daemon
 * answers every call, and when the fds are closed it holds nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/ioctl.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "lib/ctl.h"
#include "lib/e2e.h"

#define CALLS 1000
#define CHILD_CALLS 200

/* abi.md §1.1; where: 1 system fd, 2 VM fd of every profile, 4 ppc VM,
 * 8 ppc970/power7 VM, 16 s390x VM */
static const struct {
	uint32_t generic, ppc;
	unsigned int where;
} kvm[] = {
	{ 0x0000AE00, 0x2000AE00, 1 },	{ 0x0000AE01, 0x2000AE01, 1 },
	{ 0x0000AE03, 0x2000AE03, 3 },	{ 0x0000AE04, 0x2000AE04, 1 },
	{ 0x0000AE06, 0, 1 },		{ 0x0000AE41, 0x2000AE41, 0 },
	{ 0x4020AE46, 0x8020AE46, 2 },	{ 0xC004AEA7, 0xC004AEA7, 4 },
	{ 0x8008AEA9, 0x4008AEA9, 8 },	{ 0x4020AEAA, 0x8020AEAA, 4 },
	{ 0x8010AEAD, 0x4010AEAD, 4 },	{ 0x8010AEAE, 0x4010AEAE, 4 },
	{ 0xC020AEB8, 0, 16 },		{ 0x4020AEB9, 0, 16 },
	{ 0x4018AEE1, 0x8018AEE1, 16 }, { 0x4018AEE2, 0x8018AEE2, 16 },
	{ 0x4018AEE3, 0x8018AEE3, 16 },
};

#define N_KVM (sizeof(kvm) / sizeof(kvm[0]))

static const uint32_t privs[] = {
	KVMSHIM_WHOAMI,
	KVMSHIM_SET_VCPUS,
	KVMSHIM_GET_VCPUS,
	KVMSHIM_PPC_H_ENTER,
	KVMSHIM_PPC_H_REMOVE,
	KVMSHIM_PPC_H_PROTECT,
	KVMSHIM_PPC_SET_RC,
	KVMSHIM_PPC_READ_ENTRY,
	KVMSHIM_PPC_INSERT_RAW,
	KVMSHIM_PPC_RUN,
	KVMSHIM_PPC_SET_MMU_READY,
	KVMSHIM_PPC_RESIZE_WORKER,
	KVMSHIM_PPC_RESIZE_RELEASE,
	KVMSHIM_PPC_FAIL_ALLOC,
	KVMSHIM_PPC_INFO,
	KVMSHIM_S390_ESSA,
	KVMSHIM_S390_CMMA_INFO,
	KVMSHIM_FD_REQUEST,
	KVMSHIM_BIND,
	KVMSHIM_VM_PROOF,
};

#define N_PRIVS (sizeof(privs) / sizeof(privs[0]))

static uint64_t seed = 0x243F6A8885A308D3ULL;

static uint64_t rnd(void)
{
	seed ^= seed >> 12;
	seed ^= seed << 25;
	seed ^= seed >> 27;
	return seed * 0x2545F4914F6CDD1DULL;
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

struct prof {
	const char *name;
	bool ppc;
	bool rma;
};

/* 0: not a KVM ioctl of the profile (as the daemon's default accepts
 * them: ppc both encodings, s390x the generic one); else its where bits */
static unsigned int kvm_where(const struct prof *p, uint32_t cmd)
{
	size_t i;

	for (i = 0; i < N_KVM; i++)
		if ((p->ppc && kvm[i].ppc && cmd == kvm[i].ppc) ||
		    cmd == kvm[i].generic)
			return kvm[i].where;
	return 0;
}

static bool defined_private(uint32_t cmd)
{
	size_t i;

	for (i = 0; i < N_PRIVS; i++)
		if (privs[i] == cmd)
			return true;
	return false;
}

static uint8_t *mem; /* 64 KiB readable and writable, then 64 KiB not */

static uint64_t rnd_arg(void)
{
	switch (below(8)) {
	case 0:
		return below(4096);
	case 1:
		return (uintptr_t)mem + 65536 + below(65536);
	case 2:
		return 0xffff800000000000ULL + below(1ULL << 40);
	case 3:
		return ~0ULL - below(64);
	case 4:
		return rnd();
	}
	return (uintptr_t)mem + 8 * below(65536 / 8 - 64);
}

static uint32_t rnd_cmd(const struct prof *p)
{
	uint32_t c;

	switch (below(7)) {
	case 0:
	case 1:
		c = (uint32_t)below(N_KVM);
		return p->ppc && kvm[c].ppc && below(2) ? kvm[c].ppc :
							  kvm[c].generic;
	case 2:
		c = (uint32_t)below(N_KVM);
		return kvm[c].generic ^ (1U << below(32));
	case 3:
		c = privs[below(N_PRIVS)];
		/* their tokens would hold VMs for 10 s: the unit fuzz has them */
		return c == KVMSHIM_VM_PROOF || c == KVMSHIM_FD_REQUEST ?
			       KVMSHIM_WHOAMI :
			       c;
	case 4:
		return _IOC((uint32_t)below(4), KVMSHIM_IO,
			    (uint32_t)below(0x50), (uint32_t)below(80));
	case 5:
		return ((uint32_t)rnd() & 0xffff00ffU) | 0xAE00;
	}
	return (uint32_t)rnd();
}

static void scramble(void)
{
	size_t i;
	uint64_t v;

	/* random words, many of them small, as real structs have */
	for (i = 0; i < 65536; i += 8) {
		v = rnd();
		if (below(3) == 0)
			v &= 0xff;
		memcpy(mem + i, &v, 8);
	}
}

/* What the spec allows for cmd on this fd; false with why set if not. */
static bool allowed(const struct prof *p, bool vm, bool foreign, uint32_t cmd,
		    long r, const char **why)
{
	unsigned int where = kvm_where(p, cmd);
	bool served;

	*why = "never ENOSYS";
	if (r == -ENOSYS)
		return false;
	if (_IOC_TYPE(cmd) == KVMSHIM_IO) {
		/* kvmshim's own: checked in detail by the unit tests */
		*why = "an undefined private number";
		if (defined_private(cmd))
			return true;
		/* undefined: an unknown ioctl, after the caller check */
		return r == (!vm ? -EINVAL : foreign ? -EIO : -ENOTTY);
	}
	if (vm && foreign) {
		/* generic.md §4.1: first, whatever the number */
		*why = "a foreign caller";
		return r == -EIO;
	}
	if (!vm) {
		/* generic.md §2; ENABLE_SIE exists on s390x only */
		served = (where & 1) && (!p->ppc || (cmd & 0xff) != 0x06);
		*why = served ? "a system ioctl" : "Q18";
		return served ? r >= 0 || r == -EINVAL || r == -EOPNOTSUPP :
				r == -EINVAL;
	}
	served = (where & 2) || ((where & 4) && p->ppc) ||
		 ((where & 8) && p->rma) || ((where & 16) && !p->ppc);
	if (!served) {
		*why = "an unknown VM ioctl";
		return r == -ENOTTY;
	}
	/* served: never ENOTTY; EIO only from COMMIT (hpt.md, Q8) */
	*why = "a VM ioctl";
	return r != -ENOTTY && (r != -EIO || (cmd & 0xff) == 0xae);
}

static int run(const struct prof *p, bool foreign, int sys, int vm,
	       unsigned int calls)
{
	unsigned int i, bad = 0;
	const char *why;
	uint32_t cmd;
	uint64_t arg;
	bool on_vm;
	int fd;
	long r;

	for (i = 0; i < calls; i++) {
		scramble();
		cmd = rnd_cmd(p);
		arg = _IOC_DIR(cmd) == _IOC_NONE && below(2) ? below(300) :
							       rnd_arg();
		on_vm = foreign || below(2);
		fd = on_vm ? vm : sys;
		r = e2e_ioctl(fd, cmd, arg);
		if (!allowed(p, on_vm, foreign, cmd, r, &why) && bad++ < 10)
			e2e_diag("%s %s: 0x%08x(0x%llx) = %ld (%s)", p->name,
				 on_vm ? "vm" : "sys", cmd,
				 (unsigned long long)arg, r, why);
	}
	return (int)bad;
}

/* The text after "key" in the daemon's status, as a number, or -1. */
static long long status_of(const char *name, const char *key)
{
	char text[16384];
	const char *s;

	if (e2e_ctl_status(name, text, sizeof(text)) < 0)
		return -1;
	s = strstr(text, key);
	return s ? strtoll(s + strlen(key), NULL, 10) : -1;
}

static void fuzz_profile(const struct prof *p)
{
	struct e2e_daemon d;
	char name[32];
	int sys, vm, status, i, bad;
	pid_t child;

	snprintf(name, sizeof(name), "ksd-fuzz-%s", p->name);
	e2e_daemon_start(&d, name, "--profile", p->name, NULL);
	sys = e2e_open(d.sys_path, O_RDWR);
	vm = e2e_open(d.vm_path, O_RDWR);
	bad = run(p, false, sys, vm, CALLS);
	e2e_is(bad, 0, "%s: %d random ioctls got what the spec allows", p->name,
	       CALLS);

	/* a forked child is not the VM's creator (generic.md §4.1) */
	fflush(stdout);
	child = fork();
	if (child == 0) {
		seed ^= 0x5555;
		_exit(run(p, true, sys, vm, CHILD_CALLS) ? 1 : 0);
	}
	e2e_ok(child > 0 && waitpid(child, &status, 0) == child &&
		       WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "%s: a child's KVM ioctls on the inherited VM fd are EIO",
	       p->name);

	e2e_is(e2e_ioctl(sys, KS_GET_API_VERSION, 0), 12,
	       "%s: the daemon still answers", p->name);
	close(vm);
	close(sys);
	/* unused tokens a random request got expire after 10 s */
	for (i = 0; i < 150; i++) {
		if (status_of(name, "vms: ") == 0 &&
		    status_of(name, "handles: ") == 0 &&
		    status_of(name, "unfinished_ioctls: ") == 0)
			break;
		usleep(100000);
	}
	e2e_is(status_of(name, "vms: "), 0, "%s: no VM left", p->name);
	e2e_is(status_of(name, "handles: "), 0, "%s: no handle left", p->name);
	e2e_is(status_of(name, "unfinished_ioctls: "), 0,
	       "%s: no unfinished round left", p->name);
	e2e_is(status_of(name, "memory: used="), 0, "%s: no model memory",
	       p->name);
	e2e_is(e2e_daemon_stop(&d), 0, "%s: SIGTERM: exit status 0", p->name);
}

int main(void)
{
	static const struct prof profs[] = {
		{ "ppc970", true, true },
		{ "power7", true, true },
		{ "power8", true, false },
		{ "s390x", false, false },
	};
	size_t i;

	mem = mmap(NULL, 131072, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || mprotect(mem + 65536, 65536, PROT_NONE))
		e2e_bail("mmap: %m");
	for (i = 0; i < sizeof(profs) / sizeof(profs[0]); i++)
		fuzz_profile(&profs[i]);
	return e2e_done();
}
