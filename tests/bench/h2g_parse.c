/*
 * h2g_parse: html2gmi's parse alone, the floor under its conversion, for
 * make bench-html2gmi-large.  Reads a file, decodes it to UTF-8, caps
 * its nesting and has gumbo build the tree in an arena, exactly as
 * convert.c does, then exits: what is left of html2gmi's time is its
 * own passes.
 */
#include <stdio.h>

#include "html2gmi/html2gmi.h"

int
main(int argc, char *argv[])
{
	GumboOptions	 opt = kGumboDefaultOptions;
	struct buf	 raw, text, capped, err;
	struct arena	 mem;
	char		 label[H2G_CHARSET_MAX];
	const char	*s;
	size_t		 n;

	if (argc != 2) {
		fputs("usage: h2g_parse FILE\n", stderr);
		return 2;
	}
	buf_init(&raw);
	buf_init(&text);
	buf_init(&capped);
	buf_init(&err);
	if (h2g_read_file(argv[1], &raw, (size_t)H2G_INPUT_MIB_MAX << 20, &err) < 0 ||
	    charset_to_utf8(raw.data ? raw.data : "", raw.len, &text, label,
	    sizeof(label)) == -1) {
		fprintf(stderr, "h2g_parse: %s: not read\n", argv[1]);
		return 1;
	}
	s = text.data ? text.data : "";
	n = text.len;
	switch (depth_cap(s, n, &capped)) {
	case -1:
		return 1;
	case 1:
		s = capped.data;
		n = capped.len;
		break;
	}
	opt.max_errors = 0;
	arena_init(&mem);
	arena_gumbo(&mem, &opt);
	if (gumbo_parse_with_options(&opt, s, n) == NULL)
		return 1;
	arena_free(&mem);
	buf_free(&raw);
	buf_free(&text);
	buf_free(&capped);
	buf_free(&err);
	return 0;
}
