/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kvmshim-run: runs a program so that the KVM ioctls that return a new file
 * descriptor work on kvmshim's nodes (spec: fd-passing.md).
 */
#ifndef KVMSHIM_RUN_RUN_H
#define KVMSHIM_RUN_RUN_H

#include <linux/filter.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kvmshim/kvmshim.h"

/* Exit status when kvmshim-run itself fails (like env(1) and friends). */
#define RUN_EXIT_FAILURE 125
#define RUN_EXIT_CANNOT_EXEC 126
#define RUN_EXIT_NOT_FOUND 127

#define RUN_PATH_MAX 4096

/* The daemon instance the program is given. */
struct run_node {
	char path[RUN_PATH_MAX]; /* the system node, /dev/NAME */
	char vm_path[RUN_PATH_MAX]; /* /dev/NAME-vm */
	char control[108]; /* its control socket */
	dev_t rdev_sys;
	dev_t rdev_vm;
	bool has_vm;
	struct kvmshim_run_info info;
};

/* Test aids: where and how long the supervisor waits (milliseconds). */
struct run_delays {
	unsigned int recv; /* before taking a notification */
	unsigned int install; /* with the new object ready, before installing */
};

void run_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void run_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool run_verbose;

/* ---- daemon.c: talking to kvmshimd ---- */

/* stat the nodes, check the system node with WHOAMI, ask for the traps. */
int node_probe(struct run_node *n);
/* A char device of this instance (either node)? */
bool node_is_ours(const struct run_node *n, dev_t rdev);

/* The private ioctls, each 0 or -errno. */
int ks_whoami(int fd, struct kvmshim_whoami *w);
int ks_fd_request(int fd, uint32_t cmd, uint64_t arg, const void *data,
		  pid_t owner, uint64_t *token, uint64_t *rma_size);
int ks_bind(int fd, uint64_t token);
int ks_vm_proof(int fd, uint64_t *token);

/* Control socket requests: 0 or -errno (transport or reply). */
int ctl_run_info(const char *control, struct kvmshim_run_info *info);
int ctl_claim(const char *control, uint64_t token, pid_t owner, int *fd,
	      struct kvmshim_fd_info *info);
int ctl_cmma(const char *control, uint64_t proof, pid_t client,
	     const struct kvmshim_ctl_cmma *in, int memfd,
	     struct kvmshim_ctl_cmma_out *out);

/* ---- filter.c ---- */

/* The BPF program trapping info's ioctl numbers (libseccomp). */
int filter_build(const struct kvmshim_run_info *info, struct sock_fprog *prog);
/* In the child: installs it and returns the listener fd, or -errno. */
int filter_load(const struct sock_fprog *prog);

/* ---- devns.c ---- */

/*
 * In the child: a private mount namespace where /dev/kvm is the system
 * node.  0, or -errno with why filled; then nothing was changed that the
 * program could notice except, possibly, its namespaces.
 */
int devns_redirect(const struct run_node *n, char *why, size_t size);

/* ---- supervise.c ---- */

struct sup_config {
	const struct run_node *node;
	struct run_delays delays;
	int listener;
	pid_t child;
};

/*
 * The signals the supervisor takes through its signalfd: blocked before
 * the child is started, so that none is lost in between.
 */
void sup_signal_set(sigset_t *set);

/*
 * Serves the listener until no process under the filter remains; returns
 * the child's wait status (or -1 if it was never reaped).  Forwards
 * SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 to the child.
 */
int sup_run(const struct sup_config *cfg);

#endif /* KVMSHIM_RUN_RUN_H */
