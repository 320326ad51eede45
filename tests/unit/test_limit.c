/* test_limit.c: connection limits shared by the workers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "lumbar.h"

static struct sockaddr_storage
addr(const char *ip)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return ss;
}

static int
acquire(const char *ip)
{
	struct sockaddr_storage ss = addr(ip);

	return limit_acquire((struct sockaddr *)&ss, NULL);
}

static int
setup(void **state)
{
	static bool done;

	if (!done && limit_init(2) == -1)
		return -1;
	done = true;
	limit_worker(0);
	limit_reset(1);
	conf.max_conns = 0;
	conf.max_per_client = 0;
	conf.rate = 0;
	return 0;
}

static void
per_client(void **state)
{
	int s;

	conf.max_per_client = 2;
	assert_int_not_equal(s = acquire("192.0.2.1"), -1);
	assert_int_not_equal(acquire("192.0.2.1"), -1);
	assert_int_equal(acquire("192.0.2.1"), -1);
	limit_release(s);
	assert_int_not_equal(acquire("192.0.2.1"), -1);
	/* One IPv6 /64 is one client; an IPv4-mapped peer is its IPv4. */
	assert_int_not_equal(acquire("2001:db8:1:2::1"), -1);
	assert_int_not_equal(acquire("2001:db8:1:2::ffff"), -1);
	assert_int_equal(acquire("2001:db8:1:2:aaaa::7"), -1);
	assert_int_equal(acquire("::ffff:192.0.2.1"), -1);
}

static void
total(void **state)
{
	int i;

	conf.max_conns = 5;
	for (i = 0; i < 5; i++)
		assert_int_not_equal(acquire(i % 2 ? "192.0.2.9" :
		    "198.51.100.3"), -1);
	assert_int_equal(acquire("203.0.113.77"), -1);
	/* A dead worker's row is cleared by the parent. */
	limit_reset(0);
	assert_int_not_equal(acquire("203.0.113.77"), -1);
}

/*
 * New connections of one client (an address, an IPv6 /64) are limited to
 * a rate after a burst: the first over it learns how long to wait, the
 * next ones within a second are closed unanswered; others are not held.
 */
static void
rate_per_client(void **state)
{
	struct sockaddr_storage	 ss = addr("192.0.2.50");
	int			 i, s, wait;

	conf.rate = 1;
	conf.burst = 3;
	for (i = 0; i < 3; i++) {
		assert_true((s = limit_acquire((struct sockaddr *)&ss,
		    &wait)) >= 0);
		limit_release(s);
	}
	assert_int_equal(limit_acquire((struct sockaddr *)&ss, &wait), -1);
	assert_int_equal(wait, 1);
	assert_int_equal(limit_acquire((struct sockaddr *)&ss, &wait), -2);
	assert_true((s = acquire("198.51.100.200")) >= 0);
	limit_release(s);
	/* an IPv6 /64 is one client for the rate too */
	for (i = 0; i < 3; i++) {
		assert_true((s = acquire(i % 2 ? "2001:db8:9:9::1" :
		    "2001:db8:9:9::2")) >= 0);
		limit_release(s);
	}
	assert_int_equal(acquire("2001:db8:9:9:ffff::3"), -1);
}

/* FNV-1a over the address, mod 4096: the unkeyed hash lumbar once used. */
static unsigned
public_slot(uint32_t ip)
{
	unsigned	 h = 2166136261u;
	int		 i;

	for (i = 0; i < 4; i++)
		h = (h ^ ((ip >> (24 - 8 * i)) & 0xFF)) * 16777619u;
	return h % 4096;
}

/*
 * Addresses that anyone can compute to share a victim's slot under a
 * public hash must not share it: the slot hash is keyed with a secret.
 * With 64 such addresses, a random key lets a few collide by chance
 * (1 in 4096 each); more than 3 would mean the key does nothing.
 */
static void
slots_cannot_be_aimed(void **state)
{
	uint32_t	 victim = 0x7F000001, ip;
	unsigned	 want = public_slot(victim);
	char		 text[INET_ADDRSTRLEN];
	struct in_addr	 in;
	int		 found = 0, shared = 0, v;

	conf.max_per_client = 1;
	for (ip = 0x7F000002; found < 64 && ip < 0x7FFFFFFF; ip++) {
		if (public_slot(ip) != want)
			continue;
		found++;
		in.s_addr = htonl(ip);
		inet_ntop(AF_INET, &in, text, sizeof(text));
		assert_int_not_equal(v = acquire("127.0.0.1"), -1);
		if (acquire(text) == -1)
			shared++;
		limit_reset(0);
		(void)v;
	}
	assert_int_equal(found, 64);
	assert_true(shared <= 3);
}

/*
 * The slot of an address comes from a secret made at limit_init(): two
 * starts place the same addresses in different slots.  With a random
 * 128-bit key each address keeps its slot by chance 1 time in 4096; a
 * fixed or missing key keeps all 64.
 */
static void
slots_depend_on_the_key(void **state)
{
	char	 text[INET_ADDRSTRLEN];
	int	 before[64], same = 0;
	unsigned char	 i;	/* an address's last byte: no truncation */

	for (i = 0; i < 64; i++) {
		snprintf(text, sizeof(text), "198.51.100.%u", i);
		assert_int_not_equal(before[i] = acquire(text), -1);
	}
	assert_int_equal(limit_init(2), 0);	/* a new start, a new key */
	limit_worker(0);
	for (i = 0; i < 64; i++) {
		snprintf(text, sizeof(text), "198.51.100.%u", i);
		same += acquire(text) == before[i];
	}
	assert_true(same <= 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(per_client, setup),
		cmocka_unit_test_setup(total, setup),
		cmocka_unit_test_setup(rate_per_client, setup),
		cmocka_unit_test_setup(slots_cannot_be_aimed, setup),
		cmocka_unit_test_setup(slots_depend_on_the_key, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
