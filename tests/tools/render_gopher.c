/*
 * render_gopher: the golden-test driver of render_gopher.c.  Reads gemtext
 * on stdin and writes the Gopher menu or plain text of the page at PATH,
 * served from a fixed site (example.org) and MIME types guessed from link names (the
 * fuzzers' stand-in for capsule_mime(), tests/fuzz/common.c), so that the
 * expected output depends on nothing but the input.
 *
 *	render_gopher menu|text PATH [WRAP] < page.gmi
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int
main(int argc, char *argv[])
{
	struct gopher_site	 site = { .host = "example.org",
				    .port = GOPHER_DEFAULT_PORT,
				    .gemini_host = "example.org",
				    .gemini_port = GEMINI_DEFAULT_PORT };
	struct gopher_page	 pg = { .site = &site, .mime = fuzz_mime };
	struct gmi_doc		 doc;
	struct buf		 in, out, ts;
	char			 chunk[4096];
	size_t			 n;
	const char		*dot;
	int			 r;

	if (argc < 3 || (strcmp(argv[1], "menu") && strcmp(argv[1], "text"))) {
		fprintf(stderr, "usage: render_gopher menu|text PATH [WRAP]\n");
		return 2;
	}
	site.wrap = argc > 3 ? atoi(argv[3]) : WRAP_DEFAULT;
	pg.path = argv[2];

	buf_init(&in);
	buf_init(&out);
	buf_init(&ts);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_append(&in, chunk, n) == -1)
			return 1;
	/* The sibling selector, as gopher.c names it. */
	if (path_ends_with(pg.path, "/"))
		buf_printf(&ts, "%sindex.txt", pg.path);
	else if ((dot = strrchr(pg.path, '.')) != NULL) {
		buf_append(&ts, pg.path, (size_t)(dot - pg.path));
		buf_puts(&ts, ".txt");
	}
	pg.text_sel = ts.data;
	gmi_init(&doc);
	if (gmi_parse(&doc, in.data ? in.data : "", in.len) == -1)
		return 1;
	r = strcmp(argv[1], "menu") == 0 ? gopher_render_menu(&out, &doc, &pg) :
	    gopher_render_text(&out, &doc, &pg);
	if (r == -1)
		return 1;
	fwrite(out.data, 1, out.len, stdout);
	gmi_free(&doc);
	buf_free(&in);
	buf_free(&out);
	buf_free(&ts);
	return 0;
}
