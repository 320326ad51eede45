/*
 * tls.c: the OpenSSL side of lumbar: one context per served hostname,
 * certificates loaded from the certificate directory or created there on
 * first start, SNI choosing between them, and each client's connection
 * behind a small non-blocking API (tconn_*), so that no other file calls
 * OpenSSL to serve.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lumbar.h"
#include "tls.h"

#define CERT_DAYS	(365 * 30)	/* long-lived: clients pin it (TOFU) */

#define TLS13_CIPHERS	"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:" \
			"TLS_AES_256_GCM_SHA384"
/* The same order for TLS 1.2, then the rest of OpenSSL's DEFAULT set
 * (DEFAULT itself may only come first in a cipher string). */
#define TLS12_CIPHERS	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
			"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
			"ALL:!COMPLEMENTOFDEFAULT:!eNULL"

#define TICKET_KEYS_LEN	80	/* the --ticket-key file: the ticket secret */
#define TICKET_NAME_LEN	16	/* as OpenSSL's ticket callback names it */

static SSL_CTX	*ctxs[HOSTNAMES_MAX];
/* The names certificates were loaded for: a reload may add a host. */
static char	 loaded[HOSTNAMES_MAX][HOSTNAME_MAX + 1];
static size_t	 nloaded;

static bool
was_loaded(const char *name)
{
	size_t i;

	for (i = 0; i < nloaded; i++)
		if (strcmp(loaded[i], name) == 0)
			return true;
	return false;
}

static unsigned char ticket_keys[TICKET_KEYS_LEN];	/* the secret */
static bool	 have_ticket_keys;

/* The key of one period: it names, authenticates and encrypts tickets. */
struct ticket_key {
	int64_t		 period;	/* -1: not derived yet */
	unsigned char	 name[TICKET_NAME_LEN];
	unsigned char	 hmac[32];
	unsigned char	 aes[32];
};
static struct ticket_key tkeys[2] = { { .period = -1 }, { .period = -1 } };
static char	 errbuf[1400];

static const char *
ssl_error(const char *what, const char *file)
{
	unsigned long	 e = ERR_get_error();
	char		 msg[256];

	ERR_error_string_n(e, msg, sizeof(msg));
	snprintf(errbuf, sizeof(errbuf), "%s%s%s: %s", file ? file : "",
	    file ? ": " : "", what, e ? msg : strerror(errno));
	ERR_clear_error();
	return errbuf;
}

static int	 load_ticket_keys(const char **);

static int
cert_paths(const char *dir, const char *host, char *crt, char *key, size_t n)
{
	if ((size_t)snprintf(crt, n, "%s/%s.crt", dir, host) >= n ||
	    (size_t)snprintf(key, n, "%s/%s.key", dir, host) >= n)
		return -1;
	return 0;
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX	 v3;
	X509_EXTENSION	*ext;
	int		 r;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	r = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return r == 1 ? 0 : -1;
}

/* Write a PEM object to path through a temporary file, then rename. */
static int
write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *crt)
{
	char	 tmp[1100];
	FILE	*f;
	int	 fd, ok;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) == -1)
		return -1;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_X509(f, crt);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = 0;
	if (fclose(f) != 0 || !ok || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* A self-signed EC P-256 certificate for host, the Gemini TOFU way. */
static int
make_cert(const char *host, const char *crt, const char *key,
    const char **err)
{
	EVP_PKEY	*pkey = NULL;
	X509		*x = NULL;
	X509_NAME	*name;
	unsigned char	 serial[16];
	BIGNUM		*bn = NULL;
	char		 san[HOSTNAME_MAX + 8];
	int		 r = -1;

	if ((pkey = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL) {
		*err = ssl_error("cannot create a key", NULL);
		goto out;
	}
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7F;	/* a positive serial number */
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL) == NULL ||
	    X509_set_pubkey(x, pkey) != 1)
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)host, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto fail;
	/* An IP literal goes in an IP entry, anything else in a DNS one. */
	snprintf(san, sizeof(san), "%s:%s",
	    strspn(host, "0123456789.") == strlen(host) || strchr(host, ':') ?
	    "IP" : "DNS", host);
	if (add_ext(x, NID_subject_alt_name, san) == -1 ||
	    add_ext(x, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    X509_sign(x, pkey, EVP_sha256()) == 0)
		goto fail;
	if (write_pem(key, 0600, pkey, NULL) == -1) {
		snprintf(errbuf, sizeof(errbuf), "%s: %s", key, strerror(errno));
		*err = errbuf;
		goto out;
	}
	if (write_pem(crt, 0644, NULL, x) == -1) {
		snprintf(errbuf, sizeof(errbuf), "%s: %s", crt, strerror(errno));
		*err = errbuf;
		goto out;
	}
	log_msg(LOG_LVL_INFO, "created a self-signed certificate for %s in %s",
	    host, crt);
	r = 0;
	goto out;
fail:
	*err = ssl_error("cannot create a certificate", NULL);
out:
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return r;
}

