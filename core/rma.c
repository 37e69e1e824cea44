// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVM_ALLOCATE_RMA: Linux 3.1's pool of rma_count areas of rma_size bytes,
 * global to the daemon (spec: rma.md).  An area is handed out as a sealed
 * memfd; kvmshim only has to know when the area is free again, which is
 * the first of: the memfd's open file description is released (inotify
 * on its inode), the process holding it exits (pidfd), its VM is destroyed (M7),
 * or its token expires unclaimed.
 *
 * The pool object also carries the engine's token table: the monitor
 * thread that watches handed-out memfds drives token expiry as well.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "log.h"
#include "rma.h"
#include "status.h"
#include "token.h"

/* epoll tags: an entry's pidfd is tagged with its index and generation */
#define RMA_TAG_EVENT UINT64_MAX
#define RMA_TAG_INOTIFY (UINT64_MAX - 1)
#define RMA_IDX_BITS 24
#define RMA_IDX_MASK ((1ULL << RMA_IDX_BITS) - 1)
#define RMA_MAX_COUNT ((1U << RMA_IDX_BITS) - 2)

enum rma_state {
	RMA_FREE,
	RMA_RESERVED, /* taken by a token; the daemon holds the memfd */
	RMA_CLAIMED, /* handed out; the daemon holds nothing of it */
};

struct rma_entry {
	enum rma_state state;
	/* bumped at every take: stale tags and tokens never match */
	uint64_t gen;
	uint64_t vm_id; /* the VM it was allocated through */
	pid_t owner;
	int memfd; /* RESERVED only */
	int wd; /* CLAIMED: inotify watch, or -1 */
	int pidfd; /* CLAIMED: the owner's pidfd */
};

struct ks_rma_pool {
	struct ks_engine *eng;
	pthread_mutex_t lock;
	uint64_t size;
	unsigned int count;
	unsigned int n_free;
	struct rma_entry *entries;
	struct ks_tokens *tokens;
	/* the monitor thread, started on first need */
	int epfd;
	int evfd;
	int inofd;
	pthread_t thread;
	bool running;
	bool stopping;
};

/* What an RMA token holds: one reserved entry. */
struct rma_hold {
	struct ks_rma_pool *pool;
	unsigned int idx;
	uint64_t gen;
};

bool ks_rma_size_valid(enum ks_profile_id profile, uint64_t size)
{
	/* the sizes with an RMLS encoding; PPC970 has no 32 MiB one */
	static const uint64_t sizes[] = {
		32ULL << 20, 64ULL << 20, 128ULL << 20, 256ULL << 20,
		1ULL << 30,  16ULL << 30, 256ULL << 30,
	};
	size_t i;

	if (profile != KS_PROFILE_PPC970 && profile != KS_PROFILE_POWER7)
		return false;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (size == sizes[i])
			return profile == KS_PROFILE_POWER7 || i > 0;
	return false;
}

struct ks_tokens *ks_engine_tokens(struct ks_engine *eng)
{
	return eng->rma->tokens;
}

static uint64_t rma_tag(unsigned int idx, uint64_t gen)
{
	return (gen << RMA_IDX_BITS) | idx;
}

/* Caller holds the pool lock.  Harmless on a free entry. */
static void rma_return_locked(struct ks_rma_pool *pool, struct rma_entry *e)
{
	if (e->state == RMA_FREE)
		return;
	if (e->wd >= 0)
		inotify_rm_watch(pool->inofd, e->wd);
	if (e->pidfd >= 0) {
		epoll_ctl(pool->epfd, EPOLL_CTL_DEL, e->pidfd, NULL);
		close(e->pidfd);
	}
	if (e->memfd >= 0)
		close(e->memfd);
	e->wd = e->pidfd = e->memfd = -1;
	e->state = RMA_FREE;
	e->vm_id = 0;
	e->owner = 0;
	pool->n_free++;
}

/* Returns the entry if it still is the take that gen names. */
static void rma_return(struct ks_rma_pool *pool, unsigned int idx, uint64_t gen)
{
	struct rma_entry *e = &pool->entries[idx];

	pthread_mutex_lock(&pool->lock);
	if (e->gen == gen)
		rma_return_locked(pool, e);
	pthread_mutex_unlock(&pool->lock);
}

static void rma_return_tag(struct ks_rma_pool *pool, uint64_t tag)
{
	unsigned int idx = (unsigned int)(tag & RMA_IDX_MASK);
	uint64_t gen = tag >> RMA_IDX_BITS;
	struct rma_entry *e;

	if (idx >= pool->count)
		return;
	e = &pool->entries[idx];
	pthread_mutex_lock(&pool->lock);
	if (e->state == RMA_CLAIMED &&
	    (e->gen & (UINT64_MAX >> RMA_IDX_BITS)) == gen) {
		ks_log(LOG_DEBUG, "RMA %u returns: process %d exited", idx,
		       (int)e->owner);
		rma_return_locked(pool, e);
	}
	pthread_mutex_unlock(&pool->lock);
}

