/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One CUSE device node served by a pool of worker threads. */
#ifndef KVMSHIM_CUSE_NODE_H
#define KVMSHIM_CUSE_NODE_H

#include <pthread.h>
#include <stdbool.h>

#include "core/engine.h"

#define NODE_MAX_WORKERS 16

struct node;

struct node_events {
	/* called from a worker once the kernel answered CUSE_INIT */
	void (*init_done)(void *opaque, struct node *n);
	/* called from a worker when the connection to the kernel ended */
	void (*gone)(void *opaque, struct node *n);
	void *opaque;
};

struct node_open;

struct node {
	struct ks_engine *eng;
	enum ks_node kind;
	char name[80]; /* device name, without /dev/ */
	struct fuse_session *se;
	int stop_fd;
	unsigned int n_workers;
	pthread_t workers[NODE_MAX_WORKERS];
	struct node_events ev;
	/* open file descriptions, released at stop if the kernel did not */
	pthread_mutex_t opens_lock;
	struct node_open *opens;
};

/*
 * Creates the session on an open /dev/cuse fd (or a test harness's socket
 * that plays the kernel) and starts the workers.  The node appears once
 * the kernel's CUSE_INIT has been answered; ev.init_done reports it.
 */
int node_start(struct node *n, int cuse_fd);
/* Stops the workers after their current request, then closes the fd. */
void node_stop(struct node *n);

/* Thread group of a thread, 0 if it is gone or not visible. */
pid_t node_tgid_of(pid_t tid);

#endif /* KVMSHIM_CUSE_NODE_H */