static int
sni_cb(SSL *ssl, int *alert, void *arg)
{
	const char	*name;
	size_t		 i;

	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	/* The names the contexts were loaded for: conf's may be newer, when
	 * a reload read them but could not load their certificates. */
	for (i = 0; i < nloaded; i++) {
		if (url_host_equal(name, loaded[i])) {
			if (ctxs[i] != SSL_get_SSL_CTX(ssl))
				SSL_set_SSL_CTX(ssl, ctxs[i]);
			return SSL_TLSEXT_ERR_OK;
		}
	}
	/*
	 * An unknown name still completes the handshake with the primary
	 * certificate, so that the request gets a readable 53 answer.
	 */
	return SSL_TLSEXT_ERR_OK;
}

/*
 * Session tickets are encrypted with a key of the current period of
 * conf.ticket_rotate seconds, derived from the ticket secret and the
 * period's number (HMAC-SHA256), so that every worker and every instance
 * sharing --ticket-key uses the same key at the same time without talking
 * to each other, and keys change on schedule.  A ticket of the previous
 * period still decrypts (and is replaced by one of the current period, as
 * every resumption gets a new ticket); an older one does not, so a ticket
 * lives two periods at most.
 */
static int
ticket_derive(int64_t period, struct ticket_key *k)
{
	unsigned char	 msg[32], out[3][32];
	unsigned int	 n;
	int		 i, len;

	for (i = 0; i < 3; i++) {
		len = snprintf((char *)msg, sizeof(msg), "lumbar ticket %d %lld",
		    i, (long long)period);
		if (HMAC(EVP_sha256(), ticket_keys, sizeof(ticket_keys), msg,
		    (size_t)len, out[i], &n) == NULL || n != 32)
			return -1;
	}
	memcpy(k->name, out[0], sizeof(k->name));
	memcpy(k->hmac, out[1], sizeof(k->hmac));
	memcpy(k->aes, out[2], sizeof(k->aes));
	k->period = period;
	OPENSSL_cleanse(out, sizeof(out));
	return 0;
}

/* The number of the current period. */
static int64_t
ticket_period(void)
{
	return (int64_t)time(NULL) / (conf.ticket_rotate > 0 ?
	    conf.ticket_rotate : 3600);
}

/* The key of period p (the current one, or the one before), or NULL. */
static const struct ticket_key *
ticket_key(int64_t p)
{
	struct ticket_key *k = &tkeys[p & 1];

	if (k->period != p) {
		if (ticket_derive(p, k) == -1) {
			k->period = -1;
			return NULL;
		}
		if (p == ticket_period())
			log_msg(LOG_LVL_DEBUG, "session tickets: the key of "
			    "period %lld in use", (long long)p);
	}
	return k;
}

static int
ticket_mac(EVP_MAC_CTX *hctx, const struct ticket_key *k)
{
	OSSL_PARAM params[3];

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)k->hmac, sizeof(k->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	return EVP_MAC_CTX_set_params(hctx, params);
}

