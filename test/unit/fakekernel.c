// SPDX-License-Identifier: LGPL-2.1-or-later
/* The kernel's side of CUSE, played over a socketpair (fakekernel.h). */
#include <check.h>
#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fakekernel.h"

#define FK_MAX_FAULTS 16
#define FK_PAGE 4096U
#define FK_MAX_PAGES 32U
#define FK_CAP (FK_MAX_PAGES * FK_PAGE)
#define FK_RECV_MAX (FK_CAP + 65536)
#define FK_TIMEOUT_MS 20000
#define FK_USER_END ((1ULL << 47) - FK_PAGE)

struct fk_waiter {
	uint64_t unique;
	struct fk_reply *reply;
	struct fk_waiter *next;
};

struct fk {
	int fd;
	struct node node;
	pthread_t reader;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct fk_waiter *waiters;
	bool closed;
	uint64_t next_unique;
	unsigned int unexpected;
	unsigned int interrupt_replies;
	struct fk_init_info init;
	struct {
		uintptr_t lo, hi;
	} faults[FK_MAX_FAULTS];
	unsigned int n_faults;
};

static _Atomic unsigned int fk_counter;

pid_t fk_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

struct node *fk_node(struct fk *k)
{
	return &k->node;
}

void fk_init_info(struct fk *k, struct fk_init_info *out)
{
	*out = k->init;
}

void fk_fault(struct fk *k, const void *addr, size_t len)
{
	pthread_mutex_lock(&k->lock);
	ck_assert_uint_lt(k->n_faults, FK_MAX_FAULTS);
	k->faults[k->n_faults].lo = (uintptr_t)addr;
	k->faults[k->n_faults].hi = (uintptr_t)addr + len;
	k->n_faults++;
	pthread_mutex_unlock(&k->lock);
}

void fk_unfault_all(struct fk *k)
{
	pthread_mutex_lock(&k->lock);
	k->n_faults = 0;
	pthread_mutex_unlock(&k->lock);
}

/*
 * How many bytes from addr can be accessed before the first fault (len if
 * none).  Addresses below one page always fault, like the kernel's, and so
 * does everything from the end of the user address space on (x86-64's
 * TASK_SIZE_MAX with 4-level paging), as access_ok() refuses it.
 */
static size_t fk_accessible(struct fk *k, uint64_t addr, size_t len)
{
	uint64_t end = addr + len, stop = end;
	unsigned int i;

	if (end < addr)
		return 0;
	if (addr < FK_PAGE || addr >= FK_USER_END)
		return 0;
	if (stop > FK_USER_END)
		stop = FK_USER_END;
	pthread_mutex_lock(&k->lock);
	for (i = 0; i < k->n_faults; i++)
		if (k->faults[i].lo < stop && k->faults[i].hi > addr)
			stop = k->faults[i].lo > addr ? k->faults[i].lo : addr;
	pthread_mutex_unlock(&k->lock);
	return (size_t)(stop - addr);
}

static struct fk_waiter **find_waiter(struct fk *k, uint64_t unique)
{
	struct fk_waiter **pp;

	for (pp = &k->waiters; *pp; pp = &(*pp)->next)
		if ((*pp)->unique == unique)
			return pp;
	return NULL;
}

static void *fk_reader(void *arg)
{
	struct fk *k = arg;
	uint8_t *buf = malloc(FK_RECV_MAX);
	struct fuse_out_header oh;
	struct fk_waiter **pp;
	struct fk_reply *r;
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	for (;;) {
		n = recv(k->fd, buf, FK_RECV_MAX, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		pthread_mutex_lock(&k->lock);
		if ((size_t)n < sizeof(oh) || n > FK_RECV_MAX) {
			k->unexpected++;
			pthread_mutex_unlock(&k->lock);
			continue;
		}
		memcpy(&oh, buf, sizeof(oh));
		pp = find_waiter(k, oh.unique);
		if (oh.len != (size_t)n) {
			k->unexpected++;
		} else if (oh.unique & 1) {
			/* an answer to an INTERRUPT (EAGAIN: not found yet) */
			k->interrupt_replies++;
		} else if (!pp || (*pp)->reply) {
			k->unexpected++;
		} else {
			r = malloc(sizeof(*r) + (size_t)n - sizeof(oh));
			ck_assert_ptr_nonnull(r);
			r->unique = oh.unique;
			r->error = oh.error;
			r->len = (size_t)n - sizeof(oh);
			memcpy(r->data, buf + sizeof(oh), r->len);
			(*pp)->reply = r;
			pthread_cond_broadcast(&k->cond);
		}
		pthread_mutex_unlock(&k->lock);
	}
	pthread_mutex_lock(&k->lock);
	k->closed = true;
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->lock);
	free(buf);
	return NULL;
}

