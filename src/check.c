/*
 * check.c: `lumbar --check`: look the capsule and the certificates over
 * before serving, and name every problem found, one line each.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lumbar.h"
#include "tls.h"

#define CHECK_FILE_MAX	(8 * 1024 * 1024)	/* larger pages: not read */
#define CHECK_FEEDS_MAX	32			/* feeds looked at */

static int problems;
static char *feeds[CHECK_FEEDS_MAX];	/* capsule paths already checked */
static size_t nfeeds;
static const struct host *ch;		/* the host being checked */

static void	say(const char *, ...) ATTR_PRINTF(1, 2);
static void	problem(const char *, ...) ATTR_PRINTF(1, 2);

static void
vsay(const char *fmt, va_list ap)
{
	fprintf(stderr, "lumbar: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* A line of the check that is not a problem. */
static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

static void
problem(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	problems++;
}

/*
 * The capsule path a link of page names, in *target, or 0 when the link
 * leads off this capsule (another host or scheme) and is not checked.
 */
static int
link_target(const char *page, const char *ref, struct buf *target)
{
	struct url	 u;
	struct buf	 merged;
	const char	*err;
	size_t		 n;
	int		 r = -1;

	buf_reset(target);
	if (url_has_scheme(ref)) {
		if (strncasecmp(ref, "gemini:", 7) != 0)
			return 0;
		if (url_parse(ref, strlen(ref), &u, &err) == -1)
			return -1;
		/* Another host's page is checked with that host. */
		if (host_find(u.host) != ch)
			return 0;
		return buf_puts(target, u.path[0] ? u.path : "/") == 0 ? 1 : -1;
	}
	if (strncmp(ref, "//", 2) == 0)
		return 0;
	buf_init(&merged);
	n = strcspn(ref, "?#");
	/* As url_parse(): the server answers 59 to an encoded slash. */
	if (url_merge_path(&merged, page, ref, n) == 0 &&
	    strcasestr(merged.data, "%2F") == NULL &&
	    buf_reserve(target, merged.len) == 0 &&
	    url_decode(merged.data, merged.len, target->data,
	    merged.len + 1, &target->len) == 0)
		r = 1;
	buf_free(&merged);
	return r;
}

/* localhost, *.localhost, 127.0.0.0/8, ::1: only ever this machine. */
static bool
is_loopback(const char *host)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	char		 h[HOSTNAME_MAX + 1];
	size_t		 n;

	n = strlen(host);
	if (n == 0 || n >= sizeof(h))
		return false;
	memcpy(h, host, n + 1);
	if (h[n - 1] == '.')
		h[--n] = '\0';
	if (strcasecmp(h, "localhost") == 0 || (n > 10 &&
	    strcasecmp(h + n - 10, ".localhost") == 0))
		return true;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) &&
		    a6.s6_addr[12] == 127);
	return false;
}

/* The host of a gemini:// URL this server does not serve, or NULL. */
static const char *
foreign_gemini_host(const char *ref, struct url *u)
{
	const char *err;

	if (strncasecmp(ref, "gemini://", 9) != 0 ||
	    url_parse(ref, strlen(ref), u, &err) == -1 ||
	    gemini_serves_host(u->host))
		return NULL;
	return u->host;
}

/*
 * An Atom or RSS feed of the capsule: its ids and links must be under an
 * address this server answers, or every entry points at another host
 * (a capsule built for gemini://localhost/ and copied to a server).
 */
static void
check_feed(const char *path)
{
	struct lookup	 lk;
	struct buf	 data, ref;
	struct url	 u;
	const char	*p, *end, *host, *first = NULL;
	char		 firsthost[HOSTNAME_MAX + 1];
	size_t		 i, n, bad = 0;

	for (i = 0; i < nfeeds; i++)
		if (strcmp(feeds[i], path) == 0)
			return;
	if (nfeeds == CHECK_FEEDS_MAX || (feeds[nfeeds] = strdup(path)) ==
	    NULL)
		return;
	nfeeds++;
	buf_init(&data);
	buf_init(&ref);
	/* A large file's cache entry holds no bytes: they are read from fd. */
	if (capsule_lookup(ch->capsule, path, &lk) == CAP_FILE) {
		if (cfile_data(lk.file) != NULL)
			buf_append(&data, cfile_data(lk.file), (size_t)lk.size);
		else if (lk.size <= CHECK_FILE_MAX)
			buf_pread(&data, lk.fd, lk.size);
	}
	lookup_release(&lk);
	if (data.len == 0 || buf_reserve(&data, 0) == -1)
		goto out;
	/* Every gemini:// URL in the text: ids, hrefs, content alike. */
	for (p = data.data; (p = strcasestr(p, "gemini://")) != NULL; p = end) {
		n = strcspn(p, "\"'<> \t\r\n");
		end = p + n;
		buf_reset(&ref);
		if (buf_append(&ref, p, n) == -1 || buf_reserve(&ref, 0) == -1)
			break;
		if ((host = foreign_gemini_host(ref.data, &u)) == NULL)
			continue;
		if (bad++ == 0) {
			snprintf(firsthost, sizeof(firsthost), "%s", host);
			first = firsthost;
		}
	}
	if (bad > 0)
		problem("%s%s: %zu gemini:// link%s to %s, a host this server "
		    "does not serve: rebuild the capsule for its address (make "
		    "capsule PUBLIC_URL=gemini://%s/, or html2gmi --feed-url), "
		    "or serve %s too (-H)", ch->root, path, bad, bad == 1 ?
		    "" : "s", first, ch->names[0], first);
out:
	buf_free(&data);
	buf_free(&ref);
}

