/*
 * server.c: the event loop.  It accepts connections on the Gemini (TLS)
 * and Gopher (plain TCP) listeners, reads one request line from each with
 * a deadline, hands it to the protocol's handler and writes the response
 * it gets back, all with non-blocking sockets under epoll.  What is said
 * on the wire, refusals included, is gemini.c's and gopher.c's business;
 * TLS is tls.c's, the response's life cycle response.c's.
 */
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lumbar.h"

#define LISTEN_BACKLOG	1024
#define EVENTS_MAX	256
#define CHUNK_SIZE	(16 * 1024)	/* streamed file chunk */
#define COALESCE_MAX	(16 * 1024)	/* header+body sent as one TLS record */
#define LINGER_MS	1000		/* drain unread input before close */
#define ACCEPT_PAUSE_MS	100		/* out of descriptors: wait this */
#define HANDSHAKE_SECS	5		/* at most, for a TLS handshake */
#define STOP_READ_SECS	5		/* stopping: at most, for a request */
#define TRIM_AFTER	64		/* a sweep that frees this many trims */
#define REQ_MAX		(GEMINI_URL_MAX > GOPHER_LINE_MAX ? \
			 GEMINI_URL_MAX : GOPHER_LINE_MAX)

enum proto { PROTO_GEMINI, PROTO_GOPHER };
enum kind { KIND_LISTENER, KIND_CONN, KIND_SIGNAL };
enum state { ST_PROXY, ST_HANDSHAKE, ST_READ, ST_WRITE, ST_SHUTDOWN, ST_LINGER };

struct listener {
	enum kind	 kind;
	enum proto	 proto;
	int		 fd;
};

struct conn {
	enum kind	 kind;
	enum proto	 proto;
	enum state	 state;
	int		 fd;
	struct tconn	*tls;		/* Gemini's, or NULL */
	uint32_t	 events;	/* epoll interest now */
	int64_t		 deadline;	/* monotonic ms */
	int64_t		 start;		/* monotonic us */
	char		 addr[INET6_ADDRSTRLEN + 8];
	char		 req[REQ_MAX + 2];	/* the line and its CRLF */
	size_t		 reqlen;
	size_t		 linelen;
	struct response	 resp;
	size_t		 off;		/* sent of resp.out, then of file */
	char		*chunk;		/* streamed file data */
	size_t		 chunklen, chunkoff;
	off_t		 fileoff;
	size_t		 sent;		/* body bytes, for the log */
	int		 slot;		/* limit.c slot, -1: over a limit */
	int		 wait;		/* then the seconds to wait, which
					   its refusal says */
	bool		 trusted;	/* a proxy whose PROXY header counts */
	bool		 answered;
	const char	*cut;		/* why the answer was cut, or NULL */
	bool		 eof;		/* the client closed its side */
	bool		 shut;		/* close_notify made */
	struct conn	*prev, *next;
};

static struct listener	 listeners[LISTEN_MAX * 2];
static size_t		 nlisteners;
static int		 ep = -1;
static struct conn	*conns;
static size_t		 nconns;
static size_t		 nrefused;	/* over a limit, being answered */
static bool		 stopping;
static int64_t		 accept_paused;	/* until then (ms), or 0 */
static struct log_rate	 accept_warned;
static struct { enum kind kind; int fd; } sigsrc = { KIND_SIGNAL, -1 };

static int64_t
now_ms(void)
{
	return now_us() / 1000;
}

