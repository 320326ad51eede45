/* test_utf8.c: decoding, encoding, validation, repair and widths of UTF-8. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lumbar.h"

static void
decodes(const char *s, size_t n, int len, uint32_t cp)
{
	uint32_t got = 0;

	assert_int_equal(utf8_decode(s, n, &got), len);
	assert_int_equal(got, cp);
}

static void
invalid(const char *s, size_t n)
{
	uint32_t got = 0;

	if (utf8_decode(s, n, &got) != -1)
		fail_msg("decoded invalid sequence of %zu bytes, 0x%02x...",
		    n, (unsigned char)s[0]);
	assert_int_equal(got, UTF8_REPLACEMENT);
	if (utf8_valid(s, n))
		fail_msg("utf8_valid accepted 0x%02x...", (unsigned char)s[0]);
}

static void
test_decode(void **state)
{
	decodes("A", 1, 1, 'A');
	decodes("\x7f", 1, 1, 0x7F);
	decodes("\xC2\x80", 2, 2, 0x80);
	decodes("\xC3\xA9", 2, 2, 0xE9);
	decodes("\xDF\xBF", 2, 2, 0x7FF);
	decodes("\xE0\xA0\x80", 3, 3, 0x800);
	decodes("\xE2\x82\xAC", 3, 3, 0x20AC);
	decodes("\xED\x9F\xBF", 3, 3, 0xD7FF);
	decodes("\xEE\x80\x80", 3, 3, 0xE000);
	decodes("\xEF\xBF\xBD", 3, 3, 0xFFFD);
	decodes("\xF0\x90\x80\x80", 4, 4, 0x10000);
	decodes("\xF0\x9F\x90\x8D", 4, 4, 0x1F40D);
	decodes("\xF4\x8F\xBF\xBF", 4, 4, 0x10FFFF);
	/* only the first code point is read */
	decodes("\xC3\xA9xyz", 5, 2, 0xE9);
}

static void
test_invalid(void **state)
{
	uint32_t cp;

	invalid("\x80", 1);			/* lone continuation */
	invalid("\xBF", 1);
	invalid("\xC3", 1);			/* truncated */
	invalid("\xE2\x82", 2);
	invalid("\xF0\x9F\x90", 3);
	invalid("\xC3(", 2);			/* bad continuation */
	invalid("\xE2(\xAC", 3);
	invalid("\xC0\x80", 2);			/* overlong NUL */
	invalid("\xC0\xAF", 2);			/* overlong '/' */
	invalid("\xC1\xBF", 2);
	invalid("\xE0\x80\xAE", 3);		/* overlong '.' */
	invalid("\xE0\x9F\xBF", 3);
	invalid("\xF0\x80\x80\xAF", 4);
	invalid("\xF0\x8F\xBF\xBF", 4);
	invalid("\xED\xA0\x80", 3);		/* surrogates */
	invalid("\xED\xBF\xBF", 3);
	invalid("\xF4\x90\x80\x80", 4);		/* past U+10FFFF */
	invalid("\xF7\xBF\xBF\xBF", 4);
	invalid("\xF8\x88\x80\x80\x80", 5);	/* 5- and 6-byte forms */
	invalid("\xFC\x84\x80\x80\x80\x80", 6);
	invalid("\xFE", 1);
	invalid("\xFF", 1);
	/* n is honoured: a valid sequence cut short is invalid */
	assert_int_equal(utf8_decode("\xC3\xA9", 1, &cp), -1);
	assert_int_equal(utf8_decode("", 0, &cp), -1);
}

static void
test_encode(void **state)
{
	static const uint32_t cps[] = { 0, 'A', 0x7F, 0x80, 0x7FF, 0x800,
	    0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x1F40D, 0x10FFFF };
	char		 out[4];
	uint32_t	 back;
	int		 n;

	for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
		n = utf8_encode(cps[i], out);
		assert_in_range(n, 1, 4);
		assert_int_equal(utf8_decode(out, (size_t)n, &back), n);
		assert_int_equal(back, cps[i]);
	}
	assert_int_equal(utf8_encode(0xE9, out), 2);
	assert_memory_equal(out, "\xC3\xA9", 2);
	assert_int_equal(utf8_encode(0x20AC, out), 3);
	assert_memory_equal(out, "\xE2\x82\xAC", 3);
	/* what cannot be encoded becomes U+FFFD */
	assert_int_equal(utf8_encode(0xD800, out), 3);
	assert_memory_equal(out, "\xEF\xBF\xBD", 3);
	assert_int_equal(utf8_encode(0x110000, out), 3);
	assert_memory_equal(out, "\xEF\xBF\xBD", 3);
}

