/*
 * test_oom.c: out of memory in the gemtext model and in the pages lumbar
 * makes.  A document's failure sticks (lumbar.h); a search page and a
 * directory listing are made with each allocation failing in turn, and
 * each run must give the whole page or -1, never a page with lines
 * missing.  The Makefile links this test with ld --wrap, so that the
 * library's malloc, calloc, realloc and strdup are the ones below; the
 * ASan build (LUMBAR_SANITIZED) also finds what a failed run leaks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lumbar.h"

#define ALLOCS_MAX	5000	/* bounds each walk; a run makes far fewer */

void	*__real_malloc(size_t);
void	*__real_calloc(size_t, size_t);
void	*__real_realloc(void *, size_t);
char	*__real_strdup(const char *);
void	*__wrap_malloc(size_t);
void	*__wrap_calloc(size_t, size_t);
void	*__wrap_realloc(void *, size_t);
char	*__wrap_strdup(const char *);

static unsigned long	calls;		/* allocations since arm() */
static unsigned long	fail_at;	/* this one fails; 0: none */

static void
arm(unsigned long n)
{
	calls = 0;
	fail_at = n;
}

/* Did the failing allocation come?  No allocation fails after this. */
static bool
disarm(void)
{
	bool came = fail_at != 0 && calls >= fail_at;

	fail_at = 0;
	return came;
}

static bool
fails(void)
{
	if (fail_at == 0 || ++calls != fail_at)
		return false;
	errno = ENOMEM;
	return true;
}

void *
__wrap_malloc(size_t n)
{
	return fails() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t k, size_t n)
{
	return fails() ? NULL : __real_calloc(k, n);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return fails() ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	return fails() ? NULL : __real_strdup(s);
}

static char *
write_doc(const struct gmi_doc *doc)
{
	struct buf b;

	buf_init(&b);
	assert_int_equal(gmi_write(doc, &b), 0);
	return buf_steal(&b);
}

/* An allocation that fails sticks: later adds do nothing, one check. */
static void
test_doc_failure_sticks(void **state)
{
	struct gmi_doc	 doc;
	struct buf	 b;
	char		*s;

	gmi_init(&doc);
	assert_int_equal(gmi_add(&doc, GMI_H1, "kept", 4), 0);
	assert_int_equal(gmi_status(&doc), 0);
	arm(1);
	assert_int_equal(gmi_add(&doc, GMI_TEXT, "lost", 4), -1);
	assert_true(disarm());
	assert_int_equal(gmi_status(&doc), -1);
	assert_int_equal(gmi_add(&doc, GMI_TEXT, "more", 4), -1);
	assert_int_equal(gmi_add_link(&doc, "/x", "x"), -1);
	assert_int_equal(gmi_printf(&doc, GMI_TEXT, "%d", 1), -1);
	assert_int_equal(gmi_parse(&doc, "text\n", 5), -1);
	assert_int_equal(gmi_parse(&doc, "", 0), -1);
	assert_int_equal(doc.len, 1);
	assert_string_equal(doc.lines[0].text, "kept");
	/* Written, a failed page fails its buffer: no half page is sent. */
	buf_init(&b);
	assert_int_equal(buf_puts(&b, "20 text/gemini\r\n"), 0);
	assert_int_equal(gmi_write(&doc, &b), -1);
	assert_int_equal(buf_status(&b), -1);
	buf_free(&b);
	gmi_free(&doc);			/* emptied: good again */
	assert_int_equal(gmi_status(&doc), 0);
	assert_int_equal(gmi_add(&doc, GMI_TEXT, "new", 3), 0);
	gmi_fail(&doc);			/* a line that could not be made */
	assert_int_equal(gmi_status(&doc), -1);
	assert_int_equal(gmi_add(&doc, GMI_TEXT, "no", 2), -1);
	gmi_free(&doc);
	gmi_init(&doc);
	assert_int_equal(gmi_status(&doc), 0);
	assert_int_equal(gmi_printf(&doc, GMI_TEXT, "%s %d", "ok", 2), 0);
	s = write_doc(&doc);
	assert_string_equal(s, "ok 2\n");
	free(s);
	gmi_free(&doc);
}

/* What a walk makes: a page into doc, 0 or -1 as the maker answers. */
typedef int (*make_fn)(void *, struct gmi_doc *);

/*
 * Make the page with allocation 1, 2, ... failing until a run makes no
 * more: each run that met its failure answers -1, or 0 with the page
 * want (or, where a failure may be met with a lesser page, also).
 */
