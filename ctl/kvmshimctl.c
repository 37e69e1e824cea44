// SPDX-License-Identifier: LGPL-2.1-or-later
/* kvmshimctl: ask a running kvmshimd over its control socket. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cuse/control_path.h"
#include "kvmshim/kvmshim.h"

#ifndef KVMSHIM_VERSION
#define KVMSHIM_VERSION "0"
#endif

/* sysexits.h values, documented in kvmshimctl(1) */
#define EXIT_DAEMON_ERROR 1
#define EXIT_USAGE 64
#define EXIT_UNAVAILABLE 69
#define EXIT_TIMEOUT 75
#define EXIT_PROTOCOL 76
#define EXIT_NOPERM 77

#define REPLY_MAX (256U << 10)
#define TIMEOUT_S 10

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kvmshimctl [--name NAME | --socket PATH] COMMAND\n"
		"Ask a running kvmshimd.\n"
		"\n"
		"Commands:\n"
		"  status               the daemon's VMs, handles and memory\n"
		"\n"
		"Options:\n"
		"  -n, --name NAME      the instance started with --name NAME\n"
		"                       (socket %s/NAME.sock)\n"
		"  -s, --socket PATH    the control socket to use\n"
		"  -h, --help           this text\n"
		"  -V, --version        print the version\n"
		"\n"
		"Without --name or --socket, the only socket in %s is used.\n",
		KVMSHIM_RUN_DIR, KVMSHIM_RUN_DIR);
}

/* The single *.sock in the run directory, if there is exactly one. */
static int only_socket(char *path, size_t size)
{
	DIR *dir = opendir(KVMSHIM_RUN_DIR);
	struct dirent *e;
	int found = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);

		if (len > 5 && !strcmp(e->d_name + len - 5, ".sock")) {
			if (!found)
				snprintf(path, size, "%s/%s", KVMSHIM_RUN_DIR,
					 e->d_name);
			found++;
		}
	}
	closedir(dir);
	return found;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = TIMEOUT_S };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "kvmshimctl: socket path too long: %s\n", path);
		return -EXIT_USAGE;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("kvmshimctl: socket");
		return -EXIT_UNAVAILABLE;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		fprintf(stderr, "kvmshimctl: cannot connect to %s: %s%s\n",
			path, strerror(err),
			err == ENOENT || err == ECONNREFUSED ?
				" (is kvmshimd running with that name?)" :
				"");
		close(fd);
		return err == EACCES || err == EPERM ? -EXIT_NOPERM :
						       -EXIT_UNAVAILABLE;
	}
	return fd;
}

/* Sends req and prints the reply's text; an exit status. */
static int ask(int fd, const struct kvmshim_ctl_request *req)
{
	struct kvmshim_ctl_reply rep;
	char *buf = malloc(REPLY_MAX);
	ssize_t n;
	int ret = EXIT_PROTOCOL;

	if (!buf) {
		perror("kvmshimctl");
		return EXIT_DAEMON_ERROR;
	}
	if (send(fd, req, sizeof(*req), MSG_NOSIGNAL) != sizeof(*req)) {
		fprintf(stderr, "kvmshimctl: cannot send: %s\n",
			strerror(errno));
		ret = errno == EAGAIN ? EXIT_TIMEOUT : EXIT_UNAVAILABLE;
		goto out;
	}
	n = recv(fd, buf, REPLY_MAX, MSG_TRUNC);
	if (n < 0) {
		fprintf(stderr, "kvmshimctl: no answer: %s\n", strerror(errno));
		ret = errno == EAGAIN ? EXIT_TIMEOUT : EXIT_UNAVAILABLE;
		goto out;
	}
	if ((size_t)n < sizeof(rep) || (size_t)n > REPLY_MAX) {
		fprintf(stderr, "kvmshimctl: malformed answer (%zd bytes)\n",
			n);
		goto out;
	}
	memcpy(&rep, buf, sizeof(rep));
	if (rep.len != (size_t)n - sizeof(rep)) {
		fprintf(stderr, "kvmshimctl: malformed answer\n");
		goto out;
	}
	if (rep.error) {
		fprintf(stderr, "kvmshimctl: the daemon answered: %s\n",
			strerror(-rep.error));
		ret = EXIT_DAEMON_ERROR;
		goto out;
	}
	if (fwrite(buf + sizeof(rep), 1, rep.len, stdout) != rep.len ||
	    fflush(stdout)) {
		perror("kvmshimctl: stdout");
		ret = EXIT_DAEMON_ERROR;
		goto out;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

static const struct option long_opts[] = {
	{ "name", required_argument, NULL, 'n' },
	{ "socket", required_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	struct kvmshim_ctl_request req;
	const char *name = NULL, *sock = NULL;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
	int c, fd, ret, found;

	while ((c = getopt_long(argc, argv, "n:s:hV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("kvmshimctl %s\n", KVMSHIM_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (name && sock) {
		fprintf(stderr, "kvmshimctl: give --name or --socket, not "
				"both\n");
		return EXIT_USAGE;
	}
	if (optind + 1 != argc || strcmp(argv[optind], "status")) {
		if (optind < argc)
			fprintf(stderr, "kvmshimctl: unknown command '%s'\n",
				argv[optind]);
		else
			fprintf(stderr, "kvmshimctl: no command given\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (sock) {
		snprintf(path, sizeof(path), "%s", sock);
	} else if (name) {
		kvmshim_control_path(path, sizeof(path), name);
	} else {
		found = only_socket(path, sizeof(path));
		if (found != 1) {
			fprintf(stderr,
				"kvmshimctl: %s; give --name or --socket\n",
				found ? "several daemons are running" :
					"no daemon found in " KVMSHIM_RUN_DIR);
			return found ? EXIT_USAGE : EXIT_UNAVAILABLE;
		}
	}
	fd = connect_to(path);
	if (fd < 0)
		return -fd;
	memset(&req, 0, sizeof(req));
	req.op = KVMSHIM_CTL_STATUS;
	ret = ask(fd, &req);
	close(fd);
	return ret;
}
