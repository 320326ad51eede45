/*
 * test_gemtext.c: the gemtext line model: gmi_parse for every line type,
 * gmi_write, their round trip, escaping of text that looks like markup,
 * repair of NUL and invalid UTF-8, and gmi_title; what is gemtext, by
 * name and by MIME type.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lumbar.h"

static void
parse_str(struct gmi_doc *d, const char *s)
{
	gmi_init(d);
	assert_int_equal(gmi_parse(d, s, strlen(s)), 0);
}

static void
line_is(const struct gmi_doc *d, size_t i, enum gmi_type type,
    const char *text, const char *url)
{
	if (i >= d->len)
		fail_msg("line %zu missing (document has %zu)", i, d->len);
	if (d->lines[i].type != type)
		fail_msg("line %zu (\"%s\"): type %d, want %d", i,
		    d->lines[i].text, d->lines[i].type, type);
	assert_non_null(d->lines[i].text);
	if (strcmp(d->lines[i].text, text) != 0)
		fail_msg("line %zu: text \"%s\", want \"%s\"", i,
		    d->lines[i].text, text);
	if (url == NULL) {
		if (d->lines[i].url != NULL)
			fail_msg("line %zu: unexpected url \"%s\"", i,
			    d->lines[i].url);
	} else {
		if (d->lines[i].url == NULL)
			fail_msg("line %zu: url missing", i);
		if (strcmp(d->lines[i].url, url) != 0)
			fail_msg("line %zu: url \"%s\", want \"%s\"", i,
			    d->lines[i].url, url);
	}
}

/* One line of gemtext parses to one line of this type. */
static void
one_line(const char *src, enum gmi_type type, const char *text,
    const char *url)
{
	struct gmi_doc d;

	parse_str(&d, src);
	if (d.len != 1)
		fail_msg("\"%s\": %zu lines, want 1", src, d.len);
	line_is(&d, 0, type, text, url);
	gmi_free(&d);
}

static char *
write_doc(const struct gmi_doc *d)
{
	struct buf b;

	buf_init(&b);
	assert_int_equal(gmi_write(d, &b), 0);
	return buf_steal(&b);
}

static void
test_text(void **state)
{
	one_line("plain text", GMI_TEXT, "plain text", NULL);
	one_line("  leading space", GMI_TEXT, "  leading space", NULL);
	one_line("*not an item", GMI_TEXT, "*not an item", NULL);
	one_line("- dash is text", GMI_TEXT, "- dash is text", NULL);
	one_line("=not a link", GMI_TEXT, "=not a link", NULL);
	one_line(" => indented", GMI_TEXT, " => indented", NULL);
	one_line("``two backticks", GMI_TEXT, "``two backticks", NULL);
	one_line("=>", GMI_TEXT, "=>", NULL);
	one_line("=>   ", GMI_TEXT, "=>   ", NULL);
}

static void
test_link(void **state)
{
	one_line("=> /a", GMI_LINK, "", "/a");
	one_line("=>/a", GMI_LINK, "", "/a");
	one_line("=> /a Label", GMI_LINK, "Label", "/a");
	one_line("=>\t/a\tTab label\t ", GMI_LINK, "Tab label", "/a");
	one_line("=>   gemini://x.test/p?q   Many  inner  spaces   ",
	    GMI_LINK, "Many  inner  spaces", "gemini://x.test/p?q");
	one_line("=> https://example.org/ \xC3\x89t\xC3\xA9", GMI_LINK,
	    "\xC3\x89t\xC3\xA9", "https://example.org/");
	one_line("=> rel/page.gmi # not a heading", GMI_LINK,
	    "# not a heading", "rel/page.gmi");
}

static void
test_headings(void **state)
{
	one_line("# Title", GMI_H1, "Title", NULL);
	one_line("#Title", GMI_H1, "Title", NULL);
	one_line("## Sub", GMI_H2, "Sub", NULL);
	one_line("##   Sub", GMI_H2, "Sub", NULL);
	one_line("### Subsub", GMI_H3, "Subsub", NULL);
	one_line("###Subsub", GMI_H3, "Subsub", NULL);
	one_line("#### Deeper", GMI_H3, "# Deeper", NULL);
	one_line("#", GMI_H1, "", NULL);
}

