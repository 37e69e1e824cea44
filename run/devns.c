// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * /dev/kvm in the program's view is the system node (spec: fd-passing.md
 * §7): a private mount namespace in which the node is bind-mounted over
 * /dev/kvm.  Where the host has no /dev/kvm, the program gets a tmpfs /dev
 * holding binds of everything the host's /dev has, plus kvm; nothing is
 * ever created in the shared devtmpfs.  Without CAP_SYS_ADMIN the mount
 * namespace is owned by a new user namespace that maps only the caller's
 * own uid and gid.  A bind mount keeps the device number, so the
 * supervisor still recognises the node.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

static int fail(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records why (errno is kept) and returns -errno. */
static int fail(char *why, size_t size, const char *fmt, ...)
{
	int err = errno ? errno : EINVAL;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	n = strlen(why);
	snprintf(why + n, size - n, ": %s", strerror(err));
	return -err;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		err = -errno;
	close(fd);
	return err;
}

static int enter_namespaces(char *why, size_t size)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];

	if (!unshare(CLONE_NEWNS))
		return 0;
	if (errno != EPERM)
		return fail(why, size, "unshare(CLONE_NEWNS)");
	/* a user namespace where we hold CAP_SYS_ADMIN, with our own ids */
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return fail(why, size,
			    "no privilege for a mount namespace, and no user "
			    "namespace either");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned int)uid,
		 (unsigned int)uid);
	if (write_file("/proc/self/uid_map", map))
		return fail(why, size, "cannot map uid %u", (unsigned int)uid);
	/* gid_map needs setgroups denied first for an unprivileged writer */
	if (write_file("/proc/self/setgroups", "deny\n") && errno != ENOENT)
		return fail(why, size, "cannot deny setgroups");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned int)gid,
		 (unsigned int)gid);
	if (write_file("/proc/self/gid_map", map))
		return fail(why, size, "cannot map gid %u", (unsigned int)gid);
	return 0;
}

/* Recreates one entry of the old /dev (open as dirfd) in the new one. */
static int copy_entry(int dirfd, const char *name, char *why, size_t size)
{
	char src[PATH_MAX], dst[PATH_MAX], target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return fail(why, size, "/dev/%s", name);
	snprintf(src, sizeof(src), "/proc/self/fd/%d/%s", dirfd, name);
	snprintf(dst, sizeof(dst), "/dev/%s", name);
	if (S_ISLNK(st.st_mode)) {
		n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return fail(why, size, "readlink /dev/%s", name);
		target[n] = '\0';
		if (symlink(target, dst))
			return fail(why, size, "symlink %s", dst);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, st.st_mode & 07777))
			return fail(why, size, "mkdir %s", dst);
		/* with whatever is mounted there: pts, shm, mqueue */
		if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL))
			return fail(why, size, "bind %s", dst);
		return 0;
	}
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(why, size, "create %s", dst);
	close(fd);
	if (mount(src, dst, NULL, MS_BIND, NULL))
		return fail(why, size, "bind %s", dst);
	return 0;
}

static int copy_dev(int dirfd, char *why, size_t size)
{
	struct dirent *e;
	DIR *d;
	int fd, ret = 0;

	fd = dup(dirfd);
	if (fd < 0)
		return fail(why, size, "dup");
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return fail(why, size, "opendir /dev");
	}
	while (!ret && (errno = 0, e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, "kvm"))
			continue;
		ret = copy_entry(dirfd, e->d_name, why, size);
	}
	if (!ret && errno)
		ret = fail(why, size, "readdir /dev");
	closedir(d);
	return ret;
}

static int bind_node(const char *node_src, char *why, size_t size)
{
	if (mount(node_src, "/dev/kvm", NULL, MS_BIND, NULL))
		return fail(why, size, "bind the node over /dev/kvm");
	return 0;
}

/* A tmpfs /dev with the host's entries and kvm. */
static int new_dev(const char *node_src, char *why, size_t size)
{
	int dirfd, fd, ret;

	dirfd = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return fail(why, size, "open /dev");
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME,
		  "mode=755")) {
		ret = fail(why, size, "mount a tmpfs on /dev");
		close(dirfd);
		return ret;
	}
	ret = copy_dev(dirfd, why, size);
	if (!ret) {
		fd = open("/dev/kvm", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			  0600);
		if (fd < 0)
			ret = fail(why, size, "create /dev/kvm");
		else
			close(fd);
	}
	if (!ret)
		ret = bind_node(node_src, why, size);
	/* give the program the host's /dev back rather than half of one */
	if (ret)
		umount2("/dev", MNT_DETACH);
	close(dirfd);
	return ret;
}

int devns_redirect(const struct run_node *n, char *why, size_t size)
{
	char node_src[64];
	struct stat st;
	int node_fd, ret;

	ret = enter_namespaces(why, size);
	if (ret)
		return ret;
	/* nothing we mount may reach the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return fail(why, size, "make the mounts private");
	/*
	 * Opened in the new namespace (a bind source must be in it), before
	 * /dev changes: the node may be under /dev itself.
	 */
	node_fd = open(n->path, O_PATH | O_CLOEXEC);
	if (node_fd < 0)
		return fail(why, size, "%s", n->path);
	snprintf(node_src, sizeof(node_src), "/proc/self/fd/%d", node_fd);
	if (!stat("/dev/kvm", &st))
		ret = bind_node(node_src, why, size);
	else if (errno == ENOENT)
		ret = new_dev(node_src, why, size);
	else
		ret = fail(why, size, "/dev/kvm");
	close(node_fd);
	return ret;
}
