/*
 * sign - DKIM signatures (RFC 6376) on every message the worker sends:
 * RSA-SHA256 always when dkim.domain is set, Ed25519-SHA256 (RFC 8463)
 * beside it when dkim.ed25519_key_file is set too.
 *
 * Both signatures are c=relaxed/relaxed and cover, of the fields the
 * message has, From (oversigned: h= names it once more than it occurs, so
 * a second From added on the way breaks the signature), To, Subject,
 * Date, Message-ID, MIME-Version, Content-Type, List-Id,
 * List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 one-click counts
 * only when a valid signature covers the last two).  t= is the worker's
 * clock (clock.h), like Date.
 *
 * Why our own canonicalisation and OpenSSL's EVP with a kept key, not
 * libopendkim (used until 2026-12): libopendkim takes the key as PEM text
 * on every dkim_sign() and its dkim_privkey_load() decodes it on every
 * message (no cache, no way to hand it a parsed key; OpenDKIM's
 * libopendkim/dkim.c), which with OpenSSL 3 costs about 2 ms a message,
 * six times an RSA-2048 signature: signing cut sending to 0.16 of the
 * unsigned rate.  What is left of DKIM once the key is kept is small and
 * exact: relaxed/relaxed canonicalisation (canon.h, RFC 6376 3.4.2 and
 * 3.4.4, tested on the RFC's example), the choice of fields (5.4.2) and
 * the tag list; the cryptography stays in OpenSSL's libcrypto (RSASSA-
 * PKCS1-v1_5 with SHA-256, and Ed25519 over the SHA-256 digest, RFC 8463),
 * which also reads the keys and makes them in `tiedote dkim keygen`.  An
 * outside verifier, python3-dkim, checks every kind of message in
 * tests/it/test_dkim.py.  Nothing here parses outside input: the messages
 * are our own (build.h).
 *
 * sign_open() reads and checks the keys once, at start: the key files
 * must be refused when group- or world-readable (secret.h), the RSA key
 * an RSA key of at least 2048 bits, the Ed25519 key an Ed25519 key; a
 * domain or selector must be a DNS name.  It returns 0 with *out NULL
 * when dkim.domain is empty (nothing is signed), 0 with a signer, or -1
 * with one line in err naming the key to fix.  sign_message() puts the
 * DKIM-Signature fields (Ed25519 first, then RSA) in front of the message
 * in eml (CRLF line ends, not dot-stuffed, as build.h makes it): 0, or -1
 * with err and eml as it was.  sign_keygen() makes a key file (mode 0600,
 * never over an existing file) and the DNS TXT record that publishes its
 * public key.
 *
 * Ownership: the signer owns its parsed keys (freed at sign_close()); the
 * PEM text is wiped once parsed.  Threads: a signer is one thread's
 * (signq.h gives each signing thread its own).
 * A signer copies what it uses of the conf: SIGHUP opens new signers
 * (signq_reload()) and the old ones stay valid until let go.
 * BUGS: dkim.domain is read at start only (signing on or off needs a
 * restart).
 */
#ifndef TIEDOTE_SIGN_H
#define TIEDOTE_SIGN_H

#include <stdint.h>

#include "buf.h"
#include "conf.h"

#define SIGN_KEY_MAX	16384	/* a PEM private key file, bytes */
#define SIGN_RSA_BITS	2048	/* the least RSA key size accepted and made */

typedef struct sign sign_t;
typedef enum { SIGN_RSA, SIGN_ED25519 } sign_type_t;

int	sign_open(const conf_t *, sign_t **out, buf_t *err);
/* sign_log - how s signs, once per start or reload (and a warning when
 * d= cannot align with message.from_address for DMARC) */
void	sign_log(const sign_t *, const conf_t *);
void	sign_close(sign_t *);
int	sign_message(sign_t *, buf_t *eml, int64_t now, buf_t *err);
/* sign_keygen - a new key of type into path (0600, O_EXCL) and its TXT
 * record, "SELECTOR._domainkey.DOMAIN. IN TXT ( "..." "..." )" (strings
 * of at most 255 bytes, as DNS needs) into record; 0 or -1 (err) */
int	sign_keygen(sign_type_t, const char *path, const char *domain,
	    const char *selector, buf_t *record, buf_t *err);
/* sign_dns_name - 1 when s is a DNS name (labels of letters, digits,
 * hyphens, 1-63 bytes, no hyphen at either end; at most 253 bytes) */
int	sign_dns_name(const char *s);

#endif
