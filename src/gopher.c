/*
 * gopher.c: one Gopher request (RFC 1436) in, a menu, text or file out,
 * and the refusals the event loop makes before there is a line to handle.
 * Selectors are the capsule's own paths, so that one tree serves both
 * protocols: "" and "/" are the home page, "/articles/" a directory and
 * "/articles/x.gmi" a page, rendered as a menu.  Every page also has a
 * plain-text form at the sibling selector "/articles/x.txt" (a directory's
 * at "index.txt"), unless a real file of that name exists, which wins.
 * How menus look is render_gopher.c's business; where files are is
 * capsule.c's.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lumbar.h"

#define TEXT_SUFFIX	".txt"
#define CAPS_PATH	"/caps.txt"
#define GEMTEXT_MAX	(8 * 1024 * 1024)	/* larger pages are sent raw */

enum form { FORM_MENU, FORM_TEXT };

static void	serve_path(const struct host *, struct response *,
		    const char *);

/* A refused or failed request: one type 3 item, and the log's status;
 * why is a literal (the response keeps it). */
static void
refuse(struct response *r, int status, const char *why)
{
	buf_reset(&r->out);
	r->kind = RESP_REFUSAL;
	r->status = status;
	r->reason = why;
	if (gopher_error(&r->out, why) == -1)
		r->status = 40;
}

/*
 * The event loop's refusals, as gemini_refuse's: a line it cannot read
 * as one (logged 59), or a client over a limit, told the wait in words
 * (logged 44).
 */
void
gopher_refuse(struct response *r, const char *why, int wait)
{
	char text[128];

	if (wait <= 0) {
		refuse(r, 59, why);
		return;
	}
	snprintf(text, sizeof(text), "%s, try again in %d seconds", why,
	    wait);
	refuse(r, 44, text);
	r->reason = why;	/* text is gone on return */
}

/*
 * The plain-text form of the page at sel: "x.gmi" -> "x.txt", a directory
 * "d/" -> "d/index.txt".  NULL when a real file already has that name, so
 * that no link leads to something other than the page.
 */
static char *
text_selector(const struct host *h, const char *sel, struct buf *b)
{
	char	 mime[MIME_MAX];
	size_t	 n = strlen(sel);

	buf_reset(b);
	if (sel[n - 1] == '/') {
		if (buf_printf(b, "%sindex" TEXT_SUFFIX, sel) == -1)
			return NULL;
	} else {
		const char *dot = strrchr(sel, '.');

		if (dot == NULL || strchr(dot, '/') != NULL ||
		    buf_append(b, sel, (size_t)(dot - sel)) == -1 ||
		    buf_puts(b, TEXT_SUFFIX) == -1)
			return NULL;
	}
	if (b->len > GOPHER_SELECTOR_MAX || capsule_mime(h->capsule, b->data,
	    mime, sizeof(mime)) == 0)
		return NULL;
	return b->data;
}

/*
 * What the renderer writes of this server into its items: the resolved
 * configuration's Gopher host, port and width, and the address of the
 * host Gopher serves on Gemini.  Filled for each page it renders.
 */
static const struct gopher_site *
site(const struct host *h)
{
	static struct gopher_site s;

	s.host = conf.gopher_host;
	s.port = conf.gopher_menu_port;
	s.wrap = conf.wrap;
	s.gemini_host = h->names[0];
	s.gemini_port = conf.public_port;
	return &s;
}

/* Render doc, the page at sel, as a menu or as text into r. */
static void
render(const struct host *h, struct response *r, const char *sel,
    const struct gmi_doc *doc, enum form form)
{
	struct gopher_page	 pg = { .site = site(h), .path = sel,
				    .mime = capsule_mime,
				    .mime_arg = h->capsule };
	struct buf		 ts;
	int			 rc;

	buf_init(&ts);
	buf_reset(&r->out);
	if (form == FORM_MENU) {
		pg.text_sel = text_selector(h, sel, &ts);
		rc = gopher_render_menu(&r->out, doc, &pg);
	} else
		rc = gopher_render_text(&r->out, doc, &pg);
	buf_free(&ts);
	if (rc == -1)
		refuse(r, 40, "out of memory");
	else {
		r->status = 20;
		r->kind = form == FORM_MENU ? RESP_MENU : RESP_PLAIN;
	}
}