static void rma_return_wd(struct ks_rma_pool *pool, int wd)
{
	unsigned int i;

	pthread_mutex_lock(&pool->lock);
	for (i = 0; i < pool->count; i++) {
		struct rma_entry *e = &pool->entries[i];

		if (e->state == RMA_CLAIMED && e->wd == wd) {
			ks_log(LOG_DEBUG, "RMA %u returns: memfd released", i);
			rma_return_locked(pool, e);
			break;
		}
	}
	pthread_mutex_unlock(&pool->lock);
}

static void rma_read_inotify(struct ks_rma_pool *pool)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t len;
	char *p;

	while ((len = read(pool->inofd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + len; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			/*
			 * The memfd's inode is deleted when its dentry dies,
			 * with the last file that holds it: every fd and
			 * every mapping gone.  IN_IGNORED alone (the watch
			 * went away without us) means the same.  Our own
			 * removals cleared e->wd first and match nothing.
			 */
			if (ev->mask & (IN_DELETE_SELF | IN_IGNORED))
				rma_return_wd(pool, ev->wd);
		}
	}
}

static bool rma_stopping(struct ks_rma_pool *pool)
{
	bool stop;

	pthread_mutex_lock(&pool->lock);
	stop = pool->stopping;
	pthread_mutex_unlock(&pool->lock);
	return stop;
}

static void *rma_monitor(void *arg)
{
	struct ks_rma_pool *pool = arg;
	struct epoll_event ev[16];
	uint64_t v;
	int n, i, timeout;

	for (;;) {
		/* expiry first: it may cancel tokens, which takes our lock */
		timeout = ks_tokens_reap(pool->tokens, ks_now_ms());
		n = epoll_wait(pool->epfd, ev, 16, timeout);
		if (n < 0 && errno != EINTR) {
			ks_log(LOG_ERR, "RMA monitor: epoll_wait: %m");
			return NULL;
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.u64 == RMA_TAG_EVENT) {
				if (read(pool->evfd, &v, sizeof(v)) < 0)
					v = 0;
			} else if (ev[i].data.u64 == RMA_TAG_INOTIFY) {
				rma_read_inotify(pool);
			} else {
				rma_return_tag(pool, ev[i].data.u64);
			}
		}
		if (rma_stopping(pool))
			return NULL;
	}
}

static int epoll_add(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Caller holds the pool lock. */
static int monitor_start_locked(struct ks_rma_pool *pool)
{
	sigset_t all, old;
	int fd, ret;

	if (pool->running)
		return 0;
	if (pool->stopping)
		return -ESHUTDOWN;
	if (pool->epfd < 0) {
		pool->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (pool->epfd < 0)
			return -errno;
	}
	if (pool->evfd < 0) {
		fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		ret = epoll_add(pool->epfd, fd, RMA_TAG_EVENT);
		if (ret) {
			close(fd);
			return ret;
		}
		pool->evfd = fd;
	}
	if (pool->count && pool->inofd < 0) {
		pool->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		/* without it, owner exit and VM destruction still return */
		if (pool->inofd < 0)
			ks_log(LOG_WARNING, "RMA: inotify unavailable: %m");
		else if (epoll_add(pool->epfd, pool->inofd, RMA_TAG_INOTIFY))
			ks_log(LOG_WARNING, "RMA: cannot poll inotify: %m");
	}
	/* the daemon takes its signals through a signalfd: keep them out */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&pool->thread, NULL, rma_monitor, pool);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return ret;
	pool->running = true;
	return 0;
}

void ks_rma_monitor_kick(struct ks_engine *eng)
{
	struct ks_rma_pool *pool = eng->rma;
	uint64_t one = 1;
	int ret;

	pthread_mutex_lock(&pool->lock);
	ret = monitor_start_locked(pool);
	pthread_mutex_unlock(&pool->lock);
	if (ret) {
		ks_log(LOG_ERR, "cannot start the token monitor: %s",
		       strerror(-ret));
		return;
	}
	if (write(pool->evfd, &one, sizeof(one)) < 0)
		ks_log(LOG_ERR, "cannot wake the token monitor: %m");
}

