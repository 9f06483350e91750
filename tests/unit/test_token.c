/* test_token - subscriber links cannot be forged or reused for another one */
/* BLAKE2b(key = BLAKE2b("erase", key = 32 x 0x01), "ann.example@x.example"): Python hashlib agrees */
#define HASH_VECTOR "d6684462e2c062d0d8feb505cc17bbe55ef60f4d4bd08be07f7387070319f819"
#include <ctype.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>

#include "conf.h"
#include "store.h"
#include "test.h"
#include "token.h"

static char dir[] = "/tmp/tiedote-token.XXXXXX";

TEST(make_check_and_tamper)
{
	unsigned char key[TOKEN_KEYBYTES], again[TOKEN_KEYBYTES], other[TOKEN_KEYBYTES];
	char path[256];
	conf_t c;
	store_t *s = NULL;
	buf_t err, t;
	int64_t who = 0;

	conf_init(&c);
	buf_init(&err, 256);
	buf_init(&t, 256);
	snprintf(path, sizeof path, "%s/t.db", dir);
	conf_set(&c, "store", "path", path, &err);
	CHECK(store_open(&c, &s, &err) == 0);
	if (s == NULL)
		goto out;
	/* made once, then the same key from the store */
	CHECK(token_key(s, key, &err) == 0);
	CHECK(token_key(s, again, &err) == 0);
	CHECK(memcmp(key, again, sizeof key) == 0);
	/* a stored key cut short, or emptied, is refused (part of the key
	 * would be whatever the caller's buffer held) */
	for (int i = 0; i < 2; i++) {
		CHECK(store_meta_set(s, "token_key", i ? "" : "00112233") == 0);
		buf_reset(&err);
		CHECK(token_key(s, again, &err) == -1 && strstr(buf_str(&err), "not 32 bytes"));
	}
	{
		char hex[2 * TOKEN_KEYBYTES + 1];

		sodium_bin2hex(hex, sizeof hex, key, TOKEN_KEYBYTES);
		CHECK(store_meta_set(s, "token_key", hex) == 0);
		CHECK(token_key(s, again, &err) == 0 && memcmp(key, again, sizeof key) == 0);
	}
	token_make(key, TOKEN_UNSUBSCRIBE, 4711, &t);
	CHECK(token_check(key, TOKEN_UNSUBSCRIBE, buf_str(&t), &who) == 0 && who == 4711);
	/* the address form: 40 characters of lower-case base32, good in any case */
	buf_reset(&t);
	PUT(token_make_local(key, TOKEN_UNSUBSCRIBE, 4711, &t));
	CHECK(t.len == 40 && strspn(buf_str(&t), "abcdefghijklmnopqrstuvwxyz234567") == 40);
	{
		char up[64], b64[64];
		unsigned char raw[25];
		size_t bits = 0, o = 0;
		uint32_t acc = 0;
		const char *al = "abcdefghijklmnopqrstuvwxyz234567";

		for (size_t i = 0; i <= t.len; i++)
			up[i] = (char)toupper((unsigned char)t.data[i]);
		who = 0;
		CHECK(token_check(key, TOKEN_UNSUBSCRIBE, up, &who) == 0 && who == 4711);
		up[3] = up[3] == 'Q' ? 'r' : 'q';	/* mixed case, one changed */
		CHECK(token_check(key, TOKEN_UNSUBSCRIBE, up, &who) == -1);
		/* a link made before: base64url of the same bytes still works */
		for (size_t i = 0; i < t.len; i++) {
			acc = (acc << 5) | (uint32_t)(strchr(al, t.data[i]) - al);
			if ((bits += 5) >= 8) {
				bits -= 8;
				raw[o++] = (unsigned char)(acc >> bits);
			}
		}
		sodium_bin2base64(b64, sizeof b64, raw, sizeof raw,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		who = 0;
		CHECK(o == 25 && token_check(key, TOKEN_UNSUBSCRIBE, b64, &who) == 0 &&
		    who == 4711);
	}
	/* another purpose, another key, a changed character: refused */
	CHECK(token_check(key, TOKEN_CONFIRM, buf_str(&t), &who) == -1);
	memset(other, 7, sizeof other);
	CHECK(token_check(other, TOKEN_UNSUBSCRIBE, buf_str(&t), &who) == -1);
	t.data[0] = t.data[0] == 'A' ? 'B' : 'A';	/* the subject id's first byte */
	CHECK(token_check(key, TOKEN_UNSUBSCRIBE, buf_str(&t), &who) == -1);
	CHECK(token_check(key, TOKEN_UNSUBSCRIBE, "", &who) == -1);
	CHECK(token_check(key, TOKEN_UNSUBSCRIBE, "not base64!", &who) == -1);
out:
	store_close(s);
	conf_free(&c);
	buf_free(&err);
	buf_free(&t);
}

/* token_hash: one value for an address in any case, another under
 * another domain or key; a known vector pins the derivation, so an
 * erased address stays refused across versions */
static void
keyed_hash(void)
{
	unsigned char key[TOKEN_KEYBYTES], other[TOKEN_KEYBYTES];
	char a[TOKEN_HASH_HEX], b[TOKEN_HASH_HEX];

	memset(key, 1, sizeof key);
	memset(other, 2, sizeof other);
	token_hash(key, "erase", "Ann.Example@X.example", a);
	token_hash(key, "erase", "ann.example@x.EXAMPLE", b);
	CHECK(strlen(a) == 64 && strcmp(a, b) == 0);
	token_hash(key, "ip", "ann.example@x.example", b);
	CHECK(strcmp(a, b) != 0);
	token_hash(other, "erase", "ann.example@x.example", b);
	CHECK(strcmp(a, b) != 0);
	token_hash(key, "erase", "ann.example@x.exampl", b);
	CHECK(strcmp(a, b) != 0);
	CHECK_STR(a, HASH_VECTOR);
}

int
main(void)
{
	char cmd[300];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(make_check_and_tamper);
	RUN(keyed_hash);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	rc = system(cmd);
	(void)rc;
	return TEST_DONE();
}
