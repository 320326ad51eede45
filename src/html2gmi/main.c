/*
 * main.c: html2gmi's command line: one page to standard output, a whole
 * site directory to a capsule directory (-o), or a capsule written by
 * hand given its article index and feed (-g).
 */
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "html2gmi.h"

static void
usage(FILE *f)
{
	fputs("usage: html2gmi [options] FILE|-\n"
	    "       html2gmi [options] -o DIR SITEDIR\n"
	    "       html2gmi [-a DIR] [-f URL] -g CAPSULE\n"
	    "Convert HTML to gemtext: one page to standard output, or a\n"
	    "whole site directory into a capsule directory; or list the\n"
	    "articles of a capsule written in gemtext.\n\n"
	    "  -o, --output DIR      site mode: write the capsule into DIR\n"
	    "  -g, --gemlog          gemlog mode: list the dated pages of\n"
	    "                        CAPSULE/articles in its index.gmi, and\n"
	    "                        with --feed-url in CAPSULE/atom.xml\n"
	    "  -a, --articles DIR    the articles' directory (default\n"
	    "                        articles), as the profile's line\n"
	    "  -b, --base-url URL    the site's address on the web; links to\n"
	    "                        pages not converted point there instead\n"
	    "                        of being dropped\n"
	    "  -p, --profile FILE    site profile (default in site mode:\n"
	    "                        SITEDIR/html2gmi.conf when present)\n"
	    "  -c, --content SEL     content container (tag, #id, .class)\n"
	    "  -d, --drop SEL        boilerplate container to drop\n"
	    "  -f, --feed-url URL    the capsule's gemini:// address; writes\n"
	    "                        atom.xml, the articles' Atom feed\n"
	    "  -R, --redirects FILE  site mode: write lumbar's redirect list\n"
	    "                        from each page's old path to its capsule\n"
	    "                        path into FILE (outside DIR)\n"
	    "  -m, --max-input MIB   convert HTML files up to MIB (default 4,\n"
	    "                        at most 64); larger ones are refused\n"
	    "  -h, --help            this help\n"
	    "  -V, --version         the version\n"
	    "See html2gmi(1).\n", f);
}

/* Single-file mode: pages next to the input file are the collection. */
struct nearby {
	const char	*dir;
	struct buf	 gmi;
};

static const char *
nearby_lookup(void *arg, const char *path)
{
	struct nearby	*nb = arg;
	struct buf	 full;
	struct stat	 st;
	const char	*dot = strrchr(path, '.');
	bool		 ok;

	if (dot == NULL || (strcmp(dot, ".html") != 0 &&
	    strcmp(dot, ".htm") != 0 && strcmp(dot, ".xhtml") != 0))
		return NULL;
	buf_init(&full);
	/* Not buf_printf: this runs for each link, and vsnprintf twice. */
	ok = buf_puts(&full, nb->dir) == 0 && buf_putc(&full, '/') == 0 &&
	    buf_puts(&full, path) == 0 &&
	    stat(full.data, &st) == 0 && S_ISREG(st.st_mode) &&
	    gmi_path_of(path, &nb->gmi) == 0;
	buf_free(&full);
	return ok ? nb->gmi.data : NULL;
}

static int
one_file(const char *path, const struct profile *prof, const char *base)
{
	struct page	 pg;
	struct buf	 err, out;
	struct nearby	 nb;
	struct linkctx	 lc = { base, "", false, NULL, NULL };
	char		*d1 = NULL, *d2 = NULL;
	const char	*name = strcmp(path, "-") == 0 ? "stdin" : path;
	int		 r = 1;

	page_init(&pg);
	buf_init(&err);
	buf_init(&out);
	buf_init(&nb.gmi);
	if (strcmp(path, "-") != 0) {
		if ((d1 = strdup(path)) == NULL || (d2 = strdup(path)) == NULL)
			goto oom;
		nb.dir = dirname(d1);
		lc.page = basename(d2);
		lc.lookup = nearby_lookup;
		lc.arg = &nb;
	}
	if (convert_file(path, name, prof, &lc, &pg, &err) == -1) {
		fprintf(stderr, "html2gmi: %s: %s\n", name, err.data ?
		    err.data : "cannot convert");
		goto out;
	}
	if (gmi_write(&pg.doc, &out) == -1)
		goto oom;
	if ((out.len > 0 && fwrite(out.data, 1, out.len, stdout) != out.len) ||
	    fflush(stdout) == EOF) {
		fprintf(stderr, "html2gmi: stdout: write error\n");
		goto out;
	}
	r = 0;
	goto out;
oom:
	fprintf(stderr, "html2gmi: %s: out of memory\n", name);
out:
	free(d1);
	free(d2);
	buf_free(&nb.gmi);
	buf_free(&err);
	buf_free(&out);
	page_free(&pg);
	return r;
}

/* "site/" and "site" are one directory; keep paths in messages tidy. */
static void
trim_slashes(char *s)
{
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
}

/* What the command line asks. */
struct args {
	const char	*outdir, *base, *profpath, *redirects, *input;
	const char	*extra[64][2];	/* profile lines, after the file's */
	size_t		 nextra;
	bool		 gemlog;
};

