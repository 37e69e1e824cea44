/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One CUSE device node served by a growing pool of worker threads.
 *
 * Bring-up is split so that the daemon can drop its privileges while it is
 * still single-threaded: node_init() creates the session, node_handshake()
 * answers the kernel's CUSE_INIT in the calling thread (the node exists
 * afterwards), node_run() starts the workers.
 */
#ifndef KVMSHIM_CUSE_NODE_H
#define KVMSHIM_CUSE_NODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/engine.h"
#include "xfer.h"

/* Worker threads per node: started, and at most (--workers) */
#define NODE_MIN_WORKERS 2
#define NODE_DEFAULT_WORKERS 64
#define NODE_MAX_WORKERS 1024

struct node;

struct node_events {
	/* the kernel answered CUSE_INIT: the node exists */
	void (*init_done)(void *opaque, struct node *n);
	/* the connection to the kernel ended */
	void (*gone)(void *opaque, struct node *n);
	void *opaque;
};

struct node_open;

struct node {
	/* set by the caller before node_init() */
	struct ks_engine *eng;
	enum ks_node kind;
	char name[80]; /* device name, without /dev/ */
	unsigned int max_workers; /* 0: NODE_DEFAULT_WORKERS */
	bool trace; /* log every request (--trace) */
	struct node_events ev;
	/* replaces ks_ioctl (obj is the struct ks_handle); for tests */
	xfer_handler ioctl_fn;

	/* private */
	bool live; /* between node_init() and node_stop() */
	struct fuse_session *se;
	int fd;
	int stop_fd;
	_Atomic bool init_done;
	_Atomic bool gone;
	_Atomic bool draining;
	pthread_mutex_t pool_lock;
	pthread_mutex_t recv_lock;
	pthread_t *workers;
	unsigned int n_workers;
	unsigned int busy;
	bool stopping;
	pthread_mutex_t opens_lock;
	struct node_open *opens;
	unsigned int n_opens;
	_Atomic uint64_t served;
	_Atomic unsigned int in_flight;
};

/*
 * Creates the session on an open /dev/cuse fd, or on a socket whose peer
 * plays the kernel (tests).  Takes ownership of fd, also on failure.
 */
int node_init(struct node *n, int fd);
/*
 * Serves requests in the calling thread until CUSE_INIT was answered:
 * 0, -ETIMEDOUT, or -ENODEV when the connection ended first.
 */
int node_handshake(struct node *n, int timeout_ms);
/* Starts the workers. */
int node_run(struct node *n);
/* node_init + node_handshake + node_run */
int node_start(struct node *n, int fd);
/* Answers new opens with ENODEV from now on (shutting down). */
void node_drain(struct node *n);
/*
 * Lets the workers finish their current request, stops them, closes the
 * connection (the kernel removes the node and fails what is still queued)
 * and frees every open the kernel will now never release.
 */
void node_stop(struct node *n);

struct node_stats {
	unsigned int opens;
	unsigned int in_flight;
	unsigned int workers;
	uint64_t served;
	uint64_t pending_xfers; /* unfinished multi-round ioctls */
};
void node_get_stats(struct node *n, struct node_stats *st);

#endif /* KVMSHIM_CUSE_NODE_H */