static uint64_t fk_send_as(struct fk *k, uint32_t opcode, pid_t pid, uid_t uid,
			   gid_t gid, uint64_t unique, const void *arg,
			   size_t arg_len, const void *data, size_t data_len)
{
	struct fuse_in_header h = {
		.len = (uint32_t)(sizeof(h) + arg_len + data_len),
		.opcode = opcode,
		.unique = unique,
		.uid = uid,
		.gid = gid,
		.pid = (uint32_t)pid,
	};
	struct iovec iov[3] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)arg, .iov_len = arg_len },
		{ .iov_base = (void *)data, .iov_len = data_len },
	};
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 3 };
	struct fk_waiter *w;

	if (!(unique & 1)) {
		w = calloc(1, sizeof(*w));
		ck_assert_ptr_nonnull(w);
		w->unique = unique;
		pthread_mutex_lock(&k->lock);
		w->next = k->waiters;
		k->waiters = w;
		pthread_mutex_unlock(&k->lock);
	}
	ck_assert_int_eq(sendmsg(k->fd, &m, MSG_NOSIGNAL), (ssize_t)h.len);
	return unique;
}

static uint64_t fk_unique(struct fk *k)
{
	uint64_t u;

	/* the kernel steps by 2: odd uniques are interrupts */
	pthread_mutex_lock(&k->lock);
	k->next_unique += 2;
	u = k->next_unique;
	pthread_mutex_unlock(&k->lock);
	return u;
}

uint64_t fk_send(struct fk *k, uint32_t opcode, pid_t pid, const void *arg,
		 size_t arg_len, const void *data, size_t data_len)
{
	return fk_send_as(k, opcode, pid, getuid(), getgid(), fk_unique(k), arg,
			  arg_len, data, data_len);
}

void fk_interrupt(struct fk *k, uint64_t unique)
{
	struct fuse_interrupt_in in = { .unique = unique };

	fk_send_as(k, FUSE_INTERRUPT, 0, 0, 0, unique | 1, &in, sizeof(in),
		   NULL, 0);
}

unsigned int fk_interrupt_replies(struct fk *k)
{
	unsigned int n;

	pthread_mutex_lock(&k->lock);
	n = k->interrupt_replies;
	pthread_mutex_unlock(&k->lock);
	return n;
}

struct fk_reply *fk_wait(struct fk *k, uint64_t unique, int timeout_ms)
{
	struct timespec ts;
	struct fk_waiter **pp, *w;
	struct fk_reply *r = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&k->lock);
	for (;;) {
		pp = find_waiter(k, unique);
		ck_assert_ptr_nonnull(pp);
		if ((*pp)->reply || k->closed)
			break;
		if (pthread_cond_timedwait(&k->cond, &k->lock, &ts) ==
		    ETIMEDOUT)
			break;
	}
	w = *pp;
	if (w->reply) {
		r = w->reply;
		*pp = w->next;
		free(w);
	}
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* Waits for a reply that must come. */
static struct fk_reply *fk_must(struct fk *k, uint64_t unique)
{
	struct fk_reply *r = fk_wait(k, unique, FK_TIMEOUT_MS);

	ck_assert_msg(r, "no reply to request %llu",
		      (unsigned long long)unique);
	return r;
}

