/*
 * common.c: the fixture the fuzz targets share: the configuration a
 * running server would have, and a small capsule in a temporary directory
 * with a secret file beside it that no response may ever contain; a
 * stand-in for capsule_mime() and the checks of generated text.  The
 * golden driver tests/tools/render_gopher.c links it too, so that the
 * fuzzer and the goldens see the same stand-in.
 */
#include <ctype.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

/* Only what lies outside the capsule holds this; finding it is an escape. */
#define SECRET	"LUMBAR-FUZZ-SECRET-0b7e1c"

static char	 tmpdir[] = "/tmp/lumbar-fuzz-XXXXXX";
static char	 root[sizeof(tmpdir) + 16];
static bool	 made;

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: property broken: %s\n", file, line, what);
	abort();
}

/*
 * The settings of a server started with two names and its defaults,
 * serving root: conf as settings.c makes it, the host included.
 */
static void
fuzz_conf(const char *dir)
{
	char		*argv[] = { "fuzz", "--hostname", "localhost",
			    "--hostname", "example.org", "--root", NULL, NULL };
	struct buf	 why;

	argv[6] = (char *)dir;
	buf_init(&why);
	if (settings_load(&conf, 7, argv, &why) != 0) {
		fprintf(stderr, "fuzz_conf: %s\n", why.data ? why.data : "?");
		abort();
	}
	buf_free(&why);
}

/*
 * Stands in for capsule_mime() where no capsule is read: the name alone
 * decides.  A name holding "missing" does not exist; a last segment
 * without a dot is a directory named without its slash.
 */
int
fuzz_mime(void *arg, const char *path, char *out, size_t n)
{
	static const struct { const char *ext, *mime; } map[] = {
		{ ".gmi", "text/gemini; charset=utf-8" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".html", "text/html" },
		{ ".png", "image/png" },
		{ ".gif", "image/gif" },
		{ ".jpg", "image/jpeg" },
		{ ".bin", "application/octet-stream" },
		{ "/", "directory" },
	};
	const char	*base = strrchr(path, '/');
	size_t		 i;

	if (strstr(path, "missing") != NULL)
		return -1;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (path_ends_with(path, map[i].ext)) {
			snprintf(out, n, "%s", map[i].mime);
			return 0;
		}
	snprintf(out, n, "%s", base && strchr(base, '.') ? "text/x-unknown" :
	    "directory");
	return 0;
}

/*
 * Generated text: UTF-8, CR only in CRLF and LF only after CR, and no
 * other control byte but TAB, and TAB only when tabs.
 */
void
fuzz_check_text(const struct buf *b, bool tabs)
{
	size_t i;

	FUZZ_ASSERT(utf8_valid(b->data ? b->data : "", b->len));
	for (i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if (c == '\r')
			FUZZ_ASSERT(i + 1 < b->len && b->data[i + 1] == '\n');
		else if (c == '\n')
			FUZZ_ASSERT(i > 0 && b->data[i - 1] == '\r');
		else if (c == '\t')
			FUZZ_ASSERT(tabs);
		else
			FUZZ_ASSERT(c >= 0x20 && c != 0x7F);
	}
}

/* A copy with a NUL after it, for the functions that take C strings. */
char *
fuzz_strndup(const uint8_t *data, size_t n)
{
	char *s;

	if ((s = malloc(n + 1)) == NULL)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

static void
put(const char *dir, const char *name, const void *data, size_t n)
{
	char	 path[512];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL ||
	    fwrite(data, 1, n, fp) != n || fclose(fp) != 0) {
		perror(path);
		abort();
	}
}

static void
put_str(const char *dir, const char *name, const char *s)
{
	put(dir, name, s, strlen(s));
}

static void
mkdir_in(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (mkdir(path, 0755) == -1) {
		perror(path);
		abort();
	}
}

static void
link_in(const char *dir, const char *name, const char *target)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (symlink(target, path) == -1) {
		perror(path);
		abort();
	}
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
cleanup(void)
{
	hosts_close();
	capsule_close();
	if (made)
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A page larger than the cache takes, so it is read from its descriptor. */
static void
put_big(const char *dir)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b);
	for (i = 0; b.len <= CACHE_FILE_MAX; i++)
		if (buf_printf(&b, "%s line %zu of a long page\n",
		    i % 50 == 0 ? "##" : i % 7 == 0 ? "=> /page.gmi" : "*", i)
		    == -1)
			abort();
	put(dir, "big.gmi", b.data, b.len);
	buf_free(&b);
}

/*
 * Build the capsule once per process and open it; returns its root.
 * Every kind of thing a lookup can meet is here: pages, plain files,
 * binary ones, directories with and without an index, hidden names,
 * symbolic links inside and out, a loop, a FIFO.
 */
