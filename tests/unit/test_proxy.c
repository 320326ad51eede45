/* test_proxy.c: the PROXY protocol header parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "lumbar.h"

static int
parse(const char *s, size_t n, struct sockaddr_storage *ss, size_t *used)
{
	*used = 0;
	return proxy_parse(s, n, ss, used);
}

static void
v1_tcp4(void **state)
{
	static const char h[] = "PROXY TCP4 192.0.2.7 127.0.0.1 40000 1965\r\n"
	    "\x16\x03\x01";
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	size_t			 used;
	char			 ip[INET_ADDRSTRLEN];

	assert_int_equal(parse(h, sizeof(h) - 1, &ss, &used), 1);
	assert_int_equal(used, sizeof(h) - 1 - 3);
	assert_int_equal(ss.ss_family, AF_INET);
	inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
	assert_string_equal(ip, "192.0.2.7");
	assert_int_equal(ntohs(s4->sin_port), 40000);
}

static void
v1_tcp6_and_unknown(void **state)
{
	static const char h6[] = "PROXY TCP6 2001:db8::1 ::1 5 70\r\n";
	static const char hu[] = "PROXY UNKNOWN\r\n";
	struct sockaddr_storage	 ss;
	size_t			 used;

	assert_int_equal(parse(h6, sizeof(h6) - 1, &ss, &used), 1);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(parse(hu, sizeof(hu) - 1, &ss, &used), 1);
	assert_int_equal(ss.ss_family, AF_UNSPEC);
	assert_int_equal(used, sizeof(hu) - 1);
}

static void
v1_incomplete_and_invalid(void **state)
{
	static const char *const bad[] = {
		"PROXY TCP4 192.0.2.7 127.0.0.1 40000\r\n",
		"PROXY TCP4 999.0.2.7 127.0.0.1 1 2\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 70000 1\r\n",
		"PROXY TCP5 192.0.2.7 127.0.0.1 1 1\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 1 1\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 1 1 extra\r\n",
		"GET / HTTP/1.0\r\n",
	};
	struct sockaddr_storage	 ss;
	size_t			 used, i;
	char			 longline[200];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], strlen(bad[i]), &ss, &used), -1);
	assert_int_equal(parse("PROXY TCP4 1.2", 14, &ss, &used), 0);
	assert_int_equal(parse("PRO", 3, &ss, &used), 0);
	memset(longline, 'A', sizeof(longline));
	memcpy(longline, "PROXY ", 6);
	assert_int_equal(parse(longline, sizeof(longline), &ss, &used), -1);
}

static void
v2_tcp4_local_and_bad(void **state)
{
	unsigned char		 h[16 + 12 + 4] = "\r\n\r\n\0\r\nQUIT\n";
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	size_t			 used;

	h[12] = 0x21;		/* version 2, PROXY */
	h[13] = 0x11;		/* TCP over IPv4 */
	h[14] = 0;
	h[15] = 12 + 4;		/* addresses and a 4-byte TLV */
	h[16] = 198; h[17] = 51; h[18] = 100; h[19] = 9;
	h[24] = 0x1F; h[25] = 0x90;	/* port 8080 */
	assert_int_equal(parse((char *)h, 20, &ss, &used), 0);
	assert_int_equal(parse((char *)h, sizeof(h), &ss, &used), 1);
	assert_int_equal(used, sizeof(h));
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohl(s4->sin_addr.s_addr), 0xC6336409);
	assert_int_equal(ntohs(s4->sin_port), 8080);

	h[12] = 0x20;		/* LOCAL: a health check */
	assert_int_equal(parse((char *)h, sizeof(h), &ss, &used), 1);
	assert_int_equal(ss.ss_family, AF_UNSPEC);

	h[12] = 0x11;		/* version 1 in a version 2 header */
	assert_int_equal(parse((char *)h, sizeof(h), &ss, &used), -1);
	h[12] = 0x21;
	h[14] = 0xFF;		/* longer than any header we accept */
	assert_int_equal(parse((char *)h, sizeof(h), &ss, &used), -1);
}

static void
maybe(void **state)
{
	assert_true(proxy_maybe("PROX", 4));
	assert_true(proxy_maybe("\r\n\r\n", 4));
	assert_false(proxy_maybe("\x16\x03\x01", 3));
	assert_false(proxy_maybe("/articles/\r\n", 12));
}

static void
sockaddr_of(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
}

/* --proxy-from compares addresses, not their spellings. */
static void
allowed(void **state)
{
	struct sockaddr_storage ss;

	conf.proxy_from[0] = "127.0.0.1";
	conf.proxy_from[1] = "2001:DB8::1";
	conf.nproxy_from = 2;
	sockaddr_of("127.0.0.1", &ss);
	assert_true(proxy_allowed(&ss));
	/* An IPv4 peer of a dual-stack listener (the default). */
	sockaddr_of("::ffff:127.0.0.1", &ss);
	assert_true(proxy_allowed(&ss));
	sockaddr_of("2001:db8:0::0:1", &ss);
	assert_true(proxy_allowed(&ss));
	sockaddr_of("127.0.0.2", &ss);
	assert_false(proxy_allowed(&ss));
	sockaddr_of("::ffff:127.0.0.2", &ss);
	assert_false(proxy_allowed(&ss));
	sockaddr_of("::1", &ss);
	assert_false(proxy_allowed(&ss));
	sockaddr_of("2001:db8::2", &ss);
	assert_false(proxy_allowed(&ss));
	/* ::127.0.0.1 is not the IPv4-mapped form. */
	sockaddr_of("::127.0.0.1", &ss);
	assert_false(proxy_allowed(&ss));
	conf.nproxy_from = 0;
	sockaddr_of("127.0.0.1", &ss);
	assert_false(proxy_allowed(&ss));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v1_tcp4),
		cmocka_unit_test(v1_tcp6_and_unknown),
		cmocka_unit_test(v1_incomplete_and_invalid),
		cmocka_unit_test(v2_tcp4_local_and_bad),
		cmocka_unit_test(maybe),
		cmocka_unit_test(allowed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