static void
test_item_quote(void **state)
{
	one_line("* item", GMI_ITEM, "item", NULL);
	one_line("* ", GMI_ITEM, "", NULL);
	one_line(">quote", GMI_QUOTE, "quote", NULL);
	one_line("> quote", GMI_QUOTE, "quote", NULL);
	one_line(">", GMI_QUOTE, "", NULL);
	one_line("> > nested", GMI_QUOTE, "> nested", NULL);
}

static void
test_pre(void **state)
{
	struct gmi_doc d;

	parse_str(&d, "```alt text\n# not heading\n=> not link\n* not item\n"
	    "  indented  \n\n```\nafter\n");
	assert_int_equal(d.len, 8);
	line_is(&d, 0, GMI_PRE_START, "alt text", NULL);
	line_is(&d, 1, GMI_PRE, "# not heading", NULL);
	line_is(&d, 2, GMI_PRE, "=> not link", NULL);
	line_is(&d, 3, GMI_PRE, "* not item", NULL);
	line_is(&d, 4, GMI_PRE, "  indented  ", NULL);
	line_is(&d, 5, GMI_PRE, "", NULL);
	line_is(&d, 6, GMI_PRE_END, "", NULL);
	line_is(&d, 7, GMI_TEXT, "after", NULL);
	gmi_free(&d);

	/* Anything after the closing backticks is ignored. */
	parse_str(&d, "```\nx\n```trailing\n# h\n");
	assert_int_equal(d.len, 4);
	line_is(&d, 0, GMI_PRE_START, "", NULL);
	line_is(&d, 1, GMI_PRE, "x", NULL);
	line_is(&d, 2, GMI_PRE_END, "", NULL);
	line_is(&d, 3, GMI_H1, "h", NULL);
	gmi_free(&d);

	/* Two blocks in a row. */
	parse_str(&d, "```a\n1\n```\n```b\n2\n```\n");
	assert_int_equal(d.len, 6);
	line_is(&d, 3, GMI_PRE_START, "b", NULL);
	line_is(&d, 4, GMI_PRE, "2", NULL);
	gmi_free(&d);
}

static void
test_unterminated_pre(void **state)
{
	struct gmi_doc	 d;
	char		*out;

	parse_str(&d, "# T\n```\ncode\n=> x y");
	assert_int_equal(d.len, 5);
	line_is(&d, 0, GMI_H1, "T", NULL);
	line_is(&d, 1, GMI_PRE_START, "", NULL);
	line_is(&d, 2, GMI_PRE, "code", NULL);
	line_is(&d, 3, GMI_PRE, "=> x y", NULL);
	line_is(&d, 4, GMI_PRE_END, "", NULL);
	out = write_doc(&d);
	assert_string_equal(out, "# T\n```\ncode\n=> x y\n```\n");
	free(out);
	gmi_free(&d);

	parse_str(&d, "```");
	assert_int_equal(d.len, 2);
	line_is(&d, 0, GMI_PRE_START, "", NULL);
	line_is(&d, 1, GMI_PRE_END, "", NULL);
	gmi_free(&d);
}