static void fk_check_init(struct fk *k, struct fk_reply *r)
{
	struct cuse_init_out out;
	const char *info, *end;

	ck_assert_int_eq(r->error, 0);
	ck_assert_uint_ge(r->len, sizeof(out));
	memcpy(&out, r->data, sizeof(out));
	/* what cuse_process_init_reply() insists on */
	ck_assert_uint_eq(out.major, FUSE_KERNEL_VERSION);
	ck_assert_uint_ge(out.minor, 11);
	k->init.major = out.major;
	k->init.minor = out.minor;
	k->init.flags = out.flags;
	k->init.max_read = out.max_read;
	k->init.max_write = out.max_write;
	info = (const char *)r->data + sizeof(out);
	end = (const char *)r->data + r->len;
	while (info < end) {
		size_t len = strnlen(info, (size_t)(end - info));

		if (!strncmp(info, "DEVNAME=", 8))
			snprintf(k->init.devname, sizeof(k->init.devname),
				 "%.*s", (int)len - 8, info + 8);
		info += len + 1;
	}
	ck_assert_str_ne(k->init.devname, "");
}

struct fk *fk_new(struct ks_engine *eng, enum ks_node kind,
		  const struct fk_options *opt)
{
	struct cuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.flags = CUSE_UNRESTRICTED_IOCTL,
	};
	int sv[2], big = 4 << 20;
	struct fk_reply *r;
	struct fk *k;
	uint64_t u;

	k = calloc(1, sizeof(*k));
	ck_assert_ptr_nonnull(k);
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->cond, NULL);
	ck_assert_int_eq(
		socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	k->fd = sv[0];
	k->node.eng = eng;
	k->node.kind = kind;
	snprintf(k->node.name, sizeof(k->node.name), "fk%u%s",
		 atomic_fetch_add(&fk_counter, 1),
		 kind == KS_NODE_VM ? "-vm" : "");
	if (opt) {
		k->node.max_workers = opt->max_workers;
		k->node.trace = opt->trace;
		k->node.ioctl_fn = opt->ioctl_fn;
	}
	ck_assert_int_eq(node_init(&k->node, sv[1]), 0);
	ck_assert_int_eq(pthread_create(&k->reader, NULL, fk_reader, k), 0);
	u = fk_send_as(k, CUSE_INIT, 0, 0, 0, fk_unique(k), &in, sizeof(in),
		       NULL, 0);
	ck_assert_int_eq(node_handshake(&k->node, FK_TIMEOUT_MS), 0);
	r = fk_must(k, u);
	fk_check_init(k, r);
	free(r);
	ck_assert_int_eq(node_run(&k->node), 0);
	return k;
}

unsigned int fk_free(struct fk *k)
{
	struct fk_waiter *w;
	unsigned int unexpected;

	node_stop(&k->node);
	pthread_join(k->reader, NULL);
	close(k->fd);
	while ((w = k->waiters)) {
		k->waiters = w->next;
		free(w->reply);
		free(w);
	}
	unexpected = k->unexpected;
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->cond);
	free(k);
	return unexpected;
}

int fk_open(struct fk *k, pid_t pid, int flags, uint64_t *fh)
{
	struct fuse_open_in in = { .flags = (uint32_t)flags };
	struct fuse_open_out out;
	struct fk_reply *r;
	int ret;

	r = fk_must(k, fk_send(k, FUSE_OPEN, pid, &in, sizeof(in), NULL, 0));
	ret = r->error;
	if (!ret) {
		ck_assert_uint_eq(r->len, sizeof(out));
		memcpy(&out, r->data, sizeof(out));
		*fh = out.fh;
	}
	free(r);
	return ret;
}

int fk_release(struct fk *k, uint64_t fh)
{
	struct fuse_release_in in = { .fh = fh };
	struct fk_reply *r;
	int ret;

	/* the kernel sends RELEASE without credentials */
	r = fk_must(k, fk_send_as(k, FUSE_RELEASE, 0, 0, 0, fk_unique(k), &in,
				  sizeof(in), NULL, 0));
	ret = r->error;
	ck_assert_uint_eq(r->len, 0);
	free(r);
	return ret;
}

/*
 * A chunk pins at most 32 pages starting at the page of addr, and no page
 * from the first one it cannot access on: fuse_direct_io() sends what it
 * could pin, and ends the call when it could pin nothing.
 */
