// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVM_ALLOCATE_RMA end to end with real memfds from the control socket:
 * allocate every area, ENOMEM, two mappings of one fd share their data,
 * an area returns only once its last fd and mapping are gone, a killed
 * client's areas return, and the status shows what each VM holds.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "lib/ctl.h"
#include "lib/e2e.h"

#define NAME "ks-rma"
#define RMA_SIZE (64UL << 20)
#define RMA_COUNT 4

static long rma_request(int vm, struct kvmshim_fd_request *req)
{
	memset(req, 0, sizeof(*req));
	req->cmd = KS_ALLOCATE_RMA;
	return e2e_ioctl(vm, KVMSHIM_FD_REQUEST, (unsigned long)req);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An RMA memfd for vm, or -errno. */
static int allocate(int vm, struct kvmshim_fd_info *info)
{
	struct kvmshim_fd_request req;
	long ret;
	int fd;

	ret = rma_request(vm, &req);
	if (ret)
		return (int)ret;
	if (req.rma_size != RMA_SIZE)
		return -ERANGE;
	ret = e2e_ctl_claim(NAME, req.token, 0, &fd, info);
	return ret ? (int)ret : fd;
}

static long long status_of(const char *key)
{
	static char text[65536];

	if (e2e_ctl_status(NAME, text, sizeof(text)) < 0)
		return -1;
	return e2e_status_sum(text, key);
}

/* Polls the number of free entries until it is want, for up to ms. */
static bool free_becomes(long long want, int ms)
{
	int64_t end = now_ms() + ms;

	for (;;) {
		if (status_of("rma_free") == want)
			return true;
		if (now_ms() > end)
			return false;
		usleep(50000);
	}
}

static bool free_stays(long long want, int ms)
{
	int64_t end = now_ms() + ms;

	while (now_ms() < end) {
		if (status_of("rma_free") != want)
			return false;
		usleep(50000);
	}
	return true;
}

static void basics(int vm, int fds[RMA_COUNT])
{
	struct kvmshim_fd_request req;
	struct kvmshim_fd_info info;
	struct ks_allocate_rma a;
	struct stat st;
	int i, fd, ok = 1;

	e2e_is(status_of("rma_total"), RMA_COUNT, "status: rma_total");
	e2e_is(status_of("rma_free"), RMA_COUNT, "status: all entries free");
	for (i = 0; i < RMA_COUNT; i++) {
		fds[i] = allocate(vm, &info);
		e2e_ok(fds[i] >= 0, "RMA %d: a memfd (%d)", i + 1, fds[i]);
		if (fds[i] < 0)
			e2e_bail("cannot go on without the memfd");
		ok &= info.kind == KVMSHIM_FD_KIND_RMA &&
		      info.size == RMA_SIZE && info.flags == 0;
		ok &= fstat(fds[i], &st) == 0 && st.st_size == (off_t)RMA_SIZE;
		ok &= fcntl(fds[i], F_GET_SEALS) ==
		      (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
		ok &= (fcntl(fds[i], F_GETFL) & O_ACCMODE) == O_RDWR;
	}
	e2e_ok(ok, "each is a sealed read-write memfd of rma_size bytes");
	e2e_is(rma_request(vm, &req), -ENOMEM, "the pool is empty: ENOMEM");
	e2e_is(e2e_ioctl(vm, KS_ALLOCATE_RMA, (unsigned long)&a), -ENOMEM,
	       "the plain ioctl: ENOMEM");
	e2e_is(status_of("rma_free"), 0, "status: no entry free");
	e2e_is(status_of("rmas_held"), RMA_COUNT, "status: the VM holds all");
	e2e_is(ftruncate(fds[0], 2 * RMA_SIZE) ? -errno : 0, -EPERM,
	       "the memfd cannot grow");
	/* a claimed token is used up */
	fd = -1;
	e2e_is(e2e_ctl_claim(NAME, 1, 0, &fd, &info), -ENOENT,
	       "CLAIM with an unknown token: ENOENT");
}

static void two_mappings(int fd)
{
	unsigned char *m1, *m2;
	size_t i;
	int zero = 1;

	m1 = mmap(NULL, RMA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m2 = mmap(NULL, RMA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m1 == MAP_FAILED || m2 == MAP_FAILED)
		e2e_bail("mmap: %m");
	for (i = 0; i < RMA_SIZE; i += 1 << 20)
		zero &= !m1[i] && !m2[RMA_SIZE - 1 - i];
	e2e_ok(zero, "a new RMA reads as zeros");
	memcpy(m1 + 12345, "through the first mapping", 26);
	m1[RMA_SIZE - 1] = 0x5a;
	e2e_ok(!memcmp(m2 + 12345, "through the first mapping", 26) &&
		       m2[RMA_SIZE - 1] == 0x5a,
	       "what one mapping writes, the other reads");
	munmap(m2, RMA_SIZE);
	munmap(m1, RMA_SIZE);
}

static void refill(int fd)
{
	void *m;

	m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		e2e_bail("mmap: %m");
	close(fd);
	e2e_ok(free_stays(0, 1500),
	       "closed but still mapped: the entry stays taken");
	munmap(m, 1 << 16);
	e2e_ok(free_becomes(1, 5000), "unmapped too: the entry returns");
	e2e_is(status_of("rmas_held"), RMA_COUNT - 1, "status: one less held");
}

/* The client: its own VM, kept alive by the parent, all free RMAs. */
static void client(int sock, int n)
{
	struct kvmshim_fd_request req;
	struct kvmshim_fd_info info;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *c;
	char b = 0;
	int sys, nfd, i, fd;

	sys = open("/dev/" NAME, O_RDWR | O_CLOEXEC);
	nfd = open("/dev/" NAME, O_RDWR | O_CLOEXEC);
	memset(&req, 0, sizeof(req));
	req.cmd = KS_CREATE_VM;
	if (sys < 0 || nfd < 0 ||
	    e2e_ioctl(sys, KVMSHIM_FD_REQUEST, (unsigned long)&req) ||
	    e2e_ioctl(nfd, KVMSHIM_BIND, (unsigned long)&req.token))
		_exit(2);
	/* the parent holds the VM too, so only our death can free the RMAs */
	iov.iov_base = &b;
	iov.iov_len = 1;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &nfd, sizeof(nfd));
	if (sendmsg(sock, &msg, 0) != 1)
		_exit(3);
	for (i = 0; i < n; i++) {
		char *m;

		fd = allocate(nfd, &info);
		if (fd < 0)
			_exit(4);
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			_exit(5);
		m[0] = 1;
	}
	b = (char)n;
	if (write(sock, &b, 1) != 1)
		_exit(6);
	for (;;)
		pause();
}

static void killed_client(int vm)
{
	struct kvmshim_fd_request req;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *c;
	int sv[2], cvm = -1, status;
	long long n_free = status_of("rma_free");
	pid_t pid;
	char b;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		e2e_bail("socketpair: %m");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		client(sv[1], (int)n_free);
	}
	close(sv[1]);
	iov.iov_base = &b;
	iov.iov_len = 1;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	if (recvmsg(sv[0], &msg, 0) == 1 && (c = CMSG_FIRSTHDR(&msg)) &&
	    c->cmsg_type == SCM_RIGHTS)
		memcpy(&cvm, CMSG_DATA(c), sizeof(cvm));
	e2e_ok(cvm >= 0, "the client's VM fd arrived");
	e2e_ok(read(sv[0], &b, 1) == 1 && b == n_free,
	       "the client took the %lld free RMAs", n_free);
	e2e_is(status_of("rma_free"), 0, "status: none free");
	e2e_is(rma_request(vm, &req), -ENOMEM, "ENOMEM while the client lives");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	e2e_ok(free_becomes(n_free, 5000),
	       "the killed client's RMAs return (its VM still lives)");
	e2e_is(status_of("rmas_held"), RMA_COUNT - n_free,
	       "status: its VM holds none now");
	e2e_is(rma_request(vm, &req), 0, "and they can be allocated again");
	close(cvm);
	close(sv[0]);
}

int main(void)
{
	struct e2e_daemon d;
	char path[108];
	int vm, fds[RMA_COUNT], i;

	e2e_daemon_start(&d, NAME, "--profile", "ppc970", NULL);
	e2e_ctl_path(NAME, path, sizeof(path));
	if (!e2e_wait_path(path, true, 3000))
		e2e_bail("no control socket at %s", path);
	vm = e2e_open(d.vm_path, O_RDWR);

	basics(vm, fds);
	two_mappings(fds[1]);
	e2e_is(status_of("rma_free"), 0, "mapping and unmapping keeps it");
	refill(fds[0]);
	/* give back all but one */
	for (i = 1; i < RMA_COUNT - 1; i++)
		close(fds[i]);
	e2e_ok(free_becomes(RMA_COUNT - 1, 5000), "closed fds return");
	killed_client(vm);
	/* M7: the VM's destruction returns what it holds */
	close(vm);
	e2e_ok(free_becomes(RMA_COUNT, 5000),
	       "destroying the VM returns the rest (M7)");
	close(fds[RMA_COUNT - 1]);
	e2e_is(status_of("rma_free"), RMA_COUNT, "and only once");
	e2e_is(e2e_daemon_stop(&d), 0, "daemon stops");
	return e2e_done();
}
