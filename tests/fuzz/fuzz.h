/*
 * fuzz.h: what the fuzz targets, their shared fixture (common.c) and the
 * replay driver (replay.c) agree on (and tests/tools/render_gopher.c,
 * which uses the fixture's stand-in for capsule_mime()).  Each fuzz_NAME.c defines one
 * LLVMFuzzerTestOneInput; libFuzzer or replay.c supplies main().
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "lumbar.h"

/*
 * A broken property aborts, so that libFuzzer keeps the input as a crash.
 * Not assert(): an -DNDEBUG build must not silently stop checking.
 */
#define FUZZ_ASSERT(c) do {						\
	if (!(c))							\
		fuzz_fail(__FILE__, __LINE__, #c);			\
} while (0)

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* common.c */
void	 fuzz_fail(const char *, int, const char *) __attribute__((noreturn));
const char *fuzz_capsule(void);
void	 fuzz_no_secret(const char *, size_t);
void	 fuzz_check_response(const struct response *, const char *, size_t);
char	*fuzz_strndup(const uint8_t *, size_t);
int	 fuzz_mime(void *, const char *, char *, size_t);
void	 fuzz_check_text(const struct buf *, bool);

#endif