static void
test_lines_and_crlf(void **state)
{
	struct gmi_doc d;

	parse_str(&d, "");
	assert_int_equal(d.len, 0);
	gmi_free(&d);

	parse_str(&d, "\n\n");
	assert_int_equal(d.len, 2);
	line_is(&d, 0, GMI_TEXT, "", NULL);
	line_is(&d, 1, GMI_TEXT, "", NULL);
	gmi_free(&d);

	parse_str(&d, "no final newline");
	assert_int_equal(d.len, 1);
	line_is(&d, 0, GMI_TEXT, "no final newline", NULL);
	gmi_free(&d);

	parse_str(&d, "# T\r\n=> /x y\r\ntext\r\n\r\n```a\r\npre\r\n```\r\n"
	    "* i\r\n> q\r\n");
	assert_int_equal(d.len, 9);
	line_is(&d, 0, GMI_H1, "T", NULL);
	line_is(&d, 1, GMI_LINK, "y", "/x");
	line_is(&d, 2, GMI_TEXT, "text", NULL);
	line_is(&d, 3, GMI_TEXT, "", NULL);
	line_is(&d, 4, GMI_PRE_START, "a", NULL);
	line_is(&d, 5, GMI_PRE, "pre", NULL);
	line_is(&d, 6, GMI_PRE_END, "", NULL);
	line_is(&d, 7, GMI_ITEM, "i", NULL);
	line_is(&d, 8, GMI_QUOTE, "q", NULL);
	for (size_t i = 0; i < d.len; i++)
		assert_null(strchr(d.lines[i].text, '\r'));
	gmi_free(&d);

	/* gmi_parse appends to what the document holds. */
	parse_str(&d, "# one\n");
	assert_int_equal(gmi_parse(&d, "two\n", 4), 0);
	assert_int_equal(d.len, 2);
	line_is(&d, 0, GMI_H1, "one", NULL);
	line_is(&d, 1, GMI_TEXT, "two", NULL);
	gmi_free(&d);
}

/* NUL bytes and invalid UTF-8 never reach the model's strings. */
static void
test_repair(void **state)
{
	static const char src[] = "a\0b\n# caf\xE9\n=> /x\xFF lab\xC0\xAF" "el\n"
	    "```\npre\0\xFE\n```\n";
	struct gmi_doc	 d;
	char		*out;

	gmi_init(&d);
	assert_int_equal(gmi_parse(&d, src, sizeof(src) - 1), 0);
	assert_int_equal(d.len, 6);
	for (size_t i = 0; i < d.len; i++) {
		assert_true(utf8_valid(d.lines[i].text,
		    strlen(d.lines[i].text)));
		if (d.lines[i].url != NULL)
			assert_true(utf8_valid(d.lines[i].url,
			    strlen(d.lines[i].url)));
	}
	/* Nothing after the NUL is lost. */
	assert_int_equal(d.lines[0].type, GMI_TEXT);
	assert_non_null(strchr(d.lines[0].text, 'a'));
	assert_non_null(strchr(d.lines[0].text, 'b'));
	line_is(&d, 1, GMI_H1, "caf\xEF\xBF\xBD", NULL);
	assert_int_equal(d.lines[2].type, GMI_LINK);
	assert_string_equal(d.lines[2].url, "/x\xEF\xBF\xBD");
	assert_non_null(strstr(d.lines[2].text, "lab"));
	assert_non_null(strstr(d.lines[2].text, "el"));
	assert_non_null(strstr(d.lines[2].text, "\xEF\xBF\xBD"));
	assert_int_equal(d.lines[4].type, GMI_PRE);
	assert_non_null(strstr(d.lines[4].text, "pre"));
	assert_non_null(strstr(d.lines[4].text, "\xEF\xBF\xBD"));

	out = write_doc(&d);
	assert_true(utf8_valid(out, strlen(out)));
	gmi_free(&d);
	free(out);

	/* gmi_add repairs too. */
	gmi_init(&d);
	assert_int_equal(gmi_add(&d, GMI_TEXT, "x\xFFy\0z", 5), 0);
	assert_true(utf8_valid(d.lines[0].text, strlen(d.lines[0].text)));
	assert_non_null(strchr(d.lines[0].text, 'z'));
	assert_int_equal(gmi_add_link(&d, "/\xFF", "\xC3"), 0);
	assert_string_equal(d.lines[1].url, "/\xEF\xBF\xBD");
	assert_string_equal(d.lines[1].text, "\xEF\xBF\xBD");
	gmi_free(&d);
}