static void
test_valid(void **state)
{
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("plain ascii", 11));
	assert_true(utf8_valid("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\x8D",
	    14));
	assert_true(utf8_valid("a\0b", 3));	/* NUL is valid UTF-8 */
	assert_false(utf8_valid("caf\xE9", 4));
	assert_false(utf8_valid("ok\xC3", 3));
	assert_false(utf8_valid("\xC3\xA9\x80", 3));
	/* n bounds the check */
	assert_true(utf8_valid("ok\xFF", 2));
}

static void
repaired(const char *in, size_t n, const char *want)
{
	struct buf b;

	buf_init(&b);
	assert_int_equal(utf8_repair(&b, in, n), 0);
	/* an empty buffer may hold no storage yet */
	assert_string_equal(b.len ? b.data : "", want);
	assert_int_equal(b.len, strlen(want));
	assert_true(b.len == 0 || utf8_valid(b.data, b.len));
	buf_free(&b);
}

static void
test_repair(void **state)
{
	repaired("", 0, "");
	repaired("ok", 2, "ok");
	repaired("caf\xC3\xA9", 5, "caf\xC3\xA9");
	repaired("caf\xE9", 4, "caf\xEF\xBF\xBD");
	repaired("\xFF\xFE", 2, "\xEF\xBF\xBD\xEF\xBF\xBD");
	repaired("a\xC3(b", 4, "a\xEF\xBF\xBD(b");
	repaired("\xED\xA0\x80", 3,
	    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	/* One U+FFFD per maximal subpart, as WHATWG's decoder gives. */
	repaired("x\xF0\x9F\x90", 4, "x\xEF\xBF\xBD");
	repaired("\xE2\x82", 2, "\xEF\xBF\xBD");
	repaired("\xE2\x82(", 3, "\xEF\xBF\xBD(");
	repaired("\xE0\x80\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	repaired("\xF4\x90\x80\x80", 4,
	    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	repaired("\xF1\x80\x80\xE1\x80\xC0", 6,
	    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	/* appends */
	{
		struct buf b;

		buf_init(&b);
		assert_int_equal(buf_puts(&b, "pre:"), 0);
		assert_int_equal(utf8_repair(&b, "\xFF", 1), 0);
		assert_string_equal(b.data, "pre:\xEF\xBF\xBD");
		buf_free(&b);
	}
}

static void
test_chars_width(void **state)
{
	assert_int_equal(utf8_chars("", 0), 0);
	assert_int_equal(utf8_chars("abc", 3), 3);
	assert_int_equal(utf8_chars("caf\xC3\xA9", 5), 4);
	assert_int_equal(utf8_chars("\xF0\x9F\x90\x8D\xE2\x82\xAC", 7), 2);
	assert_int_equal(utf8_chars("a\xFF\xFE" "b", 4), 4);
	assert_int_equal(utf8_width('a'), 1);
	assert_int_equal(utf8_width(0xE9), 1);
	assert_int_equal(utf8_width(0x0301), 0);	/* combining acute */
	assert_int_equal(utf8_width(0x200B), 0);
	assert_int_equal(utf8_width(0x4E2D), 2);	/* CJK */
	assert_int_equal(utf8_width(0xAC00), 2);	/* Hangul */
	assert_int_equal(utf8_width(0xFF21), 2);	/* fullwidth A */
	assert_int_equal(utf8_width(0x1F40D), 2);
}

/* Every 1- and 2-byte input: decode and valid agree, repair is valid. */
static void
test_exhaustive_short(void **state)
{
	char		 s[2];
	uint32_t	 cp;
	struct buf	 b;

	buf_init(&b);
	for (int i = 0; i < 256; i++) {
		for (int j = 0; j < 256; j++) {
			s[0] = (char)i;
			s[1] = (char)j;
			bool ok = utf8_valid(s, 2);
			int k = utf8_decode(s, 2, &cp);

			if (k == 2)
				assert_true(ok);
			if (k == -1)
				assert_false(ok);
			buf_reset(&b);
			assert_int_equal(utf8_repair(&b, s, 2), 0);
			assert_true(utf8_valid(b.data, b.len));
			if (ok)
				assert_memory_equal(b.data, s, 2);
		}
	}
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_repair),
		cmocka_unit_test(test_chars_width),
		cmocka_unit_test(test_exhaustive_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
