// SPDX-License-Identifier: LGPL-2.1-or-later
/* kvmshimd command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "control_path.h"
#include "daemon.h"
#include "logging.h"

#ifndef KVMSHIM_VERSION
#define KVMSHIM_VERSION "0"
#endif

enum {
	OPT_MEMORY_LIMIT = 256,
	OPT_CAP,
	OPT_WORKERS,
	OPT_USER,
	OPT_GROUP,
	OPT_MODE,
	OPT_NODE_GROUP,
	OPT_TRACE,
	OPT_LOG,
	OPT_CONTROL,
	OPT_NO_CONTROL,
	OPT_HPT_MAX_ALLOC_ORDER,
	OPT_NO_LAUNCHER_ERRNO,
	OPT_RMA_SIZE,
	OPT_RMA_COUNT,
	OPT_RMA_FD_CLOEXEC,
	OPT_S390_NO_CMMA,
	OPT_S390_MEM_LIMIT,
	OPT_PPC_NESTED,
	OPT_IOCTL_ENCODINGS,
	OPT_VCPU_MMAP_SIZE,
	OPT_HOST_PAGE_SIZE,
};

static const struct option long_opts[] = {
	{ "name", required_argument, NULL, 'n' },
	{ "profile", required_argument, NULL, 'p' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "user", required_argument, NULL, OPT_USER },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "node-group", required_argument, NULL, OPT_NODE_GROUP },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "no-control", no_argument, NULL, OPT_NO_CONTROL },
	{ "memory-limit", required_argument, NULL, OPT_MEMORY_LIMIT },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "trace", no_argument, NULL, OPT_TRACE },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "verbose", no_argument, NULL, 'v' },
	{ "cap", required_argument, NULL, OPT_CAP },
	{ "ioctl-encodings", required_argument, NULL, OPT_IOCTL_ENCODINGS },
	{ "no-launcher-errno", required_argument, NULL, OPT_NO_LAUNCHER_ERRNO },
	{ "hpt-max-alloc-order", required_argument, NULL,
	  OPT_HPT_MAX_ALLOC_ORDER },
	{ "ppc-nested", no_argument, NULL, OPT_PPC_NESTED },
	{ "vcpu-mmap-size", required_argument, NULL, OPT_VCPU_MMAP_SIZE },
	{ "host-page-size", required_argument, NULL, OPT_HOST_PAGE_SIZE },
	{ "rma-size", required_argument, NULL, OPT_RMA_SIZE },
	{ "rma-count", required_argument, NULL, OPT_RMA_COUNT },
	{ "rma-fd-cloexec", no_argument, NULL, OPT_RMA_FD_CLOEXEC },
	{ "s390-no-cmma", no_argument, NULL, OPT_S390_NO_CMMA },
	{ "s390-mem-limit", required_argument, NULL, OPT_S390_MEM_LIMIT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kvmshimd --name NAME [OPTION]...\n"
		"Serve /dev/NAME and /dev/NAME-vm, /dev/kvm-shaped CUSE "
		"nodes.\n"
		"\n"
		"  -n, --name NAME            device name (A-Z a-z 0-9 _ . - "
		"/)\n"
		"  -p, --profile PROFILE      ppc970, power7, power8 (default) "
		"or s390x\n"
		"  -f, --foreground           do not detach (systemd: "
		"Type=notify)\n"
		"\n"
		"Service:\n"
		"      --user USER            run as USER once the nodes "
		"exist\n"
		"      --group GROUP          and as GROUP (default: USER's "
		"group)\n"
		"      --node-group GROUP     group of the nodes and the "
		"control socket\n"
		"      --mode MODE            their mode, octal (default 0660 "
		"with\n"
		"                             --node-group, else 0600)\n"
		"      --control PATH         control socket (default "
		"/run/kvmshim/NAME.sock)\n"
		"      --no-control           no control socket\n"
		"      --memory-limit SIZE    model memory budget (K, M, G, "
		"T suffixes)\n"
		"      --workers N            threads per node at most (1-%d, "
		"default %d)\n"
		"      --trace                log every request, decoded\n"
		"      --log auto|stderr|journal\n"
		"                             where messages go (default "
		"auto)\n"
		"  -v, --verbose              log debugging messages too\n"
		"\n"
		"Engine:\n"
		"      --cap NAME=VALUE       override a capability's value\n"
		"      --ioctl-encodings native|both\n"
		"                             ppc: also accept the generic "
		"encoding (both)\n"
		"      --no-launcher-errno E  errno of fd-returning ioctls "
		"without the\n"
		"                             launcher (default EOPNOTSUPP)\n"
		"      --hpt-max-alloc-order N  HPT allocations above order N "
		"fail (34)\n"
		"      --ppc-nested           behave as a nested HV guest\n"
		"      --vcpu-mmap-size SIZE  KVM_GET_VCPU_MMAP_SIZE (128K)\n"
		"      --host-page-size SIZE  ppc host page size, 4K or 64K "
		"(64K)\n"
		"      --rma-size SIZE        RMA pool entry size (64M)\n"
		"      --rma-count N          RMA pool entries (ppc970: 4, "
		"else 0)\n"
		"      --rma-fd-cloexec       RMA fds are close-on-exec\n"
		"      --s390-no-cmma         the machine has no CMMA\n"
		"      --s390-mem-limit SIZE  guest memory limit (16T)\n"
		"\n"
		"  -h, --help                 this text\n"
		"  -V, --version              print the version\n",
		NODE_MAX_WORKERS, NODE_DEFAULT_WORKERS);
}

/* "64M" and friends; -EINVAL if malformed or overflowing. */
int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	/* strtoull would skip blanks and accept a negated number */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	}
	if (*end && strcmp(end, "iB") && strcmp(end, "B"))
		return -EINVAL;
	if (*end && !shift && strcmp(end, "B"))
		return -EINVAL;
	if (shift && v > (~0ULL >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int daemon_check_name(const char *name)
{
	size_t len = strlen(name), i;
	const char *c;

	if (!len || len > KSD_NAME_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		      ch == '-' || ch == '/'))
			return -EINVAL;
	}
	if (name[0] == '/' || name[len - 1] == '/' || strstr(name, "//"))
		return -EINVAL;
	/* cuse.md §1: no ".." anywhere; and no "." path component */
	if (strstr(name, ".."))
		return -EINVAL;
	for (c = name; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (!strcmp(c, ".") || !strncmp(c, "./", 2))
			return -EINVAL;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

int parse_errno(const char *s)
{
	unsigned int v;
	int e;

	if (!parse_uint(s, 4095, &v))
		return v ? (int)v : -EINVAL;
	/* names that share a number with the one glibc reports */
	if (!strcmp(s, "EOPNOTSUPP") || !strcmp(s, "ENOTSUP"))
		return EOPNOTSUPP;
	if (!strcmp(s, "EWOULDBLOCK"))
		return EWOULDBLOCK;
	if (!strcmp(s, "EDEADLOCK"))
		return EDEADLOCK;
	for (e = 1; e < 4096; e++) {
		const char *name = strerrorname_np(e);

		if (name && !strcmp(name, s))
			return e;
	}
	return -EINVAL;
}

static int parse_mode(const char *s, mode_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 8);
	/* permission bits only: never setuid, setgid or sticky */
	if (errno || end == s || *end || *s == '-' || v > 0777)
		return -EINVAL;
	*out = (mode_t)v;
	return 0;
}

mode_t daemon_node_mode(const struct daemon_opts *o)
{
	if (o->have_mode)
		return o->mode;
	return o->node_group ? 0660 : 0;
}

/* Engine options, applied once the profile is known. */
struct engine_args {
	const char *caps[64];
	unsigned int n_caps;
	const char *memory_limit;
	const char *encodings;
	const char *no_launcher_errno;
	const char *hpt_max_alloc_order;
	const char *rma_size;
	const char *rma_count;
	const char *s390_mem_limit;
	const char *vcpu_mmap_size;
	const char *host_page_size;
	bool ppc_nested;
	bool rma_fd_cloexec;
	bool s390_no_cmma;
};

static int bad(const char *opt, const char *value)
{
	fprintf(stderr, "kvmshimd: invalid %s '%s'\n", opt, value);
	return KSD_EXIT_USAGE;
}

static void not_for_profile(const char *opt, const char *profile)
{
	fprintf(stderr, "kvmshimd: warning: %s has no effect on profile %s\n",
		opt, profile);
}

static int apply_ppc(struct daemon_opts *o, const struct engine_args *a)
{
	struct ks_engine_config *cfg = &o->cfg;
	unsigned int v;
	uint64_t size;

	if (cfg->profile.arch != KS_ARCH_PPC) {
		if (a->encodings || a->hpt_max_alloc_order || a->rma_size ||
		    a->rma_count || a->ppc_nested || a->rma_fd_cloexec ||
		    a->vcpu_mmap_size || a->host_page_size)
			not_for_profile("a ppc option", o->profile);
		return 0;
	}
	if (a->encodings) {
		if (!strcmp(a->encodings, "native"))
			cfg->profile.native_encoding_only = true;
		else if (!strcmp(a->encodings, "both"))
			cfg->profile.native_encoding_only = false;
		else
			return bad("--ioctl-encodings", a->encodings);
	}
	if (a->hpt_max_alloc_order) {
		if (parse_uint(a->hpt_max_alloc_order, 63, &v))
			return bad("--hpt-max-alloc-order",
				   a->hpt_max_alloc_order);
		cfg->hpt_max_alloc_order = v;
	}
	if ((a->rma_size || a->rma_count || a->rma_fd_cloexec) &&
	    !cfg->profile.has_rma)
		not_for_profile("--rma-*", o->profile);
	if (a->rma_size) {
		if (parse_size(a->rma_size, &size) || !size)
			return bad("--rma-size", a->rma_size);
		cfg->rma_size = size;
	}
	if (a->rma_count) {
		if (parse_uint(a->rma_count, 65536, &v))
			return bad("--rma-count", a->rma_count);
		cfg->rma_count = v;
	}
	if (a->vcpu_mmap_size) {
		/* KVM_GET_VCPU_MMAP_SIZE returns an int */
		if (parse_size(a->vcpu_mmap_size, &size) || !size ||
		    size > INT32_MAX)
			return bad("--vcpu-mmap-size", a->vcpu_mmap_size);
		cfg->profile.vcpu_mmap_size = size;
	}
	if (a->host_page_size) {
		/* the two page sizes a ppc64 kernel is built with */
		if (parse_size(a->host_page_size, &size) ||
		    (size != 4096 && size != 65536))
			return bad("--host-page-size", a->host_page_size);
		cfg->profile.host_page_size = size;
	}
	cfg->rma_fd_cloexec |= a->rma_fd_cloexec;
	cfg->ppc_nested |= a->ppc_nested;
	return 0;
}

static int apply_s390(struct daemon_opts *o, const struct engine_args *a)
{
	struct ks_engine_config *cfg = &o->cfg;
	uint64_t size;

	if (cfg->profile.arch != KS_ARCH_S390) {
		if (a->s390_mem_limit || a->s390_no_cmma)
			not_for_profile("an s390 option", o->profile);
		return 0;
	}
	if (a->encodings && strcmp(a->encodings, "native") &&
	    strcmp(a->encodings, "both"))
		return bad("--ioctl-encodings", a->encodings);
	if (a->s390_mem_limit) {
		if (parse_size(a->s390_mem_limit, &size) || !size)
			return bad("--s390-mem-limit", a->s390_mem_limit);
		cfg->s390_mem_limit = size;
	}
	if (a->s390_no_cmma)
		cfg->s390_has_cmma = false;
	return 0;
}

static int apply_engine_args(struct daemon_opts *o, const struct engine_args *a)
{
	struct ks_engine_config *cfg = &o->cfg;
	uint64_t size;
	unsigned int i;
	int e, ret;

	if (ks_engine_config_init(cfg, o->profile)) {
		fprintf(stderr, "kvmshimd: unknown profile '%s'\n", o->profile);
		return KSD_EXIT_USAGE;
	}
	if (a->memory_limit) {
		if (parse_size(a->memory_limit, &size))
			return bad("--memory-limit", a->memory_limit);
		cfg->memory_limit = size;
	}
	if (a->no_launcher_errno) {
		e = parse_errno(a->no_launcher_errno);
		if (e <= 0)
			return bad("--no-launcher-errno", a->no_launcher_errno);
		cfg->no_launcher_errno = e;
	}
	ret = apply_ppc(o, a);
	if (!ret)
		ret = apply_s390(o, a);
	if (ret)
		return ret;
	for (i = 0; i < a->n_caps; i++)
		if (ks_profile_set_cap(&cfg->profile, a->caps[i]))
			return bad("--cap", a->caps[i]);
	return 0;
}

static int set_control(struct daemon_opts *o, const char *path)
{
	if (!*path || strlen(path) >= sizeof(o->control))
		return bad("--control", path);
	snprintf(o->control, sizeof(o->control), "%s", path);
	o->control_explicit = true;
	return 0;
}

static int parse_one(int c, struct daemon_opts *o, struct engine_args *a,
		     bool *no_control)
{
	int t;

	switch (c) {
	case 'n':
		o->name = optarg;
		return 0;
	case 'p':
		o->profile = optarg;
		return 0;
	case 'f':
		o->foreground = true;
		return 0;
	case 'v':
		o->log_level = LOG_DEBUG;
		return 0;
	case OPT_USER:
		o->user = optarg;
		return 0;
	case OPT_GROUP:
		o->group = optarg;
		return 0;
	case OPT_NODE_GROUP:
		o->node_group = optarg;
		return 0;
	case OPT_MODE:
		if (parse_mode(optarg, &o->mode))
			return bad("--mode", optarg);
		o->have_mode = true;
		return 0;
	case OPT_CONTROL:
		return set_control(o, optarg);
	case OPT_NO_CONTROL:
		*no_control = true;
		return 0;
	case OPT_TRACE:
		o->trace = true;
		return 0;
	case OPT_LOG:
		t = log_parse_target(optarg);
		if (t < 0)
			return bad("--log", optarg);
		o->log_target = t;
		return 0;
	case OPT_WORKERS:
		if (parse_uint(optarg, NODE_MAX_WORKERS, &o->workers) ||
		    !o->workers)
			return bad("--workers", optarg);
		return 0;
	case OPT_MEMORY_LIMIT:
		a->memory_limit = optarg;
		return 0;
	case OPT_CAP:
		if (a->n_caps == sizeof(a->caps) / sizeof(a->caps[0])) {
			fprintf(stderr, "kvmshimd: too many --cap\n");
			return KSD_EXIT_USAGE;
		}
		a->caps[a->n_caps++] = optarg;
		return 0;
	case OPT_IOCTL_ENCODINGS:
		a->encodings = optarg;
		return 0;
	case OPT_NO_LAUNCHER_ERRNO:
		a->no_launcher_errno = optarg;
		return 0;
	case OPT_HPT_MAX_ALLOC_ORDER:
		a->hpt_max_alloc_order = optarg;
		return 0;
	case OPT_PPC_NESTED:
		a->ppc_nested = true;
		return 0;
	case OPT_RMA_SIZE:
		a->rma_size = optarg;
		return 0;
	case OPT_RMA_COUNT:
		a->rma_count = optarg;
		return 0;
	case OPT_VCPU_MMAP_SIZE:
		a->vcpu_mmap_size = optarg;
		return 0;
	case OPT_HOST_PAGE_SIZE:
		a->host_page_size = optarg;
		return 0;
	case OPT_RMA_FD_CLOEXEC:
		a->rma_fd_cloexec = true;
		return 0;
	case OPT_S390_NO_CMMA:
		a->s390_no_cmma = true;
		return 0;
	case OPT_S390_MEM_LIMIT:
		a->s390_mem_limit = optarg;
		return 0;
	case 'h':
		usage(stdout);
		return -1;
	case 'V':
		printf("kvmshimd %s\n", KVMSHIM_VERSION);
		return -1;
	}
	usage(stderr);
	return KSD_EXIT_USAGE;
}

int daemon_parse_args(int argc, char **argv, struct daemon_opts *o)
{
	struct engine_args a;
	bool no_control = false;
	int c, ret;

	memset(o, 0, sizeof(*o));
	memset(&a, 0, sizeof(a));
	o->profile = "power8";
	o->workers = NODE_DEFAULT_WORKERS;
	o->log_target = LOG_TARGET_AUTO;
	o->log_level = LOG_INFO;
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "n:p:fvhV", long_opts, NULL)) !=
	       -1) {
		ret = parse_one(c, o, &a, &no_control);
		if (ret)
			return ret;
	}
	if (optind < argc) {
		fprintf(stderr, "kvmshimd: unexpected argument '%s'\n",
			argv[optind]);
		return KSD_EXIT_USAGE;
	}
	if (!o->name) {
		fprintf(stderr, "kvmshimd: --name is required\n");
		return KSD_EXIT_USAGE;
	}
	if (daemon_check_name(o->name)) {
		fprintf(stderr,
			"kvmshimd: invalid name '%s': use 1-%d of A-Z a-z 0-9 "
			"_ . - and '/' between components\n",
			o->name, KSD_NAME_MAX);
		return KSD_EXIT_USAGE;
	}
	if (no_control && o->control_explicit) {
		fprintf(stderr,
			"kvmshimd: --control and --no-control conflict\n");
		return KSD_EXIT_USAGE;
	}
	if (no_control)
		o->control[0] = '\0';
	else if (!o->control_explicit)
		kvmshim_control_path(o->control, sizeof(o->control), o->name);
	if (o->group && !o->user) {
		fprintf(stderr, "kvmshimd: --group needs --user\n");
		return KSD_EXIT_USAGE;
	}
	return apply_engine_args(o, &a);
}