/* OpenSSL's ticket callback: 1 made, 2 opened (renew), 0 unknown key. */
static int
ticket_cb(SSL *ssl, unsigned char name[TICKET_NAME_LEN], unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	const struct ticket_key	*k;
	int64_t			 now = ticket_period();
	int			 i;

	if (enc) {
		if ((k = ticket_key(now)) == NULL ||
		    RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc()))
		    != 1)
			return -1;
		memcpy(name, k->name, TICKET_NAME_LEN);
		if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
		    iv) != 1 || ticket_mac(hctx, k) != 1)
			return -1;
		return 1;
	}
	for (i = 0; i < 2; i++) {
		if ((k = ticket_key(now - i)) == NULL ||
		    memcmp(name, k->name, TICKET_NAME_LEN) != 0)
			continue;
		if (ticket_mac(hctx, k) != 1 || EVP_DecryptInit_ex(cctx,
		    EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
			return -1;
		/* 2: renew, as OpenSSL's own keys do: every resumption gets a
		 * fresh ticket (TLS 1.3 sends none after 1), of this period. */
		return 2;
	}
	return 0;	/* too old, or another secret's: a full handshake */
}

/*
 * A TLS 1.3 client's Finished is read: the server's part of the handshake
 * is out, and what OpenSSL writes next, the session ticket, is held for
 * the answer (tconn_hold), with which it leaves in one TCP segment.  TLS
 * 1.2 is left alone: its client waits for the server's last flight.
 */
static void
handshake_cb(const SSL *ssl, int where, int ret)
{
	(void)ret;
	if ((where & SSL_CB_LOOP) && SSL_get_state(ssl) == TLS_ST_SR_FINISHED &&
	    SSL_version(ssl) == TLS1_3_VERSION)
		hold_set(SSL_get_wbio(ssl), true);
}

/*
 * One hostname's context, with every TLS setting lumbar serves with.
 * Public so that tests/bench/tlsfloor.c measures these very settings.
 */
SSL_CTX *
tls_ctx_new(const char *crt, const char *key, const char **err)
{
	static const unsigned char sid[] = "lumbar";
	SSL_CTX *ctx;

	/* A random ticket key unless tls_init loads one (--check does not). */
	if (!have_ticket_keys && conf.ticket_key == NULL &&
	    load_ticket_keys(err) == -1)
		return NULL;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		*err = ssl_error("SSL_CTX_new", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_RENEGOTIATION);
	/*
	 * AES-128-GCM first: cheaper per handshake than OpenSSL's default
	 * AES-256-GCM (SHA-256 key schedule), and as safe.  ChaCha20 and
	 * AES-256 are still offered.
	 */
	if (SSL_CTX_set_ciphersuites(ctx, TLS13_CIPHERS) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		*err = ssl_error("cannot set the cipher suites", NULL);
		goto fail;
	}
	if (SSL_CTX_set1_groups_list(ctx, conf.tls_groups ? conf.tls_groups :
	    TLS_GROUPS_DEFAULT) != 1) {
		snprintf(errbuf, sizeof(errbuf), "--tls-groups %s: not a list "
		    "of key exchange groups this OpenSSL (%s) knows",
		    conf.tls_groups ? conf.tls_groups : TLS_GROUPS_DEFAULT,
		    OpenSSL_version(OPENSSL_VERSION));
		ERR_clear_error();
		*err = errbuf;
		goto fail;
	}
	/*
	 * Idle connections give their buffers back.  The chain sent is the
	 * one in the certificate file: without NO_AUTO_CHAIN OpenSSL would
	 * try to build one from an empty store on every handshake.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_NO_AUTO_CHAIN);
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	/* Read whole segments, not a record header then its body: a
	 * request costs 3 read calls instead of 9. */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* One TLS 1.3 ticket, not two: a Gemini client makes one
	 * connection at a time, and each ticket costs a key derivation. */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_info_callback(ctx, handshake_cb);
	/*
	 * One ticket secret for every context, worker and generation (and,
	 * from --ticket-key, every instance and restart): a session made
	 * with one of them resumes with any other, under keys that rotate.
	 */
	if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) != 1) {
		*err = ssl_error("cannot set the session ticket callback", NULL);
		goto fail;
	}
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
	if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1) {
		*err = ssl_error("cannot load the certificate", crt);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		*err = ssl_error("cannot load the key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*err = ssl_error("the key does not match the certificate", key);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * Load (creating on first start) the certificate of every hostname.  All
 * of them load, or none is replaced: a failed reload keeps the old ones.
 * Returns -1 with *err naming the file and the problem.
 */
/* The session ticket key: from conf.ticket_key, else random once. */
static int
load_ticket_keys(const char **err)
{
	unsigned char	 extra;
	struct stat	 st;
	FILE		*f;
	size_t		 n;

	if (conf.ticket_key == NULL) {
		if (!have_ticket_keys && RAND_priv_bytes(ticket_keys,
		    sizeof(ticket_keys)) != 1) {
			*err = ssl_error("cannot make a session ticket key", NULL);
			return -1;
		}
		have_ticket_keys = true;
		return 0;
	}
	if ((f = fopen(conf.ticket_key, "rbe")) == NULL) {
		snprintf(errbuf, sizeof(errbuf), "--ticket-key %s: %s",
		    conf.ticket_key, strerror(errno));
		*err = errbuf;
		return -1;
	}
	/*
	 * Whoever reads the key decrypts every session ticket, hence every
	 * resumed session: refuse it as ssh refuses an open private key.
	 */
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0) {
		fclose(f);
		snprintf(errbuf, sizeof(errbuf), "%s: a ticket key file must be "
		    "a regular file that only its owner can read (chmod 600)",
		    conf.ticket_key);
		*err = errbuf;
		return -1;
	}
	/* Keys derived from the secret read before are not its any more. */
	tkeys[0].period = tkeys[1].period = -1;
	n = fread(ticket_keys, 1, sizeof(ticket_keys), f);
	if (n != sizeof(ticket_keys) || fread(&extra, 1, 1, f) != 0) {
		fclose(f);
		snprintf(errbuf, sizeof(errbuf), "%s: a ticket key file holds "
		    "exactly %d random bytes (head -c %d /dev/urandom)",
		    conf.ticket_key, TICKET_KEYS_LEN, TICKET_KEYS_LEN);
		*err = errbuf;
		return -1;
	}
	fclose(f);
	have_ticket_keys = true;
	return 0;
}

/*
 * Tell secrets.c where the private keys are, so that no request gets one
 * however it is reached.  Before the capsules are indexed too: a key
 * linked into a capsule from an earlier start must not be searchable.
 */
void
tls_note_keys(void)
{
	static char	 keys[HOSTNAMES_MAX][1024];
	const char	*keyv[HOSTNAMES_MAX];
	char		 crt[1024];
	size_t		 i, n = 0;

	for (i = 0; i < conf.nhostnames && i < HOSTNAMES_MAX; i++)
		if (cert_paths(conf.certdir, conf.hostnames[i], crt, keys[n],
		    sizeof(crt)) == 0) {
			keyv[n] = keys[n];
			n++;
		}
	secrets_note_keys(keyv, n);
}

int
tls_init(const char **err)
{
	SSL_CTX		*fresh[HOSTNAMES_MAX] = { NULL };
	char		 crt[1024], key[1024];
	size_t		 i;

	if (load_ticket_keys(err) == -1)
		return -1;
	if (mkdir(conf.certdir, 0700) == -1 && errno != EEXIST) {
		snprintf(errbuf, sizeof(errbuf), "%s: %s", conf.certdir,
		    strerror(errno));
		*err = errbuf;
		return -1;
	}
	for (i = 0; i < conf.nhostnames; i++) {
		if (cert_paths(conf.certdir, conf.hostnames[i], crt, key,
		    sizeof(crt)) == -1) {
			*err = "certificate path too long";
			goto fail;
		}
		/*
		 * Made on a name's first start only.  On a reload the clients
		 * have pinned the certificate being served: a missing pair is
		 * an error (the old one keeps serving), not a new identity.
		 * A host new in the configuration gets its first one.
		 */
		if (access(crt, F_OK) == -1 && access(key, F_OK) == -1) {
			if (was_loaded(conf.hostnames[i])) {
				snprintf(errbuf, sizeof(errbuf), "%s and its key "
				    "are gone; restore them (clients pinned this "
				    "certificate), or restart to make new ones",
				    crt);
				*err = errbuf;
				goto fail;
			}
			if (make_cert(conf.hostnames[i], crt, key, err) == -1)
				goto fail;
		}
		if ((fresh[i] = tls_ctx_new(crt, key, err)) == NULL)
			goto fail;
	}
	tls_unload();
	memcpy(ctxs, fresh, sizeof(ctxs));
	for (i = 0; i < conf.nhostnames; i++)
		snprintf(loaded[i], sizeof(loaded[i]), "%s", conf.hostnames[i]);
	nloaded = conf.nhostnames;
	tls_note_keys();
	return 0;
fail:
	for (i = 0; i < HOSTNAMES_MAX; i++)
		SSL_CTX_free(fresh[i]);
	return -1;
}

void
tls_unload(void)
{
	size_t i;

	for (i = 0; i < HOSTNAMES_MAX; i++) {
		SSL_CTX_free(ctxs[i]);
		ctxs[i] = NULL;
	}
}

/* Warn about a certificate that expires within 30 days (or has). */
void
tls_check_expiry(void)
{
	const ASN1_TIME	*na;
	X509		*x;
	size_t		 i;
	int		 days, secs;

	for (i = 0; i < conf.nhostnames; i++) {
		if (ctxs[i] == NULL ||
		    (x = SSL_CTX_get0_certificate(ctxs[i])) == NULL ||
		    (na = X509_get0_notAfter(x)) == NULL ||
		    ASN1_TIME_diff(&days, &secs, NULL, na) != 1)
			continue;
		if (days < 0 || secs < 0)
			log_msg(LOG_LVL_WARN, "the certificate of %s has "
			    "expired", conf.hostnames[i]);
		else if (days < 30)
			log_msg(LOG_LVL_WARN, "the certificate of %s expires "
			    "in %d days", conf.hostnames[i], days);
	}
}

/*
 * For --check: every hostname's certificate and key load, match, name the
 * host and are in date.  Every line it has, each problem and the note on
 * a missing pair (fine: lumbar makes one on first start), goes to say();
 * returns the number of problems.
 */
int
tls_check(void (*say)(const char *, ...))
{
	const char	*err;
	char		 crt[1024], key[1024];
	SSL_CTX		*ctx;
	X509		*x;
	size_t		 i;
	int		 n = 0, days, secs, match;

	for (i = 0; i < conf.nhostnames; i++) {
		const char *h = conf.hostnames[i];

		if (cert_paths(conf.certdir, h, crt, key, sizeof(crt)) == -1)
			continue;
		if (access(crt, F_OK) == -1 && access(key, F_OK) == -1) {
			/* Not a problem, but not "fine" either: say so. */
			say("no certificate for %s in %s: a new one will be "
			    "made at start (restore your backup there first "
			    "if clients know this host)", h, conf.certdir);
			continue;
		}
		if ((ctx = tls_ctx_new(crt, key, &err)) == NULL) {
			say("%s", err);
			n++;
			continue;
		}
		x = SSL_CTX_get0_certificate(ctx);
		match = strspn(h, "0123456789.") == strlen(h) || strchr(h, ':') ?
		    X509_check_ip_asc(x, h, 0) : X509_check_host(x, h, 0, 0,
		    NULL);
		if (match != 1) {
			say("%s: the certificate is not for %s", crt, h);
			n++;
		}
		if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x))
		    == 1 && (days < 0 || secs < 0)) {
			say("%s: the certificate has expired", crt);
			n++;
		}
		if (ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), NULL)
		    == 1 && (days < 0 || secs < 0)) {
			say("%s: the certificate is not valid yet", crt);
			n++;
		}
		SSL_CTX_free(ctx);
	}
	return n;
}

