/*
 * test_url.c: url_parse, url_decode, path_check and url_encode_path against
 * every accepted and malformed form a Gemini request can take.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lumbar.h"

/* Parse n bytes and expect success with these parts (query NULL: none). */
static void
accept_n(const char *in, size_t n, const char *scheme, const char *host,
    int port, const char *path, const char *query)
{
	struct url	 u;
	const char	*err = NULL;

	if (url_parse(in, n, &u, &err) != 0)
		fail_msg("refused \"%.*s\": %s", (int)n, in, err ? err : "?");
	if (strcmp(u.scheme, scheme) != 0)
		fail_msg("\"%.*s\": scheme \"%s\", want \"%s\"", (int)n, in,
		    u.scheme, scheme);
	if (strcmp(u.host, host) != 0)
		fail_msg("\"%.*s\": host \"%s\", want \"%s\"", (int)n, in,
		    u.host, host);
	if (u.port != port)
		fail_msg("\"%.*s\": port %d, want %d", (int)n, in, u.port,
		    port);
	if (strcmp(u.path, path) != 0)
		fail_msg("\"%.*s\": path \"%s\", want \"%s\"", (int)n, in,
		    u.path, path);
	if (query == NULL) {
		if (u.has_query)
			fail_msg("\"%.*s\": unexpected query \"%s\"", (int)n,
			    in, u.query);
	} else {
		if (!u.has_query)
			fail_msg("\"%.*s\": query missing", (int)n, in);
		if (strcmp(u.query, query) != 0)
			fail_msg("\"%.*s\": query \"%s\", want \"%s\"", (int)n,
			    in, u.query, query);
	}
}

static void
accept_url(const char *in, const char *scheme, const char *host, int port,
    const char *path, const char *query)
{
	accept_n(in, strlen(in), scheme, host, port, path, query);
}

/* Expect refusal with a reason. */
static void
reject_n(const char *in, size_t n)
{
	struct url	 u;
	const char	*err = NULL;

	if (url_parse(in, n, &u, &err) == 0)
		fail_msg("accepted malformed \"%.*s\" (path \"%s\")", (int)n,
		    in, u.path);
	if (err == NULL || err[0] == '\0')
		fail_msg("refused \"%.*s\" without a reason", (int)n, in);
}

static void
reject_all(const char *const *list)
{
	for (; *list != NULL; list++)
		reject_n(*list, strlen(*list));
}

static void
accept_path_all(const char *const *pairs)
{
	/* pairs: URL, expected decoded path, ... NULL */
	for (; pairs[0] != NULL; pairs += 2)
		accept_url(pairs[0], "gemini", "localhost", -1, pairs[1], NULL);
}

static void
test_basic(void **state)
{
	accept_url("gemini://localhost/", "gemini", "localhost", -1, "/",
	    NULL);
	accept_url("gemini://localhost/page.gmi", "gemini", "localhost", -1,
	    "/page.gmi", NULL);
	accept_url("gemini://example.org/a/b/c/", "gemini", "example.org",
	    -1, "/a/b/c/", NULL);
	accept_url("gemini://sub-host_1.example.org/x", "gemini",
	    "sub-host_1.example.org", -1, "/x", NULL);
	accept_url("gemini://127.0.0.1/", "gemini", "127.0.0.1", -1, "/",
	    NULL);
	/* Other schemes parse; the server answers 53 for them. */
	accept_url("https://example.org/x", "https", "example.org", -1, "/x",
	    NULL);
	accept_url("gopher://example.org:70/1/x", "gopher", "example.org",
	    70, "/1/x", NULL);
	accept_url("gemini+x://h/", "gemini+x", "h", -1, "/", NULL);
}

static void
test_empty_path(void **state)
{
	accept_url("gemini://localhost", "gemini", "localhost", -1, "", NULL);
	accept_url("gemini://localhost:1965", "gemini", "localhost", 1965, "",
	    NULL);
	accept_url("gemini://localhost?q", "gemini", "localhost", -1, "",
	    "q");
}

