/*
 * link.c: decide where an href of the site leads in the capsule: to
 * another converted page (a relative .gmi link), to the original web
 * site (--base-url), elsewhere (kept), or nowhere (dropped).  Pure string
 * work; whether a page exists is asked through the context's lookup.
 */
#include <string.h>
#include <strings.h>

#include "html2gmi.h"

static bool
ascii_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Length of the "scheme:" prefix of s without the colon, or 0. */
static size_t
scheme_len(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (s[i] == ':')
			return i;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '+' || s[i] == '-' || s[i] == '.'))
			return 0;
	}
	return 0;
}

/* Remove "." and ".." segments of a relative path (RFC 3986 5.2.4). */
static int
remove_dots(const char *path, bool clamp, struct buf *out)
{
	const char	*p = path, *seg;
	size_t		 n, keep = 0;	/* bytes of leading "../" kept */
	char		*slash;

	buf_reset(out);
	while (*p != '\0') {
		seg = p;
		n = strcspn(p, "/");
		p += n;
		if (*p == '/')
			p++;
		if (n == 1 && seg[0] == '.')
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (out->len > keep) {
				/* Drop the last segment and its slash. */
				out->data[out->len - 1] = '\0';
				slash = strrchr(out->data + keep, '/');
				out->len = slash ? (size_t)(slash -
				    out->data) + 1 : keep;
				out->data[out->len] = '\0';
			} else if (!clamp) {
				if (buf_puts(out, "../") == -1)
					return -1;
				keep = out->len;
			}
			continue;
		}
		if (buf_append(out, seg, n) == -1 ||
		    (seg[n] == '/' && buf_putc(out, '/') == -1))
			return -1;
	}
	return 0;
}

/*
 * Percent-decode for a file name, leniently: a stray "%" in a page's link
 * stays as it is (url_decode refuses it).  1, or 0 if it would hold a
 * NUL; -1 when out of memory.
 */
static int
pct_decode(const char *s, struct buf *out)
{
	int hi, lo;

	buf_reset(out);
	if (buf_puts(out, "") == -1)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == '%' && (hi = url_hexval((unsigned char)s[1])) >= 0 &&
		    (lo = url_hexval((unsigned char)s[2])) >= 0) {
			if (hi == 0 && lo == 0)
				return 0;
			if (buf_putc(out, hi * 16 + lo) == -1)
				return -1;
			s += 2;
		} else if (buf_putc(out, *s) == -1)
			return -1;
	}
	return 1;
}

/* The .gmi path of an HTML page's path: its extension replaced. */
int
gmi_path_of(const char *html, struct buf *out)
{
	const char	*dot = strrchr(html, '.'), *slash = strrchr(html, '/');
	size_t		 n = strlen(html);

	if (dot != NULL && (slash == NULL || dot > slash) &&
	    (strcasecmp(dot, ".html") == 0 || strcasecmp(dot, ".htm") == 0 ||
	    strcasecmp(dot, ".xhtml") == 0))
		n = (size_t)(dot - html);
	buf_reset(out);
	if (buf_append(out, html, n) == -1 || buf_puts(out, ".gmi") == -1)
		return -1;
	return 0;
}

/* Characters that would end or change a path inside a URL. */
static int
put_path(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '%' || *s == '?' || *s == '#') {
			if (buf_printf(b, "%%%02X", (unsigned char)*s) == -1)
				return -1;
		} else if (buf_putc(b, *s) == -1)
			return -1;
	}
	return 0;
}

/* A relative URL from the page at path from to the page at path to. */
int
link_relative(const char *from, const char *to, struct buf *out)
{
	const char	*f = from, *t = to, *fs, *ts;
	size_t		 fn, tn;

	buf_reset(out);
	/* Skip the directories both share. */
	for (;;) {
		fs = strchr(f, '/');
		ts = strchr(t, '/');
		if (fs == NULL || ts == NULL)
			break;
		fn = (size_t)(fs - f);
		tn = (size_t)(ts - t);
		if (fn != tn || memcmp(f, t, fn) != 0)
			break;
		f = fs + 1;
		t = ts + 1;
	}
	for (; (fs = strchr(f, '/')) != NULL; f = fs + 1)
		if (buf_puts(out, "../") == -1)
			return -1;
	return put_path(out, t);
}

/*
 * The page of the collection a decoded site path names, if any, into
 * *g (NULL: none); -1 when out of memory.
 */