/* One line on hostname i's certificate: its fingerprint and expiry. */
int
tls_describe(size_t i, char *out, size_t outsz)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, k;
	X509		*x;
	struct tm	 tm;
	char		 hex[EVP_MAX_MD_SIZE * 3 + 1];

	if (i >= conf.nhostnames || ctxs[i] == NULL ||
	    (x = SSL_CTX_get0_certificate(ctxs[i])) == NULL ||
	    X509_digest(x, EVP_sha256(), md, &mdlen) != 1 ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return -1;
	for (k = 0; k < mdlen; k++)
		snprintf(hex + k * 3, 4, "%02X%s", md[k], k + 1 < mdlen ? ":" :
		    "");
	snprintf(out, outsz, "certificate of %s: SHA-256 %s, valid until "
	    "%04d-%02d-%02d", conf.hostnames[i], hex, tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday);
	return 0;
}

/*
 * One client's connection, in the shape of libtls: non-blocking calls that
 * return what they wait for (TCONN_WANT_READ, TCONN_WANT_WRITE) instead of
 * an OpenSSL error code, so that the event loop needs no OpenSSL.  The
 * prefix is not libtls' tls_conn_: that names libtls functions of its own.
 * A struct tconn is the SSL object itself, under a name of ours: wrapping
 * it would cost an allocation per connection.
 */