/*
 * A gemtext page found by lookup: parse and render it.  Returns -1 when
 * it is too large to render, and the caller sends it raw.
 */
static int
serve_page(const struct host *h, struct response *r, const char *sel,
    struct lookup *lk, enum form form)
{
	struct gmi_doc	 doc;
	struct buf	 big;
	struct blob	*blob;
	int		 rc;

	/* Made before for this selector: sent from the cache as it is, the
	 * response holding its own reference to the bytes. */
	if ((blob = cfile_derived(lk->file, form, sel)) != NULL) {
		r->status = 20;
		r->kind = form == FORM_MENU ? RESP_MENU : RESP_PLAIN;
		buf_reset(&r->out);
		response_blob(r, blob);
		return 0;
	}
	gmi_init(&doc);
	buf_init(&big);
	if (cfile_data(lk->file) != NULL)
		rc = gmi_parse(&doc, cfile_data(lk->file), (size_t)lk->size);
	else if ((rc = lk->size > GEMTEXT_MAX ? -1 :
	    buf_pread(&big, lk->fd, lk->size)) == 0)
		rc = gmi_parse(&doc, big.data, big.len);
	buf_free(&big);
	if (rc == 0)
		render(h, r, sel, &doc, form);
	/* The render becomes a blob the response and the cache share. */
	if (rc == 0 && r->status == 20 && (blob = blob_from(&r->out)) != NULL) {
		response_blob(r, blob);
		cfile_derive(lk->file, form, sel, blob);
	}
	gmi_free(&doc);
	return rc;
}

static void
serve_listing(const struct host *h, struct response *r, const char *dir,
    enum form form)
{
	struct gmi_doc doc;

	if (!h->listing) {	/* listing off, as over Gemini */
		refuse(r, 51, "not found");
		return;
	}
	gmi_init(&doc);
	if (capsule_listing(h->capsule, dir, &doc) == -1)
		refuse(r, 51, "not found");
	else
		render(h, r, dir, &doc, form);
	gmi_free(&doc);
}

/* Hand a file to the server to send as it is. */
static void
serve_raw(struct response *r, struct lookup *lk)
{
	r->status = 20;
	r->kind = RESP_PLAIN;
	response_take(r, lk);
}

/*
 * "x.txt" that is not a real file: the page "x.gmi" (or "x.gemini") as
 * text; "d/index.txt", the directory d/ as text, index page or listing.
 */
static bool
serve_text_form(const struct host *h, struct response *r, const char *sel)
{
	const char *const *ext;
	struct lookup	 lk;
	struct buf	 p;
	size_t		 stem;
	bool		 done = false;

	if (!path_ends_with(sel, TEXT_SUFFIX))
		return false;
	stem = strlen(sel) - strlen(TEXT_SUFFIX);
	buf_init(&p);
	for (ext = gemtext_suffixes; *ext != NULL && !done; ext++) {
		buf_reset(&p);
		if (buf_append(&p, sel, stem) == -1 || buf_puts(&p, *ext) == -1)
			break;
		if (capsule_lookup(h->capsule, p.data, &lk) == CAP_FILE &&
		    gemtext_mime(lk.mime))
			done = serve_page(h, r, p.data, &lk, FORM_TEXT) == 0;
		lookup_release(&lk);
	}
	if (!done && path_ends_with(sel, "/index" TEXT_SUFFIX)) {
		buf_reset(&p);
		if (buf_append(&p, sel, strlen(sel) - strlen("index" TEXT_SUFFIX))
		    == 0) {
			if (capsule_lookup(h->capsule, p.data, &lk) ==
			    CAP_LISTING) {
				serve_listing(h, r, p.data, FORM_TEXT);
				done = true;
			}
			lookup_release(&lk);
		}
	}
	buf_free(&p);
	return done;
}