static void
test_ports(void **state)
{
	accept_url("gemini://localhost:1965/", "gemini", "localhost", 1965,
	    "/", NULL);
	accept_url("gemini://localhost:1/", "gemini", "localhost", 1, "/",
	    NULL);
	accept_url("gemini://localhost:65535/", "gemini", "localhost", 65535,
	    "/", NULL);
	accept_url("gemini://localhost:1965?x", "gemini", "localhost", 1965,
	    "", "x");
	/* RFC 3986, 3.2.3: port = *DIGIT, leading zeros allowed. */
	accept_url("gemini://localhost:001965/", "gemini", "localhost", 1965,
	    "/", NULL);
	static const char *const bad[] = {
		"gemini://localhost:0/",
		"gemini://localhost:65536/",
		"gemini://localhost:99999/",
		"gemini://localhost:123456/",
		"gemini://localhost:1965000000000000000000/",
		"gemini://localhost:-1/",
		"gemini://localhost:+1/",
		"gemini://localhost:abc/",
		"gemini://localhost:19a5/",
		"gemini://localhost:1965:1965/",
		"gemini://localhost:0x10/",
		NULL,
	};
	reject_all(bad);
}

static void
test_case_folding(void **state)
{
	accept_url("GEMINI://LOCALHOST/Page.GMI", "gemini", "localhost", -1,
	    "/Page.GMI", NULL);
	accept_url("GeMiNi://LocalHost:1965/A/b/C?Q=Upper", "gemini",
	    "localhost", 1965, "/A/b/C", "Q=Upper");
	/* Percent-encoded bytes decode to what they say, case kept. */
	accept_url("gemini://h/%41%62", "gemini", "h", -1, "/Ab", NULL);
	/* A fully qualified host name with its trailing dot. */
	accept_url("gemini://LocalHost./x", "gemini", "localhost", -1, "/x",
	    NULL);
}

static void
test_ipv6(void **state)
{
	accept_url("gemini://[::1]/", "gemini", "::1", -1, "/", NULL);
	accept_url("gemini://[::1]:1965/x.gmi", "gemini", "::1", 1965,
	    "/x.gmi", NULL);
	accept_url("gemini://[2001:DB8::A]/", "gemini", "2001:db8::a", -1,
	    "/", NULL);
	accept_url("gemini://[::ffff:127.0.0.1]:7/", "gemini",
	    "::ffff:127.0.0.1", 7, "/", NULL);
	accept_url("gemini://[::1]", "gemini", "::1", -1, "", NULL);
	static const char *const bad[] = {
		"gemini://[::1/",
		"gemini://[::1",
		"gemini://[]/",
		"gemini://[]:1965/",
		"gemini://[::1]x/",
		"gemini://[::1]1965/",
		"gemini://[::1]:0/",
		"gemini://[::1]:70000/",
		"gemini://::1/",
		"gemini://[::1%25eth0]/",
		NULL,
	};
	reject_all(bad);
}

static void
test_query_kept(void **state)
{
	accept_url("gemini://h/search?hello%20world&x=%2F", "gemini", "h", -1,
	    "/search", "hello%20world&x=%2F");
	accept_url("gemini://h/?", "gemini", "h", -1, "/", "");
	accept_url("gemini://h/?a?b=/c", "gemini", "h", -1, "/", "a?b=/c");
	accept_url("gemini://h/?%2e%2e/..", "gemini", "h", -1, "/",
	    "%2e%2e/..");
	accept_url("gemini://h/q?caf%C3%A9", "gemini", "h", -1, "/q",
	    "caf%C3%A9");
	accept_url("gemini://h/p", "gemini", "h", -1, "/p", NULL);
	static const char *const bad[] = {
		"gemini://h/?%zz",
		"gemini://h/?%4",
		"gemini://h/?%",
		"gemini://h/?a%g1",
		"gemini://h/?a b",
		NULL,
	};
	reject_all(bad);
}

