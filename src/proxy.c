/*
 * proxy.c: the PROXY protocol header (versions 1 and 2) a load balancer
 * such as HAProxy puts before a connection's bytes to tell the real
 * client's address, and which peers may send one.  No I/O: the server
 * peeks, this decides.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "lumbar.h"

#define V1_MAX	107	/* the longest version 1 line, CRLF included */

static const char v2sig[12] = "\r\n\r\n\0\r\nQUIT\n";

/*
 * Is this peer a load balancer allowed to send PROXY headers?  Compared
 * as addresses, not strings: on the default dual-stack listener an IPv4
 * peer is ::ffff:a.b.c.d, and one IPv6 address has many spellings.
 */
bool
proxy_allowed(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6	*s6 = (const void *)ss;
	const struct sockaddr_in	*s4 = (const void *)ss;
	unsigned char			 a[16];
	size_t				 i;

	for (i = 0; i < conf.nproxy_from; i++) {
		if (ss->ss_family == AF_INET6 &&
		    inet_pton(AF_INET6, conf.proxy_from[i], a) == 1 &&
		    memcmp(a, &s6->sin6_addr, 16) == 0)
			return true;
		if (inet_pton(AF_INET, conf.proxy_from[i], a) != 1)
			continue;
		if (ss->ss_family == AF_INET &&
		    memcmp(a, &s4->sin_addr, 4) == 0)
			return true;
		if (ss->ss_family == AF_INET6 &&
		    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
		    memcmp(a, s6->sin6_addr.s6_addr + 12, 4) == 0)
			return true;
	}
	return false;
}

/* Could these n bytes still become the start of a PROXY header? */
int
proxy_maybe(const char *buf, size_t n)
{
	if (n == 0)
		return 1;
	if (memcmp(buf, "PROXY ", n < 6 ? n : 6) == 0)
		return 1;
	return memcmp(buf, v2sig, n < 12 ? n : 12) == 0;
}

static int
parse_v1(const char *buf, size_t n, struct sockaddr_storage *ss,
    size_t *used)
{
	char		 line[V1_MAX + 1], *f[6], *save = NULL, *p;
	const char	*nl;
	size_t		 len, i;
	long		 port;
	int		 fam;

	if ((nl = memchr(buf, '\n', n < V1_MAX ? n : V1_MAX)) == NULL)
		return n >= V1_MAX ? -1 : 0;
	len = (size_t)(nl - buf) + 1;
	if (len < 2 || nl[-1] != '\r')
		return -1;
	memcpy(line, buf, len - 2);
	line[len - 2] = '\0';
	*used = len;
	for (i = 0, p = line; i < 6; i++, p = NULL)
		if ((f[i] = strtok_r(p, " ", &save)) == NULL)
			break;
	if (i >= 2 && strcmp(f[0], "PROXY") == 0 &&
	    strcmp(f[1], "UNKNOWN") == 0) {
		ss->ss_family = AF_UNSPEC;	/* keep the peer's address */
		return 1;
	}
	if (i != 6 || strtok_r(NULL, " ", &save) != NULL ||
	    strcmp(f[0], "PROXY") != 0)
		return -1;
	if (strcmp(f[1], "TCP4") == 0)
		fam = AF_INET;
	else if (strcmp(f[1], "TCP6") == 0)
		fam = AF_INET6;
	else
		return -1;
	memset(ss, 0, sizeof(*ss));
	for (p = f[4], port = 0; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || p - f[4] > 4)
			return -1;
		port = port * 10 + (*p - '0');
	}
	if (port > 65535 || f[4][0] == '\0')
		return -1;
	if (fam == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, f[2], &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, f[2], &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
	}
	return 1;
}

static int
parse_v2(const unsigned char *b, size_t n, struct sockaddr_storage *ss,
    size_t *used)
{
	size_t len;

	if (n < 16)
		return 0;
	if ((b[12] & 0xF0) != 0x20)
		return -1;
	len = (size_t)b[14] << 8 | b[15];
	if (len > PROXY_HEADER_MAX - 16)
		return -1;
	if (n < 16 + len)
		return 0;
	*used = 16 + len;
	memset(ss, 0, sizeof(*ss));
	if ((b[12] & 0x0F) == 0x00) {	/* LOCAL: the proxy's own check */
		ss->ss_family = AF_UNSPEC;
		return 1;
	}
	if ((b[12] & 0x0F) != 0x01)
		return -1;
	switch (b[13]) {
	case 0x11: {	/* TCP over IPv4 */
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (len < 12)
			return -1;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, b + 16, 4);
		memcpy(&s4->sin_port, b + 24, 2);
		return 1;
	}
	case 0x21: {	/* TCP over IPv6 */
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (len < 36)
			return -1;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, b + 16, 16);
		memcpy(&s6->sin6_port, b + 48, 2);
		return 1;
	}
	default:	/* UNSPEC, UDP, UNIX: no client address to use */
		ss->ss_family = AF_UNSPEC;
		return b[13] == 0x00 ? 1 : -1;
	}
}

/*
 * Parse a PROXY header at the start of buf.  Returns 1 with the client's
 * address in *ss (AF_UNSPEC: use the peer's) and the header's length in
 * *used; 0 when more bytes are needed; -1 when it is not a valid header.
 */
int
proxy_parse(const char *buf, size_t n, struct sockaddr_storage *ss,
    size_t *used)
{
	if (n >= 12 && memcmp(buf, v2sig, 12) == 0)
		return parse_v2((const unsigned char *)buf, n, ss, used);
	if (n >= 6 && memcmp(buf, "PROXY ", 6) == 0)
		return parse_v1(buf, n, ss, used);
	return proxy_maybe(buf, n) ? 0 : -1;
}
