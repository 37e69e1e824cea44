// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The installed tree, started the way its systemd unit starts it: the
 * ExecStart= line of the installed kvmshimd@.service for instance power8,
 * with the unit's environment, Type=notify readiness, and a client that is
 * an ordinary user in group kvm.  "make check-e2e" installs the tree into
 * the lab VM's root; elsewhere $KVMSHIM_INSTALL_ROOT names it.
 */
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "lib/e2e.h"

#define INSTANCE "power8"
#define NODE "/dev/kvmshim-" INSTANCE
#define MAX_ARGS 64
#define CLIENT_UID 1000
#define KVM_GID 991 /* group kvm in the lab VM */

struct unit {
	char *exec; /* ExecStart= with continuations joined */
	char *env[16]; /* Environment= assignments, "NAME=VALUE" */
	unsigned int n_env;
};

static char *unit_text(void)
{
	const char *root = getenv("KVMSHIM_INSTALL_ROOT");
	char path[512];

	snprintf(path, sizeof(path), "%s/usr/lib/systemd/system/%s",
		 root && *root ? root : "", "kvmshimd@.service");
	return e2e_read_file(path);
}

/* Joins the unit's "\\\n" continuations and collects what we need. */
static void unit_parse(char *text, struct unit *u)
{
	char *line, *save, *p;

	memset(u, 0, sizeof(*u));
	for (p = strstr(text, "\\\n"); p; p = strstr(p, "\\\n"))
		p[0] = p[1] = ' ';
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "ExecStart=", 10))
			u->exec = line + 10;
		else if (!strncmp(line, "Environment=", 12) && u->n_env < 16)
			u->env[u->n_env++] = line + 12;
	}
}

static const char *unit_env(const struct unit *u, const char *name)
{
	size_t len = strlen(name);
	unsigned int i;

	for (i = 0; i < u->n_env; i++)
		if (!strncmp(u->env[i], name, len) && u->env[i][len] == '=')
			return u->env[i] + len + 1;
	return NULL;
}

/* %i, ${NAME} and $NAME as systemd expands them in ExecStart=. */
static unsigned int unit_argv(const struct unit *u, char **argv)
{
	static char words[4096];
	char *w = words, *tok, *save, *exec = strdup(u->exec);
	unsigned int n = 0;

	for (tok = strtok_r(exec, " \t", &save); tok && n < MAX_ARGS - 1;
	     tok = strtok_r(NULL, " \t", &save)) {
		const char *val = NULL;
		char name[64];
		char *pct;

		if (sscanf(tok, "${%63[A-Z_]}", name) == 1 ||
		    sscanf(tok, "$%63[A-Z_]", name) == 1) {
			val = unit_env(u, name);
			if (!val || !*val)
				continue; /* an empty $VAR is no word */
			snprintf(w, words + sizeof(words) - w, "%s", val);
		} else {
			snprintf(w, words + sizeof(words) - w, "%s", tok);
		}
		while ((pct = strstr(w, "%i"))) {
			memmove(pct + strlen(INSTANCE), pct + 2,
				strlen(pct + 2) + 1);
			memcpy(pct, INSTANCE, strlen(INSTANCE));
		}
		argv[n++] = w;
		w += strlen(w) + 1;
	}
	argv[n] = NULL;
	free(exec);
	return n;
}

/* The unit's Type=notify: a datagram socket the daemon reports to. */
static int notify_socket(char *env, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t len;

	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "kvmshim-install-%d",
		 (int)getpid());
	len = offsetof(struct sockaddr_un, sun_path) + 1 +
	      strlen(sa.sun_path + 1);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len))
		e2e_bail("notify socket: %s", strerror(errno));
	snprintf(env, size, "NOTIFY_SOCKET=@%s", sa.sun_path + 1);
	return fd;
}

static bool wait_ready(int fd)
{
	char msg[512];
	ssize_t n;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, 20000) > 0) {
		n = recv(fd, msg, sizeof(msg) - 1, 0);
		if (n <= 0)
			return false;
		msg[n] = '\0';
		if (strstr(msg, "READY=1"))
			return true;
	}
	return false;
}

/* As an ordinary user in group kvm: the node answers. */
static int client_status(void)
{
	gid_t kvm = KVM_GID;
	uint32_t order = 18;
	pid_t pid;
	int st, sys, vm;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (setgroups(1, &kvm) || setgid(CLIENT_UID) ||
		    setuid(CLIENT_UID))
			_exit(10);
		sys = open(NODE, O_RDWR | O_CLOEXEC);
		if (sys < 0)
			_exit(11);
		if (ioctl(sys, KVM_GET_API_VERSION, 0) != 12)
			_exit(12);
		vm = open(NODE "-vm", O_RDWR | O_CLOEXEC);
		if (vm < 0)
			_exit(13);
		if (ioctl(vm, KVM_PPC_ALLOCATE_HTAB, &order) != 0 ||
		    order != 18)
			_exit(14);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(void)
{
	char *text = unit_text(), *argv[MAX_ARGS], env[128], field[128];
	const char *envp[] = { env, "PATH=/usr/sbin:/usr/bin:/bin", NULL };
	struct stat st;
	struct unit u;
	int nfd, status;
	pid_t pid;

	if (!text) {
		e2e_ok(true, "# SKIP no installed kvmshimd@.service here");
		return e2e_done();
	}
	unit_parse(text, &u);
	e2e_ok(u.exec != NULL, "the installed unit has an ExecStart= line");
	if (!u.exec)
		return e2e_done();
	unit_argv(&u, argv);
	e2e_ok(!strcmp(argv[0], "/usr/sbin/kvmshimd"),
	       "it starts the installed daemon (%s)", argv[0]);
	/* RuntimeDirectory=kvmshim */
	mkdir("/run/kvmshim", 0755);
	nfd = notify_socket(env, sizeof(env));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execve(argv[0], argv, (char **)envp);
		_exit(127);
	}
	e2e_ok(wait_ready(nfd), "Type=notify: READY=1 arrives");
	e2e_ok(stat(NODE, &st) == 0 && st.st_gid == KVM_GID &&
		       (st.st_mode & 0777) == 0660,
	       "the node is group kvm, mode 0660");
	e2e_ok(e2e_proc_field(pid, 0, "Uid", field, sizeof(field)) &&
		       atoi(field) == 990,
	       "the daemon runs as user kvmshim (Uid: %s)", field);
	e2e_ok(e2e_proc_field(pid, 0, "CapEff", field, sizeof(field)) &&
		       strtoull(field, NULL, 16) == 0,
	       "with no capabilities");
	e2e_ok(stat("/run/kvmshim/kvmshim-" INSTANCE ".sock", &st) == 0 &&
		       S_ISSOCK(st.st_mode),
	       "its control socket is in /run/kvmshim");
	e2e_is(client_status(), 0,
	       "a user in group kvm: API version, a VM, an HPT of order 18");
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	e2e_is(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
	       "SIGTERM: exit status 0");
	e2e_ok(e2e_wait_path(NODE, false, 3000), "the nodes are gone");
	free(text);
	close(nfd);
	return e2e_done();
}
