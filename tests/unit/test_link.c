/*
 * test_link.c: where html2gmi sends an href: collection pages, the web
 * (--base-url), kept schemes and dropped links.  link.c is included, not
 * linked, as the unit tests link liblumbar only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "html2gmi/link.c"

/* The collection: a few pages of a small site. */
static const char *
pages(void *arg, const char *path)
{
	static const char *const have[][2] = {
		{ "index.html", "index.gmi" },
		{ "a b.html", "a b.gmi" },
		{ "articles/index.html", "articles/index.gmi" },
		{ "articles/one.html", "articles/one.gmi" },
		{ "articles/two.htm", "articles/two.gmi" },
	};
	size_t i;

	for (i = 0; i < sizeof(have) / sizeof(have[0]); i++)
		if (strcmp(path, have[i][0]) == 0)
			return have[i][1];
	return NULL;
}

static void
resolves(const char *base, const char *page, const char *href,
    const char *want)
{
	struct linkctx	lc = { base, page, true, pages, NULL };
	struct buf	out;
	int		r;

	buf_init(&out);
	r = link_resolve(&lc, href, &out);
	if (want == NULL) {
		if (r != 0)
			fail_msg("%s on %s: kept as %s", href, page, out.data);
	} else {
		if (r != 1)
			fail_msg("%s on %s: dropped", href, page);
		assert_string_equal(out.data, want);
	}
	buf_free(&out);
}

static void
test_collection(void **state)
{
	const char *p = "articles/one.html";

	resolves(NULL, p, "two.htm", "two.gmi");
	resolves(NULL, p, "../index.html", "../index.gmi");
	resolves(NULL, p, "/index.html", "../index.gmi");
	resolves(NULL, p, "../", "../index.gmi");
	resolves(NULL, p, "./", "index.gmi");
	resolves(NULL, p, "/articles", "index.gmi");
	resolves(NULL, p, "two.htm#part", "two.gmi");
	resolves(NULL, p, "two.htm?x=1", "two.gmi");
	resolves(NULL, p, "?x=1", "one.gmi");
	resolves(NULL, p, "../../../index.html", "../index.gmi");
	resolves(NULL, p, "./x/../two.htm", "two.gmi");
	resolves(NULL, p, " two.htm\n", "two.gmi");
	resolves(NULL, "index.html", "a%20b.html", "a b.gmi");
	resolves(NULL, "index.html", "articles/one.html", "articles/one.gmi");
}

static void
test_dropped(void **state)
{
	const char *p = "articles/one.html";

	resolves(NULL, p, "missing.html", NULL);
	resolves(NULL, p, "#top", NULL);
	resolves(NULL, p, "", NULL);
	resolves(NULL, p, "   ", NULL);
	resolves(NULL, p, "javascript:void(0)", NULL);
	resolves(NULL, p, " JavaScript:alert(1)", NULL);
	resolves(NULL, p, "java\nscript:alert(1)", NULL);
	resolves(NULL, p, "data:text/html,x", NULL);
	resolves(NULL, p, "%00.html", NULL);
}

static void
test_kept(void **state)
{
	const char *p = "articles/one.html";

	resolves(NULL, p, "mailto:a@example.org", "mailto:a@example.org");
	resolves(NULL, p, "gemini://example.org/", "gemini://example.org/");
	resolves(NULL, p, "HTTPS://Example.org/X", "https://Example.org/X");
	resolves(NULL, p, "//cdn.example.org/x", "https://cdn.example.org/x");
	resolves("http://site.example/", p, "//cdn.example.org/x",
	    "http://cdn.example.org/x");
}

static void
test_base_url(void **state)
{
	const char *b = "https://site.example/root/", *p = "articles/one.html";

	resolves(b, p, "missing.html",
	    "https://site.example/root/articles/missing.html");
	resolves(b, p, "../gone.html#sec?",
	    "https://site.example/root/gone.html#sec?");
	/* Root-relative: the host's root, as a browser reads it. */
	resolves(b, p, "/x/y.html?q=1", "https://site.example/x/y.html?q=1");
	resolves(b, p, "/root/articles/two.htm", "two.gmi");
	resolves(b, p, "../../../up.html", "https://site.example/root/up.html");
	resolves("https://site.example/root", p, "gone.html",
	    "https://site.example/root/articles/gone.html");
	/* Absolute links into the site come back into the collection. */
	resolves(b, p, "https://site.example/root/articles/two.htm", "two.gmi");
	resolves(b, p, "https://SITE.example/root", "../index.gmi");
	resolves(b, p, "https://site.example/rooted/x.html",
	    "https://site.example/rooted/x.html");
}

static void
test_unclamped(void **state)
{
	struct linkctx	lc = { NULL, "page.html", false, NULL, NULL };
	struct buf	out;

	buf_init(&out);
	lc.base_url = "https://e.example/";
	assert_int_equal(link_resolve(&lc, "../../a.html", &out), 1);
	assert_string_equal(out.data, "https://e.example/a.html");
	/* ".." climbs the base URL's path, as in a browser. */
	lc.base_url = "https://example.com/docs/guide/";
	assert_int_equal(link_resolve(&lc, "../index.html", &out), 1);
	assert_string_equal(out.data, "https://example.com/docs/index.html");
	assert_int_equal(link_resolve(&lc, "../../../x.html?q#f", &out), 1);
	assert_string_equal(out.data, "https://example.com/x.html?q#f");
	lc.base_url = NULL;
	assert_int_equal(link_resolve(&lc, "a.html", &out), 0);
	buf_free(&out);
}

static void
test_paths(void **state)
{
	struct buf b;

	buf_init(&b);
	assert_int_equal(gmi_path_of("a/b.HTML", &b), 0);
	assert_string_equal(b.data, "a/b.gmi");
	assert_int_equal(gmi_path_of("v1.2/readme", &b), 0);
	assert_string_equal(b.data, "v1.2/readme.gmi");
	assert_int_equal(link_relative("a/b/c.gmi", "a/d.gmi", &b), 0);
	assert_string_equal(b.data, "../d.gmi");
	assert_int_equal(link_relative("index.gmi", "x/y.gmi", &b), 0);
	assert_string_equal(b.data, "x/y.gmi");
	assert_int_equal(link_relative("x/y.gmi", "x/y.gmi", &b), 0);
	assert_string_equal(b.data, "y.gmi");
	assert_int_equal(link_relative("a.gmi", "100%?#.gmi", &b), 0);
	assert_string_equal(b.data, "100%25%3F%23.gmi");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collection),
		cmocka_unit_test(test_dropped),
		cmocka_unit_test(test_kept),
		cmocka_unit_test(test_base_url),
		cmocka_unit_test(test_unclamped),
		cmocka_unit_test(test_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
