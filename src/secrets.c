/*
 * secrets.c: the server's own secret files, the TLS private keys, the
 * session ticket key and the log file, kept out of what it serves.  One
 * placed inside the capsule stops the start (and fails --check); and
 * whatever way one is still reached (a symbolic or hard link, a bind
 * mount, a file moved in after start) the capsule never serves it: it is
 * known by device and inode, not by name.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lumbar.h"

/*
 * Below tls.c and host.c, which tell it what they hold (the keys, the
 * hosts' settings in conf): it calls neither.
 */
#define OTHERS_MAX	(2 + HOSTS_MAX)		/* ticket key, logs */

struct known {
	dev_t	 dev;
	ino_t	 ino;
};
static struct known	 keys[HOSTNAMES_MAX], others[OTHERS_MAX];
static size_t		 nkeys, nothers;

/* The log, when it is a file (not stderr or syslog), else NULL. */
static const char *
log_file(void)
{
	if (conf.logtarget == NULL || strcmp(conf.logtarget, "stderr") == 0 ||
	    strcmp(conf.logtarget, "syslog") == 0)
		return NULL;
	return conf.logtarget;
}

/*
 * Is path, or where it would be created, inside the directory rootst?
 * The longest existing prefix is resolved (symbolic links followed), then
 * every directory above it is compared with the root by device and inode,
 * so that no spelling, link or bind mount of the root hides it.
 */
static bool
inside(const char *path, const struct stat *rootst)
{
	struct stat	 st;
	char		 p[PATH_MAX], real[PATH_MAX], *slash;

	if ((size_t)snprintf(p, sizeof(p), "%s", path) >= sizeof(p))
		return false;
	while (realpath(p, real) == NULL) {
		if ((slash = strrchr(p, '/')) == NULL) {
			if (realpath(".", real) == NULL)
				return false;
			break;
		}
		if (slash == p) {
			snprintf(real, sizeof(real), "/");
			break;
		}
		*slash = '\0';
	}
	for (;;) {
		if (stat(real, &st) == 0 && st.st_dev == rootst->st_dev &&
		    st.st_ino == rootst->st_ino)
			return true;
		if ((slash = strrchr(real, '/')) == NULL || real[1] == '\0')
			return false;
		slash[slash == real] = '\0';	/* "/a" -> "/" */
	}
}

/*
 * Name every secret that lies inside the capsule, through problem();
 * returns how many.  The certificate directory counts as a whole: the
 * keys it holds, or will hold once made, are in it.
 */
int
secrets_check(void (*problem)(const char *, ...))
{
	struct stat	 rootst;
	const char	*what[3][2] = {
		{ conf.certdir, "the certificate directory (--certs), which "
		    "holds the private keys," },
		{ conf.ticket_key, "the session ticket key (--ticket-key)" },
		{ log_file(), "the log file (--log)" },
	};
	const struct host *h, *o;
	size_t		 i, k;
	int		 n = 0;

	for (k = 0; k < conf.nhosts; k++) {
		h = &conf.hosts[k];
		if (stat(h->root, &rootst) == -1)
			continue;	/* the capsule's own error is reported */
		for (i = 0; i < sizeof(what) / sizeof(what[0]); i++)
			if (what[i][0] != NULL && inside(what[i][0], &rootst)) {
				problem("%s: %s lies inside the capsule %s and "
				    "would be served; move it out of the root",
				    what[i][0], what[i][1], h->root);
				n++;
			}
		/* Every host's own log, inside any host's root. */
		for (i = 0; i < conf.nhosts; i++)
			if ((o = &conf.hosts[i])->log != NULL &&
			    inside(o->log, &rootst)) {
				problem("%s: the access log of %s lies inside "
				    "the capsule %s and would be served; move it "
				    "out of the root", o->log, o->names[0],
				    h->root);
				n++;
			}
	}
	return n;
}

static void
note(struct known *v, size_t *n, size_t max, const char *path)
{
	struct stat st;

	if (path != NULL && *n < max && stat(path, &st) == 0) {
		v[*n].dev = st.st_dev;
		v[*n].ino = st.st_ino;
		(*n)++;
	}
}

/* The private keys tls.c serves with now (at start, on each reload). */
void
secrets_note_keys(const char *const *paths, size_t n)
{
	size_t i;

	nkeys = 0;
	for (i = 0; i < n; i++)
		note(keys, &nkeys, HOSTNAMES_MAX, paths[i]);
}

/* The other secret files as they are now: the ticket key and the logs. */
void
secrets_note(void)
{
	size_t i;

	nothers = 0;
	note(others, &nothers, OTHERS_MAX, conf.ticket_key);
	note(others, &nothers, OTHERS_MAX, log_file());
	for (i = 0; i < conf.nhosts; i++)
		note(others, &nothers, OTHERS_MAX, conf.hosts[i].log);
}

static bool
among(const struct known *v, size_t n, const struct stat *st)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].dev == st->st_dev && v[i].ino == st->st_ino)
			return true;
	return false;
}

/* Is the file st one of them?  Then no request gets it. */
bool
secrets_is(const struct stat *st)
{
	return among(keys, nkeys, st) || among(others, nothers, st);
}
