/* test_token - subscriber links cannot be forged or reused for another one */
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
	token_make(key, TOKEN_UNSUBSCRIBE, 4711, &t);
	CHECK(token_check(key, TOKEN_UNSUBSCRIBE, buf_str(&t), &who) == 0 && who == 4711);
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

int
main(void)
{
	char cmd[300];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(make_check_and_tamper);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	rc = system(cmd);
	(void)rc;
	return TEST_DONE();
}
