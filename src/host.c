/*
 * host.c: the capsules this server serves, one per host.  A host is a
 * name, its aliases, a root and the settings of its pages (lang, listing,
 * redirects); each gets its own file cache and search index, so that no
 * answer for one host holds a byte of another's.  The table is built in
 * the parent before the workers fork (at start and on SIGHUP), and a
 * worker only reads it.  Without host blocks the global settings make
 * the one host, as lumbar always served.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lumbar.h"

static struct host	 live[HOSTS_MAX];	/* what the workers serve */
static size_t		 nlive;
static const struct host *gopher;	/* the one Gopher serves */
static char		 jail[PATH_MAX];	/* the roots' common directory */

/* A copy of src into dst, a rule list of its own. */
static int
redirects_copy(struct redirects *dst, const struct redirects *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->n == 0)
		return 0;
	if ((dst->v = calloc(src->n, sizeof(*dst->v))) == NULL)
		return -1;
	dst->cap = src->n;
	for (dst->n = 0; dst->n < src->n; dst->n++) {
		struct redirect *d = &dst->v[dst->n];

		*d = src->v[dst->n];
		d->from = strdup(src->v[dst->n].from);
		d->to = src->v[dst->n].to ? strdup(src->v[dst->n].to) : NULL;
		if (d->from == NULL || (src->v[dst->n].to && d->to == NULL)) {
			free(d->from);
			free(d->to);
			redirect_free(dst);
			return -1;
		}
	}
	return 0;
}

/* What hosts_open() made of h (only: the settings are the config's). */
static void
host_free(struct host *h)
{
	redirect_free(&h->redirects);
	capsule_free(h->capsule);
	h->capsule = NULL;
	search_free(h->index);
	h->index = NULL;
	if (h->logfd != -1)
		close(h->logfd);
	h->logfd = -1;
}

/* The longest directory holding both a and b (real paths), into a. */
static void
common_dir(char *a, const char *b)
{
	size_t i, cut = 0;

	for (i = 0; a[i] != '\0' && a[i] == b[i]; i++)
		if (a[i] == '/')
			cut = i;
	if ((a[i] == '\0' && (b[i] == '/' || b[i] == '\0')) ||
	    (b[i] == '\0' && a[i] == '/'))
		cut = i;
	a[cut > 0 ? cut : 1] = '\0';	/* "/" at least */
}

/*
 * Open the hosts of c for serving: each root, its cache and its search
 * index, and its access log when logs (not for --check, which makes
 * nothing).  Everything is made before anything is replaced, so that a
 * root that cannot be opened leaves the hosts served as they were (-1,
 * and why in *err, naming the host).  c's global redirects apply to every
 * host after its own; its gopher_host names the host Gopher serves when
 * it is one of theirs, else the first host is.
 */
