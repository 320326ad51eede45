/*
 * sandbox.c: confine a worker once its sockets, certificates and libmagic
 * are loaded: chroot into the capsule, drop to an unprivileged user, then
 * a seccomp filter that allows only the system calls serving needs.
 * With several hosts the chroot is the deepest directory holding all
 * their roots (host.c): each root stays open as a descriptor every path
 * is resolved beneath, so no host's request reaches another's files.  Each
 * layer stands even if the one before fails to catch a bug:
 *   - openat2(RESOLVE_BENEATH) (capsule.c) refuses paths leading outside;
 *   - chroot makes everything outside the capsule unreachable by name;
 *   - the user change takes away root's power over files and processes;
 *   - seccomp takes away execve, socket, ptrace and the rest of the kernel
 *     interface a compromised worker could use.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/capability.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lumbar.h"

/* What a worker needs after start: I/O on sockets and files it opens
 * inside the capsule, memory, time, randomness, and exit. */
static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(readv),
	SCMP_SYS(pread64), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmsg), SCMP_SYS(sendfile), SCMP_SYS(shutdown),
	SCMP_SYS(accept4), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(ioctl),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_pwait2),
	SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(getdents64),
	SCMP_SYS(fcntl), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk),
	SCMP_SYS(madvise), SCMP_SYS(mprotect),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(getrandom), SCMP_SYS(futex), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(sched_yield),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
	SCMP_SYS(prctl), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	SCMP_SYS(uname), SCMP_SYS(sysinfo), SCMP_SYS(getrlimit),
	SCMP_SYS(prlimit64), SCMP_SYS(sched_getaffinity),
};

static int
seccomp_confine(const char **err)
{
	scmp_filter_ctx	 ctx;
	size_t		 i;
	int		 r;

	/* Anything else fails with EPERM rather than killing: a call made
	 * only by an unusual libc path then shows as an error, not a crash. */
	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		*err = "seccomp_init failed";
		return -1;
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
		if (r < 0 && r != -EDOM) {	/* EDOM: not on this arch */
			*err = "seccomp_rule_add failed";
			seccomp_release(ctx);
			return -1;
		}
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		*err = "seccomp_load failed";
		return -1;
	}
	return 0;
}

/* A worker keeps no capability: not the port binding, not chroot. */
static int
drop_capabilities(void)
{
	struct __user_cap_header_struct	 hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct	 data[2];

	if (geteuid() == 0)	/* root with --allow-root: as asked */
		return 0;
	memset(data, 0, sizeof(data));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return (int)syscall(SYS_capset, &hdr, data);
}

/* Become pw for good: its group alone, then its user. */
static int
become(const struct passwd *pw)
{
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		return -1;
	return 0;
}

/*
 * Can pw read the capsule at root as a worker will, after chroot?
 * Checked in a child that becomes pw, so that a capsule the user cannot
 * read stops the start instead of getting 50 on every request.  Returns
 * 0 (yes, or cannot tell: the worker will say why), 1 when the capsule
 * cannot be listed, 2 when its index.gmi cannot be read.
 */
int
sandbox_user_reads(const struct passwd *pw, const char *root)
{
	pid_t	 pid, w;
	int	 fd, st;

	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return 0;	/* capsule_init() has said why */
	if ((pid = fork()) == -1) {
		close(fd);
		return 0;
	}
	if (pid == 0) {
		if (become(pw) == -1)
			_exit(0);
		if (faccessat(fd, ".", R_OK | X_OK, 0) == -1)
			_exit(1);
		if (faccessat(fd, "index.gmi", F_OK, 0) == 0 &&
		    faccessat(fd, "index.gmi", R_OK, 0) == -1)
			_exit(2);
		_exit(0);
	}
	close(fd);
	while ((w = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
		;
	/* ECHILD when SIGCHLD is ignored (inherited): st was never set. */
	if (w == -1)
		return 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 0;
}

/*
 * Confine this worker process.  pw is the user to become (NULL: stay who
 * we are, which main() allows only for a non-root user or --allow-root).
 */
int
sandbox_worker(const struct passwd *pw, const char **err)
{
	static char	 msg[256];
	const char	*jail = hosts_jail();

	if (pw != NULL) {
		if (chroot(jail) == -1 || chdir("/") == -1) {
			snprintf(msg, sizeof(msg), "chroot %s: %s", jail,
			    strerror(errno));
			*err = msg;
			return -1;
		}
		if (become(pw) == -1) {
			snprintf(msg, sizeof(msg), "cannot become %s: %s",
			    pw->pw_name, strerror(errno));
			*err = msg;
			return -1;
		}
		if (pw->pw_uid != 0 && setuid(0) != -1) {
			*err = "could regain root after dropping it";
			return -1;
		}
	} else if (geteuid() != 0) {
		/* An ordinary user given CAP_SYS_CHROOT (systemd's
		 * AmbientCapabilities) confines itself too. */
		if (chroot(jail) == 0) {
			if (chdir("/") == -1) {
				*err = "chdir / after chroot failed";
				return -1;
			}
		} else if (errno != EPERM) {
			snprintf(msg, sizeof(msg), "chroot %s: %s", jail,
			    strerror(errno));
			*err = msg;
			return -1;
		}
	}
	if (drop_capabilities() == -1) {
		*err = "cannot drop capabilities";
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		*err = "prctl(PR_SET_NO_NEW_PRIVS) failed";
		return -1;
	}
	if (conf.seccomp && seccomp_confine(err) == -1)
		return -1;
	return 0;
}