static void
test_decoding(void **state)
{
	static const char *const ok[] = {
		"gemini://localhost/%41%62c", "/Abc",
		"gemini://localhost/%4a%4A", "/JJ",
		"gemini://localhost/caf%C3%A9.gmi", "/caf\xC3\xA9.gmi",
		"gemini://localhost/caf\xC3\xA9.gmi", "/caf\xC3\xA9.gmi",
		"gemini://localhost/a%20b", "/a b",
		"gemini://localhost/%7euser/", "/~user/",
		"gemini://localhost/%25", "/%",
		"gemini://localhost/100%25.gmi", "/100%.gmi",
		"gemini://localhost/%F0%9F%90%8D", "/\xF0\x9F\x90\x8D",
		"gemini://localhost/a+b", "/a+b",
		"gemini://localhost/%3F%23", "/?#",
		NULL,
	};
	accept_path_all(ok);
}

/* Double encoding is decoded once: %252e is the three bytes "%2e". */
static void
test_decoded_once(void **state)
{
	static const char *const ok[] = {
		"gemini://localhost/%252e%252e/%252e%252e/etc/passwd",
		"/%2e%2e/%2e%2e/etc/passwd",
		"gemini://localhost/%252E", "/%2E",
		"gemini://localhost/%2525", "/%25",
		NULL,
	};
	accept_path_all(ok);
}

static void
test_pct_slash(void **state)
{
	/* RFC 3986, 2.2: "%2F" is not "/"; refused rather than decoded. */
	static const char *const ok[] = {
		"gemini://localhost/a%252Fb", "/a%2Fb",
		NULL,
	};
	static const char *const bad[] = {
		"gemini://localhost/a%2fb",
		"gemini://localhost/a%2Fb",
		"gemini://localhost/%2fetc%2fpasswd",
		"gemini://localhost/..%2f..%2fetc/passwd",
		"gemini://localhost/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"gemini://localhost/a%2f..%2fb",
		"gemini://localhost/a%2f%2e%2e",
		"gemini://localhost/%2f%2e%2e",
		"gemini://localhost/%2F..",
		"gemini://localhost/a%2f.%2fb",
		NULL,
	};

	accept_path_all(ok);
	reject_all(bad);
}

static void
test_dot_literal(void **state)
{
	static const char *const bad[] = {
		"gemini://localhost/.",
		"gemini://localhost/..",
		"gemini://localhost/./",
		"gemini://localhost/../",
		"gemini://localhost/a/.",
		"gemini://localhost/a/..",
		"gemini://localhost/a/./b",
		"gemini://localhost/a/../b",
		"gemini://localhost/../../etc/passwd",
		"gemini://localhost/a/b/../../../x",
		"gemini://localhost/./.",
		"gemini://localhost/..?q",
		"gemini://localhost/a/..?q=1",
		"gemini://localhost//..",
		"gemini://localhost:1965/..",
		NULL,
	};
	reject_all(bad);
}

static void
test_dot_encoded(void **state)
{
	static const char *const bad[] = {
		"gemini://localhost/%2e",
		"gemini://localhost/%2E",
		"gemini://localhost/%2e%2e",
		"gemini://localhost/%2E%2E",
		"gemini://localhost/%2E%2e",
		"gemini://localhost/%2e%2E",
		"gemini://localhost/.%2e",
		"gemini://localhost/%2e.",
		"gemini://localhost/.%2E/",
		"gemini://localhost/a/%2e%2e/b",
		"gemini://localhost/a/%2e/b",
		"gemini://localhost/%2e/",
		"gemini://localhost/%2e%2e/%2e%2e/etc/passwd",
		"gemini://localhost/a/.%2e",
		"gemini://localhost/a/%2e%2e?x",
		NULL,
	};
	reject_all(bad);
}

/* Names that merely contain dots are ordinary names. */
static void
test_dots_in_names(void **state)
{
	static const char *const ok[] = {
		"gemini://localhost/...", "/...",
		"gemini://localhost/.hidden", "/.hidden",
		"gemini://localhost/a.", "/a.",
		"gemini://localhost/..a", "/..a",
		"gemini://localhost/a..", "/a..",
		"gemini://localhost/a..b/c", "/a..b/c",
		"gemini://localhost/.%2e%2e", "/...",
		"gemini://localhost/%2e%2e%2e", "/...",
		"gemini://localhost/%2e%2eb", "/..b",
		"gemini://localhost/..\\..\\etc\\passwd", "/..\\..\\etc\\passwd",
		"gemini://localhost/%5c..%5cx", "/\\..\\x",
		"gemini://localhost//", "/",	/* runs of slashes are one */
		NULL,
	};
	accept_path_all(ok);
}

