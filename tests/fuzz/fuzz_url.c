/*
 * fuzz_url: url.c on raw bytes.  Beyond not crashing, what url_parse
 * accepts must be what the rest of the server relies on (a lower-case
 * scheme and host, a decoded path with no control byte, no dot segment,
 * valid UTF-8), and the parts must survive being written back into a URL
 * and parsed again.  url_decode, path_check and url_encode_path get the
 * same bytes, with output buffers sized exactly so ASan sees overflows;
 * url_squeeze_slashes, url_valid_host, url_host_equal and url_host_ascii
 * get them too.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static bool
no_controls(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7F)
			return false;
	return true;
}

static bool
lower_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if (isupper((unsigned char)*s))
			return false;
	return true;
}

static bool
has_dot_segment(const char *p)
{
	const char	*seg = p, *end;
	size_t		 n;

	for (;;) {
		end = strchr(seg, '/');
		n = end ? (size_t)(end - seg) : strlen(seg);
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return true;
		if (end == NULL)
			return false;
		seg = end + 1;
	}
}

/* What the parser accepted, written back as a URL, parses the same. */
static void
reparse(const struct url *u)
{
	struct url	 again;
	struct buf	 b;
	const char	*err;

	buf_init(&b);
	FUZZ_ASSERT(buf_printf(&b, strchr(u->host, ':') ? "%s://[%s]" :
	    "%s://%s", u->scheme, u->host) == 0);
	if (u->port != -1)
		FUZZ_ASSERT(buf_printf(&b, ":%d", u->port) == 0);
	FUZZ_ASSERT(url_encode_path(&b, u->path) == 0);
	if (u->has_query)
		FUZZ_ASSERT(buf_printf(&b, "?%s", u->query) == 0);
	/* Encoding can lengthen a path past the limit; then it says so. */
	if (b.len <= GEMINI_URL_MAX) {
		FUZZ_ASSERT(url_parse(b.data, b.len, &again, &err) == 0);
		FUZZ_ASSERT(strcmp(again.scheme, u->scheme) == 0);
		FUZZ_ASSERT(strcmp(again.host, u->host) == 0);
		FUZZ_ASSERT(again.port == u->port);
		FUZZ_ASSERT(strcmp(again.path, u->path) == 0);
		FUZZ_ASSERT(again.has_query == u->has_query);
		FUZZ_ASSERT(strcmp(again.query, u->query) == 0);
	}
	buf_free(&b);
}

static void
check_parse(const uint8_t *data, size_t n)
{
	struct url	 u;
	const char	*err = NULL;

	if (url_parse((const char *)data, n, &u, &err) == -1) {
		FUZZ_ASSERT(err != NULL && *err != '\0');
		return;
	}
	FUZZ_ASSERT(n > 0 && n <= GEMINI_URL_MAX);
	FUZZ_ASSERT(u.scheme[0] != '\0' && lower_ascii(u.scheme));
	FUZZ_ASSERT(u.host[0] != '\0' && lower_ascii(u.host));
	FUZZ_ASSERT(no_controls(u.host));
	FUZZ_ASSERT(u.port == -1 || (u.port >= 1 && u.port <= 65535));
	FUZZ_ASSERT(u.path[0] == '\0' || u.path[0] == '/');
	FUZZ_ASSERT(no_controls(u.path));
	FUZZ_ASSERT(utf8_valid(u.path, strlen(u.path)));
	FUZZ_ASSERT(!has_dot_segment(u.path));
	FUZZ_ASSERT(strstr(u.path, "//") == NULL);	/* one name a file */
	FUZZ_ASSERT(u.has_query || u.query[0] == '\0');
	FUZZ_ASSERT(no_controls(u.query) && strchr(u.query, ' ') == NULL);
	reparse(&u);
}

static void
check_decode(const uint8_t *data, size_t n)
{
	char	*out;
	size_t	 len = 0, small = n / 2 + 1;

	/* Room for everything: decoding only ever shortens. */
	out = malloc(n + 1);
	if (url_decode((const char *)data, n, out, n + 1, &len) == 0) {
		FUZZ_ASSERT(len <= n);
		FUZZ_ASSERT(out[len] == '\0');
	}
	free(out);
	/* Too little room must fail cleanly, never write past the end. */
	out = malloc(small);
	(void)url_decode((const char *)data, n, out, small, &len);
	free(out);
}

