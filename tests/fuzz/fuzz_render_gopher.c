/*
 * fuzz_render_gopher: render_gopher.c on parsed gemtext.  A menu must
 * stay a menu whatever the page holds: every line an item of four
 * TAB-separated fields ended by CRLF, the "." line only at the end, info
 * lines within the wrap width (preformatted ones aside), and every item
 * that points back at this server a selector the server itself accepts.
 * The plain-text form must be UTF-8 with nothing but CRLF line ends, and
 * the URL: page must not let a URL out of its attribute.
 *
 * Input: gemtext.  When it starts with '/', its first line is the page's
 * own path (links resolve from it); the wrap width follows the length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/*
 * Written into this server's own items.  The '+' is a byte url_parse()
 * refuses in a host, so no gopher:// link of the page can name this
 * server and pass its own selector off as one of ours (the fuzzer, which
 * sees the comparison below, learns the name and writes it into links).
 */
#define SELF_HOST	"self+host.invalid"

static bool
selector_ok(const char *s)
{
	const char	*err;
	size_t		 i, n = strlen(s);

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
			return false;
	return n <= GOPHER_SELECTOR_MAX && utf8_valid(s, n) &&
	    path_check(s, &err) == 0;
}

/* One menu line, without its CRLF. */
static void
check_item(const char *l, size_t n, size_t wrap, bool pre)
{
	const char	*f[4], *t;
	size_t		 len[4], i, k = 0;
	long		 port = 0;
	const char	*err;
	char		*sel;

	FUZZ_ASSERT(n >= 1);
	FUZZ_ASSERT((unsigned char)l[0] > 0x20 && (unsigned char)l[0] < 0x7F);
	f[0] = l + 1;
	for (t = l + 1; t < l + n; t++)
		if (*t == '\t') {
			FUZZ_ASSERT(k < 3);
			len[k] = (size_t)(t - f[k]);
			f[++k] = t + 1;
		}
	FUZZ_ASSERT(k == 3);
	len[3] = (size_t)(l + n - f[3]);
	FUZZ_ASSERT(len[2] > 0 && len[3] > 0 && len[3] <= 5);
	for (i = 0; i < len[3]; i++) {
		FUZZ_ASSERT(f[3][i] >= '0' && f[3][i] <= '9');
		port = port * 10 + (f[3][i] - '0');
	}
	FUZZ_ASSERT(port >= 1 && port <= 65535);
	if (l[0] == 'i' && !pre)
		FUZZ_ASSERT(utf8_columns(f[0], len[0]) <= wrap);
	if (len[2] != strlen(SELF_HOST) || memcmp(f[2], SELF_HOST, len[2]) != 0)
		return;		/* another server's item, as its URL said */
	/*
	 * Our own items: the URL: convention gopher.c answers (h items), or
	 * what gopher_handle() takes as a selector (any type: a local HTML
	 * file is an h item too).
	 */
	if (!(l[0] == 'h' && len[1] > 4 && memcmp(f[1], "URL:", 4) == 0)) {
		FUZZ_ASSERT(len[1] <= GOPHER_SELECTOR_MAX);
		FUZZ_ASSERT(len[1] > 0 && f[1][0] == '/');
		sel = fuzz_strndup((const uint8_t *)f[1], len[1]);
		FUZZ_ASSERT(path_check(sel, &err) == 0);
		free(sel);
	}
}

static void
check_menu(const struct buf *b, const struct gmi_doc *doc, int site_wrap)
{
	const char	*p, *end, *nl;
	size_t		 wrap, i;
	bool		 pre = false;

	for (i = 0; i < doc->len; i++)
		pre = pre || doc->lines[i].type == GMI_PRE;
	wrap = site_wrap > 0 ? (size_t)site_wrap : WRAP_DEFAULT;
	if (wrap < 10)
		wrap = 10;
	fuzz_check_text(b, true);
	FUZZ_ASSERT(b->len >= 3);
	FUZZ_ASSERT(memcmp(b->data + b->len - 3, ".\r\n", 3) == 0);
	end = b->data + b->len - 3;
	for (p = b->data; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		FUZZ_ASSERT(nl != NULL);
		check_item(p, (size_t)(nl - 1 - p), wrap, pre);
	}
}

static void
check_url_page(const char *url)
{
	struct buf	 a, b;
	size_t		 i, want = 0, got = 0;

	buf_init(&a);
	buf_init(&b);
	FUZZ_ASSERT(gopher_url_page(&a, "") == 0);
	FUZZ_ASSERT(gopher_url_page(&b, url) == 0);
	for (i = 0; i < a.len; i++)
		want += strchr("<>\"'", a.data[i]) != NULL;
	for (i = 0; i < b.len; i++)
		got += strchr("<>\"'", b.data[i]) != NULL;
	FUZZ_ASSERT(got == want);
	buf_free(&a);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct gopher_site	 site = { .host = SELF_HOST,
				    .port = GOPHER_DEFAULT_PORT,
				    .gemini_host = "localhost" };
	struct gopher_page	 pg = { .site = &site, .path = "/dir/page.gmi",
				    .mime = fuzz_mime };
	struct gmi_doc		 doc;
	struct buf		 b;
	const uint8_t		*nl;
	char			*path = NULL, *s;

	site.wrap = (int)(n % 80);
	site.gemini_port = n % 2 ? GEMINI_DEFAULT_PORT : 1966;
	if (n > 0 && data[0] == '/' && (nl = memchr(data, '\n', n)) != NULL) {
		path = fuzz_strndup(data, (size_t)(nl - data));
		n -= (size_t)(nl + 1 - data);
		data = nl + 1;
		/* Only a path gopher.c would pass on: it checked the selector. */
		if (selector_ok(path))
			pg.path = path;
	}
	pg.text_sel = path_ends_with(pg.path, ".gmi") ? "/dir/page.txt" : NULL;

	gmi_init(&doc);
	FUZZ_ASSERT(gmi_parse(&doc, (const char *)data, n) == 0);
	buf_init(&b);
	FUZZ_ASSERT(gopher_render_menu(&b, &doc, &pg) == 0);
	check_menu(&b, &doc, site.wrap);
	buf_reset(&b);
	FUZZ_ASSERT(gopher_render_text(&b, &doc, &pg) == 0);
	fuzz_check_text(&b, false);
	buf_free(&b);
	gmi_free(&doc);

	s = fuzz_strndup(data, n);
	check_url_page(s);
	buf_init(&b);
	FUZZ_ASSERT(gopher_error(&b, s) == 0);
	check_menu(&b, &doc, site.wrap);
	buf_free(&b);
	free(s);
	free(path);
	return 0;
}