static SSL *
ssl_of(struct tconn *t)
{
	return (SSL *)(void *)t;
}

/* What a failed SSL call r waits for, or TCONN_ERROR when it is over. */
static int
tconn_wait(SSL *ssl, int r)
{
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return TCONN_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TCONN_WANT_WRITE;
	default:
		ERR_clear_error();
		return TCONN_ERROR;
	}
}

/* A new server-side TLS session on fd, with the primary certificate. */
struct tconn *
tconn_accept(int fd)
{
	SSL	*ssl;
	BIO	*sock, *hold;

	if ((ssl = SSL_new(ctxs[0])) == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1 || (sock = SSL_get_wbio(ssl)) == NULL ||
	    BIO_up_ref(sock) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	/* The hold filter takes the reference just made; SSL_set0_wbio
	 * lets go of the write side's own. */
	if ((hold = hold_new(sock)) == NULL) {
		BIO_free(sock);
		SSL_free(ssl);
		return NULL;
	}
	SSL_set0_wbio(ssl, hold);
	SSL_set_accept_state(ssl);
	return (struct tconn *)(void *)ssl;
}

/* 0 when the handshake is done, else what it waits for or TCONN_ERROR. */
int
tconn_handshake(struct tconn *t)
{
	int r;

	ERR_clear_error();
	if ((r = SSL_do_handshake(ssl_of(t))) == 1)
		return 0;
	return tconn_wait(ssl_of(t), r);
}

/* One read into in, or one write from out (partial writes are on): the
 * bytes moved, what the call waits for, or TCONN_ERROR. */
static ssize_t
tconn_io(struct tconn *t, void *in, const void *out, size_t n)
{
	int	 len = n > INT32_MAX ? INT32_MAX : (int)n, r;

	ERR_clear_error();
	r = in != NULL ? SSL_read(ssl_of(t), in, len) :
	    SSL_write(ssl_of(t), out, len);
	return r > 0 ? r : tconn_wait(ssl_of(t), r);
}

/* The client's close_notify is TCONN_ERROR too: a request never ends so. */
ssize_t
tconn_read(struct tconn *t, void *buf, size_t n)
{
	return tconn_io(t, buf, NULL, n);
}

ssize_t
tconn_write(struct tconn *t, const void *buf, size_t n)
{
	return tconn_io(t, NULL, buf, n);
}

/*
 * Send close_notify: 0 when made (or when it cannot be, which ends the
 * connection as well), TCONN_WANT_WRITE to call again when writable.  The
 * client's own close_notify is not awaited: the connection is closed next.
 */
int
tconn_close(struct tconn *t)
{
	int r;

	ERR_clear_error();
	r = SSL_shutdown(ssl_of(t));
	if (r < 0 && SSL_get_error(ssl_of(t), r) == SSL_ERROR_WANT_WRITE)
		return TCONN_WANT_WRITE;
	ERR_clear_error();
	return 0;
}

/*
 * Hold what is written from now on, until tconn_flush: a whole answer and
 * the close_notify after it leave in one write(2) and one TCP segment
 * (tls_hold.c).
 */
void
tconn_hold(struct tconn *t)
{
	hold_set(SSL_get_wbio(ssl_of(t)), true);
}

/* Stop holding: what is held goes out before the next bytes written. */
void
tconn_release(struct tconn *t)
{
	hold_set(SSL_get_wbio(ssl_of(t)), false);
}

/* Write out what is held: 0 done, TCONN_WANT_WRITE, TCONN_ERROR. */
int
tconn_flush(struct tconn *t)
{
	BIO *w = SSL_get_wbio(ssl_of(t));

	hold_set(w, false);
	if (BIO_wpending(w) == 0 || BIO_flush(w) > 0)
		return 0;
	return BIO_should_retry(w) ? TCONN_WANT_WRITE : TCONN_ERROR;
}

/* The name the client asked for (SNI), or NULL. */
const char *
tconn_servername(struct tconn *t)
{
	return SSL_get_servername(ssl_of(t), TLSEXT_NAMETYPE_host_name);
}

void
tconn_free(struct tconn *t)
{
	SSL_free(ssl_of(t));
}