static void
test_write_each_type(void **state)
{
	struct gmi_doc	 d;
	char		*out;

	gmi_init(&d);
	assert_int_equal(gmi_add(&d, GMI_H1, "Title", 5), 0);
	assert_int_equal(gmi_add(&d, GMI_H2, "Sub", 3), 0);
	assert_int_equal(gmi_add(&d, GMI_H3, "Subsub", 6), 0);
	assert_int_equal(gmi_add(&d, GMI_TEXT, "text", 4), 0);
	assert_int_equal(gmi_add(&d, GMI_TEXT, NULL, 0), 0);
	assert_int_equal(gmi_add_link(&d, "/a.gmi", "Label"), 0);
	assert_int_equal(gmi_add_link(&d, "/b.gmi", NULL), 0);
	assert_int_equal(gmi_add_link(&d, "/c.gmi", ""), 0);
	assert_int_equal(gmi_add(&d, GMI_ITEM, "item", 4), 0);
	assert_int_equal(gmi_add(&d, GMI_QUOTE, "quote", 5), 0);
	assert_int_equal(gmi_add(&d, GMI_PRE_START, "alt", 3), 0);
	assert_int_equal(gmi_add(&d, GMI_PRE, "  x = 1;  ", 10), 0);
	assert_int_equal(gmi_add(&d, GMI_PRE, "# raw", 5), 0);
	assert_int_equal(gmi_add(&d, GMI_PRE, "=> raw", 6), 0);
	assert_int_equal(gmi_add(&d, GMI_PRE_END, "", 0), 0);
	out = write_doc(&d);
	assert_string_equal(out,
	    "# Title\n## Sub\n### Subsub\ntext\n\n=> /a.gmi Label\n"
	    "=> /b.gmi\n=> /c.gmi\n* item\n> quote\n```alt\n  x = 1;  \n"
	    "# raw\n=> raw\n```\n");
	free(out);
	gmi_free(&d);
}

/* Text that would read as markup must come back as the same type. */
static void
test_escaping(void **state)
{
	static const char *const tricky[] = {
		"=> /evil Evil", "=>/evil", "# heading", "## h2", "### h3",
		"#", "* item", "> quote", ">", "```", "```alt", NULL,
	};
	static const enum gmi_type types[] = {
		GMI_TEXT, GMI_ITEM, GMI_QUOTE, GMI_H1, GMI_H2, GMI_H3,
	};
	struct gmi_doc	 d, back;
	char		*out;
	const char	*got;

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		for (const char *const *s = tricky; *s != NULL; s++) {
			gmi_init(&d);
			assert_int_equal(gmi_add(&d, types[t], *s,
			    strlen(*s)), 0);
			assert_int_equal(gmi_add(&d, GMI_TEXT, "end", 3), 0);
			out = write_doc(&d);
			parse_str(&back, out);
			if (back.len != 2 || back.lines[0].type != types[t] ||
			    back.lines[1].type != GMI_TEXT)
				fail_msg("type %d text \"%s\" wrote \"%s\"",
				    types[t], *s, out);
			/* the words survive, an escaping blank aside */
			got = back.lines[0].text;
			if (types[t] == GMI_TEXT)
				got += strspn(got, " \t");
			if (strcmp(got, *s) != 0)
				fail_msg("type %d text \"%s\" came back \"%s\"",
				    types[t], *s, back.lines[0].text);
			free(out);
			gmi_free(&d);
			gmi_free(&back);
		}
	}

	/* Inside a block only the closing backticks need escaping. */
	gmi_init(&d);
	assert_int_equal(gmi_add(&d, GMI_PRE_START, "", 0), 0);
	assert_int_equal(gmi_add(&d, GMI_PRE, "```", 3), 0);
	assert_int_equal(gmi_add(&d, GMI_PRE, "```not the end", 14), 0);
	assert_int_equal(gmi_add(&d, GMI_PRE, "# kept", 6), 0);
	assert_int_equal(gmi_add(&d, GMI_PRE_END, "", 0), 0);
	assert_int_equal(gmi_add(&d, GMI_TEXT, "after", 5), 0);
	out = write_doc(&d);
	parse_str(&back, out);
	assert_int_equal(back.len, 6);
	line_is(&back, 0, GMI_PRE_START, "", NULL);
	assert_int_equal(back.lines[1].type, GMI_PRE);
	assert_non_null(strstr(back.lines[1].text, "```"));
	assert_int_equal(back.lines[2].type, GMI_PRE);
	assert_non_null(strstr(back.lines[2].text, "```not the end"));
	line_is(&back, 3, GMI_PRE, "# kept", NULL);
	line_is(&back, 4, GMI_PRE_END, "", NULL);
	line_is(&back, 5, GMI_TEXT, "after", NULL);
	free(out);
	gmi_free(&d);
	gmi_free(&back);
}

