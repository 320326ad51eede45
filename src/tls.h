/* tls.h: tls.c's set-up functions, kept out of lumbar.h so that modules
 * that do not set TLS up do not include OpenSSL; a connection's functions
 * (tconn_*) name no OpenSSL type and are in lumbar.h. */
#ifndef LUMBAR_TLS_H
#define LUMBAR_TLS_H

#include <openssl/ssl.h>

/*
 * Key exchange groups when --tls-groups is not given: classical only.
 * OpenSSL 3.5 would otherwise lead with the hybrid X25519MLKEM768, which
 * costs about a quarter more CPU per handshake; what it protects (recorded
 * traffic, decrypted years later) matters little for a public capsule.
 * Plain names, no "/" tuples: the same list works on OpenSSL 3.0 and 3.5.
 */
#define TLS_GROUPS_DEFAULT	"X25519:P-256:X448:P-384:P-521"

int	 tls_init(const char **);
void	 tls_note_keys(void);
void	 tls_unload(void);
void	 tls_check_expiry(void);
int	 tls_check(void (*)(const char *, ...));
int	 tls_describe(size_t, char *, size_t);
SSL_CTX	*tls_ctx_new(const char *, const char *, const char **);

/* tls_hold.c */
BIO	*hold_new(BIO *);
void	 hold_set(BIO *, bool);

#endif
