/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Control-socket operations for kvmshim-run (uapi/kvmshim/kvmshim.h). */
#ifndef KVMSHIM_CUSE_CONTROL_RUN_H
#define KVMSHIM_CUSE_CONTROL_RUN_H

/* Adds KVMSHIM_CTL_RUN_INFO and KVMSHIM_CTL_CMMA; call before ctl_start. */
int control_run_register(void);

#endif /* KVMSHIM_CUSE_CONTROL_RUN_H */
