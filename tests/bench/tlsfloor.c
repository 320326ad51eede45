/*
 * tlsfloor: the least server CPU one TLS handshake costs with this
 * machine's OpenSSL, whatever server wraps it.
 *
 * A client and a server run in one process over a BIO pair: no sockets,
 * no system calls, no event loop.  Only the server's calls are timed
 * (CLOCK_THREAD_CPUTIME_ID): SSL_new, the handshake, the first write
 * (which sends the session ticket), SSL_shutdown and SSL_free, on a
 * context made by lumbar's own tls_ctx_new (src/tls.c, linked from
 * liblumbar.a): the floor and the server cannot drift apart.  It also times the public-key operations
 * inside a handshake, so that the report can say how much of the floor is
 * cryptography and how much is the library around it.
 *
 * usage: tlsfloor [-g GROUPS] [-i full|resumed] CERT KEY [N]
 * -g measures another key exchange group list, as --tls-groups would.
 * Prints one line of key=value pairs starting "tlsfloor:".  Never part
 * of `make test`: it measures, it does not check.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lumbar.h"
#include "tls.h"

/*
 * Under callgrind (valgrind --tool=callgrind --collect-atstart=no), -i full
 * or -i resumed counts the instructions of only the server's calls in that
 * phase: the same for the same binary and inputs, unlike CPU time on a
 * shared machine.
 */
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define COLLECT()	do { if (counting) CALLGRIND_TOGGLE_COLLECT; } while (0)
#else
#define COLLECT()	do { } while (0)
#endif

static int	 counting;	/* this phase's server calls are counted */

static double
cpu_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "tlsfloor: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* One connection; returns the server's CPU µs, sets *reused. */
static double
one(SSL_CTX *sctx, SSL_CTX *cctx, SSL_SESSION **sess, int *reused)
{
	static const char answer[] = "20 text/gemini\r\n";
	SSL	*s, *c;
	BIO	*sb, *cb;
	char	 buf[64];
	double	 t0, us = 0;
	int	 rs = 0, rc = 0, i;

	t0 = cpu_us();
	COLLECT();
	if ((s = SSL_new(sctx)) == NULL)
		die("SSL_new");
	COLLECT();
	us += cpu_us() - t0;
	if ((c = SSL_new(cctx)) == NULL ||
	    BIO_new_bio_pair(&sb, 0, &cb, 0) != 1)
		die("client");
	SSL_set_bio(s, sb, sb);
	SSL_set_bio(c, cb, cb);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	SSL_set_tlsext_host_name(c, "localhost");
	if (*sess != NULL)
		SSL_set_session(c, *sess);
	for (i = 0; i < 16 && (rs != 1 || rc != 1); i++) {
		if (rc != 1)
			rc = SSL_do_handshake(c);
		if (rs != 1) {
			t0 = cpu_us();
			COLLECT();
			rs = SSL_do_handshake(s);
			COLLECT();
			us += cpu_us() - t0;
		}
	}
	if (rs != 1 || rc != 1)
		die("the handshake did not finish");
	t0 = cpu_us();
	COLLECT();
	if (SSL_write(s, answer, sizeof(answer) - 1) <= 0)
		die("SSL_write");
	COLLECT();
	us += cpu_us() - t0;
	if (SSL_read(c, buf, sizeof(buf)) <= 0)
		die("SSL_read");
	*reused += SSL_session_reused(c);
	/* A clean close keeps the session resumable. */
	t0 = cpu_us();
	COLLECT();
	SSL_shutdown(s);
	COLLECT();
	us += cpu_us() - t0;
	SSL_shutdown(c);
	SSL_SESSION_free(*sess);
	*sess = SSL_get1_session(c);
	SSL_free(c);
	t0 = cpu_us();
	COLLECT();
	SSL_free(s);
	COLLECT();
	us += cpu_us() - t0;
	return us;
}

/* X25519: one key pair made and one shared secret derived, as a server
 * does per full handshake. */
