/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A client of kvmshimd's control socket (uapi/kvmshim/kvmshim.h): CLAIM an
 * RMA memfd for a token, read the STATUS text.
 */
#ifndef KVMSHIM_TEST_E2E_CTL_H
#define KVMSHIM_TEST_E2E_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kvmshim/kvmshim.h"

/* /run/kvmshim/NAME.sock, or $KVMSHIM_CTL_DIR/NAME.sock */
void e2e_ctl_path(const char *name, char *buf, size_t size);

/* A connected SOCK_SEQPACKET socket, or -errno. */
int e2e_ctl_connect(const char *name);

/*
 * KVMSHIM_CTL_CLAIM for owner (0: this process).  0 with *fd and *info,
 * or the reply's -errno (or a transport -errno).
 */
int e2e_ctl_claim(const char *name, uint64_t token, pid_t owner, int *fd,
		  struct kvmshim_fd_info *info);

/* KVMSHIM_CTL_STATUS text, NUL-terminated; its length or -errno. */
int e2e_ctl_status(const char *name, char *buf, size_t size);

/*
 * The sum of the numbers that follow every whole-word occurrence of key
 * ("key 3", "key=3", "key: 3"); -1 if key never occurs.
 */
long long e2e_status_sum(const char *text, const char *key);

#endif /* KVMSHIM_TEST_E2E_CTL_H */