/* url_encode_path() output decodes back to its input, and is URL-safe. */
static void
check_encode(const char *s)
{
	struct buf	 b;
	char		*dec;
	size_t		 i, dl;

	buf_init(&b);
	FUZZ_ASSERT(url_encode_path(&b, s) == 0);
	for (i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];

		FUZZ_ASSERT(c > 0x20 && c < 0x7F && c != '?' && c != '#' &&
		    c != '"' && c != '<' && c != '>' && c != '\\');
	}
	dec = malloc(b.len + 1);
	FUZZ_ASSERT(url_decode(b.data ? b.data : "", b.len, dec, b.len + 1,
	    &dl) == 0);
	FUZZ_ASSERT(dl == strlen(s) && memcmp(dec, s, dl) == 0);
	free(dec);
	buf_free(&b);
}

/* Runs of slashes squeezed: none left, nothing else changed, stable. */
static void
check_squeeze(const char *s)
{
	char		*t = strdup(s), *u;
	const char	*a, *b;

	FUZZ_ASSERT(t != NULL);
	url_squeeze_slashes(t);
	FUZZ_ASSERT(strstr(t, "//") == NULL);
	for (a = s, b = t; *a != '\0' || *b != '\0';) {
		while (*a == '/')
			a++;
		while (*b == '/')
			b++;
		FUZZ_ASSERT(*a == *b);
		if (*a != '\0') {
			a++;
			b++;
		}
	}
	FUZZ_ASSERT((s[0] == '/') == (t[0] == '/'));
	u = strdup(t);
	FUZZ_ASSERT(u != NULL);
	url_squeeze_slashes(u);
	FUZZ_ASSERT(strcmp(t, u) == 0);
	free(u);
	free(t);
}

/* An A-label form is ASCII, fits, and is its own A-label form. */
static void
check_host_ascii(const char *s)
{
	char		 a[HOSTNAME_MAX + 1], b[HOSTNAME_MAX + 1];
	const char	*p;

	if (url_host_ascii(s, a, sizeof(a)) == -1)
		return;
	for (p = a; *p != '\0'; p++)
		FUZZ_ASSERT((unsigned char)*p < 0x80);
	FUZZ_ASSERT(url_host_ascii(a, b, sizeof(b)) == 0);
	FUZZ_ASSERT(strcmp(a, b) == 0);
}

/*
 * A name --hostname accepts is one a request can carry: its URL parses
 * with that host.  Host comparison is reflexive and symmetric.
 */
static void
check_host(const char *s, size_t n)
{
	struct url	 u;
	struct buf	 b;
	const char	*err;
	char		*x, *y;
	size_t		 i;

	FUZZ_ASSERT(url_host_equal(s, s));
	x = fuzz_strndup((const uint8_t *)s, n / 2);
	y = fuzz_strndup((const uint8_t *)s + n / 2, n - n / 2);
	FUZZ_ASSERT(url_host_equal(x, y) == url_host_equal(y, x));
	free(x);
	free(y);
	check_host_ascii(s);
	if (!url_valid_host(s))
		return;
	buf_init(&b);
	FUZZ_ASSERT(buf_printf(&b, strchr(s, ':') ? "gemini://[%s]/" :
	    "gemini://%s/", s) == 0);
	FUZZ_ASSERT(url_parse(b.data, b.len, &u, &err) == 0);
	FUZZ_ASSERT(strlen(u.host) == n);
	for (i = 0; i < n; i++)
		FUZZ_ASSERT((unsigned char)u.host[i] ==
		    tolower((unsigned char)s[i]));
	FUZZ_ASSERT(url_host_equal(u.host, s));
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	const char	*err;
	char		*s;

	check_parse(data, n);
	check_decode(data, n);
	s = fuzz_strndup(data, n);
	if (path_check(s, &err) == 0)
		FUZZ_ASSERT(!has_dot_segment(s));
	check_encode(s);
	check_squeeze(s);
	if (strlen(s) == n)	/* the host checks take strings */
		check_host(s, n);
	free(s);
	return 0;
}
