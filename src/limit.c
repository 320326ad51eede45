/*
 * limit.c: connection counts for the whole server.  The counters live in
 * shared memory made before the workers are forked, one row per worker,
 * so that the limits hold across processes and a dead worker's row can be
 * cleared without guessing what it held.
 */
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lumbar.h"

#define LIMIT_SLOTS	4096	/* client addresses hashed into slots */
#define FD_RESERVE	64	/* a worker's own descriptors: listeners,
				   epoll, log, capsule, files being read */
#define FD_PER_CONN	2	/* its socket, and a file being streamed */
/*
 * Memory: a TLS connection stalled after its ClientHello, the costliest
 * state, holds 44.7 KB of OpenSSL's handshake state (measured: 2,000 of
 * them grew a worker's private memory by 87 MB).  Connections may take
 * half of the memory lumbar may use; the other half is for the workers'
 * file caches, the search index and the rest.
 */
#define CONN_MEM_COST	(48 * 1024)
#define CONNS_DEFAULT	10000	/* the default limit when memory allows */
#define CONNS_MIN	64	/* never fewer by default */

struct row {
	atomic_int	 total;
	atomic_int	 slot[LIMIT_SLOTS];
	atomic_int	 host[HOSTS_MAX];	/* answers of each host */
};

/*
 * The rate of new connections of each slot, a token bucket kept as the
 * time its next token is due (GCRA), and when an over-rate client of the
 * slot was last answered 44; both in microseconds of CLOCK_MONOTONIC,
 * which every worker shares.
 */
struct bucket {
	_Atomic int64_t	 due;
	_Atomic int64_t	 answered;
};

static struct row	*rows;
static size_t		 nrows;
static struct row	*mine;
static struct bucket	*buckets;	/* LIMIT_SLOTS, shared */
static uint64_t		 slot_key[2];	/* secret, made before the fork */

