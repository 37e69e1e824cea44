// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fd tokens: KVMSHIM_FD_REQUEST, KVMSHIM_BIND and the control socket's
 * claim (uapi/kvmshim/kvmshim.h, spec: fd-passing.md §3).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "htab.h"
#include "internal.h"
#include "log.h"
#include "rma.h"
#include "token.h"

_Static_assert(sizeof(struct kvmshim_fd_request) == 72, "fd_request size");
_Static_assert(offsetof(struct kvmshim_fd_request, owner_tgid) == 48,
	       "fd_request.owner_tgid");
_Static_assert(offsetof(struct kvmshim_fd_request, token) == 56,
	       "fd_request.token");
_Static_assert(sizeof(struct kvmshim_fd_info) == 24, "fd_info size");
_Static_assert(sizeof(struct kvmshim_ctl_request) == 24, "ctl_request size");
_Static_assert(sizeof(struct kvmshim_ctl_reply) == 32, "ctl_reply size");

struct ks_token {
	uint64_t value;
	int64_t deadline_ms;
	const struct ks_token_kind *kind;
	void *obj;
	int accmode;
	pid_t requester;
	pid_t owner;
	struct ks_token *next;
};

struct ks_tokens {
	pthread_mutex_t lock;
	struct ks_token *head;
	unsigned int n;
	unsigned int ttl_ms;
};

int64_t ks_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ks_tokens *ks_tokens_new(void)
{
	struct ks_tokens *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->ttl_ms = KVMSHIM_TOKEN_TTL_MS;
	return t;
}

