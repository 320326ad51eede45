/*
 * workers.c: the parent process.  It forks one worker per core onto the
 * listeners it bound, restarts a worker that dies, and on SIGHUP reloads
 * certificates and capsule into a new generation of workers while the old
 * one finishes its answers: no connection in progress is dropped, and a
 * reload that fails leaves the old generation serving.  The configuration
 * file is read again first (settings.c says what of it may change).  The
 * parent never reads a byte from a client.
 */
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lumbar.h"
#include "tls.h"

#define RESPAWN_BURST	5	/* deaths within RESPAWN_WINDOW that stop us */
#define RESPAWN_WINDOW	10	/* seconds */
#define STOP_WAIT	10	/* seconds past --grace before SIGKILL */

struct worker {
	pid_t	 pid;
	size_t	 index;
	int	 generation;
};

static struct worker	*workers;
static size_t		 nworkers;	/* slots: 2 generations at most */
static int		 generation;
static const struct passwd *drop_to;
static sigset_t		 mask;
static bool		 reload_pending;
static pid_t		 parent_pid;	/* set before the first fork */
static int		(*reread)(void);	/* the configuration, on SIGHUP */

static void
worker_main(size_t index)
{
	const char *err;

	/* A worker must not outlive its parent. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* Compared with the parent's pid, not 1: lumbar may be PID 1. */
	if (getppid() != parent_pid)
		_exit(0);
	limit_worker(index);
	server_prepare();
	if (sandbox_worker(drop_to, &err) == -1) {
		log_msg(LOG_LVL_ERR, "worker %zu: %s", index, err);
		_exit(1);
	}
	/* exit(), not _exit(): LeakSanitizer checks at exit in test builds. */
	exit(server_run() == 0 ? 0 : 1);
}

static int
spawn(size_t slot, size_t index)
{
	pid_t pid;

	if ((pid = fork()) == -1) {
		log_msg(LOG_LVL_ERR, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		worker_main(index);
	workers[slot].pid = pid;
	workers[slot].index = index;
	workers[slot].generation = generation;
	return 0;
}

/* Start conf.workers workers of the current generation in free slots. */
static int
spawn_generation(void)
{
	size_t slot, n = 0;

	for (slot = 0; slot < nworkers && n < (size_t)conf.workers; slot++) {
		if (workers[slot].pid != 0)
			continue;
		limit_reset(slot);
		if (spawn(slot, slot) == -1)
			return -1;
		n++;
	}
	return n == (size_t)conf.workers ? 0 : -1;
}

static void
signal_generation(int gen, int sig)
{
	size_t i;

	for (i = 0; i < nworkers; i++)
		if (workers[i].pid != 0 && (gen == -1 ||
		    workers[i].generation == gen))
			kill(workers[i].pid, sig);
}

static size_t
alive(void)
{
	size_t i, n = 0;

	for (i = 0; i < nworkers; i++)
		n += workers[i].pid != 0;
	return n;
}

static void
reload(void)
{
	const char	*err;
	int		 old = generation;

	if (alive() > (size_t)conf.workers) {
		/* Done when the previous generation has finished. */
		log_msg(LOG_LVL_INFO, "SIGHUP: waiting for the previous "
		    "generation of workers to finish");
		reload_pending = true;
		return;
	}
	reload_pending = false;
	/* First: a file with an error leaves everything as it is. */
	if (reread != NULL && reread() == -1)
		return;
	if (tls_init(&err) == -1) {
		log_msg(LOG_LVL_ERR, "SIGHUP: %s; still serving the old "
		    "certificates", err);
		return;
	}
	/* Every root opened again (it may have been replaced, or the file
	 * names another), with empty caches and new search indexes. */
	if (hosts_open(&conf, true, &err) == -1) {
		log_msg(LOG_LVL_ERR, "SIGHUP: %s; still serving the old "
		    "capsule", err);
		return;
	}
	secrets_note();		/* a host's new access log too */
	hosts_note();
	tls_check_expiry();
	generation++;
	if (spawn_generation() == -1) {
		log_msg(LOG_LVL_ERR, "SIGHUP: cannot start new workers");
		return;
	}
	signal_generation(old, SIGTERM);
	log_msg(LOG_LVL_INFO, "SIGHUP: reloaded %scertificates and capsule",
	    conf.config_file != NULL ? "the configuration, " : "");
}

/* Reap dead workers; restart those of the serving generation. */
static int
reap(bool stopping)
{
	static time_t	 deaths[RESPAWN_BURST];
	static size_t	 ndeaths;
	pid_t		 pid;
	size_t		 i;
	int		 st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < nworkers && workers[i].pid != pid; i++)
			;
		if (i == nworkers)
			continue;
		workers[i].pid = 0;
		limit_reset(i);
		if (stopping || workers[i].generation != generation)
			continue;
		if (WIFSIGNALED(st))
			log_msg(LOG_LVL_ERR, "worker %d killed by signal %d",
			    (int)pid, WTERMSIG(st));
		else
			log_msg(LOG_LVL_ERR, "worker %d exited with %d",
			    (int)pid, WEXITSTATUS(st));
		deaths[ndeaths++ % RESPAWN_BURST] = time(NULL);
		if (ndeaths >= RESPAWN_BURST && time(NULL) -
		    deaths[ndeaths % RESPAWN_BURST] < RESPAWN_WINDOW) {
			log_msg(LOG_LVL_ERR, "workers die too often; stopping");
			return -1;
		}
		if (spawn(i, i) == -1)
			return -1;
	}
	return 0;
}

static void
stop_all(void)
{
	time_t deadline = time(NULL) + conf.grace + STOP_WAIT;

	signal_generation(-1, SIGTERM);
	while (alive() > 0 && time(NULL) < deadline) {
		reap(true);
		if (alive() > 0)
			usleep(20000);
	}
	signal_generation(-1, SIGKILL);
	while (alive() > 0 && reap(true) == 0 && waitpid(-1, NULL, 0) > 0)
		;
}

/*
 * Run the parent: fork the workers, then supervise them until SIGTERM.
 * pw is the user workers become (NULL: no change).
 */
int
workers_run(const struct passwd *pw, int (*reread_config)(void))
{
	struct signalfd_siginfo	 si;
	int			 sfd, r = 0;
	bool			 stopping = false;

	drop_to = pw;
	reread = reread_config;
	parent_pid = getpid();
	nworkers = (size_t)conf.workers * 2;
	if ((workers = calloc(nworkers, sizeof(*workers))) == NULL ||
	    limit_init(nworkers) == -1)
		fatal("cannot set up the workers: out of memory");
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1)
		fatal("signalfd: %s", strerror(errno));
	if (spawn_generation() == -1)
		fatal("cannot start the workers");
	while (!stopping) {
		if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
			if (errno == EINTR)
				continue;
			fatal("signalfd: %s", strerror(errno));
		}
		switch (si.ssi_signo) {
		case SIGCHLD:
			if (reap(false) == -1) {
				stopping = true;
				r = 1;
			} else if (reload_pending &&
			    alive() <= (size_t)conf.workers)
				reload();
			break;
		case SIGHUP:
			reload();
			break;
		case SIGTERM:
		case SIGINT:
			log_msg(LOG_LVL_INFO, "stopping");
			stopping = true;
			break;
		}
	}
	stop_all();
	close(sfd);
	free(workers);
	return r;
}