int
limit_init(size_t workers)
{
	void *p;

	p = mmap(NULL, workers * sizeof(struct row), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	rows = p;
	nrows = workers;
	p = mmap(NULL, LIMIT_SLOTS * sizeof(struct bucket), PROT_READ |
	    PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	buckets = p;
	if (getrandom(slot_key, sizeof(slot_key), 0) != sizeof(slot_key))
		return -1;
	return 0;
}

/* Called in a worker (index w) at start, and by the parent when it dies. */
void
limit_reset(size_t w)
{
	if (rows == NULL || w >= nrows)
		return;
	memset(&rows[w], 0, sizeof(rows[w]));
}

void
limit_worker(size_t w)
{
	limit_reset(w);
	mine = rows != NULL && w < nrows ? &rows[w] : NULL;
}

/*
 * A client is its IPv4 address, or its IPv6 /64 (one end site), counted in
 * one of LIMIT_SLOTS slots.  The slot comes from a keyed hash with a
 * secret made at start: clients that share a slot share the limit, and
 * nobody may choose addresses that land in another client's slot.
 */
static unsigned
client_slot(const struct sockaddr *sa)
{
	const unsigned char	*p;
	size_t			 n, i;
	uint64_t		 h = slot_key[0];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		p = s6->sin6_addr.s6_addr;
		n = 8;
		/* IPv4-mapped addresses count as their IPv4 address. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			p += 12;
			n = 4;
		}
	} else {
		p = (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	}
	for (i = 0; i < n; i++)
		h = (h << 8 | h >> 56) ^ p[i];
	/* splitmix64's finaliser, then the second half of the key. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebu;
	h ^= h >> 31;
	h ^= slot_key[1];
	h *= 0x9e3779b97f4a7c15u;
	return (unsigned)(h >> 52) % LIMIT_SLOTS;
}

/*
 * Take a token of slot s: conf.rate new connections a second, conf.burst
 * at once.  0 when there is one; else the seconds until there is, or -1
 * when the client was told that less than a second ago: a client far
 * over its rate then costs no TLS handshake, only an accept and a close.
 */
static int
rate_take(unsigned s)
{
	struct bucket	*b = &buckets[s];
	int64_t		 now = now_us(), due, next, step, room, last;

	step = 1000000 / conf.rate;
	room = step * (conf.burst > 0 ? conf.burst : 1);
	due = atomic_load(&b->due);
	do {
		next = (due > now ? due : now) + step;
		if (next - now > room) {
			last = atomic_load(&b->answered);
			if (now - last < 1000000 ||
			    !atomic_compare_exchange_strong(&b->answered, &last,
			    now))
				return -1;
			/* Whole seconds, rounded up: at least 1. */
			return (int)((next - now - room + 999999) / 1000000);
		}
	} while (!atomic_compare_exchange_weak(&b->due, &due, next));
	return 0;
}

/*
 * Count a new connection from sa.  Returns its slot (to give back with
 * limit_release); -1 when the server or the client is at its limit, or
 * the client over its rate, with *wait the seconds it should wait; or -2
 * when it should be closed unanswered (told less than a second ago).
 */
int
limit_acquire(const struct sockaddr *sa, int *wait)
{
	unsigned	 s;
	size_t		 w;
	int		 total = 0, client = 0, r;

	if (wait != NULL)
		*wait = LIMIT_WAIT;
	if (mine == NULL)
		return 0;
	s = client_slot(sa);
	for (w = 0; w < nrows; w++) {
		total += atomic_load(&rows[w].total);
		client += atomic_load(&rows[w].slot[s]);
	}
	if ((conf.max_conns > 0 && total >= conf.max_conns) ||
	    (conf.max_per_client > 0 && client >= conf.max_per_client))
		return -1;
	if (conf.rate > 0 && buckets != NULL && (r = rate_take(s)) != 0) {
		if (r == -1)
			return -2;
		if (wait != NULL)
			*wait = r;
		return -1;
	}
	atomic_fetch_add(&mine->total, 1);
	atomic_fetch_add(&mine->slot[s], 1);
	return (int)s;
}

void
limit_release(int s)
{
	if (mine == NULL || s < 0)
		return;
	atomic_fetch_sub(&mine->total, 1);
	atomic_fetch_sub(&mine->slot[s], 1);
}

/*
 * Count an answer of host number h, which may have at most max at once
 * across the workers.  Returns 0, to give back with limit_host_give(h),
 * or -1 when the host is at its limit.  Counted once the request names
 * its host: a host's limit keeps one capsule from taking the server's
 * connections from the others.
 */
int
limit_host_take(size_t h, int max)
{
	size_t	 w;
	int	 n = 0;

	if (mine == NULL || h >= HOSTS_MAX)
		return 0;
	for (w = 0; w < nrows; w++)
		n += atomic_load(&rows[w].host[h]);
	if (max > 0 && n >= max)
		return -1;
	atomic_fetch_add(&mine->host[h], 1);
	return 0;
}

void
limit_host_give(int h)
{
	if (mine == NULL || h < 0 || h >= HOSTS_MAX)
		return;
	atomic_fetch_sub(&mine->host[h], 1);
}

/* A cgroup file holding a number of bytes, or "max": -1 if none. */
static long long
cgroup_bytes(const char *dir, const char *path, const char *knob)
{
	char		 file[1024];
	long long	 v;
	FILE		*f;
	int		 n;

	if ((size_t)snprintf(file, sizeof(file), "%s%s/%s", dir, path, knob)
	    >= sizeof(file) || (f = fopen(file, "re")) == NULL)
		return -1;
	n = fscanf(f, "%lld", &v);
	fclose(f);
	return n == 1 && v > 0 ? v : -1;
}

/*
 * The memory limit of our cgroup or any above it (systemd's MemoryMax=,
 * a container's limit): cgroup v2 memory.max, or v1's
 * memory.limit_in_bytes.  -1 when there is none.
 */
static long long
cgroup_limit(void)
{
	char		 line[1024], path[1024], *p, *ctrls;
	long long	 min = -1, v;
	FILE		*f;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *dir, *knob;

		line[strcspn(line, "\n")] = '\0';
		if ((ctrls = strchr(line, ':')) == NULL ||
		    (p = strchr(++ctrls, ':')) == NULL)
			continue;
		*p++ = '\0';
		if (*ctrls == '\0') {
			dir = "/sys/fs/cgroup";
			knob = "memory.max";
		} else if (strcmp(ctrls, "memory") == 0 ||
		    strncmp(ctrls, "memory,", 7) == 0 ||
		    strstr(ctrls, ",memory") != NULL) {
			dir = "/sys/fs/cgroup/memory";
			knob = "memory.limit_in_bytes";
		} else
			continue;
		if (snprintf(path, sizeof(path), "%s", p) >= (int)sizeof(path))
			continue;
		/* This cgroup and each above it, up to the root. */
		for (;;) {
			if ((v = cgroup_bytes(dir, strcmp(path, "/") == 0 ? "" :
			    path, knob)) > 0 && (min == -1 || v < min))
				min = v;
			if ((p = strrchr(path, '/')) == NULL || path[1] == '\0')
				break;
			if (p == path)
				path[1] = '\0';	/* "/a" becomes "/" */
			else
				*p = '\0';
		}
	}
	fclose(f);
	return min;
}

/*
 * Size the connection limit to what the process may hold, before the
 * workers start.  Memory: unless --max-conns is given, the limit is what
 * half of the smaller of the cgroup's memory limit and the machine's RAM
 * holds at CONN_MEM_COST a connection, less what the workers' refusals
 * (REFUSED_MAX each) may hold, at most CONNS_DEFAULT.
 * Descriptors: the soft limit is raised to the hard one
 * (outside systemd the soft one is often 1024), and --max-conns is
 * lowered to what remains after FD_RESERVE, at FD_PER_CONN a
 * connection, since the limit is shared and one worker may take every
 * connection.  What was decided is written to why for the start banner;
 * returns 1 when an asked-for limit was lowered, else 0.
 */
int
limit_plan(char *why, size_t whylen)
{
	struct rlimit	 rl;
	long long	 nofile, fdfit, ram, cg, mem, memfit = -1;
	char		 mem_said[96] = "";
	bool		 asked = conf.max_conns != -1;

	ram = (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
	cg = cgroup_limit();
	mem = cg > 0 && (ram <= 0 || cg < ram) ? cg : ram;
	if (mem > 0) {
		memfit = mem / 2 / CONN_MEM_COST - (long long)conf.workers *
		    REFUSED_MAX;
		if (memfit < CONNS_MIN)
			memfit = CONNS_MIN;
		snprintf(mem_said, sizeof(mem_said), "%s %lld MiB allows %lld",
		    mem == cg ? "memory limit" : "RAM", mem >> 20, memfit);
	}
	if (!asked)
		conf.max_conns = memfit != -1 && memfit < CONNS_DEFAULT ?
		    (int)memfit : CONNS_DEFAULT;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit up = { rl.rlim_max, rl.rlim_max };

		/* May be refused (a seccomp filter): keep the soft one. */
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	nofile = rl.rlim_cur > INT32_MAX ? INT32_MAX : (long long)rl.rlim_cur;
	fdfit = (nofile - FD_RESERVE) / FD_PER_CONN;
	if (fdfit < 1)
		fatal("only %lld file descriptors (ulimit -n); lumbar needs "
		    "at least %d", nofile, FD_RESERVE + FD_PER_CONN);
	if (conf.max_conns == 0 || conf.max_conns > fdfit) {
		snprintf(why, whylen, "at most %lld connections at once, not "
		    "%s: %lld file descriptors (ulimit -n) allow no more; "
		    "raise the limit for more", fdfit, !asked ? "the default" :
		    conf.max_conns == 0 ? "unlimited" : "as --max-conns asks",
		    nofile);
		conf.max_conns = (int)fdfit;
		return 1;
	}
	if (asked && memfit != -1 && (conf.max_conns == 0 ||
	    conf.max_conns > memfit)) {
		snprintf(why, whylen, "at most %d connections at once, as "
		    "--max-conns asks, but %s: a flood of TLS handshakes could "
		    "exhaust memory", conf.max_conns, mem_said);
		return 1;
	}
	snprintf(why, whylen, "at most %d connections at once (%lld file "
	    "descriptors%s%s)", conf.max_conns, nofile, *mem_said ? "; " : "",
	    mem_said);
	return 0;
}