/* Does a link to this capsule path look like a feed? */
static bool
is_feed_name(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot != NULL && (strcasecmp(dot, ".xml") == 0 ||
	    strcasecmp(dot, ".atom") == 0 || strcasecmp(dot, ".rss") == 0);
}

static int
check_page(void *arg, const char *path, const char *data, size_t n)
{
	struct gmi_doc	 doc;
	struct lookup	 lk;
	struct buf	 target;
	struct url	 u;
	const char	*host;
	enum cap_kind	 kind;
	size_t		 i;
	int		 r;

	gmi_init(&doc);
	buf_init(&target);
	if (!utf8_valid(data, n))
		problem("%s%s: not valid UTF-8", ch->root, path);
	if (gmi_parse(&doc, data, n) == -1) {
		problem("%s%s: out of memory", ch->root, path);
		return -1;
	}
	for (i = 0; i < doc.len; i++) {
		if (doc.lines[i].type != GMI_LINK)
			continue;
		/* Another capsule is fine; this machine, seen from afar, not. */
		if ((host = foreign_gemini_host(doc.lines[i].url, &u)) != NULL &&
		    is_loopback(host))
			problem("%s%s: link \"%s\" leads to %s, which only this "
			    "machine reaches, and this server does not serve it "
			    "(-H)", ch->root, path, doc.lines[i].url, host);
		r = link_target(path, doc.lines[i].url, &target);
		if (r == 0)
			continue;
		if (r == -1) {
			problem("%s%s: link \"%s\" is not a valid URL",
			    ch->root, path, doc.lines[i].url);
			continue;
		}
		url_squeeze_slashes(target.data);	/* as the server does */
		if (strcmp(target.data, SEARCH_PATH) == 0)
			continue;	/* answered by the server itself */
		kind = capsule_lookup(ch->capsule, target.data, &lk);
		lookup_release(&lk);
		if (kind == CAP_FILE && is_feed_name(target.data))
			check_feed(target.data);
		if (kind == CAP_LISTING && !ch->listing)
			problem("%s%s: link \"%s\" leads to a directory without "
			    "index.gmi, and listings are off", ch->root, path,
			    doc.lines[i].url);
		else if (kind != CAP_FILE && kind != CAP_LISTING &&
		    kind != CAP_REDIRECT)
			problem("%s%s: link \"%s\" leads nowhere (%s)",
			    ch->root, path, doc.lines[i].url,
			    kind == CAP_FORBIDDEN ? "unreadable" :
			    "not found");
	}
	buf_free(&target);
	gmi_free(&doc);
	return 0;
}

/* Check everything; returns the number of problems (0: all is well). */
int
check_all(void)
{
	struct lookup	 lk;
	size_t		 i;

	for (i = 0; (ch = host_at(i)) != NULL; i++) {
		if (capsule_lookup(ch->capsule, "/", &lk) != CAP_FILE)
			problem("%s: no index.gmi: the home page would be %s",
			    ch->root, ch->listing ? "a generated listing" :
			    "missing");
		lookup_release(&lk);
		if (capsule_walk(ch->capsule, check_page, NULL, CHECK_FILE_MAX)
		    == -1)
			problem("%s: cannot read the capsule", ch->root);
		check_feed("/atom.xml");	/* where html2gmi writes it */
		while (nfeeds > 0)
			free(feeds[--nfeeds]);
	}
	problems += tls_check(say);
	secrets_check(problem);
	if (problems == 0 && hosts_count() == 1)
		fprintf(stderr, "lumbar: %s and the certificates are fine\n",
		    host_at(0)->root);
	else if (problems == 0)
		fprintf(stderr, "lumbar: the %zu capsules and the certificates "
		    "are fine\n", hosts_count());
	else
		fprintf(stderr, "lumbar: %d problem%s\n", problems,
		    problems == 1 ? "" : "s");
	return problems;
}
