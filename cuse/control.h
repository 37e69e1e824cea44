/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control socket of a daemon instance (AF_UNIX, SOCK_SEQPACKET): one
 * struct kvmshim_ctl_request per message, optionally followed by an
 * operation's payload; one struct kvmshim_ctl_reply per answer, followed
 * by a payload and possibly carrying one fd (SCM_RIGHTS).
 *
 * Operations are looked up in a table.  Another file adds one with
 * ctl_register() before ctl_start():
 *
 *	static int op_hello(struct ctl_call *c)
 *	{
 *		return ctl_printf(c, "hello %d\n", (int)c->peer.pid);
 *	}
 *	...
 *	ctl_register(KVMSHIM_CTL_HELLO, "hello", op_hello);
 */
#ifndef KVMSHIM_CUSE_CONTROL_H
#define KVMSHIM_CUSE_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "kvmshim/kvmshim.h"
#include "strbuf.h"

struct ks_engine;
struct ctl_server;

/* Largest request (header + payload) and reply payload. */
#define CTL_MAX_REQUEST 65536
#define CTL_MAX_REPLY (128U << 10)
/* Connections served at once, and how long an idle one may stay. */
#define CTL_MAX_CLIENTS 64
#define CTL_IDLE_MS 30000
/* Descriptors a request may carry. */
#define CTL_MAX_FDS 4

/* One request being answered. */
struct ctl_call {
	struct ctl_server *server;
	struct ks_engine *eng;
	void *opaque; /* ctl_config.opaque */
	struct ucred peer; /* SO_PEERCRED of the connection */
	const struct kvmshim_ctl_request *req;
	const void *payload; /* bytes after the request header */
	size_t payload_len;
	/* fds the peer sent with the request (SCM_RIGHTS); a handler that
	 * keeps one sets its slot to -1, the rest are closed afterwards */
	int in_fds[CTL_MAX_FDS];
	unsigned int n_in_fds;
	/* the answer: error is the handler's return value */
	struct kvmshim_ctl_reply reply;
	struct strbuf data; /* reply payload */
	int fd; /* -1, or an fd sent with the reply and then closed */
};

/* 0 or -errno (which becomes reply.error). */
typedef int (*ctl_handler)(struct ctl_call *c);

/* Adds or replaces an operation; -ENOSPC when the table is full. */
int ctl_register(uint32_t op, const char *name, ctl_handler fn);
/* Name of a registered operation, or NULL. */
const char *ctl_op_name(uint32_t op);

int ctl_printf(struct ctl_call *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int ctl_append(struct ctl_call *c, const void *data, size_t len);

struct ctl_config {
	const char *path;
	struct ks_engine *eng;
	void *opaque;
	/* KVMSHIM_CTL_STATUS: writes the status text */
	int (*status)(void *opaque, struct strbuf *sb);
	/* give a directory created for the socket to this user (-1: no) */
	uid_t dir_owner;
};

/*
 * Binds and listens (before privileges are dropped): 0 or -errno.  A
 * stale socket of a dead instance is replaced; a live one is -EADDRINUSE.
 */
int ctl_open(struct ctl_server **out, const struct ctl_config *cfg);
/* Serves from a thread of its own. */
int ctl_start(struct ctl_server *s);
/* Stops serving, closes every connection and removes the socket. */
void ctl_close(struct ctl_server *s);

/* Answers one request; for tests and for the server thread. */
void ctl_dispatch(struct ctl_call *c);

#endif /* KVMSHIM_CUSE_CONTROL_H */
