/* tls.h: the OpenSSL-facing part of lumbar, kept out of lumbar.h so that
 * modules that do not speak TLS do not include OpenSSL. */
#ifndef LUMBAR_TLS_H
#define LUMBAR_TLS_H

#include <openssl/ssl.h>

int	 tls_init(const char **);
void	 tls_unload(void);
void	 tls_check_expiry(void);
int	 tls_check(void (*)(const char *, ...));
int	 tls_describe(size_t, char *, size_t);
int	 tls_key_path(size_t, char *, size_t);
SSL	*tls_accept(int);
SSL_CTX	*tls_ctx_new(const char *, const char *, const char **);

#endif