/*
 * caps.txt, the convention Gophernicus started and clients (Lagrange,
 * gopherus) read to learn how this server's selectors are built.  No
 * PathParent or PathIdentity: "." and ".." segments are refused here.
 */
static void
serve_caps(struct response *r)
{
	buf_reset(&r->out);
	buf_puts(&r->out,
	    "CAPS\r\n"
	    "\r\n"
	    "# This server's capabilities, generated by lumbar.\r\n"
	    "CapsVersion=1\r\n"
	    "ExpireCapsAfter=3600\r\n"
	    "\r\n"
	    "PathDelimeter=/\r\n"
	    "PathParentDouble=FALSE\r\n"
	    "PathKeepPreDelimeter=FALSE\r\n"
	    "\r\n"
	    "ServerSoftware=lumbar\r\n"
	    "ServerDescription=A Gemini capsule, also served over Gopher\r\n"
	    "ServerDefaultEncoding=utf-8\r\n"
	    "ServerSupportsStdinScripts=FALSE\r\n");
	buf_printf(&r->out, "ServerHost=%s\r\nServerPort=%d\r\n",
	    conf.gopher_host, conf.gopher_menu_port);
	if (buf_status(&r->out) == -1) {
		refuse(r, 40, "out of memory");
		return;
	}
	r->status = 20;
	r->kind = RESP_PLAIN;
}

/*
 * "URL:<url>": the HTML page that sends a browser on to a URL of another
 * protocol.  Only schemes a browser opens harmlessly: a javascript: or
 * data: URL in a refresh would run in whatever opens the page.
 */
static void
serve_url(struct response *r, const char *url, size_t n)
{
	static const char *const safe[] = {
		"http:", "https:", "gemini:", "gopher:", "mailto:",
	};
	struct buf	 u;
	size_t		 i, k;
	bool		 ok = false;

	for (i = 0; i < sizeof(safe) / sizeof(safe[0]); i++) {
		k = strlen(safe[i]);
		if (n > k && strncasecmp(url, safe[i], k) == 0)
			ok = true;
	}
	for (i = 0; i < n && ok; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7F)
			ok = false;
	if (!ok || !utf8_valid(url, n)) {
		refuse(r, 59, "refused: not a safe URL");
		return;
	}
	buf_init(&u);
	buf_reset(&r->out);
	if (buf_append(&u, url, n) == -1 || gopher_url_page(&r->out, u.data) ==
	    -1)
		refuse(r, 40, "out of memory");
	else {
		r->status = 20;
		r->kind = RESP_PLAIN;
	}
	buf_free(&u);
}

/*
 * The UMN gopher client opens with a Gopher+ attribute request
 * ("<TAB>$", or "<TAB>!").  This server speaks plain Gopher, so it answers
 * like Gophernicus: one Gopher+ attribute block naming the menu as a plain
 * Gopher item, which the client then fetches without "+".
 */
static void
serve_attributes(struct response *r, const char *sel)
{
	buf_reset(&r->out);
	buf_puts(&r->out, "+-1\r\n+INFO: ");
	gopher_item(&r->out, '1', "Main menu", sel, conf.gopher_host,
	    conf.gopher_menu_port);
	buf_puts(&r->out, "+VIEWS:\r\n application/gopher-menu: <1k>\r\n");
	gopher_menu_end(&r->out);
	if (buf_status(&r->out) == -1) {
		refuse(r, 40, "out of memory");
		return;
	}
	r->status = 20;
	r->kind = RESP_MENU;	/* ended by "." as a menu is */
}

/*
 * An answer made for a Gopher+ request: the item behind a length line,
 * "+-1" for a menu, which its "." line ends, "+-2" for what the close
 * ends (text, a file); a refusal as a Gopher+ error, code 1 (not
 * available) or 2 (try again later) and the reason.
 */
