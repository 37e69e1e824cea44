// SPDX-License-Identifier: LGPL-2.1-or-later
/* Node ownership and the privilege drop after set-up. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daemon.h"
#include "privs.h"

static int reason(char *why, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int reason(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -err;
}

static int lookup_group(const char *name, gid_t *gid)
{
	struct group *gr;
	char *end;
	unsigned long v;

	errno = 0;
	gr = getgrnam(name);
	if (gr) {
		*gid = gr->gr_gid;
		return 0;
	}
	v = strtoul(name, &end, 10);
	if (*name && !*end && v < (gid_t)-1) {
		*gid = (gid_t)v;
		return 0;
	}
	return -ENOENT;
}

int privs_resolve(const struct daemon_opts *o, struct privs *p)
{
	struct passwd *pw;
	char *end;
	unsigned long v;

	memset(p, 0, sizeof(*p));
	p->mode = daemon_node_mode(o);
	if (o->user) {
		pw = getpwnam(o->user);
		if (pw) {
			p->uid = pw->pw_uid;
			p->gid = pw->pw_gid;
		} else {
			v = strtoul(o->user, &end, 10);
			if (!*o->user || *end || v >= (uid_t)-1 || !o->group) {
				fprintf(stderr,
					"kvmshimd: no such user '%s' (a numeric "
					"--user needs --group)\n",
					o->user);
				return KSD_EXIT_NOUSER;
			}
			p->uid = (uid_t)v;
		}
		p->change_user = true;
		p->user = o->user;
	}
	if (o->group && lookup_group(o->group, &p->gid)) {
		fprintf(stderr, "kvmshimd: no such group '%s'\n", o->group);
		return KSD_EXIT_NOUSER;
	}
	if (o->node_group) {
		if (lookup_group(o->node_group, &p->node_gid)) {
			fprintf(stderr, "kvmshimd: no such group '%s'\n",
				o->node_group);
			return KSD_EXIT_NOUSER;
		}
		p->node_group = true;
	}
	return 0;
}

/* The device number sysfs gives the CUSE device, or 0 if unknown. */
static dev_t sysfs_devt(const char *name)
{
	char path[160], buf[32];
	unsigned int maj, min;
	size_t i;
	FILE *f;
	int n;

	n = snprintf(path, sizeof(path), "/sys/class/cuse/%s/dev", name);
	/* sysfs spells '/' in a device name as '!' */
	for (i = sizeof("/sys/class/cuse/") - 1; n > 0 && path[i]; i++)
		if (path[i] == '/' && strcmp(path + i, "/dev"))
			path[i] = '!';
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fgets(buf, sizeof(buf), f) && sscanf(buf, "%u:%u", &maj, &min) == 2;
	fclose(f);
	return n ? makedev(maj, min) : 0;
}

