/*
 * test_charset.c: html2gmi's encoding choice (BOM, <meta>, default) and
 * its HTML sniff.  charset.c is included, not linked: the unit tests link
 * liblumbar only, and charset.c needs nothing of the converter's others.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "html2gmi/charset.c"

/* Decode s (n bytes); check the label used and the UTF-8 produced. */
static void
decodes(const char *s, size_t n, const char *label, const char *want)
{
	struct buf	 out;
	char		 got[H2G_CHARSET_MAX];

	buf_init(&out);
	assert_int_equal(charset_to_utf8(s, n, &out, got, sizeof(got)), 0);
	assert_string_equal(got, label);
	assert_string_equal(out.data ? out.data : "", want);
	assert_true(utf8_valid(out.data ? out.data : "", out.len));
	buf_free(&out);
}

/* Literal s, its length counted by the compiler (it may hold NULs). */
#define DECODES(s, label, want) decodes((s), sizeof(s) - 1, (label), (want))

static void
test_bom(void **state)
{
	DECODES("\xEF\xBB\xBF<p>\xC3\xA9", "utf-8", "<p>\xC3\xA9");
	/* The BOM beats the meta. */
	DECODES("\xEF\xBB\xBF<meta charset=latin1>\xC3\xA9", "utf-8",
	    "<meta charset=latin1>\xC3\xA9");
	DECODES("\xFF\xFE<\0p\0>\0\xE9\0", "utf-16le", "<p>\xC3\xA9");
	DECODES("\xFE\xFF\0<\0p\0>\0\xE9", "utf-16be", "<p>\xC3\xA9");
	DECODES("\xFE\xFF", "utf-16be", "");	/* a BOM alone */
	/* An odd byte at the end of UTF-16 becomes U+FFFD. */
	DECODES("\xFF\xFEx\0y", "utf-16le", "x\xEF\xBF\xBD");
}

static void
test_meta(void **state)
{
	DECODES("<meta charset=\"ISO-8859-1\"><p>\x92\xE9", "windows-1252",
	    "<meta charset=\"ISO-8859-1\"><p>\xE2\x80\x99\xC3\xA9");
	DECODES("<META CHARSET='iso-8859-15'>\xA4", "iso-8859-15",
	    "<META CHARSET='iso-8859-15'>\xE2\x82\xAC");
	DECODES("<meta http-equiv=Content-Type content=\"text/html; "
	    "charset=windows-1252\">\x80", "windows-1252",
	    "<meta http-equiv=Content-Type content=\"text/html; "
	    "charset=windows-1252\">\xE2\x82\xAC");
	/* content= without http-equiv names nothing. */
	DECODES("<meta content=\"text/html; charset=koi8-r\">\xC3\xA9",
	    "utf-8", "<meta content=\"text/html; charset=koi8-r\">\xC3\xA9");
	/* A meta inside a comment does not count. */
	DECODES("<!-- <meta charset=koi8-r> --><p>\xE9", "windows-1252",
	    "<!-- <meta charset=koi8-r> --><p>\xC3\xA9");
	/* A page that claims UTF-16 in ASCII is read as UTF-8. */
	DECODES("<meta charset=utf-16><p>\xC3\xA9", "utf-8",
	    "<meta charset=utf-16><p>\xC3\xA9");
}

static void
test_default(void **state)
{
	/* Valid UTF-8 stays UTF-8; anything else is windows-1252. */
	DECODES("<p>\xE2\x82\xAC", "utf-8", "<p>\xE2\x82\xAC");
	DECODES("<p>\x93q\x94", "windows-1252",
	    "<p>\xE2\x80\x9Cq\xE2\x80\x9D");
	/* Bytes windows-1252 leaves undefined become U+FFFD. */
	DECODES("<p>\x81\x8D\xE9", "windows-1252",
	    "<p>\xEF\xBF\xBD\xEF\xBF\xBD\xC3\xA9");
	/* A UTF-8 label over invalid bytes repairs them. */
	DECODES("<meta charset=utf-8>\xFF", "utf-8",
	    "<meta charset=utf-8>\xEF\xBF\xBD");
	DECODES("", "utf-8", "");
	/* glibc takes "utf\x13-8" for UTF-8 and copies bad bytes: found by
	 * fuzz_html2gmi; they must still come out repaired. */
	DECODES("<meta charset=\"utf\x13-8\">\xFF", "utf\x13-8",
	    "<meta charset=\"utf\x13-8\">\xEF\xBF\xBD");
}

static void
test_unknown_label(void **state)
{
	struct buf	 out;
	char		 got[H2G_CHARSET_MAX];

	buf_init(&out);
	assert_int_equal(charset_to_utf8("<meta charset=x-nonesuch>\xE9", 26,
	    &out, got, sizeof(got)), 1);
	assert_string_equal(got, "windows-1252");
	assert_string_equal(out.data, "<meta charset=x-nonesuch>\xC3\xA9");
	buf_free(&out);
}

static void
test_sniff(void **state)
{
	assert_null(html_sniff("<p>x", 4));
	assert_null(html_sniff("  <!DOCTYPE html>", 17));
	assert_null(html_sniff("text first <b>then a tag", 24));
	assert_null(html_sniff("<p>a\0b", 6));	/* a NUL after markup */
	assert_string_equal(html_sniff("", 0),
	    "empty input, not an HTML document");
	assert_string_equal(html_sniff(" \n\t", 3),
	    "empty input, not an HTML document");
	assert_string_equal(html_sniff("a < b and c > d", 15),
	    "no HTML markup found, not an HTML document");
	assert_string_equal(html_sniff("\x89PNG\r\n\x1a\n<p>", 11),
	    "binary data, not an HTML document");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_meta),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_unknown_label),
		cmocka_unit_test(test_sniff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
