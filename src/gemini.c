/*
 * gemini.c: speaks Gemini.  One request line in (already read, without
 * its CRLF), one status line and body out; the event loop sends them.
 * The refusals the event loop makes before there is a line to handle
 * (too long, too late, too many connections) are said here too.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lumbar.h"

/* The status line.  Every meta of a failure (4x, 5x) is a literal: it
 * is kept as the response's reason. */
static void
reply(struct response *r, int status, const char *meta)
{
	r->status = status;
	r->kind = status >= 40 ? RESP_REFUSAL : RESP_PLAIN;
	r->reason = status >= 40 ? meta : NULL;
	buf_reset(&r->out);
	if (buf_printf(&r->out, "%d %s\r\n", status, meta) == -1)
		r->status = 40;
}

/*
 * The event loop's refusals, made before there is a request to handle:
 * a line it cannot read as one (59, why), or with wait > 0 a client over
 * a connection limit, told to come back in wait seconds (44).  why is a
 * literal: it stays the response's reason.
 */
void
gemini_refuse(struct response *r, const char *why, int wait)
{
	char secs[16];

	if (wait > 0 && snprintf(secs, sizeof(secs), "%d", wait) > 0)
		reply(r, 44, secs);
	else
		reply(r, 59, why);
	r->reason = why;
}

/* Is host one of the names this server serves (a host or an alias)? */
bool
gemini_serves_host(const char *host)
{
	return host_find(host) != NULL;
}

/* The gemtext type of h's pages, with its lang= when it has one. */
static void
gemtext_meta(const struct host *h, const char *mime, char *meta, size_t n)
{
	if (h->lang != NULL && *h->lang != '\0')
		snprintf(meta, n, "%s; lang=%s", mime, h->lang);
	else
		snprintf(meta, n, "%s", mime);
}

/* 31 to the same path with a slash: a directory's links are relative. */
static void
redirect_slash(struct response *r, const char *path)
{
	struct buf loc;

	/*
	 * The capsule ignores extra leading slashes, but a client reads
	 * "//x/" as a reference to the host x: send it to "/x/" instead.
	 */
	while (path[0] == '/' && path[1] == '/')
		path++;
	buf_init(&loc);
	url_encode_path(&loc, path);
	buf_putc(&loc, '/');
	if (buf_status(&loc) == -1)
		reply(r, 40, "Out of memory");
	else
		reply(r, 31, loc.data);
	buf_free(&loc);
}

/* A page moved (31, 30) or gone (52): the redirect settings. */
static void
serve_redirect(struct response *r, const struct redirect *rd,
    const char *path)
{
	struct buf to;

	if (rd->status == 52) {
		reply(r, 52, "Gone");
		return;
	}
	buf_init(&to);
	if (redirect_target(rd, path, true, &to) == -1)
		reply(r, 40, "Out of memory");
	else
		reply(r, rd->status, to.data);
	buf_free(&to);
}

/* A page the server made (listing, search results): 20 and its gemtext. */
static int
reply_page(const struct host *h, struct response *r,
    const struct gmi_doc *doc)
{
	char meta[MIME_MAX];

	gemtext_meta(h, GEMTEXT_MIME, meta, sizeof(meta));
	reply(r, 20, meta);
	return r->status == 20 ? gmi_write(doc, &r->out) : -1;
}

static void
serve_listing(const struct host *h, struct response *r, const char *path)
{
	struct gmi_doc	 doc;

	if (!h->listing) {
		reply(r, 51, "Not found");
		return;
	}
	gmi_init(&doc);
	if (capsule_listing(h->capsule, path, &doc) == -1 ||
	    reply_page(h, r, &doc) == -1)
		reply(r, 40, "Cannot list this directory");
	gmi_free(&doc);
}

/*
 * SEARCH_PATH, before any capsule file of that name: 10 to ask for the
 * words, then their results.  The query is percent-decoded only; "+" is
 * not a space in Gemini (clients send %20), and being punctuation it
 * separates words anyway.  A request no person typed (bad escapes,
 * invalid UTF-8, control characters) is a 59; a query to type again (too
 * long, too many words, only punctuation) asks again with the reason.
 */