static double
x25519_us(int n)
{
	EVP_PKEY	*peer, *mine;
	EVP_PKEY_CTX	*d;
	unsigned char	 secret[32];
	size_t		 len;
	double		 t0;
	int		 i;

	if ((peer = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL)
		die("X25519");
	t0 = cpu_us();
	for (i = 0; i < n; i++) {
		len = sizeof(secret);
		if ((mine = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL ||
		    (d = EVP_PKEY_CTX_new(mine, NULL)) == NULL ||
		    EVP_PKEY_derive_init(d) != 1 ||
		    EVP_PKEY_derive_set_peer(d, peer) != 1 ||
		    EVP_PKEY_derive(d, secret, &len) != 1)
			die("X25519 derive");
		EVP_PKEY_CTX_free(d);
		EVP_PKEY_free(mine);
	}
	EVP_PKEY_free(peer);
	return (cpu_us() - t0) / n;
}

/* One CertificateVerify signature with the server's key. */
static double
sign_us(SSL_CTX *ctx, int n)
{
	static const unsigned char msg[130] = { 0 };
	unsigned char	 sig[512];
	EVP_PKEY	*key = SSL_CTX_get0_privatekey(ctx);
	EVP_MD_CTX	*md;
	size_t		 len;
	double		 t0;
	int		 i;

	t0 = cpu_us();
	for (i = 0; i < n; i++) {
		len = sizeof(sig);
		if ((md = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
		    EVP_DigestSign(md, sig, &len, msg, sizeof(msg)) != 1)
			die("sign");
		EVP_MD_CTX_free(md);
	}
	return (cpu_us() - t0) / n;
}

int
main(int argc, char **argv)
{
	SSL_CTX		*sctx, *cctx;
	SSL_SESSION	*sess = NULL;
	const char	*err;
	double		 full = 0, resumed = 0;
	const char	*phase = NULL;
	int		 n, i, ch, reused = 0, dummy = 0;

	while ((ch = getopt(argc, argv, "g:i:")) != -1) {
		if (ch == 'g')
			conf.tls_groups = optarg;
		else if (ch == 'i' && (strcmp(optarg, "full") == 0 ||
		    strcmp(optarg, "resumed") == 0))
			phase = optarg;
		else
			goto usage;
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc > 3) {
usage:
		fprintf(stderr, "usage: tlsfloor [-g GROUPS] [-i full|resumed] "
		    "CERT KEY [N]\n");
		return 2;
	}
	n = argc == 3 ? atoi(argv[2]) : 2000;
	if (n < 10 || n > 1000000) {
		fprintf(stderr, "tlsfloor: N must be 10-1000000\n");
		return 2;
	}
	if ((sctx = tls_ctx_new(argv[0], argv[1], &err)) == NULL) {
		fprintf(stderr, "tlsfloor: cannot load the certificate or key: "
		    "%s\n", err);
		return 1;
	}
	if ((cctx = SSL_CTX_new(TLS_client_method())) == NULL)
		die("SSL_CTX_new");
	/* Warm up: the first handshakes fill OpenSSL's algorithm caches. */
	for (i = 0; i < 20; i++)
		one(sctx, cctx, &sess, &dummy);
	counting = phase != NULL && strcmp(phase, "full") == 0;
	for (i = 0; i < n; i++) {
		SSL_SESSION_free(sess);
		sess = NULL;
		full += one(sctx, cctx, &sess, &dummy);
	}
	counting = phase != NULL && strcmp(phase, "resumed") == 0;
	for (i = 0; i < n; i++)
		resumed += one(sctx, cctx, &sess, &reused);
	counting = 0;
	printf("tlsfloor: openssl=\"%s\" groups=%s handshakes=%d full_us=%.1f "
	    "resumed_us=%.1f reused=%d x25519_us=%.1f sign_us=%.1f\n",
	    OpenSSL_version(OPENSSL_VERSION), conf.tls_groups ? conf.tls_groups :
	    TLS_GROUPS_DEFAULT, n, full / n, resumed / n, reused,
	    x25519_us(n), sign_us(sctx, n));
	SSL_SESSION_free(sess);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	return reused == n ? 0 : 1;
}