static size_t chunk_size(struct fk *k, uintptr_t addr, size_t left, size_t max)
{
	size_t pinned = FK_CAP - (addr % FK_PAGE);
	size_t n = left < pinned ? left : pinned, ok;
	uintptr_t bad_page;

	if (n > max)
		n = max;
	ok = fk_accessible(k, addr, n);
	if (ok < n) {
		/* the page holding the first bad byte is not pinned */
		bad_page = (addr + ok) & ~(uintptr_t)(FK_PAGE - 1);
		n = bad_page > addr ? (size_t)(bad_page - addr) : 0;
	}
	return n;
}

ssize_t fk_read(struct fk *k, uint64_t fh, pid_t pid, void *buf, size_t size)
{
	size_t done = 0, chunk;
	struct fk_reply *r;
	int err;

	while (done < size) {
		struct fuse_read_in in = { .fh = fh, .offset = done };

		chunk = chunk_size(k, (uintptr_t)buf + done, size - done,
				   k->init.max_read);
		if (!chunk)
			return done ? (ssize_t)done : -EFAULT;
		in.size = (uint32_t)chunk;
		r = fk_must(k, fk_send(k, FUSE_READ, pid, &in, sizeof(in), NULL,
				       0));
		if (r->error) {
			err = r->error;
			free(r);
			return done ? (ssize_t)done : err;
		}
		ck_assert_uint_le(r->len, chunk);
		memcpy((char *)buf + done, r->data, r->len);
		done += r->len;
		chunk -= r->len;
		free(r);
		if (chunk)
			break;
	}
	return (ssize_t)done;
}

ssize_t fk_write(struct fk *k, uint64_t fh, pid_t pid, const void *buf,
		 size_t size)
{
	size_t done = 0, chunk;
	struct fuse_write_out out;
	struct fk_reply *r;
	int err;

	while (done < size) {
		struct fuse_write_in in = { .fh = fh, .offset = done };

		chunk = chunk_size(k, (uintptr_t)buf + done, size - done,
				   k->init.max_write);
		if (!chunk)
			return done ? (ssize_t)done : -EFAULT;
		in.size = (uint32_t)chunk;
		r = fk_must(k, fk_send(k, FUSE_WRITE, pid, &in, sizeof(in),
				       (const char *)buf + done, chunk));
		if (r->error) {
			err = r->error;
			free(r);
			return done ? (ssize_t)done : err;
		}
		ck_assert_uint_eq(r->len, sizeof(out));
		memcpy(&out, r->data, sizeof(out));
		free(r);
		/* fuse_send_write(): a count beyond the request is EIO */
		if (out.size > chunk)
			return -EIO;
		done += out.size;
		if (out.size < chunk)
			break;
	}
	return (ssize_t)done;
}

struct fk_region {
	uint64_t base;
	uint64_t len;
};

/* fuse_verify_ioctl_iov(): each direction within max_pages. */
static bool regions_fit(const struct fk_region *r, unsigned int n)
{
	uint64_t left = FK_CAP;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (r[i].len > left)
			return false;
		left -= r[i].len;
	}
	return true;
}

static uint64_t regions_total(const struct fk_region *r, unsigned int n)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		sum += r[i].len;
	return sum;
}

/* Copies the in-regions from caller memory: 0 or -EFAULT. */
static int copy_in(struct fk *k, const struct fk_region *in, unsigned int n,
		   uint8_t *buf)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!in[i].len)
			continue;
		if (fk_accessible(k, in[i].base, in[i].len) < in[i].len)
			return -EFAULT;
		memcpy(buf, (const void *)(uintptr_t)in[i].base, in[i].len);
		buf += in[i].len;
	}
	return 0;
}

/* Scatters a final reply over the out-regions: 0 or -EFAULT. */
static int copy_out(struct fk *k, const struct fk_region *out, unsigned int n,
		    const uint8_t *data, size_t len)
{
	unsigned int i;
	size_t c, ok;

	for (i = 0; i < n && len; i++) {
		c = len < out[i].len ? len : (size_t)out[i].len;
		ok = fk_accessible(k, out[i].base, c);
		if (ok)
			memcpy((void *)(uintptr_t)out[i].base, data, ok);
		if (ok < c)
			return -EFAULT;
		data += c;
		len -= c;
	}
	return 0;
}

static long ioctl_result(struct fuse_ioctl_out *o)
{
	/* fuse_send_ioctl(): ENOSYS is never passed on */
	return o->result == -ENOSYS ? -ENOTTY : o->result;
}

