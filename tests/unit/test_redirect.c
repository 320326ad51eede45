/*
 * test_redirect.c: the redirect, redirect-temporary and gone settings:
 * what they accept, which rule a path meets, and where it is sent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lumbar.h"

/* Where path goes under rds: "" when no rule, "52" when gone. */
static void
expect(const struct redirects *rds, const char *path, bool url,
    int status, const char *want)
{
	const struct redirect	*rd = redirect_find(rds, path);
	struct buf		 b;

	if (want == NULL) {
		if (rd != NULL)
			fail_msg("%s: matched %s", path, rd->from);
		return;
	}
	if (rd == NULL)
		fail_msg("%s: no rule, want %d %s", path, status, want);
	assert_int_equal(rd->status, status);
	if (status == 52)
		return;
	buf_init(&b);
	assert_int_equal(redirect_target(rd, path, url, &b), 0);
	if (strcmp(b.data, want) != 0)
		fail_msg("%s: sent to \"%s\", want \"%s\"", path, b.data, want);
	buf_free(&b);
}

static void
add(struct redirects *rds, int status, const char *spec)
{
	struct buf why;

	buf_init(&why);
	if (redirect_add(rds, status, spec, &why) != 0)
		fail_msg("refused \"%s\": %s", spec, why.data);
	buf_free(&why);
}

static void
refused(int status, const char *spec, const char *why_part)
{
	struct redirects	 rds = { 0 };
	struct buf		 why;

	buf_init(&why);
	if (redirect_add(&rds, status, spec, &why) != -1)
		fail_msg("accepted \"%s\"", spec ? spec : "(null)");
	if (why.data == NULL || strstr(why.data, why_part) == NULL)
		fail_msg("\"%s\": reason \"%s\", want \"%s\"", spec,
		    why.data ? why.data : "", why_part);
	assert_int_equal(rds.n, 0);
	buf_free(&why);
	redirect_free(&rds);
}

static void
test_exact(void **state)
{
	struct redirects rds = { 0 };

	(void)state;
	add(&rds, 31, "/inversion-therapy.html /articles/inversion-therapy.gmi");
	add(&rds, 30, "/soon.gmi\t/later.gmi");
	add(&rds, 52, "/old.gmi");
	expect(&rds, "/inversion-therapy.html", true, 31,
	    "/articles/inversion-therapy.gmi");
	expect(&rds, "/soon.gmi", true, 30, "/later.gmi");
	expect(&rds, "/old.gmi", true, 52, "");
	/* Exact means exact: no prefix, no longer path, no other case. */
	expect(&rds, "/inversion-therapy.htm", true, 0, NULL);
	expect(&rds, "/inversion-therapy.html/x", true, 0, NULL);
	expect(&rds, "/Old.gmi", true, 0, NULL);
	expect(&rds, "/", true, 0, NULL);
	redirect_free(&rds);
}

static void
test_prefix(void **state)
{
	struct redirects rds = { 0 };

	(void)state;
	add(&rds, 31, "/blog/* /articles/*");
	add(&rds, 31, "/blog/2019/* /archive/2019.gmi");
	add(&rds, 31, "/blog/2019/keep.gmi /kept.gmi");
	add(&rds, 30, "/gem/* gemini://example.org/gem/*");
	/* The rest after the prefix is appended when TO ends in "*". */
	expect(&rds, "/blog/a.gmi", true, 31, "/articles/a.gmi");
	expect(&rds, "/blog/", true, 31, "/articles/");
	expect(&rds, "/blog/x/y z.gmi", true, 31, "/articles/x/y%20z.gmi");
	/* As a selector (Gopher) nothing is encoded. */
	expect(&rds, "/blog/x/y z.gmi", false, 31, "/articles/x/y z.gmi");
	/* The longest prefix wins, whatever the order; exact beats both. */
	expect(&rds, "/blog/2019/b.gmi", true, 31, "/archive/2019.gmi");
	expect(&rds, "/blog/2019/keep.gmi", true, 31, "/kept.gmi");
	/* "/blog" is not under "/blog/". */
	expect(&rds, "/blog", true, 0, NULL);
	/* A URL TO is sent as written, the rest encoded. */
	expect(&rds, "/gem/é.gmi", true, 30,
	    "gemini://example.org/gem/%C3%A9.gmi");
	redirect_free(&rds);
}

static void
test_prefix_gone(void **state)
{
	struct redirects rds = { 0 };

	(void)state;
	add(&rds, 52, "/private/*");
	expect(&rds, "/private/a", true, 52, "");
	expect(&rds, "/private/", true, 52, "");
	expect(&rds, "/privat", true, 0, NULL);
	redirect_free(&rds);
}

static void
test_refused(void **state)
{
	(void)state;
	refused(31, NULL, "FROM TO");
	refused(52, NULL, "which path");
	refused(31, "/a", "give FROM and TO");
	refused(31, "/a /b /c", "give FROM and TO");
	refused(52, "/a /b", "one path only");
	refused(31, "a.gmi /b", "FROM is a path");
	refused(31, "/a*b /b", "only at its end");
	refused(31, "/a/* b.gmi", "TO is a path");
	refused(31, "/a/* /b*/c", "only at its end");
	refused(31, "/a /b/*", "FROM");
	refused(31, "/a\x01 /b", "control");
	refused(31, "/a /b\x7f", "control");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_prefix_gone),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