static void
plus_answer(struct response *r)
{
	struct buf	 out;
	int		 rc;

	buf_init(&out);
	if (r->kind == RESP_REFUSAL)
		rc = gopher_plus_error(&out, r->status == 44 ? 2 : 1,
		    r->reason);
	else {
		rc = buf_puts(&out, r->kind == RESP_MENU ? "+-1\r\n" :
		    "+-2\r\n");
		if (rc == 0)
			rc = buf_append(&out, r->out.data, r->out.len);
	}
	if (rc == -1) {
		buf_free(&out);
		return;		/* the plain answer is still there */
	}
	buf_free(&r->out);
	r->out = out;
}

/* "<TAB>+": the item itself, as a Gopher+ answer. */
static void
serve_plus(const struct host *h, struct response *r, const char *sel)
{
	serve_path(h, r, sel);
	plus_answer(r);
}

/*
 * "selector<TAB>words": a type 7 search, the same search and results page
 * as Gemini's (search_page.c), as a menu.  SEARCH_PATH without words is a menu
 * holding the search item, for clients that fetch it as a directory.
 * Words are sent as they are typed: no percent-decoding.  A Gopher+ tail
 * ("<TAB>+" after the words) is not part of them.
 */
static void
serve_search(const struct host *h, struct response *r, const char *sel,
    const char *words, size_t n)
{
	struct gopher_page	 pg = { .site = site(h), .path = SEARCH_PATH,
				    .mime = capsule_mime,
				    .mime_arg = h->capsule };
	struct gmi_doc		 doc;
	const char		*why, *tab;
	bool			 plus = false;

	if ((tab = memchr(words, '\t', n)) != NULL) {
		plus = (size_t)(tab - words) + 1 < n && tab[1] == '+';
		n = (size_t)(tab - words);
	}
	if (strcmp(sel, SEARCH_PATH) != 0) {
		refuse(r, 51, "no search here");
		if (plus)
			plus_answer(r);
		return;
	}
	gmi_init(&doc);
	buf_reset(&r->out);
	if (n == 0) {	/* a failed document fails to render, below */
		gmi_add(&doc, GMI_H1, "Search", 6);
		gmi_add_link(&doc, SEARCH_PATH, "Search the articles");
	} else if (search_check(words, n, &why) != 0)
		refuse(r, 59, why);
	else if (search_page(h->index, &doc, words, n) == -1)
		refuse(r, 40, "out of memory");
	if (r->out.len == 0) {
		if (gopher_render_menu(&r->out, &doc, &pg) == -1)
			refuse(r, 40, "out of memory");
		else {
			r->status = 20;
			r->kind = RESP_MENU;
		}
	}
	gmi_free(&doc);
	if (plus)	/* "selector<TAB>words<TAB>+" */
		plus_answer(r);
}

/*
 * A selector moved (the redirect settings): Gopher has no redirect, so a
 * small menu says so and links to the new one; the log says 31 or 30.
 * A gone one is an error item, logged 52.
 */
static void
serve_moved(const struct host *h, struct response *r, const char *sel,
    const struct redirect *rd)
{
	struct gopher_page	 pg = { .site = site(h), .path = sel,
				    .mime = capsule_mime,
				    .mime_arg = h->capsule };
	struct gmi_doc		 doc;
	struct buf		 to, url;

	if (rd->status == 52) {
		refuse(r, 52, "gone: this page was removed");
		return;
	}
	gmi_init(&doc);
	buf_init(&to);
	buf_init(&url);
	buf_reset(&r->out);
	/* The link as gemtext has it (encoded): the renderer decodes it. */
	if (redirect_target(rd, sel, false, &to) == 0 &&
	    redirect_target(rd, sel, true, &url) == 0) {
		gmi_printf(&doc, GMI_TEXT, "This page has moved to %s",
		    to.data);
		gmi_add_link(&doc, url.data, to.data);
	} else
		gmi_fail(&doc);
	if (gopher_render_menu(&r->out, &doc, &pg) == -1)
		refuse(r, 40, "out of memory");
	else {
		r->status = rd->status;
		r->kind = RESP_MENU;
	}
	buf_free(&url);
	buf_free(&to);
	gmi_free(&doc);
}