static int
find_page(const struct linkctx *lc, struct buf *path, const char **g)
{
	static const char *const index[] = { "index.html", "index.htm" };
	size_t i, len = path->len;

	*g = NULL;
	if (lc->lookup == NULL)
		return 0;
	if (len > 0 && path->data[len - 1] != '/' &&
	    (*g = lc->lookup(lc->arg, path->data)) != NULL)
		return 0;
	/* A directory: its index page, as a web server would serve it. */
	for (i = 0; i < 2; i++) {
		path->len = len;
		path->data[len] = '\0';
		if ((len > 0 && path->data[len - 1] != '/' &&
		    buf_putc(path, '/') == -1) ||
		    buf_puts(path, index[i]) == -1)
			return -1;
		if ((*g = lc->lookup(lc->arg, path->data)) != NULL)
			return 0;
	}
	return 0;
}

/* Where base's path starts ("/blog/" in https://example.com/blog/). */
static const char *
base_path(const char *base)
{
	const char *p = strstr(base, "://");

	return p != NULL ? strchr(p + 3, '/') : NULL;
}

/*
 * Join the base URL and a site path with exactly one slash.  A leading
 * "../" climbs the base URL's own path, as a browser resolves it
 * (https://example.com/docs/guide/ and ../x.html give /docs/x.html);
 * nothing is above the host's root.
 */
static int
on_web(const char *base, const char *path, const char *rest,
    struct buf *out)
{
	size_t		 n = strlen(base), root;
	const char	*bp = base_path(base);

	root = bp != NULL ? (size_t)(bp - base) : n;
	while (n > 0 && base[n - 1] == '/')
		n--;
	while (strncmp(path, "../", 3) == 0) {
		path += 3;
		while (n > root && base[n - 1] != '/')
			n--;	/* the last directory of the base path */
		while (n > root && base[n - 1] == '/')
			n--;
	}
	buf_reset(out);
	if (buf_append(out, base, n) == -1 || buf_putc(out, '/') == -1 ||
	    buf_puts(out, path) == -1 || buf_puts(out, rest) == -1)
		return -1;
	return 1;
}

/* href is a path, query and fragment relative to the page or the root. */
static int
resolve_path(const struct linkctx *lc, const char *href, struct buf *out)
{
	struct buf	 joined, clean, decoded, self;
	const char	*rest, *g, *slash;
	size_t		 pathlen = strcspn(href, "?#");
	int		 r = -1, d;

	buf_init(&joined);
	buf_init(&clean);
	buf_init(&decoded);
	buf_init(&self);
	rest = href + pathlen;
	if (href[0] == '/') {
		if (buf_append(&joined, href + 1, pathlen - 1) == -1)
			goto out;
	} else {
		slash = strrchr(lc->page, '/');
		if (slash != NULL && buf_append(&joined, lc->page,
		    (size_t)(slash - lc->page) + 1) == -1)
			goto out;
		if (pathlen == 0 && buf_puts(&joined, slash ? slash + 1 :
		    lc->page) == -1)
			goto out;
		if (buf_append(&joined, href, pathlen) == -1)
			goto out;
	}
	if (remove_dots(joined.len ? joined.data : "", lc->clamp, &clean)
	    == -1)
		goto out;
	if (clean.data == NULL && buf_puts(&clean, "") == -1)
		goto out;
	g = NULL;
	if ((d = pct_decode(clean.data, &decoded)) == -1 ||
	    (d == 1 && find_page(lc, &decoded, &g) == -1))
		goto out;
	if (g != NULL) {
		if (gmi_path_of(lc->page, &self) == -1 ||
		    link_relative(self.data, g, out) == -1)
			goto out;
		r = 1;
	} else if (lc->base_url != NULL)
		r = on_web(lc->base_url, clean.data, *rest == '?' ? rest :
		    (*rest == '#' ? rest : ""), out);
	else
		r = 0;
out:
	buf_free(&joined);
	buf_free(&clean);
	buf_free(&decoded);
	buf_free(&self);
	return r;
}

/* Does url lie under base (the same site, at or below its path)? */
static const char *
under_base(const char *url, const char *base)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	if (n == 0 || strncasecmp(url, base, n) != 0)
		return NULL;
	if (url[n] == '\0')
		return "/";
	return url[n] == '/' ? url + n : NULL;
}