/* Bind one listener; addr NULL means every address (IPv6 and IPv4). */
static int
bind_one(const char *addr, int port, enum proto proto)
{
	struct addrinfo	 hints, *res, *ai;
	char		 portstr[8];
	int		 fd = -1, on = 1, off = 0, e;

	if (nlisteners == sizeof(listeners) / sizeof(listeners[0]))
		fatal("too many listeners");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | (addr ? AI_NUMERICHOST : 0);
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((e = getaddrinfo(addr ? addr : "::", portstr, &hints, &res)) != 0) {
		if (addr == NULL)	/* no IPv6 on this machine */
			return bind_one("0.0.0.0", port, proto);
		fatal("--listen %s: %s", addr, e == EAI_NONAME ?
		    "not an IPv4 or IPv6 address" : gai_strerror(e));
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		/* Accepted sockets inherit it: no setsockopt per connection. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
			    addr ? &on : &off, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, LISTEN_BACKLOG) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		if (addr == NULL && errno == EAFNOSUPPORT)
			return bind_one("0.0.0.0", port, proto);
		fatal("cannot listen on %s port %d (%s): %s",
		    addr ? addr : "every address", port,
		    proto == PROTO_GEMINI ? "Gemini" : "Gopher",
		    errno == EADDRINUSE ? "the port is in use" :
		    errno == EACCES ? "permission denied (ports below 1024 "
		    "need root or CAP_NET_BIND_SERVICE)" : strerror(errno));
	}
	listeners[nlisteners].kind = KIND_LISTENER;
	listeners[nlisteners].proto = proto;
	listeners[nlisteners].fd = fd;
	nlisteners++;
	return 0;
}

/* Bind every listener; done before privileges are dropped. */
int
server_listen(void)
{
	size_t i;

	if (conf.nlisten == 0) {
		bind_one(NULL, conf.port, PROTO_GEMINI);
		if (conf.gopher_port != 0)
			bind_one(NULL, conf.gopher_port, PROTO_GOPHER);
	}
	for (i = 0; i < conf.nlisten; i++) {
		bind_one(conf.listen[i], conf.port, PROTO_GEMINI);
		if (conf.gopher_port != 0)
			bind_one(conf.listen[i], conf.gopher_port, PROTO_GOPHER);
	}
	return 0;
}

static void
set_events(struct conn *c, uint32_t ev)
{
	struct epoll_event e;

	if (c->events == ev)
		return;
	e.events = ev;
	e.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static void resume_accepting(void);

static void
conn_free(struct conn *c)
{
	nrefused -= c->slot == -1;	/* -2: never counted */
	limit_release(c->slot);
	/* Closing the only descriptor of the socket takes it out of the
	 * epoll set: no EPOLL_CTL_DEL needed. */
	close(c->fd);
	tconn_free(c->tls);
	response_clear(&c->resp);
	free(c->chunk);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nconns--;
	free(c);
	/* A descriptor is free again: take the next client. */
	resume_accepting();
}

static void
conn_log(struct conn *c)
{
	log_request(c->proto == PROTO_GEMINI ? "gemini" : "gopher", c->addr,
	    c->req, c->linelen, c->resp.status, c->sent,
	    (double)(now_us() - c->start) / 1000.0, c->cut, c->resp.logfd);
}

/*
 * End an answer that cannot be sent in full: logged as cut, and closed
 * with a reset rather than a FIN (or, over TLS, a close_notify), so that
 * the client cannot take the part it got for the whole, as it would for
 * a Gopher file, which ends where the connection does.
 */
static void
conn_abort(struct conn *c, const char *why)
{
	struct linger lg = { 1, 0 };

	if (c->state == ST_WRITE) {
		c->cut = why;
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (c->answered) {	/* else logged already, or no request */
		conn_log(c);
		c->answered = false;
	}
	conn_free(c);
}

/* Close, after draining what the client still sends so that it is not
 * answered by a reset that could destroy the response in flight. */
static void
conn_close(struct conn *c)
{
	int pending = 0;

	response_ended(&c->resp);
	if (c->answered) {
		conn_log(c);
		c->answered = false;
	}
	if (c->state != ST_LINGER && ioctl(c->fd, FIONREAD, &pending) == 0 &&
	    pending > 0 && shutdown(c->fd, SHUT_WR) == 0) {
		c->state = ST_LINGER;
		c->deadline = now_ms() + LINGER_MS;
		set_events(c, EPOLLIN);
		return;
	}
	conn_free(c);
}

static void
set_addr(struct conn *c, const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_in6	*s6 = (const void *)ss;
	char				 host[INET6_ADDRSTRLEN], port[8];

	/* An IPv4 client of the dual-stack listener is logged as IPv4. */
	if (ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		inet_ntop(AF_INET, s6->sin6_addr.s6_addr + 12, host,
		    sizeof(host));
		snprintf(c->addr, sizeof(c->addr), "%s:%u", host,
		    (unsigned)ntohs(s6->sin6_port));
	} else if (getnameinfo((const struct sockaddr *)ss, len, host,
	    sizeof(host), port, sizeof(port), NI_NUMERICHOST |
	    NI_NUMERICSERV) == 0)
		snprintf(c->addr, sizeof(c->addr),
		    ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
	else
		snprintf(c->addr, sizeof(c->addr), "unknown");
}

/* Count the client against the limits; 0, or -1 to close at once. */
static int
admit(struct conn *c, const struct sockaddr_storage *ss)
{
	c->slot = limit_acquire((const struct sockaddr *)ss, &c->wait);
	/* Over a limit: answered (come back later) while few; beyond
	 * that, or when limit.c says so (a client far over its rate),
	 * closed at once so that they cost nothing. */
	if (c->slot == -2 || (c->slot == -1 && nrefused >= REFUSED_MAX)) {
		c->slot = -2;
		return -1;
	}
	nrefused += c->slot == -1;
	return 0;
}

static enum state
first_state(const struct conn *c)
{
	return c->proto == PROTO_GEMINI ? ST_HANDSHAKE : ST_READ;
}

/* Watch the listeners; one worker is woken per connection, not all. */
static int
watch_listeners(void)
{
	struct epoll_event	 e;
	size_t			 i;

	for (i = 0; i < nlisteners; i++) {
		e.events = EPOLLIN | EPOLLEXCLUSIVE;
		e.data.ptr = &listeners[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, listeners[i].fd, &e) == -1)
			return -1;
	}
	return 0;
}

/*
 * Out of descriptors (or kernel memory) the listener stays readable, so a
 * level-triggered loop would retry accept() as fast as it can.  Stop
 * watching the listeners until a connection closes or a moment passes;
 * the clients wait in the backlog, or another worker takes them.
 */
static void
pause_accepting(void)
{
	size_t i;

	for (i = 0; i < nlisteners; i++)
		epoll_ctl(ep, EPOLL_CTL_DEL, listeners[i].fd, NULL);
	accept_paused = now_ms() + ACCEPT_PAUSE_MS;
}

static void
resume_accepting(void)
{
	if (accept_paused == 0)
		return;
	accept_paused = 0;
	if (watch_listeners() == -1) {	/* out of memory too: later */
		log_rated(&accept_warned, LOG_LVL_WARN, "epoll_ctl: %s; "
		    "pausing new connections", strerror(errno));
		pause_accepting();
	}
}

static void
accept_conns(struct listener *l)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	struct epoll_event	 e;
	struct conn		*c;
	int			 fd;

	for (;;) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_rated(&accept_warned, LOG_LVL_WARN,
				    "accept: %s, with %zu connections open; "
				    "pausing new ones", strerror(errno), nconns);
				if (accept_paused == 0)
					pause_accepting();
			}
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->kind = KIND_CONN;
		c->proto = l->proto;
		c->fd = fd;
		c->slot = -2;		/* not counted yet */
		c->start = now_us();
		/* A handshake in progress is the costliest state (about
		 * 45 KB): it gets less time than a reader of the request. */
		c->deadline = c->start / 1000 + (int64_t)(l->proto ==
		    PROTO_GEMINI && conf.timeout > HANDSHAKE_SECS ?
		    HANDSHAKE_SECS : conf.timeout) * 1000;
		response_init(&c->resp);
		set_addr(c, &ss, len);
		if (conf.proxy_protocol)
			c->trusted = proxy_allowed(&ss);
		/* A proxied client is counted once its address is known. */
		if (!c->trusted && admit(c, &ss) == -1)
			goto discard;
		if (l->proto == PROTO_GEMINI && (c->tls = tconn_accept(fd)) == NULL)
			goto discard;
		c->state = conf.proxy_protocol ? ST_PROXY : first_state(c);
		e.events = c->events = EPOLLIN;
		e.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) == -1)
			goto discard;
		c->next = conns;
		if (conns)
			conns->prev = c;
		conns = c;
		nconns++;
		continue;
discard:
		nrefused -= c->slot == -1;
		limit_release(c->slot);
		tconn_free(c->tls);
		close(fd);
		free(c);
	}
}

