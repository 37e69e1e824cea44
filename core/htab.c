// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVM_PPC_GET_HTAB_FD (spec: htab-fd.md §1-§2): the plain ioctl, the
 * KVMSHIM_FD_REQUEST path that gives a real stream, and the stream's
 * lifetime.  The read and write algorithms are in htab_read.c and
 * htab_write.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "kvmshim/kvm.h"

#include "hpt.h"
#include "htab.h"
#include "internal.h"
#include "log.h"
#include "status.h"
#include "token.h"

#define HTAB_FLAGS (KS_GET_HTAB_BOLTED_ONLY | KS_GET_HTAB_WRITE)

_Static_assert(sizeof(struct ks_get_htab_fd) == 32, "kvm_get_htab_fd size");
_Static_assert(sizeof(struct ks_get_htab_header) == KS_HTAB_HDR_BYTES,
	       "kvm_get_htab_header size");

static bool is_reader(const struct ks_htab_ctx *c)
{
	return !(c->flags & KS_GET_HTAB_WRITE);
}

/*
 * A new stream on vm, as Linux's kvm_vm_ioctl_get_htab_fd() sets it up: a
 * read stream counts as a reader from now on, so that changes are marked
 * modified before the descriptor exists.
 */
static struct ks_htab_ctx *ctx_new(struct ks_vm *vm,
				   const struct ks_get_htab_fd *ghf)
{
	struct ks_htab_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (pthread_mutex_init(&c->lock, NULL)) {
		free(c);
		return NULL;
	}
	c->flags = ghf->flags;
	/* Q5: not checked against the table; a read past it wraps */
	c->index = ghf->start_index;
	c->first_pass = true;
	ks_vm_get(vm);
	c->vm = vm;
	pthread_mutex_lock(&vm->lock);
	if (is_reader(c))
		ks_hpt_readers_inc(vm);
	else
		vm->hpt->writers++;
	pthread_mutex_unlock(&vm->lock);
	return c;
}

/* Undoes ctx_new except for the VM reference. */
static void ctx_free(struct ks_htab_ctx *c)
{
	struct ks_vm *vm = c->vm;

	pthread_mutex_lock(&vm->lock);
	if (is_reader(c))
		ks_hpt_readers_dec(vm);
	else if (vm->hpt->writers)
		vm->hpt->writers--;
	pthread_mutex_unlock(&vm->lock);
	ks_htab_wsys_free_all(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void htab_token_bind(void *obj, struct ks_handle *h)
{
	struct ks_htab_ctx *c = obj;

	/* the handle takes over the stream and its VM reference */
	h->kind = KS_HANDLE_HTAB;
	h->vm = c->vm;
	h->htab = c;
}

static void htab_token_cancel(void *obj)
{
	struct ks_htab_ctx *c = obj;
	struct ks_vm *vm = c->vm;

	ctx_free(c);
	ks_vm_put(vm);
}

static const struct ks_token_kind htab_token_kind = {
	.name = "HTAB",
	.fd_kind = KVMSHIM_FD_KIND_HTAB,
	.bind = htab_token_bind,
	.cancel = htab_token_cancel,
};

/* htab-fd.md §1 rows 4-5 on a struct already read. */
static int ghf_check(const struct ks_get_htab_fd *ghf)
{
	/* Q5: start_index and reserved[] are not looked at */
	if (ghf->flags & ~HTAB_FLAGS)
		return -EINVAL;
	return 0;
}

int ks_htab_fd_request(struct ks_fd_req *r)
{
	struct ks_get_htab_fd ghf;
	struct ks_htab_ctx *c;
	int ret;

	memcpy(&ghf, r->data, sizeof(ghf));
	ret = ghf_check(&ghf);
	if (ret)
		return ret;
	c = ctx_new(r->h->vm, &ghf);
	if (!c)
		return -ENOMEM;
	/* Linux opens the file O_RDONLY or O_WRONLY, with O_CLOEXEC */
	return ks_token_issue(r, &htab_token_kind, c,
			      is_reader(c) ? O_RDONLY : O_WRONLY);
}

long ks_ioctl_ppc_get_htab_fd(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct ks_get_htab_fd ghf;
	void *probe;
	long ret;

	(void)vm;
	ret = ks_copy_from_user(u, &ghf, arg, sizeof(ghf));
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	ret = ghf_check(&ghf);
	if (ret)
		return ret;
	/* the context allocation, ENOMEM's place in the order */
	probe = malloc(sizeof(struct ks_htab_ctx));
	if (!probe)
		return -ENOMEM;
	free(probe);
	return ks_no_launcher(vm->eng, "KVM_PPC_GET_HTAB_FD",
			      (ghf.flags & KS_GET_HTAB_WRITE) ?
				      "KVMSHIM_BIND the token on an O_WRONLY "
				      "open of the system node" :
				      "KVMSHIM_BIND the token on an O_RDONLY "
				      "open of the system node");
}

ssize_t ks_htab_read(struct ks_handle *h, void *buf, size_t size,
		     const struct ks_chunk *chunk,
		     const struct ks_caller *caller)
{
	struct ks_htab_ctx *c = h->htab;
	size_t n;

	/* every request is a read of its own: its size is the count (D2) */
	(void)chunk, (void)caller;
	if (!c || !is_reader(c))
		return -EBADF;
	pthread_mutex_lock(&c->lock);
	pthread_mutex_lock(&c->vm->lock);
	n = ks_htab_read_locked(c, buf, size);
	pthread_mutex_unlock(&c->vm->lock);
	pthread_mutex_unlock(&c->lock);
	return (ssize_t)n;
}

void ks_htab_release(struct ks_handle *h)
{
	struct ks_htab_ctx *c = h->htab;

	/* the VM reference is the handle's, dropped by ks_release() */
	if (!c)
		return;
	h->htab = NULL;
	ctx_free(c);
}

uint64_t ks_htab_flags(const struct ks_handle *h)
{
	return h->kind == KS_HANDLE_HTAB && h->htab ? h->htab->flags : 0;
}

void ks_htab_status(struct ks_vm *vm, struct ks_vm_status *st)
{
	if (!vm->hpt)
		return;
	pthread_mutex_lock(&vm->lock);
	st->htab_readers = vm->hpt->readers;
	st->htab_writers = vm->hpt->writers;
	pthread_mutex_unlock(&vm->lock);
}