/* No text can forge a second line; link targets cannot break their line. */
static void
test_no_line_injection(void **state)
{
	struct gmi_doc	 d, back;
	char		*out;

	gmi_init(&d);
	assert_int_equal(gmi_add(&d, GMI_H1, "a\n=> /evil x", 12), 0);
	assert_int_equal(gmi_add(&d, GMI_TEXT, "b\r\n# forged", 11), 0);
	assert_int_equal(gmi_add(&d, GMI_ITEM, "c\n```", 5), 0);
	assert_int_equal(gmi_add_link(&d, "/x y\n# z", "label\n# forged"), 0);
	assert_int_equal(gmi_add_link(&d, "/t\tu", "tab"), 0);
	out = write_doc(&d);
	parse_str(&back, out);
	if (back.len != 5)
		fail_msg("5 lines wrote %zu: \"%s\"", back.len, out);
	assert_int_equal(back.lines[0].type, GMI_H1);
	assert_int_equal(back.lines[1].type, GMI_TEXT);
	assert_int_equal(back.lines[2].type, GMI_ITEM);
	assert_int_equal(back.lines[3].type, GMI_LINK);
	/* The target keeps its bytes, encoded, and the label is intact. */
	assert_null(strchr(back.lines[3].url, ' '));
	assert_non_null(strstr(back.lines[3].url, "/x%20y"));
	assert_non_null(strstr(back.lines[3].text, "label"));
	assert_non_null(strstr(back.lines[3].text, "forged"));
	line_is(&back, 4, GMI_LINK, "tab", "/t%09u");
	free(out);
	gmi_free(&d);
	gmi_free(&back);
}

static const char canonical[] =
    "# Title\n"
    "\n"
    "Some text with \xC3\xA9 and => inside.\n"
    "=> /a.gmi Label A\n"
    "=> gemini://x.test/\n"
    "=> https://example.org/?q=1 External link\n"
    "* one\n"
    "* two\n"
    "> quoted\n"
    "## Sub\n"
    "### Subsub\n"
    "```alt text\n"
    "# raw\n"
    "=> raw\n"
    "   spaced   \n"
    "```\n"
    "end\n";

static void
test_round_trip_text(void **state)
{
	struct gmi_doc	 d, again;
	char		*out, *out2;

	parse_str(&d, canonical);
	assert_int_equal(d.len, 17);
	out = write_doc(&d);
	assert_string_equal(out, canonical);
	parse_str(&again, out);
	out2 = write_doc(&again);
	assert_string_equal(out2, canonical);
	free(out);
	free(out2);
	gmi_free(&d);
	gmi_free(&again);
}

/* Model -> gemtext -> model keeps every line's type, text and target. */
static void
test_round_trip_model(void **state)
{
	struct gmi_doc	 d, back;
	char		*out;

	gmi_init(&d);
	assert_int_equal(gmi_add(&d, GMI_H1, "Caf\xC3\xA9", 5), 0);
	assert_int_equal(gmi_add(&d, GMI_TEXT, "", 0), 0);
	assert_int_equal(gmi_add(&d, GMI_TEXT, "Plain *words*", 13), 0);
	assert_int_equal(gmi_add_link(&d, "sub/page.gmi", "A page"), 0);
	assert_int_equal(gmi_add_link(&d, "gemini://h.test:1966/x?y",
	    "Other"), 0);
	assert_int_equal(gmi_add_link(&d, "/no-label", ""), 0);
	assert_int_equal(gmi_add(&d, GMI_ITEM, "item", 4), 0);
	assert_int_equal(gmi_add(&d, GMI_QUOTE, "said", 4), 0);
	assert_int_equal(gmi_add(&d, GMI_H2, "two", 3), 0);
	assert_int_equal(gmi_add(&d, GMI_H3, "three", 5), 0);
	assert_int_equal(gmi_add(&d, GMI_PRE_START, "c", 1), 0);
	assert_int_equal(gmi_add(&d, GMI_PRE, "\tint x;", 7), 0);
	assert_int_equal(gmi_add(&d, GMI_PRE_END, "", 0), 0);
	out = write_doc(&d);
	parse_str(&back, out);
	assert_int_equal(back.len, d.len);
	for (size_t i = 0; i < d.len; i++)
		line_is(&back, i, d.lines[i].type, d.lines[i].text,
		    d.lines[i].url);
	free(out);
	gmi_free(&d);
	gmi_free(&back);
}