static void
walk(make_fn make, void *arg, const char *want, const char *also)
{
	struct gmi_doc	 doc;
	unsigned long	 n;
	bool		 failed;
	char		*page;
	int		 r;

	for (n = 1; n <= ALLOCS_MAX; n++) {
		gmi_init(&doc);
		arm(n);
		r = make(arg, &doc);
		failed = disarm();
		if (r == 0) {
			page = write_doc(&doc);
			if (strcmp(page, want) != 0 && (!failed ||
			    also == NULL || strcmp(page, also) != 0))
				fail_msg("allocation %lu failed%s, and the "
				    "page is:\n%s", n, failed ? "" :
				    " (none)", page);
			free(page);
		}
		gmi_free(&doc);
		if (!failed) {
			assert_int_equal(r, 0);
			return;		/* every allocation was tried */
		}
	}
	fail_msg("more than %d allocations", ALLOCS_MAX);
}

static int
make_parsed(void *arg, struct gmi_doc *doc)
{
	return gmi_parse(doc, arg, strlen(arg));
}

/* The parser, each line type among them. */
static void
test_parse_oom(void **state)
{
	const char *src = "# Title\n\ntext\n=> /a link\n* item\n> quote\n"
	    "```alt\npre\n```\n## two\n### three\n```\nunclosed\n";

	walk(make_parsed, (void *)src, "# Title\n\ntext\n=> /a link\n"
	    "* item\n> quote\n```alt\npre\n```\n## two\n### three\n```\n"
	    "unclosed\n```\n", NULL);
}

/* The pages searched, and the answer to "spine". */
static const char *const pages[][2] = {
	{ "/a.gmi", "# Alpha\nThe spine, stretched.\n" },
	{ "/b c.gmi", "# Beta\nA spine and a spine.\n=> /a.gmi\n" },
	{ "/other.gmi", "# Other\nNothing here.\n" },
};
static const char spine_page[] =
    "# Search: spine\n"
    "2 pages have all these words, best first.\n"
    "\n"
    "=> /b%20c.gmi Beta\n"
    "A spine and a spine.\n"
    "\n"
    "=> /a.gmi Alpha\n"
    "The spine, stretched.\n"
    "\n"
    "=> /search Search again\n"
    "=> / Home page\n";

/* The index of pages[]; NULL when it could not be made. */
static struct search_index *
index_pages(void)
{
	struct search_index	*idx;
	size_t			 i;

	if ((idx = search_new()) == NULL)
		return NULL;
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (search_add(idx, pages[i][0], pages[i][1],
		    strlen(pages[i][1])) == -1) {
			search_free(idx);
			return NULL;
		}
	if (search_finish(idx) == -1) {
		search_free(idx);
		return NULL;
	}
	return idx;
}

static int
make_search(void *arg, struct gmi_doc *doc)
{
	return search_page(arg, doc, "spine", 5);
}

static void
test_search_page_oom(void **state)
{
	struct search_index *idx;

	assert_non_null(idx = index_pages());
	walk(make_search, idx, spine_page, NULL);
	search_free(idx);
}

static int
make_index(void *arg, struct gmi_doc *doc)
{
	struct search_index	*idx;
	int			 r;

	if ((idx = index_pages()) == NULL)
		return -1;
	r = search_page(idx, doc, "spine", 5);
	search_free(idx);
	return r;
}

/* Building the index: an index that failed is none, never a wrong one. */
static void
test_index_oom(void **state)
{
	walk(make_index, NULL, spine_page, NULL);
}

struct listing_run {
	struct capsule	*cap;
	const char	*dir;
};

static int
make_listing(void *arg, struct gmi_doc *doc)
{
	struct listing_run *lr = arg;

	capsule_flush(lr->cap);		/* each run reads the page anew */
	return capsule_listing(lr->cap, lr->dir, doc);
}