/* href as browsers take it: outer white space off, tabs and newlines out. */
static int
clean_href(const char *href, struct buf *h)
{
	const char	*p;
	size_t		 n;

	while (ascii_space((unsigned char)*href))
		href++;
	for (n = strlen(href); n > 0 && ascii_space((unsigned char)
	    href[n - 1]); n--)
		;
	for (p = href; p < href + n; p++)
		if (*p != '\t' && *p != '\n' && *p != '\r' &&
		    buf_putc(h, *p) == -1)
			return -1;
	return 0;
}

/* An absolute URL h, whose scheme is sl bytes long (lowered in place). */
static int
resolve_absolute(const struct linkctx *lc, char *h, size_t sl,
    struct buf *out)
{
	const char	*local;
	size_t		 i;

	for (i = 0; i < sl; i++)
		h[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] + 32 : h[i]);
	/* Scripts and inline data are not places to go. */
	if ((sl == 10 && strncmp(h, "javascript", 10) == 0) ||
	    (sl == 8 && strncmp(h, "vbscript", 8) == 0) ||
	    (sl == 4 && strncmp(h, "data", 4) == 0))
		return 0;
	if (lc->base_url != NULL && (local = under_base(h, lc->base_url)) !=
	    NULL)
		return resolve_path(lc, local, out);
	buf_reset(out);
	return buf_puts(out, h) == -1 ? -1 : 1;
}

/* "//host/...": another host; it gets the base's scheme, else https. */
static int
resolve_network_path(const struct linkctx *lc, const char *h,
    struct buf *out)
{
	size_t	 sl = lc->base_url ? scheme_len(lc->base_url) : 0;

	buf_reset(out);
	if ((sl ? buf_append(out, lc->base_url, sl + 1) :
	    buf_puts(out, "https:")) == -1 || buf_puts(out, h) == -1)
		return -1;
	return 1;
}

/*
 * "/x" when the site lives below the host's root, at base path bp: the
 * host's, inside the site only when it lies under the base path.  As a
 * browser: dot segments go first, the path's case counts ("/blog/../x"
 * and "/Blog/x" are not /blog/'s).
 */
static int
resolve_host_path(const struct linkctx *lc, char *h, const char *bp,
    struct buf *out)
{
	struct buf	 abs, clean;
	size_t		 pl = strcspn(h, "?#"), bl = strlen(bp);
	char		 end = h[pl];
	const char	*ap;
	int		 r;

	while (bl > 1 && bp[bl - 1] == '/')
		bl--;
	buf_init(&abs);
	buf_init(&clean);
	h[pl] = '\0';
	r = remove_dots(h + 1, true, &clean);
	h[pl] = end;
	if (r == -1 || buf_append(&abs, lc->base_url, (size_t)(bp -
	    lc->base_url)) == -1 || buf_putc(&abs, '/') == -1 ||
	    buf_puts(&abs, clean.len ? clean.data : "") == -1 ||
	    buf_puts(&abs, h + pl) == -1) {
		r = -1;
		goto out;
	}
	ap = abs.data + (bp - lc->base_url);
	if (strncmp(ap, bp, bl) == 0 && (ap[bl] == '\0' || ap[bl] == '/'))
		r = resolve_path(lc, ap[bl] == '\0' ? "/" : ap + bl, out);
	else {
		buf_reset(out);
		r = buf_puts(out, abs.data) == -1 ? -1 : 1;
	}
out:
	buf_free(&abs);
	buf_free(&clean);
	return r;
}

/*
 * Resolve href found on the context's page.  Returns 1 with the URL in
 * out, 0 when the link is dropped, -1 when out of memory.
 */
int
link_resolve(const struct linkctx *lc, const char *href, struct buf *out)
{
	struct buf	 h;
	const char	*bp;
	size_t		 sl;
	int		 r;

	buf_init(&h);
	if (clean_href(href, &h) == -1)
		r = -1;
	else if (h.len == 0 || h.data[0] == '#')
		r = 0;
	else if ((sl = scheme_len(h.data)) > 0)
		r = resolve_absolute(lc, h.data, sl, out);
	else if (h.data[0] == '/' && h.data[1] == '/')
		r = resolve_network_path(lc, h.data, out);
	else if (h.data[0] == '/' && lc->base_url != NULL &&
	    (bp = base_path(lc->base_url)) != NULL && strcmp(bp, "/") != 0)
		r = resolve_host_path(lc, h.data, bp, out);
	else
		r = resolve_path(lc, h.data, out);
	buf_free(&h);
	return r;
}