/*
 * The PROXY header, when --proxy-protocol is on.  From a trusted proxy it
 * must come first and gives the client's address; from anyone else one
 * is refused, and other bytes are left for the protocol.  Bytes are peeked
 * and only the header's own are consumed, so TLS starts where it ends.
 * Returns 1 to go on, 0 to wait, -1 to close.
 */
static int
read_proxy(struct conn *c)
{
	struct sockaddr_storage	 ss;
	char			*buf = c->req;
	char			 who[INET6_ADDRSTRLEN + 8];
	size_t			 used;
	ssize_t			 n;
	int			 r;

	n = recv(c->fd, buf + c->reqlen, PROXY_HEADER_MAX - c->reqlen,
	    MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	if (!c->trusted) {
		if (((size_t)n >= 6 && memcmp(buf, "PROXY ", 6) == 0) ||
		    ((size_t)n >= 12 && proxy_maybe(buf, 12))) {
			log_msg(LOG_LVL_WARN, "%s: PROXY header from an address "
			    "not allowed by --proxy-from; refused",
			    log_client_addr(c->addr, true, who, sizeof(who)));
			return -1;
		}
		c->state = first_state(c);
		return 1;
	}
	r = proxy_parse(buf, c->reqlen + (size_t)n, &ss, &used);
	if (r == 0 && c->reqlen + (size_t)n < PROXY_HEADER_MAX) {
		/* All of it is header: take it, wait for the rest. */
		if (recv(c->fd, buf + c->reqlen, (size_t)n, 0) != n)
			return -1;
		c->reqlen += (size_t)n;
		return 0;
	}
	if (r != 1) {
		log_msg(LOG_LVL_WARN, "%s: invalid PROXY header",
		    log_client_addr(c->addr, true, who, sizeof(who)));
		return -1;
	}
	if (used > c->reqlen && recv(c->fd, buf + c->reqlen, used - c->reqlen,
	    0) != (ssize_t)(used - c->reqlen))
		return -1;
	c->reqlen = 0;
	if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
		set_addr(c, &ss, ss.ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	else {
		socklen_t len = sizeof(ss);

		if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == -1)
			return -1;
	}
	if (admit(c, &ss) == -1)
		return -1;
	c->state = first_state(c);
	return 1;
}

/*
 * Map what a TLS call waits for to epoll interest: 0 to wait for that
 * event, -1 when the connection is over.
 */
static int
tls_wait(struct conn *c, ssize_t r)
{
	if (r == TCONN_WANT_READ) {
		set_events(c, EPOLLIN);
		return 0;
	}
	if (r == TCONN_WANT_WRITE) {
		set_events(c, EPOLLOUT);
		return 0;
	}
	return -1;
}

/* Read into buf: bytes read, 0 to wait, -1 on EOF or error. */
static ssize_t
conn_read(struct conn *c, void *buf, size_t n)
{
	ssize_t	 r;

	if (c->tls != NULL) {
		if ((r = tconn_read(c->tls, buf, n)) > 0)
			return r;
		return tls_wait(c, r) == 0 ? 0 : -1;
	}
	if ((r = recv(c->fd, buf, n, 0)) > 0)
		return r;
	if (r == -1 && (errno == EAGAIN || errno == EINTR)) {
		set_events(c, EPOLLIN);
		return 0;
	}
	c->eof = r == 0;
	return -1;
}

/* Write from buf: bytes written, 0 to wait, -1 on error. */
static ssize_t
conn_write(struct conn *c, const void *buf, size_t n)
{
	ssize_t	 r;

	if (c->tls != NULL) {
		if ((r = tconn_write(c->tls, buf, n)) > 0)
			return r;
		return tls_wait(c, r) == 0 ? 0 : -1;
	}
	if ((r = send(c->fd, buf, n, MSG_NOSIGNAL)) >= 0)
		return r;
	if (errno == EAGAIN || errno == EINTR) {
		set_events(c, EPOLLOUT);
		return 0;
	}
	return -1;
}

/* The response is made: send it, within the write deadline. */
static void
answer(struct conn *c)
{
	c->answered = true;
	c->state = ST_WRITE;
	c->off = 0;
	c->deadline = now_ms() + (int64_t)conf.timeout * 1000;
}

/* Refuse in the client's protocol: a request line that cannot be read as
 * one, or with wait > 0 a client over a limit (come back in wait s). */
static void
refuse(struct conn *c, const char *why, int wait)
{
	if (c->proto == PROTO_GEMINI)
		gemini_refuse(&c->resp, why, wait);
	else
		gopher_refuse(&c->resp, why, wait);
	answer(c);
}

static void
dispatch(struct conn *c)
{
	if (c->slot == -1) {
		refuse(c, "Too many connections", c->wait);
		return;
	}
	if (c->proto == PROTO_GEMINI)
		gemini_handle(c->req, c->linelen, tconn_servername(c->tls),
		    &c->resp);
	else
		gopher_handle(c->req, c->linelen, &c->resp);
	answer(c);
}

/* The request line ends at len (before LF, or at the client's close). */
static void
end_line(struct conn *c, size_t len, size_t limit)
{
	c->linelen = len;
	if (c->linelen > 0 && c->req[c->linelen - 1] == '\r')
		c->linelen--;
	if (c->linelen > limit)
		refuse(c, "request too long", 0);
	else
		dispatch(c);
}

/* Read until the request's line end; refuse NUL and over-long lines. */
static int
read_request(struct conn *c)
{
	size_t	 max, i, start, end;
	ssize_t	 r;
	char	*nl;

	max = (c->proto == PROTO_GEMINI ? GEMINI_URL_MAX : GOPHER_LINE_MAX) + 2;
	for (;;) {
		start = c->reqlen;
		if ((r = conn_read(c, c->req + c->reqlen, max - c->reqlen)) <= 0) {
			/* `printf /dir | nc -N`: a Gopher selector may end
			 * with the client closing its side instead of CRLF. */
			if (r == -1 && c->eof && c->proto == PROTO_GOPHER &&
			    c->reqlen > 0) {
				end_line(c, c->reqlen, max - 2);
				return 1;
			}
			return (int)r;
		}
		c->reqlen += (size_t)r;
		/* Only the line counts: what follows its end is not read. */
		nl = memchr(c->req + start, '\n', c->reqlen - start);
		end = nl != NULL ? (size_t)(nl - c->req) : c->reqlen;
		for (i = start; i < end; i++)
			if (c->req[i] == '\0') {
				c->linelen = i;
				refuse(c, "NUL byte in request", 0);
				return 1;
			}
		if (nl != NULL) {
			end_line(c, (size_t)(nl - c->req), max - 2);
			return 1;
		}
		if (c->reqlen == max) {
			c->linelen = c->reqlen;
			refuse(c, "request too long", 0);
			return 1;
		}
	}
}

/* Send the answer: its head, then the cached or streamed body. */
static int
write_response(struct conn *c)
{
	struct response	*rs = &c->resp;
	ssize_t		 r;

	/*
	 * A small cached body goes out with its header in one TLS record
	 * and one system call: copying a few KiB costs less than either.
	 */
	if (c->off == 0 && rs->body != NULL &&
	    rs->out.len + rs->bodylen <= COALESCE_MAX &&
	    buf_append(&rs->out, rs->body, rs->bodylen) == 0) {
		rs->body = NULL;
		rs->bodylen = 0;
	}
	/*
	 * A whole answer in one record: held, with the session ticket that
	 * tls.c held at the handshake's end, until its close_notify, so
	 * that all three leave in one write(2) and one TCP segment.  Any
	 * other answer lets the ticket go out before its first bytes.
	 */
	if (c->off == 0 && c->tls != NULL) {
		if (rs->body == NULL && rs->fd == -1 &&
		    rs->out.len <= COALESCE_MAX)
			tconn_hold(c->tls);
		else
			tconn_release(c->tls);
	}
	while (c->off < rs->out.len) {
		if ((r = conn_write(c, rs->out.data + c->off,
		    rs->out.len - c->off)) <= 0)
			return (int)r;
		c->off += (size_t)r;
		c->sent += (size_t)r;
		c->deadline = now_ms() + (int64_t)conf.timeout * 1000;
	}
	if (rs->body != NULL) {
		size_t foff = c->off - rs->out.len;

		while (foff < rs->bodylen) {
			if ((r = conn_write(c, rs->body + foff,
			    rs->bodylen - foff)) <= 0)
				return (int)r;
			foff += (size_t)r;
			c->off += (size_t)r;
			c->sent += (size_t)r;
			c->deadline = now_ms() + (int64_t)conf.timeout * 1000;
		}
	}
	while (rs->fd != -1 && (rs->left > 0 || c->chunkoff < c->chunklen)) {
		if (c->chunkoff == c->chunklen) {
			if (c->chunk == NULL &&
			    (c->chunk = malloc(CHUNK_SIZE)) == NULL) {
				c->cut = "out of memory";
				return -1;
			}
			r = pread(rs->fd, c->chunk, rs->left < CHUNK_SIZE ?
			    (size_t)rs->left : CHUNK_SIZE, c->fileoff);
			if (r <= 0) {
				c->cut = r == 0 ? "the file shrank while sent" :
				    "cannot read the file";
				return -1;
			}
			c->chunklen = (size_t)r;
			c->chunkoff = 0;
			c->fileoff += r;
			rs->left -= r;
		}
		if ((r = conn_write(c, c->chunk + c->chunkoff,
		    c->chunklen - c->chunkoff)) <= 0)
			return (int)r;
		c->chunkoff += (size_t)r;
		c->sent += (size_t)r;
		c->deadline = now_ms() + (int64_t)conf.timeout * 1000;
	}
	return 1;
}

static void
conn_step(struct conn *c)
{
	char	 drain[512];
	int	 r;

	for (;;) {
		switch (c->state) {
		case ST_PROXY:
			if ((r = read_proxy(c)) == 0)
				return;
			if (r == -1) {
				conn_close(c);
				return;
			}
			break;
		case ST_HANDSHAKE:
			if ((r = tconn_handshake(c->tls)) != 0) {
				if (tls_wait(c, r) == 0)
					return;
				conn_close(c);
				return;
			}
			c->state = ST_READ;
			c->deadline = now_ms() + (int64_t)conf.timeout * 1000;
			break;
		case ST_READ:
			if ((r = read_request(c)) == 0)
				return;
			if (r == -1) {
				conn_close(c);
				return;
			}
			break;
		case ST_WRITE:
			if ((r = write_response(c)) == 0)
				return;
			if (r == -1 && c->cut != NULL) {
				log_cut(c->addr, c->req, c->linelen, c->cut);
				conn_abort(c, c->cut);
				return;
			}
			if (r == -1) {
				c->cut = "the client went away";
				conn_close(c);
				return;
			}
			/* Before close_notify, which tells the client the
			 * answer is whole: it may ask again at once. */
			response_ended(&c->resp);
			c->state = ST_SHUTDOWN;
			break;
		case ST_SHUTDOWN:
			/* Gemini ends every answer with close_notify. */
			if (c->tls != NULL && !c->shut) {
				if (tconn_close(c->tls) == TCONN_WANT_WRITE) {
					set_events(c, EPOLLOUT);
					return;
				}
				c->shut = true;
			}
			/* What the hold filter kept, if anything. */
			if (c->tls != NULL && (r = tconn_flush(c->tls)) ==
			    TCONN_WANT_WRITE) {
				set_events(c, EPOLLOUT);
				return;
			}
			conn_close(c);
			return;
		case ST_LINGER:
			while ((r = (int)recv(c->fd, drain, sizeof(drain),
			    0)) > 0)
				;
			if (r == -1 && errno == EAGAIN)
				return;
			conn_free(c);
			return;
		}
	}
}

/*
 * Deal with every connection past its deadline: one that has not sent its
 * request in time is told so once, in its protocol, then closed; any
 * other is dropped.
 */
static void
sweep(int64_t now)
{
	struct conn	*c, *next;
	char		 who[INET6_ADDRSTRLEN + 8];
	size_t		 before = nconns;

	for (c = conns; c != NULL; c = next) {
		next = c->next;
		if (now < c->deadline)
			continue;
		if (c->state == ST_READ && !c->answered) {
			log_msg(LOG_LVL_DEBUG, "%s: no request in time",
			    log_client_addr(c->addr, true, who, sizeof(who)));
			c->linelen = 0;
			refuse(c, "No request in time", 0);
			c->deadline = now + LINGER_MS;
			conn_step(c);
		} else if (c->state == ST_LINGER)
			conn_free(c);
		else if (c->state == ST_WRITE)
			conn_abort(c, "the client stopped reading");
		else
			conn_close(c);
	}
	/* A flood timed out: give its memory back now, not at the next
	 * quiet moment, which a steady flood never leaves. */
	if (before >= nconns + TRIM_AFTER)
		malloc_trim(0);
}

/*
 * A stopping worker gives --grace to the answers it is sending, but a
 * client that has yet to send its request gets at most STOP_READ_SECS
 * more to send it, so that idle clients do not hold a reload or a stop.
 */
static void
hurry_readers(void)
{
	struct conn	*c;
	int64_t		 by = now_ms() + STOP_READ_SECS * 1000;

	for (c = conns; c != NULL; c = c->next)
		if (!c->answered && c->state != ST_LINGER && c->deadline > by)
			c->deadline = by;
}

static void
stop_listening(void)
{
	size_t i;

	for (i = 0; i < nlisteners; i++) {
		epoll_ctl(ep, EPOLL_CTL_DEL, listeners[i].fd, NULL);
		close(listeners[i].fd);
	}
	nlisteners = 0;
}

static void
on_signal(void)
{
	struct signalfd_siginfo si;

	while (read(sigsrc.fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			/* Not from the parent, whose reload starts a new
			 * generation instead; sent to a worker itself (make
			 * stress, make interleave), it empties the worker's
			 * caches while its answers are in flight. */
			log_flush();
			hosts_flush();
			log_msg(LOG_LVL_INFO, "SIGHUP: caches flushed");
			break;
		case SIGTERM:
		case SIGINT:
			if (!stopping)
				log_msg(LOG_LVL_DEBUG, "worker %d stopping",
				    (int)getpid());
			log_flush();
			stopping = true;
			stop_listening();
			hurry_readers();
			break;
		}
	}
}

/* Set up the loop: done in each worker before it is confined. */
int
server_prepare(void)
{
	struct epoll_event	 e;
	sigset_t		 mask;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1: %s", strerror(errno));
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sigsrc.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd: %s", strerror(errno));
	e.events = EPOLLIN;
	e.data.ptr = &sigsrc;
	epoll_ctl(ep, EPOLL_CTL_ADD, sigsrc.fd, &e);
	if (watch_listeners() == -1)
		fatal("epoll_ctl: %s", strerror(errno));
	log_buffer();
	return 0;
}

int
server_run(void)
{
	struct epoll_event	 evs[EVENTS_MAX];
	int64_t			 stop_at = 0, next_sweep = 0, now;
	size_t			 cut;
	int			 n, k;
	bool			 busy = false, idle;

	while (!stopping || conns != NULL) {
		/*
		 * Nothing timed to do (no connection's deadline, no log line
		 * waiting, no memory to trim, accepting): sleep until a client
		 * or a signal comes, rather than waking 4 times a second.
		 */
		idle = conns == NULL && !busy && !log_pending() &&
		    accept_paused == 0 && !stopping;
		n = epoll_wait(ep, evs, EVENTS_MAX, idle ? -1 : 250);
		if (n == -1 && errno != EINTR)
			fatal("epoll_wait: %s", strerror(errno));
		/*
		 * A quiet moment after work: give the free pages that bursts of
		 * handshakes leave between live objects back to the system, so
		 * that idle connections cost only what they hold.
		 */
		if (n == 0 && busy) {
			malloc_trim(0);
			busy = false;
		} else if (n > 0)
			busy = true;
		for (k = 0; k < n; k++) {
			enum kind kd = *(enum kind *)evs[k].data.ptr;

			if (kd == KIND_LISTENER)
				accept_conns(evs[k].data.ptr);
			else if (kd == KIND_SIGNAL)
				on_signal();
			else
				conn_step(evs[k].data.ptr);
		}
		now = now_ms();
		log_tick(now, n == 0);
		if (accept_paused != 0 && now >= accept_paused)
			resume_accepting();
		if (stopping && stop_at == 0)
			stop_at = now + (int64_t)conf.grace * 1000;
		if (stopping && now >= stop_at)
			break;
		if (now >= next_sweep) {
			sweep(now);
			next_sweep = now + 250;
		}
	}
	/* The grace period is over: what is still being sent is cut, and
	 * said in one line also where request lines are not written (-q)
	 * or cannot say it (Apache's formats). */
	for (cut = 0; conns != NULL; ) {
		cut += conns->state == ST_WRITE;
		conn_abort(conns, "stopped at the end of the grace period");
	}
	if (cut > 0)
		log_msg(LOG_LVL_WARN, "the grace period (--grace %d s) is over: "
		    "%zu answer%s cut", conf.grace, cut, cut == 1 ? "" : "s");
	stop_listening();
	close(sigsrc.fd);
	close(ep);
	return 0;
}