void ks_tokens_free(struct ks_tokens *t)
{
	struct ks_token *tok;

	if (!t)
		return;
	while ((tok = t->head)) {
		t->head = tok->next;
		tok->kind->cancel(tok->obj);
		free(tok);
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int ks_tokens_reap(struct ks_tokens *t, int64_t now_ms)
{
	struct ks_token *dead = NULL, **pp, *tok;
	int64_t next = -1;

	pthread_mutex_lock(&t->lock);
	for (pp = &t->head; (tok = *pp);) {
		if (tok->deadline_ms <= now_ms) {
			*pp = tok->next;
			t->n--;
			tok->next = dead;
			dead = tok;
			continue;
		}
		if (next < 0 || tok->deadline_ms - now_ms < next)
			next = tok->deadline_ms - now_ms;
		pp = &tok->next;
	}
	pthread_mutex_unlock(&t->lock);
	/* cancelling may destroy a VM: no lock of ours is held */
	while ((tok = dead)) {
		dead = tok->next;
		ks_log(LOG_DEBUG, "%s token expired unused", tok->kind->name);
		tok->kind->cancel(tok->obj);
		free(tok);
	}
	return next < 0 ? -1 : (int)next;
}

void ks_tokens_set_ttl_ms(struct ks_engine *eng, unsigned int ms)
{
	struct ks_tokens *t = ks_engine_tokens(eng);

	pthread_mutex_lock(&t->lock);
	t->ttl_ms = ms;
	pthread_mutex_unlock(&t->lock);
}

unsigned int ks_tokens_pending(struct ks_engine *eng)
{
	struct ks_tokens *t = ks_engine_tokens(eng);
	unsigned int n;

	pthread_mutex_lock(&t->lock);
	n = t->n;
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* Caller holds t->lock.  An expired token is as good as gone. */
static struct ks_token **token_find(struct ks_tokens *t, uint64_t value)
{
	struct ks_token **pp;
	int64_t now = ks_now_ms();

	if (!value)
		return NULL;
	for (pp = &t->head; *pp; pp = &(*pp)->next)
		if ((*pp)->value == value)
			return (*pp)->deadline_ms > now ? pp : NULL;
	return NULL;
}

static int token_random(struct ks_tokens *t, uint64_t *out)
{
	uint64_t v;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		if (getrandom(&v, sizeof(v), 0) != sizeof(v))
			return -EAGAIN;
		/* 0 means "no token"; a clash is astronomically unlikely */
		if (v && !token_find(t, v)) {
			*out = v;
			return 0;
		}
	}
	return -EAGAIN;
}

/*
 * Caller holds t->lock.  The live tokens tgid asked for: one process must
 * not take the whole table from the others.
 */
static unsigned int tokens_of(struct ks_tokens *t, pid_t tgid)
{
	const struct ks_token *tok;
	int64_t now = ks_now_ms();
	unsigned int n = 0;

	for (tok = t->head; tok; tok = tok->next)
		if (tok->requester == tgid && tok->deadline_ms > now)
			n++;
	return n;
}

int ks_token_issue(struct ks_fd_req *r, const struct ks_token_kind *kind,
		   void *obj, int accmode)
{
	struct ks_tokens *t = ks_engine_tokens(r->eng);
	struct ks_token *tok;
	int ret;

	tok = calloc(1, sizeof(*tok));
	if (!tok) {
		kind->cancel(obj);
		return -ENOMEM;
	}
	tok->kind = kind;
	tok->obj = obj;
	tok->accmode = accmode;
	tok->requester = r->requester;
	tok->owner = r->owner;
	pthread_mutex_lock(&t->lock);
	if (r->requester &&
	    tokens_of(t, r->requester) >= KVMSHIM_TOKENS_PER_PROCESS)
		ret = -EMFILE;
	else if (t->n >= KVMSHIM_TOKENS_MAX)
		ret = -ENFILE;
	else
		ret = token_random(t, &tok->value);
	if (!ret) {
		tok->deadline_ms = ks_now_ms() + t->ttl_ms;
		tok->next = t->head;
		t->head = tok;
		t->n++;
		r->token = tok->value;
	}
	pthread_mutex_unlock(&t->lock);
	if (ret) {
		kind->cancel(obj);
		free(tok);
		return ret;
	}
	ks_rma_monitor_kick(r->eng);
	return 0;
}

/* ---- KVMSHIM_FD_REQUEST ---- */

static bool fd_returning(int id)
{
	return id == KS_IOCTL_CREATE_VM || id == KS_IOCTL_PPC_GET_HTAB_FD ||
	       id == KS_IOCTL_ALLOCATE_RMA;
}

static int fd_request_system(struct ks_fd_req *r)
{
	if (r->id == KS_IOCTL_CREATE_VM)
		return ks_sys_fd_create_vm(r);
	/* Q18: the other fd-returning ioctls are unknown on the system fd */
	return -EINVAL;
}

static int fd_request_vm(struct ks_fd_req *r)
{
	const struct ks_profile *p = &r->eng->cfg.profile;
	struct ks_caller c = { .tid = r->owner, .tgid = r->owner };
	int ret;

	/* Linux's first check; a supervised request names the client */
	ret = ks_vm_check_caller(r->h->vm, &c);
	if (ret)
		return ret;
	switch (r->id) {
	case KS_IOCTL_ALLOCATE_RMA:
		if (!p->has_rma)
			break;
		return ks_rma_fd_request(r);
	case KS_IOCTL_PPC_GET_HTAB_FD:
		if (p->arch != KS_ARCH_PPC)
			break;
		return ks_htab_fd_request(r);
	}
	/* CREATE_VM, and what the profile lacks, are unknown VM ioctls */
	return -ENOTTY;
}

static int fd_request_check(struct ks_handle *h,
			    const struct kvmshim_fd_request *req,
			    const struct ks_caller *caller, struct ks_fd_req *r)
{
	if (req->flags & ~KVMSHIM_FD_SUPERVISED || req->reserved)
		return -EINVAL;
	if (req->flags & KVMSHIM_FD_SUPERVISED ? req->owner_tgid <= 0 :
						 req->owner_tgid != 0)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->eng = h->eng;
	r->h = h;
	r->id = ks_ioctl_decode(&h->eng->cfg.profile, req->cmd);
	if (!fd_returning(r->id))
		return -EINVAL;
	/* only the client's launcher acts for it; M4: pid 0 is unchecked */
	if (req->flags & KVMSHIM_FD_SUPERVISED && caller->tgid &&
	    h->eng->cfg.may_supervise &&
	    !h->eng->cfg.may_supervise(caller->tgid, req->owner_tgid))
		return -EPERM;
	r->flags = req->flags;
	r->arg = req->arg;
	memcpy(r->data, req->data, sizeof(r->data));
	r->requester = caller->tgid;
	r->owner = req->flags & KVMSHIM_FD_SUPERVISED ? req->owner_tgid :
							caller->tgid;
	return 0;
}

static long token_fd_request(struct ks_handle *h, uint64_t arg,
			     struct ks_uctx *u)
{
	struct kvmshim_fd_request req;
	struct ks_fd_req r;
	int ret;

	/* read and declare in the same round: two CUSE rounds, not three */
	ret = ks_copy_from_user(u, &req, arg, sizeof(req));
	if (ret && ret != -KS_ERESTART)
		return ret;
	ret = ks_want_to_user(u, arg, sizeof(req));
	if (ret && ret != -KS_ERESTART)
		return ret;
	ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	ret = fd_request_check(h, &req, &u->caller, &r);
	if (ret)
		return ret;
	ret = ks_handle_kind(h) == KS_HANDLE_SYSTEM ? fd_request_system(&r) :
						      fd_request_vm(&r);
	if (ret)
		return ret;
	/*
	 * A failed write-back leaves the token unused: it expires and
	 * releases the object, as the leaked fd of Linux's Q17 would not.
	 */
	req.token = r.token;
	req.rma_size = r.rma_size;
	return ks_copy_to_user(u, arg, &req, sizeof(req));
}

/* ---- KVMSHIM_BIND ---- */

/* 0 if caller may use tok; a foreign token looks like no token at all. */
static bool token_is_callers(const struct ks_token *tok, pid_t tgid)
{
	/* M4: a process the daemon cannot see is not checked */
	return !tok->requester || !tgid || tok->requester == tgid;
}

/*
 * Other ioctls on the same open may run meanwhile, without our lock: they
 * must find the handle unbound or wholly bound.  The object is attached to
 * a copy, then the fields are published, the kind last (ks_handle_kind()
 * reads it with acquire order).
 */
static void handle_bind(struct ks_handle *h, const struct ks_token *tok)
{
	struct ks_handle nh = *h;

	tok->kind->bind(tok->obj, &nh);
	h->vm = nh.vm;
	h->htab = nh.htab;
	__atomic_store_n(&h->kind, nh.kind, __ATOMIC_RELEASE);
}

static long token_bind(struct ks_handle *h, uint64_t arg, struct ks_uctx *u)
{
	struct ks_tokens *t = ks_engine_tokens(h->eng);
	struct ks_token **pp, *tok = NULL;
	uint64_t value;
	int ret;

	ret = ks_copy_from_user(u, &value, arg, sizeof(value));
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	pthread_mutex_lock(&t->lock);
	pp = token_find(t, value);
	if (!pp || !token_is_callers(*pp, u->caller.tgid) ||
	    ks_handle_kind(h) != KS_HANDLE_SYSTEM)
		ret = -ENOTTY;
	else if (!(*pp)->kind->bind)
		ret = -EINVAL;
	else if ((h->oflags & O_ACCMODE) != (*pp)->accmode)
		ret = -EBADF;
	if (!ret) {
		tok = *pp;
		*pp = tok->next;
		t->n--;
		/* under the lock: two BINDs on one open cannot both win */
		handle_bind(h, tok);
	}
	pthread_mutex_unlock(&t->lock);
	free(tok);
	return ret;
}

long ks_token_ioctl(struct ks_handle *h, uint32_t cmd, uint64_t arg,
		    struct ks_uctx *u)
{
	enum ks_handle_kind kind = ks_handle_kind(h);

	/* an HTAB stream has no ioctls at all; a VM handle cannot be bound */
	if (kind == KS_HANDLE_HTAB)
		return -ENOTTY;
	if (cmd == KVMSHIM_FD_REQUEST)
		return token_fd_request(h, arg, u);
	if (cmd == KVMSHIM_BIND) {
		if (kind != KS_HANDLE_SYSTEM)
			return -ENOTTY;
		return token_bind(h, arg, u);
	}
	if (cmd == KVMSHIM_VM_PROOF)
		return ks_vm_proof_ioctl(h, arg, u);
	return -ENOTTY;
}

int ks_token_take(struct ks_engine *eng, uint64_t token, pid_t tgid,
		  const struct ks_token_kind *kind, void **obj)
{
	struct ks_tokens *t = ks_engine_tokens(eng);
	struct ks_token **pp, *tok = NULL;

	*obj = NULL;
	pthread_mutex_lock(&t->lock);
	pp = token_find(t, token);
	if (pp && (*pp)->kind == kind && token_is_callers(*pp, tgid)) {
		tok = *pp;
		*pp = tok->next;
		t->n--;
	}
	pthread_mutex_unlock(&t->lock);
	if (!tok)
		return -ENOENT;
	*obj = tok->obj;
	free(tok);
	return 0;
}

/* ---- claim (control socket) ---- */

int ks_token_claim_fd(struct ks_engine *eng, uint64_t token, pid_t owner_tgid,
		      int *fd, struct kvmshim_fd_info *info)
{
	struct ks_tokens *t = ks_engine_tokens(eng);
	struct ks_token **pp, *tok = NULL;
	int ret = 0;

	*fd = -1;
	memset(info, 0, sizeof(*info));
	if (owner_tgid <= 0)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	pp = token_find(t, token);
	if (!pp || ((*pp)->owner && (*pp)->owner != owner_tgid))
		ret = -ENOENT;
	else if (!(*pp)->kind->claim)
		ret = -EINVAL;
	if (!ret) {
		tok = *pp;
		*pp = tok->next;
		t->n--;
	}
	pthread_mutex_unlock(&t->lock);
	if (ret)
		return ret;
	ret = tok->kind->claim(tok->obj, owner_tgid, fd, info);
	free(tok);
	return ret;
}