static void
test_not_absolute(void **state)
{
	static const char *const bad[] = {
		"/page.gmi",
		"page.gmi",
		"localhost/page.gmi",
		"localhost",
		"//localhost/page.gmi",
		"1gemini://localhost/",
		"+gemini://localhost/",
		"gemini:/localhost/",
		"gemini:localhost/",
		"gemini:",
		"gemini",
		"://localhost/",
		"gemini//localhost/",
		"gem_ini://localhost/",
		"geminigeminigeminigemini://localhost/",
		"?q",
		"%67emini://localhost/",
		NULL,
	};
	reject_all(bad);
}

static void
test_userinfo(void **state)
{
	static const char *const bad[] = {
		"gemini://user@localhost/",
		"gemini://user:pass@localhost/",
		"gemini://@localhost/",
		"gemini://user@localhost:1965/x",
		"gemini://a@b@localhost/",
		NULL,
	};
	reject_all(bad);
}

static void
test_fragment(void **state)
{
	static const char *const bad[] = {
		"gemini://localhost/#",
		"gemini://localhost/a#b",
		"gemini://localhost/a?q#f",
		"gemini://localhost#f",
		"gemini://localhost:1965#f",
		NULL,
	};
	reject_all(bad);
}

static void
test_bad_host(void **state)
{
	char		 longhost[400];
	static const char *const bad[] = {
		"gemini:///path",
		"gemini://",
		"gemini://:1965/",
		"gemini://?q",
		"gemini://ho%73t/",
		"gemini://h<x>/",
		"gemini://h!/",
		"gemini://h\"/",
		"gemini://h;x/",
		"gemini://h,x/",
		"gemini://h\\x/",
		"gemini://h{x}/",
		NULL,
	};

	reject_all(bad);
	memset(longhost, 'a', sizeof(longhost));
	memcpy(longhost, "gemini://", 9);
	longhost[sizeof(longhost) - 2] = '/';
	longhost[sizeof(longhost) - 1] = '\0';
	reject_n(longhost, strlen(longhost));
	/* A host of exactly HOSTNAME_MAX bytes is fine. */
	memset(longhost, 'a', sizeof(longhost));
	memcpy(longhost, "gemini://", 9);
	longhost[9 + HOSTNAME_MAX] = '/';
	longhost[9 + HOSTNAME_MAX + 1] = '\0';
	{
		struct url	 u;
		const char	*err = NULL;

		assert_int_equal(url_parse(longhost, strlen(longhost), &u,
		    &err), 0);
		assert_int_equal(strlen(u.host), HOSTNAME_MAX);
	}
	/* International names in UTF-8 are allowed as they stand. */
	accept_url("gemini://B\xC3\xBC" "cher.example/", "gemini",
	    "b\xC3\xBC" "cher.example", -1, "/", NULL);
}

static void
test_bad_percent(void **state)
{
	static const char *const bad[] = {
		"gemini://localhost/%",
		"gemini://localhost/a%",
		"gemini://localhost/%4",
		"gemini://localhost/a%4",
		"gemini://localhost/%zz",
		"gemini://localhost/%g0",
		"gemini://localhost/%0g",
		"gemini://localhost/%%41",
		"gemini://localhost/%-1",
		"gemini://localhost/% 1",
		"gemini://localhost/%4?q",
		NULL,
	};
	reject_all(bad);
}

