/*
 * token - HMAC-signed subscriber links; contract in token.h.
 */
#include <sodium.h>
#include <string.h>

#include "token.h"
#include "util.h"

#define MACBYTES 16
#define RAWBYTES (8 + 1 + MACBYTES)
#define B32CHARS ((RAWBYTES * 8 + 4) / 5)	/* 40: 25 bytes, no padding */
_Static_assert(B32CHARS == TOKEN_LOCAL_CHARS, "token.h says what token_make_local() makes");

/* RFC 4648 base32 in lower case: the form that survives a mail system
 * that changes the case of local parts */
static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

static void
b32_encode(const unsigned char *raw, size_t n, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = b32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

/* b32_decode - exactly n bytes from s, either case: 0, or -1 */
static int
b32_decode(const char *s, size_t len, unsigned char *raw, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i];
		const char *p = c ? strchr(b32, c) : NULL;

		if (p == NULL)
			return -1;
		acc = (acc << 5) | (uint32_t)(p - b32);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o == n)
				return -1;
			raw[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o == n && (acc & ((1u << bits) - 1)) == 0 ? 0 : -1;
}

int
token_key(store_t *store, unsigned char key[TOKEN_KEYBYTES], buf_t *err)
{
	char hex[TOKEN_KEYBYTES * 2 + 1];
	buf_t v;
	size_t bin_len = 0;
	int rc = -1, got;

	if (sodium_init() < 0)
		fatal("libsodium cannot initialise");
	buf_init(&v, 1024);
	if ((got = store_meta_get(store, "token_key", &v)) < 0) {
		buf_notef(err, "reading the token key: %s", store_errmsg(store));
		goto out;
	}
	if (got == 1) {
		randombytes_buf(key, TOKEN_KEYBYTES);
		sodium_bin2hex(hex, sizeof hex, key, TOKEN_KEYBYTES);
		if (store_meta_set(store, "token_key", hex) < 0) {
			buf_notef(err, "storing the token key: %s", store_errmsg(store));
			goto out;
		}
	} else if (sodium_hex2bin(key, TOKEN_KEYBYTES, buf_str(&v), v.len, NULL, &bin_len,
	    NULL) != 0 || bin_len != TOKEN_KEYBYTES || v.len != 2 * TOKEN_KEYBYTES) {
		/* a short or empty value (a row emptied to "rotate" the key)
		 * would leave part of the key as the caller's buffer held it */
		buf_notef(err, "the stored token key is not %d bytes of hex", TOKEN_KEYBYTES);
		goto out;
	}
	rc = 0;
out:
	buf_free(&v);
	return rc;
}

static void
mac(const unsigned char *key, const unsigned char *msg, size_t len, unsigned char *out)
{
	unsigned char full[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256(full, msg, len, key);
	memcpy(out, full, MACBYTES);
}

static void
raw_make(const unsigned char *key, enum token_purpose purpose, int64_t subject,
    unsigned char raw[RAWBYTES])
{
	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)((uint64_t)subject >> (8 * i));
	raw[8] = (unsigned char)purpose;
	mac(key, raw, 9, raw + 9);
}

int
token_make(const unsigned char *key, enum token_purpose purpose, int64_t subject, buf_t *out)
{
	unsigned char raw[RAWBYTES];
	char b64[sodium_base64_ENCODED_LEN(RAWBYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	raw_make(key, purpose, subject, raw);
	sodium_bin2base64(b64, sizeof b64, raw, sizeof raw,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return buf_adds(out, b64);
}

int
token_make_local(const unsigned char *key, enum token_purpose purpose, int64_t subject,
    buf_t *out)
{
	unsigned char raw[RAWBYTES];
	char b[B32CHARS + 1];

	raw_make(key, purpose, subject, raw);
	b32_encode(raw, sizeof raw, b);
	return buf_adds(out, b);
}

int
token_check(const unsigned char *key, enum token_purpose purpose, const char *token,
    int64_t *subject)
{
	unsigned char raw[RAWBYTES], want[MACBYTES];
	size_t len;
	uint64_t v = 0;

	/* the base32 form (any case), or the base64url one of links made
	 * before it, which still work where nothing changed their case */
	if (strlen(token) == B32CHARS) {
		if (b32_decode(token, B32CHARS, raw, RAWBYTES) < 0)
			return -1;
	} else if (sodium_base642bin(raw, sizeof raw, token, strlen(token), NULL, &len, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || len != RAWBYTES)
		return -1;
	if (raw[8] != (unsigned char)purpose)
		return -1;
	mac(key, raw, 9, want);
	if (sodium_memcmp(want, raw + 9, MACBYTES) != 0)
		return -1;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)raw[i] << (8 * i);
	*subject = (int64_t)v;
	return 0;
}

void
token_hash(const unsigned char *key, const char *domain, const char *text,
    char out[TOKEN_HASH_HEX])
{
	unsigned char sub[crypto_generichash_KEYBYTES], h[32];
	crypto_generichash_state st;
	char c;

	/* the domain's own key: the token key is never used as it is */
	crypto_generichash(sub, sizeof sub, (const unsigned char *)domain, strlen(domain), key,
	    TOKEN_KEYBYTES);
	crypto_generichash_init(&st, sub, sizeof sub, sizeof h);
	for (; *text; text++) {
		c = *text >= 'A' && *text <= 'Z' ? (char)(*text - 'A' + 'a') : *text;
		crypto_generichash_update(&st, (const unsigned char *)&c, 1);
	}
	crypto_generichash_final(&st, h, sizeof h);
	sodium_bin2hex(out, TOKEN_HASH_HEX, h, sizeof h);
	sodium_memzero(sub, sizeof sub);
}
