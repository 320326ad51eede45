/*
 * replay.c: main() for a fuzz target built without libFuzzer, so that
 * `make test` (and its ASan build) runs every seed and every past crash
 * through the same LLVMFuzzerTestOneInput with the ordinary compiler.
 *
 *	fuzz_NAME FILE|DIR...
 *
 * Each file is one input; a directory gives each file inside it.  The
 * exit status is 0 when every input ran; a broken property aborts.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static size_t	 ran;

static int
replay_file(const char *path)
{
	struct buf	 b;
	FILE		*fp;
	size_t		 n;
	char		 chunk[8192];
	uint8_t		*copy;

	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_append(&b, chunk, n) == -1)
			abort();
	if (ferror(fp)) {
		fprintf(stderr, "%s: read error\n", path);
		fclose(fp);
		buf_free(&b);
		return -1;
	}
	fclose(fp);
	/* An exact-size copy, as libFuzzer gives: a read past it is caught. */
	if ((copy = malloc(b.len ? b.len : 1)) == NULL)
		abort();
	if (b.len > 0)
		memcpy(copy, b.data, b.len);
	LLVMFuzzerTestOneInput(copy, b.len);
	free(copy);
	buf_free(&b);
	ran++;
	return 0;
}

static int
replay(const char *path)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	char		 sub[4096];
	int		 rc = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (replay(sub) == -1)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int
main(int argc, char *argv[])
{
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		if (replay(argv[i]) == -1)
			rc = 1;
	printf("%s: %zu inputs replayed\n", argv[0], ran);
	return rc;
}
