/*
 * check.c: `lumbar --check`: look the capsule and the certificates over
 * before serving, and name every problem found, one line each.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lumbar.h"
#include "tls.h"

#define CHECK_FILE_MAX	(8 * 1024 * 1024)	/* larger pages: not read */

static int problems;

static void
problem(const char *fmt, ...) ATTR_PRINTF(1, 2);

static void
problem(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lumbar: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	problems++;
}

/*
 * The capsule path a link of page names, in *target, or 0 when the link
 * leads off this capsule (another host or scheme) and is not checked.
 */
static int
link_target(const char *page, const char *ref, struct buf *target)
{
	struct url	 u;
	struct buf	 merged;
	const char	*err;
	size_t		 n;
	int		 r = -1;

	buf_reset(target);
	if (url_has_scheme(ref)) {
		if (strncasecmp(ref, "gemini:", 7) != 0)
			return 0;
		if (url_parse(ref, strlen(ref), &u, &err) == -1)
			return -1;
		if (!gemini_serves_host(u.host))
			return 0;
		return buf_puts(target, u.path[0] ? u.path : "/") == 0 ? 1 : -1;
	}
	if (strncmp(ref, "//", 2) == 0)
		return 0;
	buf_init(&merged);
	n = strcspn(ref, "?#");
	/* As url_parse(): the server answers 59 to an encoded slash. */
	if (url_merge_path(&merged, page, ref, n) == 0 &&
	    strcasestr(merged.data, "%2F") == NULL &&
	    buf_reserve(target, merged.len) == 0 &&
	    url_decode(merged.data, merged.len, target->data,
	    merged.len + 1, &target->len) == 0)
		r = 1;
	buf_free(&merged);
	return r;
}

static int
check_page(void *arg, const char *path, const char *data, size_t n)
{
	struct gmi_doc	 doc;
	struct lookup	 lk;
	struct buf	 target;
	size_t		 i;
	int		 r;

	gmi_init(&doc);
	buf_init(&target);
	if (!utf8_valid(data, n))
		problem("%s%s: not valid UTF-8", conf.root, path);
	if (gmi_parse(&doc, data, n) == -1) {
		problem("%s%s: out of memory", conf.root, path);
		return -1;
	}
	for (i = 0; i < doc.len; i++) {
		if (doc.lines[i].type != GMI_LINK)
			continue;
		r = link_target(path, doc.lines[i].url, &target);
		if (r == 0)
			continue;
		if (r == -1) {
			problem("%s%s: link \"%s\" is not a valid URL",
			    conf.root, path, doc.lines[i].url);
			continue;
		}
		url_squeeze_slashes(target.data);	/* as the server does */
		if (strcmp(target.data, SEARCH_PATH) == 0)
			continue;	/* answered by the server itself */
		capsule_lookup(target.data, &lk);
		lookup_release(&lk);
		if (lk.kind == CAP_LISTING && !conf.listing)
			problem("%s%s: link \"%s\" leads to a directory without "
			    "index.gmi, and listings are off", conf.root, path,
			    doc.lines[i].url);
		else if (lk.kind != CAP_FILE && lk.kind != CAP_LISTING &&
		    lk.kind != CAP_REDIRECT)
			problem("%s%s: link \"%s\" leads nowhere (%s)",
			    conf.root, path, doc.lines[i].url,
			    lk.kind == CAP_FORBIDDEN ? "unreadable" :
			    "not found");
	}
	buf_free(&target);
	gmi_free(&doc);
	return 0;
}

/* Check everything; returns the number of problems (0: all is well). */
int
check_all(void)
{
	struct lookup lk;

	capsule_lookup("/", &lk);
	if (lk.kind != CAP_FILE)
		problem("%s: no index.gmi: the home page would be %s",
		    conf.root, conf.listing ? "a generated listing" : "missing");
	lookup_release(&lk);
	if (capsule_walk(check_page, NULL, CHECK_FILE_MAX) == -1)
		problem("%s: cannot read the capsule", conf.root);
	tls_check(problem);	/* problem() counts them */
	secrets_check(problem);
	if (problems == 0)
		fprintf(stderr, "lumbar: %s and the certificates are fine\n",
		    conf.root);
	else
		fprintf(stderr, "lumbar: %d problem%s\n", problems,
		    problems == 1 ? "" : "s");
	return problems;
}