static void
put_file(const char *dir, const char *name, const char *text)
{
	char	 p[256];
	int	 fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
remove_file(const char *dir, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(remove(p), 0);
}

/*
 * A listing: a page whose title cannot be read (out of memory there)
 * is labelled with its name, as any page without a title; the page is
 * whole either way.
 */
static void
test_listing_oom(void **state)
{
	char			 dir[64], sub[80];
	const char		*err;
	struct listing_run	 lr = { .dir = "/" };

	snprintf(dir, sizeof(dir), "/tmp/lumbar-oom-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	put_file(dir, "page.gmi", "# Page title\nA page.\n");
	put_file(dir, "notes.txt", "notes\n");
	put_file(dir, "x y.txt", "spaced\n");
	put_file(dir, "a:b.gmi", "no title\n");
	assert_int_equal(capsule_init(&err), 0);
	assert_non_null(lr.cap = capsule_open(dir, &err));
	walk(make_listing, &lr,
	    "# Index of /\n"
	    "\n"
	    "=> ./a:b.gmi a:b.gmi\n"
	    "=> notes.txt notes.txt\n"
	    "=> page.gmi Page title\n"
	    "=> sub/ sub\n"
	    "=> x%20y.txt x y.txt\n",
	    "# Index of /\n"
	    "\n"
	    "=> ./a:b.gmi a:b.gmi\n"
	    "=> notes.txt notes.txt\n"
	    "=> page.gmi page.gmi\n"
	    "=> sub/ sub\n"
	    "=> x%20y.txt x y.txt\n");
	capsule_free(lr.cap);
	capsule_close();
	remove_file(dir, "page.gmi");
	remove_file(dir, "notes.txt");
	remove_file(dir, "x y.txt");
	remove_file(dir, "a:b.gmi");
	remove_file(dir, "sub");
	assert_int_equal(rmdir(dir), 0);
}

static int
mime_of(void *arg, const char *path, char *out, size_t n)
{
	snprintf(out, n, "%s", path_ends_with(path, ".gmi") ?
	    "text/gemini" : path_ends_with(path, "/") ? "directory" :
	    "application/octet-stream");
	return 0;
}

typedef int (*render_fn)(struct buf *, const struct gmi_doc *,
    const struct gopher_page *);

/* Render doc with each allocation failing in turn: -1, or every byte. */
static void
walk_render(render_fn render, const struct gmi_doc *doc,
    const struct gopher_page *pg)
{
	struct buf	 want, got;
	unsigned long	 n;
	bool		 failed;
	int		 r;

	buf_init(&want);
	assert_int_equal(render(&want, doc, pg), 0);
	for (n = 1; n <= ALLOCS_MAX; n++) {
		buf_init(&got);
		arm(n);
		r = render(&got, doc, pg);
		failed = disarm();
		if (r == 0 && (got.len != want.len ||
		    memcmp(got.data, want.data, want.len) != 0))
			fail_msg("allocation %lu failed%s, and the page is:\n%s",
			    n, failed ? "" : " (none)", got.data);
		buf_free(&got);
		if (!failed) {
			assert_int_equal(r, 0);
			buf_free(&want);
			return;
		}
	}
	fail_msg("more than %d allocations", ALLOCS_MAX);
}

/* The Gopher forms of a page: a failed document renders as a failure. */
static void
test_render_oom(void **state)
{
	const char *src = "# Title\nSome text that is long enough to be "
	    "wrapped on two lines of the menu, and then some more words.\n"
	    "=> page.gmi A page\n=> /dir/ A directory\n"
	    "=> gemini://example.net/x?q A capsule\n"
	    "=> gopher://example.net/1/menu A menu\n"
	    "=> https://example.net/\n* item\n> quote\n```\npre\n```\n";
	struct gopher_site	 site = { .host = "example.org",
				    .port = GOPHER_DEFAULT_PORT,
				    .gemini_host = "example.org",
				    .gemini_port = GEMINI_DEFAULT_PORT };
	struct gopher_page	 pg = { .site = &site, .path = "/a/b.gmi",
				    .text_sel = "/a/b.txt", .mime = mime_of };
	struct gmi_doc		 doc;
	struct buf		 b;

	gmi_init(&doc);
	assert_int_equal(gmi_parse(&doc, src, strlen(src)), 0);
	walk_render(gopher_render_menu, &doc, &pg);
	walk_render(gopher_render_text, &doc, &pg);
	gmi_fail(&doc);
	buf_init(&b);
	assert_int_equal(gopher_render_menu(&b, &doc, &pg), -1);
	assert_int_equal(gopher_render_text(&b, &doc, &pg), -1);
	buf_free(&b);
	gmi_free(&doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_failure_sticks),
		cmocka_unit_test(test_parse_oom),
		cmocka_unit_test(test_search_page_oom),
		cmocka_unit_test(test_index_oom),
		cmocka_unit_test(test_listing_oom),
		cmocka_unit_test(test_render_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
