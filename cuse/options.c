// SPDX-License-Identifier: LGPL-2.1-or-later
/* kvmshimd command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

#ifndef KVMSHIM_VERSION
#define KVMSHIM_VERSION "0"
#endif

enum {
	OPT_MEMORY_LIMIT = 256,
	OPT_CAP,
	OPT_WORKERS,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "name", required_argument, NULL, 'n' },
	{ "profile", required_argument, NULL, 'p' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "memory-limit", required_argument, NULL, OPT_MEMORY_LIMIT },
	{ "cap", required_argument, NULL, OPT_CAP },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kvmshimd --name NAME [OPTION]...\n"
		"Serve /dev/NAME and /dev/NAME-vm, /dev/kvm-shaped CUSE nodes.\n"
		"\n"
		"  -n, --name NAME          device name (A-Z a-z 0-9 _ . - /)\n"
		"  -p, --profile PROFILE    ppc970, power7, power8 (default) "
		"or s390x\n"
		"  -f, --foreground         do not detach\n"
		"      --memory-limit SIZE  model memory budget (K, M, G, T)\n"
		"      --cap NAME=VALUE     override a capability\n"
		"      --workers N          threads per node (1-16, default 4)\n"
		"  -h, --help               this text\n"
		"      --version            print the version\n");
}

/* "64M" and friends; -EINVAL if malformed or overflowing. */
int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
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
	/* no "." or ".." path component */
	for (c = name; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (!strcmp(c, ".") || !strncmp(c, "./", 2) ||
		    !strcmp(c, "..") || !strncmp(c, "../", 3))
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
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

#define MAX_CAPS 64

int daemon_parse_args(int argc, char **argv, struct daemon_opts *o)
{
	const char *caps[MAX_CAPS];
	unsigned int n_caps = 0, i;
	uint64_t memory_limit = 0;
	bool have_limit = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->profile = "power8";
	o->workers = 4;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:p:fh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->name = optarg;
			break;
		case 'p':
			o->profile = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case OPT_MEMORY_LIMIT:
			if (parse_size(optarg, &memory_limit)) {
				fprintf(stderr, "kvmshimd: bad size '%s'\n",
					optarg);
				return KSD_EXIT_USAGE;
			}
			have_limit = true;
			break;
		case OPT_CAP:
			if (n_caps == MAX_CAPS) {
				fprintf(stderr, "kvmshimd: too many --cap\n");
				return KSD_EXIT_USAGE;
			}
			caps[n_caps++] = optarg;
			break;
		case OPT_WORKERS:
			if (parse_uint(optarg, NODE_MAX_WORKERS, &o->workers) ||
			    !o->workers) {
				fprintf(stderr, "kvmshimd: bad --workers\n");
				return KSD_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			exit(KSD_EXIT_OK);
		case OPT_VERSION:
			printf("kvmshimd %s\n", KVMSHIM_VERSION);
			exit(KSD_EXIT_OK);
		default:
			usage(stderr);
			return KSD_EXIT_USAGE;
		}
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
	if (ks_engine_config_init(&o->cfg, o->profile)) {
		fprintf(stderr, "kvmshimd: unknown profile '%s'\n", o->profile);
		return KSD_EXIT_USAGE;
	}
	if (have_limit)
		o->cfg.memory_limit = memory_limit;
	for (i = 0; i < n_caps; i++) {
		if (ks_profile_set_cap(&o->cfg.profile, caps[i])) {
			fprintf(stderr, "kvmshimd: bad --cap '%s'\n", caps[i]);
			return KSD_EXIT_USAGE;
		}
	}
	return 0;
}