int ks_rma_pool_init(struct ks_engine *eng)
{
	const struct ks_engine_config *cfg = &eng->cfg;
	struct ks_rma_pool *pool;
	unsigned int i;

	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->eng = eng;
	pool->epfd = pool->evfd = pool->inofd = -1;
	pthread_mutex_init(&pool->lock, NULL);
	if (cfg->profile.has_rma) {
		if (!ks_rma_size_valid(cfg->profile.id, cfg->rma_size)) {
			ks_log(LOG_ERR,
			       "rma_size %" PRIu64 " is not an RMA size of "
			       "the %s profile: use %s64M, 128M, 256M, 1G, "
			       "16G or 256G",
			       cfg->rma_size, cfg->profile.name,
			       cfg->profile.id == KS_PROFILE_POWER7 ? "32M, " :
								      "");
			goto err;
		}
		if (cfg->rma_count > RMA_MAX_COUNT) {
			ks_log(LOG_ERR, "rma_count %u is above %u",
			       cfg->rma_count, RMA_MAX_COUNT);
			goto err;
		}
		pool->size = cfg->rma_size;
		pool->count = cfg->rma_count;
	}
	if (pool->count) {
		pool->entries = calloc(pool->count, sizeof(*pool->entries));
		if (!pool->entries)
			goto err_nomem;
	}
	for (i = 0; i < pool->count; i++)
		pool->entries[i].memfd = pool->entries[i].wd =
			pool->entries[i].pidfd = -1;
	pool->n_free = pool->count;
	pool->tokens = ks_tokens_new();
	if (!pool->tokens)
		goto err_nomem;
	eng->rma = pool;
	return 0;
err_nomem:
	free(pool->entries);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
	return -ENOMEM;
err:
	pthread_mutex_destroy(&pool->lock);
	free(pool);
	return -EINVAL;
}

void ks_rma_pool_free(struct ks_engine *eng)
{
	struct ks_rma_pool *pool = eng->rma;
	uint64_t one = 1;
	unsigned int i;
	bool running;

	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	running = pool->running;
	pool->stopping = true;
	pthread_mutex_unlock(&pool->lock);
	if (running) {
		if (write(pool->evfd, &one, sizeof(one)) < 0)
			ks_log(LOG_ERR, "cannot stop the RMA monitor: %m");
		pthread_join(pool->thread, NULL);
	}
	/* cancelling may destroy VMs, which return entries to this pool */
	ks_tokens_free(pool->tokens);
	pool->tokens = NULL;
	pthread_mutex_lock(&pool->lock);
	for (i = 0; i < pool->count; i++)
		rma_return_locked(pool, &pool->entries[i]);
	pthread_mutex_unlock(&pool->lock);
	if (pool->inofd >= 0)
		close(pool->inofd);
	if (pool->evfd >= 0)
		close(pool->evfd);
	if (pool->epfd >= 0)
		close(pool->epfd);
	free(pool->entries);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
	eng->rma = NULL;
}

void ks_rma_vm_destroy(struct ks_vm *vm)
{
	struct ks_rma_pool *pool = vm->eng->rma;
	unsigned int i;

	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	for (i = 0; i < pool->count; i++) {
		struct rma_entry *e = &pool->entries[i];

		/* M7: earlier than Linux, where a mapping kept the area */
		if (e->state != RMA_FREE && e->vm_id == vm->id)
			rma_return_locked(pool, e);
	}
	pthread_mutex_unlock(&pool->lock);
}

long ks_ioctl_allocate_rma(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct ks_rma_pool *pool = vm->eng->rma;
	unsigned int n_free;

	/* rma_size is output only: nothing is read before the fd exists */
	(void)arg, (void)u;
	pthread_mutex_lock(&pool->lock);
	n_free = pool->n_free;
	pthread_mutex_unlock(&pool->lock);
	if (!n_free)
		return -ENOMEM;
	return ks_no_launcher(vm->eng, "KVM_ALLOCATE_RMA",
			      "claim the token over the control socket "
			      "(KVMSHIM_CTL_CLAIM)");
}