static void
test_title(void **state)
{
	struct gmi_doc d;

	parse_str(&d, "text\n## Second\n# First H1\n# Later\n");
	assert_non_null(gmi_title(&d));
	assert_string_equal(gmi_title(&d), "First H1");
	gmi_free(&d);

	parse_str(&d, "text\n### Three\n## Two\n");
	assert_string_equal(gmi_title(&d), "Three");
	gmi_free(&d);

	parse_str(&d, "no heading\n=> /x # not a heading\n");
	assert_null(gmi_title(&d));
	gmi_free(&d);

	/* A heading inside a preformatted block is not a heading. */
	parse_str(&d, "```\n# in pre\n```\n## Real\n");
	assert_string_equal(gmi_title(&d), "Real");
	gmi_free(&d);

	gmi_init(&d);
	assert_null(gmi_title(&d));
	gmi_free(&d);
}

static void
test_large(void **state)
{
	struct buf	 src;
	struct gmi_doc	 d;
	char		*out;

	buf_init(&src);
	for (int i = 0; i < 20000; i++)
		assert_int_equal(buf_printf(&src, "=> /p%d.gmi Page %d\n", i,
		    i), 0);
	gmi_init(&d);
	assert_int_equal(gmi_parse(&d, src.data, src.len), 0);
	assert_int_equal(d.len, 20000);
	line_is(&d, 19999, GMI_LINK, "Page 19999", "/p19999.gmi");
	out = write_doc(&d);
	assert_string_equal(out, src.data);
	free(out);
	gmi_free(&d);
	buf_free(&src);

	/* One very long line. */
	buf_init(&src);
	assert_int_equal(buf_puts(&src, "# "), 0);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(buf_putc(&src, 'x'), 0);
	gmi_init(&d);
	assert_int_equal(gmi_parse(&d, src.data, src.len), 0);
	assert_int_equal(d.len, 1);
	assert_int_equal(strlen(d.lines[0].text), 100000);
	gmi_free(&d);
	buf_free(&src);
}

/* Every caller asks these: Gemini's lang=, Gopher's menus, listings. */
static void
test_is_gemtext(void **state)
{
	static const char *const types[] = {
		"text/gemini", GEMTEXT_MIME, "text/gemini;lang=en",
		"TEXT/Gemini; charset=utf-8", "text/gemini charset=utf-8",
	};
	static const char *const not_types[] = {
		"text/geminix", "text/gemini-x; charset=utf-8", "text/gem",
		"text/plain", "", "application/gemini",
	};
	static const char *const names[] = {
		"a.gmi", "/d/a.gemini", ".gmi", "/a.b.gmi", "index.gmi",
	};
	static const char *const not_names[] = {
		"a.gmi.txt", "/d.gmi/", "gmi", "/a.GMI", "a.gm", "a.gemini~", "",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		assert_true(gemtext_mime(types[i]));
	for (i = 0; i < sizeof(not_types) / sizeof(not_types[0]); i++)
		assert_false(gemtext_mime(not_types[i]));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_true(gemtext_name(names[i]));
	for (i = 0; i < sizeof(not_names) / sizeof(not_names[0]); i++)
		assert_false(gemtext_name(not_names[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_headings),
		cmocka_unit_test(test_item_quote),
		cmocka_unit_test(test_pre),
		cmocka_unit_test(test_unterminated_pre),
		cmocka_unit_test(test_lines_and_crlf),
		cmocka_unit_test(test_repair),
		cmocka_unit_test(test_write_each_type),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_no_line_injection),
		cmocka_unit_test(test_round_trip_text),
		cmocka_unit_test(test_round_trip_model),
		cmocka_unit_test(test_title),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_is_gemtext),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