long fk_ioctl_ex(struct fk *k, struct fk_ioctl *io)
{
	struct fk_region in[FUSE_IOCTL_MAX_IOV], out[FUSE_IOCTL_MAX_IOV];
	unsigned int n_in = 0, n_out = 0, i;
	struct fuse_ioctl_in a;
	struct fuse_ioctl_out o;
	struct fk_reply *r = NULL;
	uint64_t in_size, out_size;
	uint8_t *buf;
	long ret;

	io->rounds = 0;
	io->max_in = io->max_out = 0;
	io->max_iovs = 0;
	io->kernel_check_failed = false;
	for (;;) {
		if (io->rounds && io->before_round &&
		    !io->before_round(io->opaque, io->rounds + 1))
			return -EINTR;
		in_size = regions_total(in, n_in);
		out_size = regions_total(out, n_out);
		buf = malloc(in_size ? in_size : 1);
		ck_assert_ptr_nonnull(buf);
		ret = copy_in(k, in, n_in, buf);
		if (ret) {
			free(buf);
			return ret;
		}
		memset(&a, 0, sizeof(a));
		a.fh = io->fh;
		a.flags =
			FUSE_IOCTL_UNRESTRICTED |
			(io->compat ? FUSE_IOCTL_COMPAT | FUSE_IOCTL_32BIT : 0);
		a.cmd = io->cmd;
		a.arg = io->arg;
		a.in_size = (uint32_t)in_size;
		a.out_size = (uint32_t)out_size;
		io->last_unique = fk_send(k, FUSE_IOCTL, io->pid, &a, sizeof(a),
					  buf, in_size);
		free(buf);
		io->rounds++;
		if (in_size > io->max_in)
			io->max_in = in_size;
		if (out_size > io->max_out)
			io->max_out = out_size;
		r = fk_must(k, io->last_unique);
		if (r->error) {
			ret = r->error == -ENOSYS ? -ENOTTY : r->error;
			goto out;
		}
		ret = -EIO;
		if (r->len < sizeof(o))
			goto out;
		memcpy(&o, r->data, sizeof(o));
		if (!(o.flags & FUSE_IOCTL_RETRY))
			break;
		/* the checks of fuse_do_ioctl() on a RETRY */
		ret = -ENOMEM;
		if (o.in_iovs > FUSE_IOCTL_MAX_IOV ||
		    o.out_iovs > FUSE_IOCTL_MAX_IOV ||
		    o.in_iovs + o.out_iovs > FUSE_IOCTL_MAX_IOV) {
			io->kernel_check_failed = true;
			goto out;
		}
		if (o.in_iovs + o.out_iovs > io->max_iovs)
			io->max_iovs = o.in_iovs + o.out_iovs;
		if (r->len - sizeof(o) !=
		    (o.in_iovs + o.out_iovs) *
			    sizeof(struct fuse_ioctl_iovec)) {
			io->kernel_check_failed = true;
			ret = -EIO;
			goto out;
		}
		n_in = o.in_iovs;
		n_out = o.out_iovs;
		for (i = 0; i < n_in + n_out; i++) {
			struct fuse_ioctl_iovec v;

			memcpy(&v, r->data + sizeof(o) + i * sizeof(v),
			       sizeof(v));
			if (i < n_in)
				in[i] = (struct fk_region){ v.base, v.len };
			else
				out[i - n_in] =
					(struct fk_region){ v.base, v.len };
		}
		if (!regions_fit(in, n_in) || !regions_fit(out, n_out)) {
			io->kernel_check_failed = true;
			goto out;
		}
		free(r);
		r = NULL;
	}
	/* the final reply */
	ret = -EIO;
	if (r->len - sizeof(o) > out_size)
		goto out;
	ret = copy_out(k, out, n_out, r->data + sizeof(o), r->len - sizeof(o));
	if (!ret)
		ret = ioctl_result(&o);
out:
	free(r);
	return ret;
}

long fk_ioctl(struct fk *k, uint64_t fh, pid_t pid, uint32_t cmd, uint64_t arg)
{
	struct fk_ioctl io = {
		.fh = fh,
		.pid = pid,
		.cmd = cmd,
		.arg = arg,
	};

	return fk_ioctl_ex(k, &io);
}