static void
serve_search(const struct host *h, struct response *r, const struct url *u)
{
	struct gmi_doc	 doc;
	struct buf	 prompt;
	const char	*why;
	char		 q[GEMINI_URL_MAX + 1];
	size_t		 n;
	int		 bad;

	if (!u->has_query || u->query[0] == '\0') {
		reply(r, 10, "Search the articles");
		return;
	}
	if (url_decode(u->query, strlen(u->query), q, sizeof(q), &n) == -1) {
		reply(r, 59, "The query is not percent-encoded correctly");
		return;
	}
	if ((bad = search_check(q, n, &why)) != 0) {
		buf_init(&prompt);
		if (bad == -1 || buf_printf(&prompt, "%s. Search the articles",
		    why) == -1)
			reply(r, 59, why);
		else
			reply(r, 10, prompt.data);
		buf_free(&prompt);
		return;
	}
	gmi_init(&doc);
	if (search_page(h->index, &doc, q, n) == -1 ||
	    reply_page(h, r, &doc) == -1)
		reply(r, 40, "Temporary failure, try again later");
	gmi_free(&doc);
}

static void
serve_file(const struct host *h, struct response *r, struct lookup *lk)
{
	const char	*mime = lk->mime;
	char		 meta[MIME_MAX + 64];

	if (gemtext_mime(mime))
		gemtext_meta(h, mime, meta, sizeof(meta));
	else
		snprintf(meta, sizeof(meta), "%s", mime);
	reply(r, 20, meta);
	if (r->status == 20)
		response_take(r, lk);
}

void
gemini_handle(const char *line, size_t len, const char *sni,
    struct response *r)
{
	struct url	 u;
	struct lookup	 lk;
	const struct host *h;
	const struct redirect *rd;
	const char	*err;
	char		 host[HOSTNAME_MAX + 1];

	if (url_parse(line, len, &u, &err) == -1) {
		reply(r, 59, err);
		return;
	}
	if (strcmp(u.scheme, "gemini") != 0) {
		reply(r, 53, "This server serves only gemini:// URLs");
		return;
	}
	/* RFC 3986, 6.2.3: ":1965" is the same URL as no port at all. */
	if (u.port == GEMINI_DEFAULT_PORT)
		u.port = -1;
	/* A client may send an internationalised host as UTF-8 or A-labels. */
	/* The host the URL names is the capsule answering. */
	if (url_host_ascii(u.host, host, sizeof(host)) == -1 ||
	    (h = host_find(host)) == NULL ||
	    (u.port != -1 && u.port != conf.public_port)) {
		reply(r, 53, "This server does not serve that host and port");
		return;
	}
	r->logfd = h->logfd;	/* the request goes to its host's log */
	if (sni != NULL && !url_host_equal(sni, host)) {
		reply(r, 53, "The TLS server name does not match the URL's host");
		return;
	}
	if (host_admit(h, r) == -1) {
		gemini_refuse(r, "host at its max-conns", LIMIT_WAIT);
		return;
	}
	if (u.path[0] == '\0') {
		reply(r, 31, "/");
		return;
	}
	/* Before anything the capsule holds: an old path stays moved. */
	if ((rd = host_redirect(h, u.path)) != NULL) {
		serve_redirect(r, rd, u.path);
		return;
	}
	if (strcmp(u.path, SEARCH_PATH) == 0) {
		serve_search(h, r, &u);
		return;
	}
	switch (capsule_lookup(h->capsule, u.path, &lk)) {
	case CAP_FILE:
		serve_file(h, r, &lk);
		break;
	case CAP_LISTING:
		serve_listing(h, r, u.path);
		break;
	case CAP_REDIRECT:
		redirect_slash(r, u.path);
		break;
	case CAP_NOT_FOUND:
		reply(r, 51, "Not found");
		break;
	case CAP_FORBIDDEN:
		reply(r, 50, "This file cannot be read");
		break;
	case CAP_ERROR:
		reply(r, 40, "Temporary failure, try again later");
		break;
	}
	lookup_release(&lk);
}
