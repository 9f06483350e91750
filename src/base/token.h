/*
 * token - unforgeable links for one subscriber (unsubscribe, confirm).
 *
 * A token is (subject id, purpose, HMAC-SHA-256 truncated to 128 bits)
 * under a 256-bit key that only this installation has, written two ways:
 * for a URL, base64url (34 characters, case-sensitive: token_make); for
 * the local part of an address (bounces+TOKEN@, unsubscribe+TOKEN@), the
 * RFC 4648 base32 in lower case (40 characters of [a-z2-7]:
 * token_make_local), since some mail systems change the case of local
 * parts.  token_check() takes either form, the base32 one in any case, so
 * addresses made before base32 (base64url) still work where nothing
 * changed their case.  It names the
 * subscriber without exposing the address and cannot be made for another
 * one.  token_key() reads the key from the store's meta table, creating it
 * with libsodium's CSPRNG the first time (inside the caller's transaction
 * or autocommit).  Tokens never expire; rotating the key (deleting the meta
 * row) invalidates every link already sent.
 *
 * token_hash() is a keyed hash of personal data kept where the data
 * itself may not be: an erased address in the suppressions, a client's
 * IP address in the consent log.  BLAKE2b-256 (libsodium's generic hash)
 * under a key derived from the token key for one domain ("erase", "ip"),
 * so a hash of one use is no hash of another and no token; the text is
 * ASCII-folded to lower case first (the NOCASE rule of subscribers.email),
 * so an address hashes the same in any case.  Without the key (a copy of
 * the database holds it: the meta table) the hash cannot be tested
 * against a guess; with it, it can: that is the point for the erased.
 */
#ifndef TIEDOTE_TOKEN_H
#define TIEDOTE_TOKEN_H

#include <stdint.h>

#include "buf.h"
#include "store.h"

#define TOKEN_KEYBYTES 32
#define TOKEN_HASH_HEX 65	/* token_hash()'s 64 hex digits and NUL */
#define TOKEN_LOCAL_CHARS 40	/* token_make_local()'s characters */

/* u: a subscriber leaves, c: confirms; b: a bounce's outbox row; p: a
 * project contact stops getting reminders */
enum token_purpose { TOKEN_UNSUBSCRIBE = 'u', TOKEN_CONFIRM = 'c', TOKEN_BOUNCE = 'b',
	TOKEN_CONTACT = 'p' };

int	token_key(store_t *, unsigned char key[TOKEN_KEYBYTES], buf_t *err);
/* token_make - append the token to out; -1 at out's ceiling */
int	token_make(const unsigned char *key, enum token_purpose, int64_t subject, buf_t *out);
/* token_make_local - the same in base32, lower case, for an address */
int	token_make_local(const unsigned char *key, enum token_purpose, int64_t subject,
	    buf_t *out);
/* token_check - 0 and *subject when genuine, -1 otherwise */
int	token_check(const unsigned char *key, enum token_purpose, const char *token,
	    int64_t *subject);
/* token_hash - the keyed hash of text for domain as hex into out */
void	token_hash(const unsigned char *key, const char *domain, const char *text,
	    char out[TOKEN_HASH_HEX]);

#endif