const char *
fuzz_capsule(void)
{
	static const unsigned char png[] = {
		0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
		'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
	};
	const char	*err;
	char		 out[sizeof(root) + 16], d[sizeof(root) + 64];

	if (made)
		return root;
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	made = true;
	atexit(cleanup);
	snprintf(root, sizeof(root), "%s/capsule", tmpdir);
	snprintf(out, sizeof(out), "%s/outside", tmpdir);
	mkdir_in(tmpdir, "capsule");
	mkdir_in(tmpdir, "outside");
	put_str(out, "secret.txt", SECRET "\n");
	put_str(out, "secret.gmi", "# " SECRET "\n=> secret.txt " SECRET "\n");

	put_str(root, "index.gmi",
	    "# Home\n\nWelcome.\n"
	    "=> page.gmi A page\n=> dir/ A directory\n=> listing/\n"
	    "=> /notes.txt Notes\n=> image.png\n=> ../outside/secret.txt\n"
	    "=> gemini://example.org/x?q=1 Elsewhere\n"
	    "=> gopher://example.com:7070/0/a%09b\n=> https://example.com/\n"
	    "=> //example.net/p\n=> mailto:a@example.com\n"
	    "* item\n> quote\n```alt\n\tcode\n```\n");
	put_str(root, "page.gmi", "## Page\ntext\n=> ./ up\n=> ../ root\n");
	put_str(root, "both.gmi", "# Both\n");
	put_str(root, "both.txt", "a real text file\n");
	put_str(root, "notes.txt", "plain\r\nnotes\n.\n");
	put_str(root, "page.html", "<!DOCTYPE html><title>x</title>\n");
	put(root, "image.png", png, sizeof(png));
	put(root, "empty", "", 0);
	put_big(root);
	mkdir_in(root, "dir");
	snprintf(d, sizeof(d), "%s/dir", root);
	put_str(d, "index.gmi", "# Dir\n=> a.gmi\n=> nested/\n");
	put_str(d, "a.gmi", "# A\n=> ../page.gmi\n");
	put_str(d, "with space.gmi", "# Spaced\n");
	put_str(d, "\xc3\xbcnicode.gmi", "# \xc3\x9cnicode\n");
	mkdir_in(d, "nested");
	snprintf(d, sizeof(d), "%s/dir/nested", root);
	put_str(d, "deep.txt", "deep\n");
	mkdir_in(root, "listing");
	snprintf(d, sizeof(d), "%s/listing", root);
	put_str(d, "one.gmi", "# One\n");
	put_str(d, "two.txt", "two\n");
	put_str(d, ".hidden.gmi", "# " SECRET "\n");
	mkdir_in(d, "sub");
	mkdir_in(root, "dir.gmi");
	mkdir_in(root, ".private");
	snprintf(d, sizeof(d), "%s/.private", root);
	put_str(d, "key.txt", SECRET "\n");
	link_in(root, "escape.txt", "../outside/secret.txt");
	link_in(root, "escape.gmi", "../outside/secret.gmi");
	link_in(root, "absolute.txt", out);
	link_in(root, "outdir", "../outside");
	link_in(root, "inside.gmi", "page.gmi");
	link_in(root, "loop", "loop");
	snprintf(d, sizeof(d), "%s/fifo", root);
	if (mkfifo(d, 0644) == -1) {
		perror(d);
		abort();
	}
	fuzz_conf(root);
	if (capsule_init(&err) == -1 ||
	    hosts_open(&conf, false, &err) == -1) {
		fprintf(stderr, "fuzz_capsule: %s\n", err);
		abort();
	}
	return root;
}

void
fuzz_no_secret(const char *s, size_t n)
{
	FUZZ_ASSERT(s == NULL || memmem(s, n, SECRET, strlen(SECRET)) == NULL);
}

/*
 * Does the request itself spell the secret (literally, in any case, or
 * percent-encoded)?  Then an answer that echoes it (a search page saying
 * what was asked) leaks nothing, and only then is the check skipped.
 */
static bool
request_names_secret(const char *req, size_t n)
{
	char	*low;
	size_t	 i, o = 0;
	int	 hi, lo;
	bool	 found;

	if ((low = malloc(n + 1)) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		char c = req[i];

		if (c == '%' && i + 2 < n && (hi = url_hexval(
		    (unsigned char)req[i + 1])) >= 0 && (lo = url_hexval(
		    (unsigned char)req[i + 2])) >= 0) {
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		low[o++] = c == '\0' ? ' ' : (char)tolower((unsigned char)c);
	}
	low[o] = '\0';
	found = strstr(low, "lumbar-fuzz-secret-0b7e1c") != NULL;
	free(low);
	return found;
}

/*
 * What holds for any response to the request req: the secret is in no
 * body, a body is either generated, cached (a file, or a form shared
 * with the cache) or streamed, and a streamed one has a size.
 */
void
fuzz_check_response(const struct response *r, const char *req, size_t n)
{
	bool echo = request_names_secret(req, n);

	FUZZ_ASSERT(r->status >= 10 && r->status <= 69);
	if (!echo)
		fuzz_no_secret(r->out.data, r->out.len);
	if (r->file != NULL) {	/* held: ASan reports it if it is freed */
		FUZZ_ASSERT(r->fd == -1 && cfile_data(r->file) != NULL);
		fuzz_no_secret(cfile_data(r->file), cfile_size(r->file));
		if (!echo || r->body == cfile_data(r->file))
			fuzz_no_secret(r->body, r->bodylen);
	}
	if (r->blob != NULL) {		/* a shared rendered form */
		FUZZ_ASSERT(r->blob->refs > 0);
		FUZZ_ASSERT(r->body == r->blob->data &&
		    r->bodylen == r->blob->len);
		if (!echo)
			fuzz_no_secret(r->body, r->bodylen);
	}
	if (r->fd != -1)
		FUZZ_ASSERT(r->left > 0);
}