static int own_path(const struct privs *p, const char *path)
{
	if (p->node_group && fchownat(AT_FDCWD, path, (uid_t)-1, p->node_gid,
				      AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (p->mode && fchmodat(AT_FDCWD, path, p->mode, 0))
		return -errno;
	return 0;
}

int privs_own_node(const struct privs *p, const char *name)
{
	char path[128];
	struct stat st;
	dev_t devt;

	snprintf(path, sizeof(path), "/dev/%s", name);
	if (lstat(path, &st))
		return -errno;
	if (!S_ISCHR(st.st_mode))
		return -ENOTTY;
	devt = sysfs_devt(name);
	if (devt && devt != st.st_rdev)
		return -EXDEV;
	return own_path(p, path);
}

int privs_own_socket(const struct privs *p, const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	return own_path(p, path);
}

static bool cap_has(cap_t caps, cap_value_t cap, cap_flag_t set)
{
	cap_flag_value_t v = CAP_CLEAR;

	return !cap_get_flag(caps, cap, set, &v) && v == CAP_SET;
}

static int last_cap(void)
{
	int cap = (int)cap_max_bits() - 1;

	return cap < 0 ? CAP_LAST_CAP : cap;
}

/* Nothing gained through exec: empty bounding set, root not special. */
static int lock_exec(struct privs *p, char *why, size_t len)
{
	unsigned long bits = SECBIT_KEEP_CAPS_LOCKED | SECBIT_NOROOT |
			     SECBIT_NOROOT_LOCKED |
			     SECBIT_NO_CAP_AMBIENT_RAISE |
			     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	int cap;

	if (!p->had_setpcap)
		return 0;
	for (cap = 0; cap <= last_cap(); cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			return reason(why, len, errno,
				      "cannot drop capability %d from the "
				      "bounding set: %m",
				      cap);
	/* set-user-ID fix-up stays on, so that setresuid() clears caps */
	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0))
		return reason(why, len, errno, "cannot lock securebits: %m");
	return 0;
}

int privs_drop(struct privs *p, char *why, size_t len)
{
	cap_t caps = cap_get_proc();
	int ret;

	if (!caps)
		return reason(why, len, errno, "cap_get_proc: %m");
	p->had_setpcap = cap_has(caps, CAP_SETPCAP, CAP_EFFECTIVE);
	p->had_setgid = cap_has(caps, CAP_SETGID, CAP_EFFECTIVE);
	ret = lock_exec(p, why, len);
	if (ret)
		goto out;
	/* EINVAL: a kernel without ambient capabilities has none to clear */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) &&
	    errno != EINVAL) {
		ret = reason(why, len, errno, "cannot clear ambient caps: %m");
		goto out;
	}
	if (p->had_setgid && setgroups(0, NULL)) {
		ret = reason(why, len, errno, "setgroups: %m");
		goto out;
	}
	if (p->change_user) {
		if (setresgid(p->gid, p->gid, p->gid)) {
			ret = reason(why, len, errno,
				     "cannot become group %u: %m",
				     (unsigned int)p->gid);
			goto out;
		}
		if (setresuid(p->uid, p->uid, p->uid)) {
			ret = reason(why, len, errno,
				     "cannot become user %s: %m", p->user);
			goto out;
		}
	}
	cap_clear(caps);
	if (cap_set_proc(caps)) {
		ret = reason(why, len, errno, "cannot clear capabilities: %m");
		goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		ret = reason(why, len, errno, "cannot set no_new_privs: %m");
		goto out;
	}
	ret = 0;
out:
	cap_free(caps);
	return ret;
}

static int check_caps(char *why, size_t len)
{
	cap_t now = cap_get_proc(), none = cap_init();
	cap_value_t admin = CAP_SYS_ADMIN;
	int ret = 0, cap;

	if (!now || !none) {
		ret = reason(why, len, ENOMEM, "cap_get_proc: %m");
		goto out;
	}
	if (cap_compare(now, none)) {
		ret = reason(why, len, EPERM, "capabilities remain");
		goto out;
	}
	for (cap = 0; cap <= last_cap(); cap++) {
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) ==
		    1) {
			ret = reason(why, len, EPERM,
				     "ambient capability %d remains", cap);
			goto out;
		}
	}
	/* raising one must fail now that permitted is empty */
	cap_set_flag(now, CAP_EFFECTIVE, 1, &admin, CAP_SET);
	cap_set_flag(now, CAP_PERMITTED, 1, &admin, CAP_SET);
	if (!cap_set_proc(now))
		ret = reason(why, len, EPERM, "CAP_SYS_ADMIN could be raised");
out:
	cap_free(now);
	cap_free(none);
	return ret;
}

static int check_ids(const struct privs *p, char *why, size_t len)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg))
		return reason(why, len, errno, "getresuid: %m");
	if (ru != p->uid || eu != p->uid || su != p->uid)
		return reason(why, len, EPERM, "user ids are %u/%u/%u",
			      (unsigned int)ru, (unsigned int)eu,
			      (unsigned int)su);
	if (rg != p->gid || eg != p->gid || sg != p->gid)
		return reason(why, len, EPERM, "group ids are %u/%u/%u",
			      (unsigned int)rg, (unsigned int)eg,
			      (unsigned int)sg);
	/* an unprivileged start keeps its groups: it could not drop them */
	if (p->had_setgid && getgroups(0, NULL) != 0)
		return reason(why, len, EPERM, "supplementary groups remain");
	if (p->uid != 0 && setresuid(0, 0, 0) == 0)
		return reason(why, len, EPERM, "root can be regained");
	if (p->gid != 0 && setresgid(0, 0, 0) == 0)
		return reason(why, len, EPERM, "group root can be regained");
	return 0;
}

int privs_verify(const struct privs *p, char *why, size_t len)
{
	int ret, cap;

	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return reason(why, len, EPERM, "no_new_privs is not set");
	if (p->had_setpcap)
		for (cap = 0; cap <= last_cap(); cap++)
			if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
				return reason(why, len, EPERM,
					      "capability %d is still in the "
					      "bounding set",
					      cap);
	if (p->change_user) {
		ret = check_ids(p, why, len);
		if (ret)
			return ret;
	}
	return check_caps(why, len);
}