/* The selector as a capsule path, or an error already answered. */
static void
serve_path(const struct host *h, struct response *r, const char *sel)
{
	const struct redirect	*rd;
	struct lookup		 lk;
	struct buf		 slash;
	enum cap_kind		 kind;

	/* Before anything the capsule holds, as over Gemini. */
	if ((rd = host_redirect(h, sel)) != NULL) {
		serve_moved(h, r, sel, rd);
		return;
	}
	if (strcmp(sel, SEARCH_PATH) == 0) {	/* wins over a file */
		serve_search(h, r, sel, "", 0);
		return;
	}
	if ((kind = capsule_lookup(h->capsule, sel, &lk)) == CAP_REDIRECT) {
		/* Gopher has no redirect: answer for the directory itself. */
		buf_init(&slash);
		if (buf_printf(&slash, "%s/", sel) == -1)
			refuse(r, 40, "out of memory");
		else
			serve_path(h, r, slash.data);
		buf_free(&slash);
		return;
	}
	switch (kind) {
	case CAP_FILE:
		if (!gemtext_mime(lk.mime) ||
		    serve_page(h, r, sel, &lk, FORM_MENU) == -1)
			serve_raw(r, &lk);
		break;
	case CAP_LISTING:
		serve_listing(h, r, sel, FORM_MENU);
		break;
	case CAP_NOT_FOUND:
		if (strcmp(sel, CAPS_PATH) == 0)
			serve_caps(r);
		else if (!serve_text_form(h, r, sel))
			refuse(r, 51, "not found");
		break;
	case CAP_FORBIDDEN:
		refuse(r, 51, "not found");
		break;
	default:
		refuse(r, 40, "server error");
		break;
	}
	lookup_release(&lk);
}

/* Is the field after the TAB a Gopher+ mark alone ("+", "$", "!")? */
static bool
plus_mark(const char *f, size_t n)
{
	return n == 1 && (f[0] == '+' || f[0] == '$' || f[0] == '!');
}

void
gopher_handle(const char *line, size_t len, struct response *r)
{
	const struct host *h = host_gopher();
	const char	*tab, *err;
	char		 sel[GOPHER_SELECTOR_MAX + 2];
	size_t		 sl, i;

	if (h == NULL) {
		refuse(r, 40, "server error");
		return;
	}
	r->logfd = h->logfd;	/* the request goes to its host's log */
	if (host_admit(h, r) == -1) {
		gopher_refuse(r, "host at its max-conns", LIMIT_WAIT);
		return;
	}
	tab = memchr(line, '\t', len);
	sl = tab ? (size_t)(tab - line) : len;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7F) {
			refuse(r, 59, "control character in selector");
			return;
		}
	}
	/* Before the length check: URLs are often longer than a path. */
	if (sl >= 4 && memcmp(line, "URL:", 4) == 0 && tab == NULL) {
		serve_url(r, line + 4, sl - 4);
		return;
	}
	if (sl > GOPHER_SELECTOR_MAX) {
		refuse(r, 59, "selector too long");
		return;
	}
	if (!utf8_valid(line, sl)) {
		refuse(r, 59, "selector is not UTF-8");
		return;
	}
	/* Selectors are absolute paths; some clients drop the first slash. */
	i = 0;
	if (sl == 0 || line[0] != '/')
		sel[i++] = '/';
	memcpy(sel + i, line, sl);
	sel[i + sl] = '\0';
	if (path_check(sel, &err) == -1) {
		refuse(r, 59, err);
		return;
	}
	url_squeeze_slashes(sel);
	if (tab != NULL) {
		const char *rest = tab + 1;
		size_t rn = len - sl - 1;

		/* The search's field is the words, whatever they start with
		 * ("$5 coffee", "+1"): a Gopher+ request there is the mark
		 * alone. */
		if (strcmp(sel, SEARCH_PATH) == 0 && !plus_mark(rest, rn))
			serve_search(h, r, sel, rest, rn);
		else if (rn > 0 && (rest[0] == '$' || rest[0] == '!'))
			serve_attributes(r, sel);
		else if (rn > 0 && rest[0] == '+')
			serve_plus(h, r, sel);
		else
			serve_search(h, r, sel, rest, rn);
		return;
	}
	serve_path(h, r, sel);
}