static void
test_control_chars(void **state)
{
	static const char *const bad[] = {
		"gemini://localhost/ ",
		"gemini://localhost/a b",
		"gemini://local host/",
		" gemini://localhost/",
		"gemini://localhost/\t",
		"gemini://localhost/\x01",
		"gemini://localhost/\x1b[31m",
		"gemini://localhost/\x7f",
		"gemini://localhost/\r",
		"gemini://localhost/\n",
		"gemini://localhost/a\r\nb",
		"gemini://localhost/?\x08",
		"gemini://localhost/?a b",
		NULL,
	};
	static const char nul[] = "gemini://localhost/a\0b";

	reject_all(bad);
	reject_n(nul, sizeof(nul) - 1);
	reject_n("gemini://localhost/\0", 20);
}

static void
test_decoded_control(void **state)
{
	static const char *const bad[] = {
		"gemini://localhost/%00",
		"gemini://localhost/a%00.gmi",
		"gemini://localhost/index.gmi%00.txt",
		"gemini://localhost/%0a",
		"gemini://localhost/%0D%0A",
		"gemini://localhost/%1b%5b31m",
		"gemini://localhost/%7f",
		"gemini://localhost/%7F",
		"gemini://localhost/%09",
		"gemini://localhost/%01",
		"gemini://localhost/%1F",
		NULL,
	};
	reject_all(bad);
}

static void
test_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"gemini://localhost/\xff",
		"gemini://localhost/\xfe",
		"gemini://localhost/\xc3",		/* truncated */
		"gemini://localhost/\xc3(",
		"gemini://localhost/\x80",		/* lone continuation */
		"gemini://localhost/\xc0\xaf",	/* overlong '/' */
		"gemini://localhost/\xe0\x80\xae",	/* overlong '.' */
		"gemini://localhost/\xed\xa0\x80",	/* surrogate */
		"gemini://localhost/\xf4\x90\x80\x80",	/* past U+10FFFF */
		"gemini://localhost/\xf8\x88\x80\x80\x80",
		"gemini://localhost/?\xff",
		"gemini://h\xff/",
		/* the same, percent-encoded in the path */
		"gemini://localhost/%ff",
		"gemini://localhost/%FE",
		"gemini://localhost/%C3",
		"gemini://localhost/%C3%28",
		"gemini://localhost/%80",
		"gemini://localhost/%C0%AF",
		"gemini://localhost/%C0%AE%C0%AE/x",
		"gemini://localhost/%E0%80%AE",
		"gemini://localhost/%ED%A0%80",
		"gemini://localhost/%F4%90%80%80",
		NULL,
	};
	reject_all(bad);
}

static void
test_empty(void **state)
{
	reject_n("", 0);
	reject_n("gemini://localhost/", 0);
}

/* The limit is 1024 bytes: 1024 is accepted, 1025 is not. */
static void
test_length_limit(void **state)
{
	char		 in[2100], want[2100];
	const char	*pre = "gemini://localhost/";
	size_t		 pl = strlen(pre);

	assert_int_equal(GEMINI_URL_MAX, 1024);
	memcpy(in, pre, pl);
	memset(in + pl, 'a', sizeof(in) - pl);
	want[0] = '/';
	memset(want + 1, 'a', 1024 - pl);
	want[1024 - pl + 1] = '\0';
	accept_n(in, 1024, "gemini", "localhost", -1, want, NULL);
	reject_n(in, 1025);
	reject_n(in, 2000);
	/* 1024 bytes of percent-encoding decode into a shorter path. */
	for (size_t i = pl; i + 3 <= 1024; i += 3)
		memcpy(in + i, "%41", 3);
	memset(in + pl + (1024 - pl) / 3 * 3, 'B', (1024 - pl) % 3);
	{
		struct url	 u;
		const char	*err = NULL;

		assert_int_equal(url_parse(in, 1024, &u, &err), 0);
		assert_int_equal(strlen(u.path),
		    1 + (1024 - pl) / 3 + (1024 - pl) % 3);
		assert_int_equal(u.path[0], '/');
		assert_int_equal(u.path[1], 'A');
	}
	/* A long query is fine up to the limit too. */
	memcpy(in, "gemini://localhost/?", 20);
	memset(in + 20, 'q', 1024 - 20);
	{
		struct url	 u;
		const char	*err = NULL;

		assert_int_equal(url_parse(in, 1024, &u, &err), 0);
		assert_int_equal(strlen(u.query), 1024 - 20);
	}
}