/* Read the options into a: -1 to go on, else the exit status. */
static int
parse_args(int argc, char *argv[], struct args *a)
{
	static const struct option longopts[] = {
		{ "output",	required_argument, NULL, 'o' },
		{ "base-url",	required_argument, NULL, 'b' },
		{ "profile",	required_argument, NULL, 'p' },
		{ "content",	required_argument, NULL, 'c' },
		{ "drop",	required_argument, NULL, 'd' },
		{ "feed-url",	required_argument, NULL, 'f' },
		{ "gemlog",	no_argument,	   NULL, 'g' },
		{ "articles",	required_argument, NULL, 'a' },
		{ "redirects",	required_argument, NULL, 'R' },
		{ "max-input",	required_argument, NULL, 'm' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int	 ch;

	memset(a, 0, sizeof(*a));
	while ((ch = getopt_long(argc, argv, "o:b:p:c:d:f:R:ga:m:hV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'o':
			a->outdir = optarg;
			break;
		case 'b':
			a->base = optarg;
			break;
		case 'p':
			a->profpath = optarg;
			break;
		case 'R':
			a->redirects = optarg;
			break;
		case 'g':
			a->gemlog = true;
			break;
		case 'a':
		case 'c':
		case 'd':
		case 'f':
		case 'm':	/* after the profile's lines: they win */
			if (a->nextra == sizeof(a->extra) / sizeof(a->extra[0])) {
				fprintf(stderr, "html2gmi: too many --content, "
				    "--drop, --feed-url, --articles and "
				    "--max-input options\n");
				return 2;
			}
			a->extra[a->nextra][0] = ch == 'c' ? "content" :
			    ch == 'd' ? "drop" : ch == 'a' ? "articles" :
			    ch == 'm' ? "max-input" : "feed-url";
			a->extra[a->nextra++][1] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("html2gmi %s\n", H2G_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return 2;
	}
	a->input = argv[optind];
	return -1;
}

/* Options that do not go together: 2, a usage error; else 0. */
static int
check_args(const struct args *a)
{
	if (a->gemlog && (a->outdir != NULL || a->redirects != NULL)) {
		fprintf(stderr, "html2gmi: -g updates a capsule in place; "
		    "-o and --redirects are for site mode\n");
		return 2;
	}
	if (a->redirects != NULL && a->outdir == NULL) {
		fprintf(stderr, "html2gmi: --redirects is for site mode (-o)\n");
		return 2;
	}
	if (a->base != NULL && strstr(a->base, "://") == NULL) {
		fprintf(stderr, "html2gmi: %s: --base-url wants an absolute "
		    "URL such as https://example.com/\n", a->base);
		return 2;
	}
	return 0;
}

/*
 * The profile: the file given, or in site mode the site's html2gmi.conf,
 * then the command line's lines.  -1 when something is wrong, said.
 */
static int
load_profile(struct args *a, struct profile *prof)
{
	struct buf	 err, confpath;
	struct stat	 st;
	const char	*mode = a->gemlog ? "-g updates a capsule directory" :
			    "-o converts a site directory";
	size_t		 i;
	int		 r = -1;

	buf_init(&err);
	buf_init(&confpath);
	if (a->gemlog || a->outdir != NULL) {
		trim_slashes((char *)a->input);
		if (a->outdir != NULL)
			trim_slashes((char *)a->outdir);
		if (stat(a->input, &st) == -1 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "html2gmi: %s: not a directory; %s\n",
			    a->input, mode);
			goto out;
		}
	}
	if (a->outdir != NULL && a->profpath == NULL) {
		if (buf_printf(&confpath, "%s/html2gmi.conf", a->input) == -1) {
			fprintf(stderr, "html2gmi: out of memory\n");
			goto out;
		}
		if (access(confpath.data, F_OK) == 0)
			a->profpath = confpath.data;
	}
	if (a->profpath != NULL && profile_load(prof, a->profpath, &err) ==
	    -1) {
		fprintf(stderr, "html2gmi: %s\n", err.data);
		goto out;
	}
	for (i = 0; i < a->nextra; i++) {
		buf_reset(&err);
		if (profile_line(prof, a->extra[i][0], a->extra[i][1], &err) ==
		    -1) {
			fprintf(stderr, "html2gmi: --%s: %s\n", a->extra[i][0],
			    err.data);
			goto out;
		}
	}
	r = 0;
out:
	if (a->profpath == confpath.data)
		a->profpath = NULL;	/* freed now */
	buf_free(&err);
	buf_free(&confpath);
	return r;
}

int
main(int argc, char *argv[])
{
	struct args	 a;
	struct profile	 prof;
	int		 r;

	if ((r = parse_args(argc, argv, &a)) != -1 || (r = check_args(&a)) !=
	    0)
		return r;
	profile_init(&prof);
	/* Past a file size limit, write(2) fails and we clean up. */
	if (a.gemlog || a.outdir != NULL)
		signal(SIGXFSZ, SIG_IGN);
	if (load_profile(&a, &prof) == -1)
		r = 1;
	else if (a.gemlog)
		r = gemlog_update(a.input, prof.articles, prof.feed_url) == 0 ?
		    0 : 1;
	else if (a.outdir != NULL) {
		switch (site_convert(a.input, a.outdir, &prof, a.base,
		    a.redirects)) {
		case 0:
			r = 0;
			break;
		case 1:
			r = 3;		/* written, but pages were left out */
			break;
		default:
			r = 1;
			break;
		}
	} else
		r = one_file(a.input, &prof, a.base);
	profile_free(&prof);
	return r;
}
