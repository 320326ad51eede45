/*
 * failmalloc.c: an LD_PRELOAD library that makes one allocation fail, so
 * that a test can walk every allocation of a short run and see how the
 * program meets out of memory.  FAILMALLOC_AT=N: the Nth call of malloc,
 * calloc or realloc (from 1) returns NULL, the others glibc's own
 * (glibc's strdup and the rest call these).  At exit the count goes to
 * the file FAILMALLOC_COUNT names, so the test knows where to stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void	*__libc_malloc(size_t);
void	*__libc_calloc(size_t, size_t);
void	*__libc_realloc(void *, size_t);

static unsigned long	calls;
static unsigned long	fail_at;	/* 0: none */
static int		ready;

static void
setup(void)
{
	const char *v;

	/* getenv allocates nothing; strtoul neither. */
	if ((v = getenv("FAILMALLOC_AT")) != NULL)
		fail_at = strtoul(v, NULL, 10);
	ready = 1;
}

/* Does this call fail? */
static int
fail(void)
{
	if (!ready)
		setup();
	if (++calls != fail_at)
		return 0;
	errno = ENOMEM;
	return 1;
}

void *
malloc(size_t n)
{
	return fail() ? NULL : __libc_malloc(n);
}

void *
calloc(size_t k, size_t n)
{
	return fail() ? NULL : __libc_calloc(k, n);
}

void *
realloc(void *p, size_t n)
{
	return fail() ? NULL : __libc_realloc(p, n);
}

/* Written with write(2): stdio would allocate. */
__attribute__((destructor)) static void
report(void)
{
	const char	*path = getenv("FAILMALLOC_COUNT");
	char		 s[32];
	int		 fd, n;

	if (path == NULL || (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644)) == -1)
		return;
	n = snprintf(s, sizeof(s), "%lu\n", calls);
	if (n > 0 && write(fd, s, (size_t)n) != n)
		n = 0;
	close(fd);
}