/* A memfd of exactly size bytes that can neither grow nor shrink. */
static int rma_memfd(uint64_t size)
{
	int fd, err;

	/* the name shows in /proc/PID/fd as Linux's anon inode name did */
	fd = memfd_create("kvm-rma", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int rma_take(struct ks_rma_pool *pool, uint64_t vm_id, unsigned int *idx,
		    uint64_t *gen)
{
	unsigned int i;
	int ret = -ENOMEM;

	pthread_mutex_lock(&pool->lock);
	for (i = 0; i < pool->count; i++) {
		struct rma_entry *e = &pool->entries[i];

		if (e->state != RMA_FREE)
			continue;
		e->state = RMA_RESERVED;
		e->gen++;
		e->vm_id = vm_id;
		pool->n_free--;
		*idx = i;
		*gen = e->gen;
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&pool->lock);
	return ret;
}

static void rma_token_cancel(void *obj)
{
	struct rma_hold *hold = obj;

	rma_return(hold->pool, hold->idx, hold->gen);
	free(hold);
}

static int rma_watch_locked(struct ks_rma_pool *pool, struct rma_entry *e,
			    unsigned int idx, pid_t owner)
{
	char path[64];
	int ret;

	ret = monitor_start_locked(pool);
	if (ret)
		return ret;
	/* a pidfd becomes readable when the process exits */
	e->pidfd = (int)syscall(SYS_pidfd_open, owner, 0);
	if (e->pidfd < 0)
		return -errno;
	ret = epoll_add(pool->epfd, e->pidfd, rma_tag(idx, e->gen));
	if (ret)
		return ret;
	if (pool->inofd < 0)
		return 0;
	/*
	 * Through our own descriptor, before anyone else holds it.  Not
	 * the close events: Linux 6.14+ raises none for memfds, and a
	 * reopen through /proc/PID/fd raises one while the RMA is in use.
	 */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", e->memfd);
	e->wd = inotify_add_watch(pool->inofd, path, IN_DELETE_SELF);
	if (e->wd < 0)
		ks_log(LOG_WARNING, "RMA: cannot watch %s: %m", path);
	return 0;
}

static int rma_token_claim(void *obj, pid_t owner, int *fd,
			   struct kvmshim_fd_info *info)
{
	struct rma_hold *hold = obj;
	struct ks_rma_pool *pool = hold->pool;
	struct rma_entry *e = &pool->entries[hold->idx];
	int ret;

	pthread_mutex_lock(&pool->lock);
	if (e->state != RMA_RESERVED || e->gen != hold->gen) {
		/* its VM was destroyed after the request */
		ret = -ENOENT;
		goto out;
	}
	ret = rma_watch_locked(pool, e, hold->idx, owner);
	if (ret) {
		rma_return_locked(pool, e);
		goto out;
	}
	e->state = RMA_CLAIMED;
	e->owner = owner;
	*fd = e->memfd;
	e->memfd = -1;
	info->kind = KVMSHIM_FD_KIND_RMA;
	info->flags = pool->eng->cfg.rma_fd_cloexec ? KVMSHIM_FD_CLOEXEC : 0;
	info->size = pool->size;
	info->vm_id = e->vm_id;
out:
	pthread_mutex_unlock(&pool->lock);
	free(hold);
	return ret;
}

static const struct ks_token_kind rma_token_kind = {
	.name = "RMA",
	.fd_kind = KVMSHIM_FD_KIND_RMA,
	.claim = rma_token_claim,
	.cancel = rma_token_cancel,
};

int ks_rma_fd_request(struct ks_fd_req *r)
{
	struct ks_rma_pool *pool = r->eng->rma;
	struct rma_hold *hold;
	unsigned int idx;
	uint64_t gen;
	int fd, ret;

	/* rma.md §3: the VM-creator check was done by the token layer */
	ret = rma_take(pool, r->h->vm->id, &idx, &gen);
	if (ret)
		return ret;
	fd = rma_memfd(pool->size);
	hold = malloc(sizeof(*hold));
	if (fd < 0 || !hold) {
		if (fd >= 0)
			close(fd);
		free(hold);
		rma_return(pool, idx, gen);
		return fd < 0 ? fd : -ENOMEM;
	}
	pthread_mutex_lock(&pool->lock);
	pool->entries[idx].memfd = fd;
	pthread_mutex_unlock(&pool->lock);
	hold->pool = pool;
	hold->idx = idx;
	hold->gen = gen;
	ret = ks_token_issue(r, &rma_token_kind, hold, O_RDWR);
	if (ret)
		return ret;
	r->rma_size = pool->size;
	return 0;
}

void ks_rma_status(struct ks_vm *vm, struct ks_vm_status *st)
{
	struct ks_rma_pool *pool = vm->eng->rma;
	unsigned int i, n = 0;

	pthread_mutex_lock(&pool->lock);
	for (i = 0; i < pool->count; i++)
		if (pool->entries[i].state != RMA_FREE &&
		    pool->entries[i].vm_id == vm->id)
			n++;
	pthread_mutex_unlock(&pool->lock);
	st->rmas_held = n;
	st->rma_bytes = (uint64_t)n * pool->size;
}

void ks_rma_pool_status(struct ks_engine *eng, struct ks_engine_status *st)
{
	struct ks_rma_pool *pool = eng->rma;

	pthread_mutex_lock(&pool->lock);
	st->rma_free = pool->n_free;
	st->rma_total = pool->count;
	st->rma_size = pool->size;
	pthread_mutex_unlock(&pool->lock);
}