/* Input is not NUL-terminated: only n bytes may be read. */
static void
test_length_respected(void **state)
{
	const char	 in[] = "gemini://localhost/a.gmi#frag";

	accept_n(in, strlen("gemini://localhost/a.gmi"), "gemini",
	    "localhost", -1, "/a.gmi", NULL);
	accept_n("gemini://localhost/%41%zz", strlen("gemini://localhost/%41"),
	    "gemini", "localhost", -1, "/A", NULL);
	/* A truncated escape at the very end of the n bytes is refused. */
	reject_n("gemini://localhost/%41", strlen("gemini://localhost/%4"));
}

static void
test_struct_reused(void **state)
{
	struct url	 u;
	const char	*err = NULL;

	assert_int_equal(url_parse("gemini://a-long-host-name.example:1965/"
	    "long/path?query", 53, &u, &err), 0);
	assert_int_equal(url_parse("gemini://b/", 11, &u, &err), 0);
	assert_string_equal(u.host, "b");
	assert_string_equal(u.path, "/");
	assert_int_equal(u.port, -1);
	assert_false(u.has_query);
	assert_string_equal(u.query, "");
}

static void
test_url_decode(void **state)
{
	char	 out[16];
	size_t	 n = 99;

	assert_int_equal(url_decode("%41b%63", 7, out, sizeof(out), &n), 0);
	assert_string_equal(out, "Abc");
	assert_int_equal(n, 3);
	assert_int_equal(url_decode("", 0, out, sizeof(out), &n), 0);
	assert_string_equal(out, "");
	assert_int_equal(n, 0);
	assert_int_equal(url_decode("a%00b", 5, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "a\0b", 3);
	assert_int_equal(url_decode("%", 1, out, sizeof(out), &n), -1);
	assert_int_equal(url_decode("%4", 2, out, sizeof(out), &n), -1);
	assert_int_equal(url_decode("%4x", 3, out, sizeof(out), &n), -1);
	assert_int_equal(url_decode("%x4", 3, out, sizeof(out), &n), -1);
	/* The output size counts the NUL. */
	assert_int_equal(url_decode("abc", 3, out, 4, &n), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(url_decode("abcd", 4, out, 4, &n), -1);
	assert_int_equal(url_decode("%41%42%43", 9, out, 4, &n), 0);
	assert_string_equal(out, "ABC");
	/* Every byte value decodes from both cases of hex. */
	for (int c = 0; c < 256; c++) {
		char	 enc[4];

		snprintf(enc, sizeof(enc), "%%%02x", c);
		assert_int_equal(url_decode(enc, 3, out, sizeof(out), &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal((unsigned char)out[0], c);
		snprintf(enc, sizeof(enc), "%%%02X", c);
		assert_int_equal(url_decode(enc, 3, out, sizeof(out), &n), 0);
		assert_int_equal((unsigned char)out[0], c);
	}
	/* outlen may be NULL */
	assert_int_equal(url_decode("x", 1, out, sizeof(out), NULL), 0);
}

static void
test_squeeze_slashes(void **state)
{
	static const char *const cases[][2] = {
		{ "/", "/" }, { "//", "/" }, { "///a", "/a" },
		{ "/a//b///c/", "/a/b/c/" }, { "/a/b", "/a/b" },
		{ "//search", "/search" }, { "", "" }, { "a//b", "a/b" },
		{ "/a/////", "/a/" },
	};
	char	 buf[64];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", cases[i][0]);
		url_squeeze_slashes(buf);
		assert_string_equal(buf, cases[i][1]);
	}
}

static void
test_host_equal(void **state)
{
	assert_true(url_host_equal("example.org", "example.org"));
	assert_true(url_host_equal("Example.ORG", "example.org"));
	assert_true(url_host_equal("example.org.", "example.org"));
	assert_true(url_host_equal("example.org", "example.org.."));
	assert_false(url_host_equal("example.org", "example.com"));
	assert_false(url_host_equal("example.org", "www.example.org"));
	assert_false(url_host_equal("example.or", "example.org"));
	assert_false(url_host_equal(".", ""));
	assert_true(url_host_equal(".", "."));
}

static void
test_host_ascii(void **state)
{
	char	out[HOSTNAME_MAX + 1];

	assert_int_equal(url_host_ascii("b\xc3\xbc" "cher.example", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "xn--bcher-kva.example");
	/* Upper case is mapped (UTS #46) before encoding. */
	assert_int_equal(url_host_ascii("B\xc3\x9c" "CHER.example", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "xn--bcher-kva.example");
	assert_int_equal(url_host_ascii("xn--bcher-kva.example", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "xn--bcher-kva.example");
	assert_int_equal(url_host_ascii("localhost", out, sizeof(out)), 0);
	assert_string_equal(out, "localhost");
	assert_int_equal(url_host_ascii("::1", out, sizeof(out)), 0);
	assert_string_equal(out, "::1");
	/* Not a name IDNA allows, and an output that does not fit. */
	assert_int_equal(url_host_ascii("a\xe2\x80\x8f" "b.example", out,
	    sizeof(out)), -1);
	assert_int_equal(url_host_ascii("b\xc3\xbc" "cher.example", out, 8),
	    -1);
	assert_int_equal(url_host_ascii("localhost", out, 9), -1);
}

static void
test_valid_host(void **state)
{
	static const char *const ok[] = {
		"localhost", "LocalHost", "example.org", "my_host.lan",
		"a-b.example", "192.0.2.1", "::1", "2001:db8::1",
		"caf\xc3\xa9.example", "xn--caf-dma.example", "a", NULL,
	};
	static const char *const bad[] = {
		"", "example.org:1965", "[::1]", "https://example.org",
		"bad_host!", "-foo", "foo-", "a..b", ".a", "example.org.",
		"a b", "a/b", "*.example.org", "\xebge", "caf\xc3",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.x",
		NULL,
	};

	for (const char *const *p = ok; *p != NULL; p++)
		if (!url_valid_host(*p))
			fail_msg("refused \"%s\"", *p);
	for (const char *const *p = bad; *p != NULL; p++)
		if (url_valid_host(*p))
			fail_msg("accepted \"%s\"", *p);
}

static void
test_parse_squeezes_slashes(void **state)
{
	struct url	 u;
	const char	*err;
	static const char req[] = "gemini://localhost//a///b.gmi";

	assert_int_equal(url_parse(req, sizeof(req) - 1, &u, &err), 0);
	assert_string_equal(u.path, "/a/b.gmi");
}

static void
test_path_check(void **state)
{
	static const char *const ok[] = {
		"", "/", "//", "/a", "/a/b/", "/...", "/.a", "/a.", "/..a",
		"/a/.b/c", "a/b", "/a..b", NULL,
	};
	static const char *const bad[] = {
		".", "..", "/.", "/..", "./", "../", "/./", "/../", "/a/.",
		"/a/..", "/a/./b", "/a/../b", "//..", "../a", "a/..", NULL,
	};
	const char	*err;

	for (const char *const *p = ok; *p != NULL; p++) {
		err = NULL;
		if (path_check(*p, &err) != 0)
			fail_msg("path_check refused \"%s\"", *p);
	}
	for (const char *const *p = bad; *p != NULL; p++) {
		err = NULL;
		if (path_check(*p, &err) != -1)
			fail_msg("path_check accepted \"%s\"", *p);
		assert_non_null(err);
	}
}

static void
encode_is(const char *path, const char *want)
{
	struct buf b;

	buf_init(&b);
	assert_int_equal(url_encode_path(&b, path), 0);
	if (strcmp(b.data ? b.data : "", want) != 0)
		fail_msg("url_encode_path(\"%s\") = \"%s\", want \"%s\"", path,
		    b.data ? b.data : "", want);
	buf_free(&b);
}

static void
test_encode_path(void **state)
{
	struct buf	 b;
	char		 raw[256], dec[256 * 3 + 1];
	size_t		 n;
	struct url	 u;
	const char	*err;

	encode_is("/a/b.gmi", "/a/b.gmi");
	encode_is("/a b", "/a%20b");
	encode_is("/caf\xC3\xA9", "/caf%C3%A9");
	encode_is("/?#%", "/%3F%23%25");
	encode_is("/\x01\x7f", "/%01%7F");
	encode_is("-._~/!$&'()*+,;=:@", "-._~/!$&'()*+,;=:@");
	encode_is("/\"<>\\^`{|}[]", "/%22%3C%3E%5C%5E%60%7B%7C%7D%5B%5D");
	encode_is("", "");

	/* It appends to what the buffer holds. */
	buf_init(&b);
	assert_int_equal(buf_puts(&b, "gemini://h"), 0);
	assert_int_equal(url_encode_path(&b, "/x y"), 0);
	assert_string_equal(b.data, "gemini://h/x%20y");
	buf_free(&b);

	/* Every byte round-trips through encode and decode. */
	for (int c = 1; c < 256; c++)
		raw[c - 1] = (char)c;
	raw[255] = '\0';
	buf_init(&b);
	assert_int_equal(url_encode_path(&b, raw), 0);
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];

		if (c <= 0x20 || c >= 0x7F || strchr("\"#<>?\\^`{|}%[]", c))
			if (c != '%')
				fail_msg("unsafe byte 0x%02x left in \"%s\"",
				    c, b.data);
	}
	assert_int_equal(url_decode(b.data, b.len, dec, sizeof(dec), &n), 0);
	assert_int_equal(n, 255);
	assert_memory_equal(dec, raw, 255);
	buf_free(&b);

	/* An encoded UTF-8 name with spaces parses back to itself. */
	buf_init(&b);
	assert_int_equal(buf_puts(&b, "gemini://localhost"), 0);
	assert_int_equal(url_encode_path(&b,
	    "/dir/with space \xC3\xA9t\xC3\xA9 #1?.gmi"), 0);
	err = NULL;
	assert_int_equal(url_parse(b.data, b.len, &u, &err), 0);
	assert_string_equal(u.path, "/dir/with space \xC3\xA9t\xC3\xA9 #1?.gmi");
	assert_false(u.has_query);
	buf_free(&b);
}

static void
test_path_ends_with(void **state)
{
	static const struct {
		const char	*path, *suffix;
		bool		 ends;
	} t[] = {
		{ "/a/b.txt", ".txt", true },
		{ ".txt", ".txt", true },
		{ "/d/index.txt", "/index.txt", true },
		{ "anything", "", true },
		{ "txt", ".txt", false },
		{ "/a/b.txt/", ".txt", false },
		{ "/a/b.TXT", ".txt", false },	/* names are case-sensitive */
		{ "", ".txt", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(path_ends_with(t[i].path, t[i].suffix),
		    t[i].ends);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_empty_path),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_case_folding),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_query_kept),
		cmocka_unit_test(test_decoding),
		cmocka_unit_test(test_decoded_once),
		cmocka_unit_test(test_pct_slash),
		cmocka_unit_test(test_dot_literal),
		cmocka_unit_test(test_dot_encoded),
		cmocka_unit_test(test_dots_in_names),
		cmocka_unit_test(test_not_absolute),
		cmocka_unit_test(test_userinfo),
		cmocka_unit_test(test_fragment),
		cmocka_unit_test(test_bad_host),
		cmocka_unit_test(test_bad_percent),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_decoded_control),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_length_respected),
		cmocka_unit_test(test_struct_reused),
		cmocka_unit_test(test_url_decode),
		cmocka_unit_test(test_path_check),
		cmocka_unit_test(test_squeeze_slashes),
		cmocka_unit_test(test_host_equal),
		cmocka_unit_test(test_valid_host),
		cmocka_unit_test(test_host_ascii),
		cmocka_unit_test(test_parse_squeezes_slashes),
		cmocka_unit_test(test_encode_path),
		cmocka_unit_test(test_path_ends_with),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