int
hosts_open(const struct config *c, bool logs, const char **err)
{
	static char		 msg[PATH_MAX + HOSTNAME_MAX + 64];
	const struct host	*v = c->hosts;
	const struct redirects	*global = &c->redirects;
	struct host		 fresh[HOSTS_MAX];
	char			 real[PATH_MAX], common[PATH_MAX];
	const char		*why, *what;
	size_t			 n = c->nhosts, i, k;

	if (n == 0 || n > HOSTS_MAX) {
		*err = "no host to serve";
		return -1;
	}
	memset(fresh, 0, sizeof(fresh));
	for (i = 0; i < n; i++) {
		fresh[i] = v[i];
		fresh[i].global = global;
		fresh[i].capsule = NULL;
		fresh[i].index = NULL;
		fresh[i].logfd = -1;
		memset(&fresh[i].redirects, 0, sizeof(fresh[i].redirects));
		what = v[i].root;
		/* Opened here, before the chroot, as the server's log is. */
		if (logs && v[i].log != NULL && (fresh[i].logfd = open(v[i].log,
		    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) == -1) {
			what = v[i].log;
			why = strerror(errno);
			goto fail;
		}
		if (redirects_copy(&fresh[i].redirects, &v[i].redirects) ==
		    -1) {
			why = "out of memory";
			goto fail;
		}
		if ((fresh[i].capsule = capsule_open(v[i].root, &why)) == NULL)
			goto fail;
		if ((fresh[i].index = search_build(fresh[i].capsule, &why)) ==
		    NULL)
			goto fail;
		if (realpath(v[i].root, real) == NULL) {
			why = strerror(errno);
			goto fail;
		}
		if (i == 0)
			memcpy(common, real, sizeof(common));
		else
			common_dir(common, real);
	}
	hosts_close();
	memcpy(live, fresh, sizeof(live));
	nlive = n;
	memcpy(jail, common, sizeof(jail));
	gopher = c->gopher_host != NULL ? host_find(c->gopher_host) : NULL;
	if (gopher == NULL)
		gopher = &live[0];
	return 0;
fail:
	if (n == 1 && what == v[i].root)	/* as before hosts */
		snprintf(msg, sizeof(msg), "capsule %s: %s", what, why);
	else
		snprintf(msg, sizeof(msg), "%s %s (host %s): %s",
		    what == v[i].root ? "capsule" : "log", what, v[i].names[0],
		    why);
	*err = msg;
	for (k = 0; k <= i; k++)
		host_free(&fresh[k]);
	return -1;
}

/* What was indexed, once the server is sure to start (or reload). */
void
hosts_note(void)
{
	size_t i;

	for (i = 0; i < nlive; i++)
		log_msg(LOG_LVL_INFO, "search: %s: indexed %zu pages",
		    live[i].names[0], search_docs(live[i].index));
}

void
hosts_close(void)
{
	size_t i;

	for (i = 0; i < nlive; i++)
		host_free(&live[i]);
	nlive = 0;
	gopher = NULL;
	memset(live, 0, sizeof(live));
}

size_t
hosts_count(void)
{
	return nlive;
}

const struct host *
host_at(size_t i)
{
	return i < nlive ? &live[i] : NULL;
}

/* The host one of whose names is name (a Gemini URL's, SNI's), or NULL. */
const struct host *
host_find(const char *name)
{
	size_t i, k;

	for (i = 0; i < nlive; i++)
		for (k = 0; k < live[i].nnames; k++)
			if (url_host_equal(name, live[i].names[k]))
				return &live[i];
	return NULL;
}

/* The host Gopher serves, which has no host name in its requests. */
const struct host *
host_gopher(void)
{
	return gopher;
}

/*
 * Count r as one of h's answers, when h has a max-conns: -1 when it is at
 * it (the caller answers 44).  Counted by h's place in the table: across
 * a reload that reorders the hosts, answers the old workers are still
 * sending count for the host now in their place, until they end.
 */
int
host_admit(const struct host *h, struct response *r)
{
	size_t i = (size_t)(h - live);

	if (h->max_conns == 0 || i >= nlive)
		return 0;
	if (limit_host_take(i, h->max_conns) == -1)
		return -1;
	r->hostslot = (int)i;
	return 0;
}

/* The redirect rule of h for path: its own first, then the global ones. */
const struct redirect *
host_redirect(const struct host *h, const char *path)
{
	const struct redirect *rd;

	if ((rd = redirect_find(&h->redirects, path)) == NULL &&
	    h->global != NULL)
		rd = redirect_find(h->global, path);
	return rd;
}

/* Forget every cached file (memory is short). */
void
hosts_flush(void)
{
	size_t i;

	for (i = 0; i < nlive; i++)
		capsule_flush(live[i].capsule);
}

/*
 * Where a worker chroots: the one root, or the deepest directory that
 * holds every host's root, so that each stays reachable by its open
 * descriptor while the rest of the system is not ("" before hosts_open).
 */
const char *
hosts_jail(void)
{
	return jail;
}
