/* test_buf - the buffer's ceiling and ownership contract */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "test.h"

TEST(appends_and_terminates)
{
	buf_t b;

	buf_init(&b, 0);
	CHECK_STR(buf_str(&b), "");
	CHECK(buf_adds(&b, "hei") == 0);
	CHECK(buf_addc(&b, ' ') == 0);
	CHECK(buf_printf(&b, "%d.%d.%d", 31, 3, 2020) == 0);
	CHECK_STR(buf_str(&b), "hei 31.3.2020");
	CHECK(b.len == 13);
	buf_truncate(&b, 3);
	CHECK_STR(buf_str(&b), "hei");
	buf_free(&b);
}

/* a buffer reserved before anything is added is "", not what its heap
 * memory held (an empty secret file read that memory as its text) */
TEST(reserve_alone_terminates)
{
	char *dirty = malloc(64);
	buf_t b;

	memset(dirty, 'x', 64);
	free(dirty);		/* so the next allocation of its size finds 'x's */
	buf_init(&b, 100);
	CHECK(buf_reserve(&b, 50) == 0);
	CHECK_STR(buf_str(&b), "");
	buf_free(&b);
}

TEST(ceiling_refuses_and_keeps_contents)
{
	buf_t b;

	buf_init(&b, 8);
	CHECK(buf_adds(&b, "12345678") == 0);
	CHECK(buf_addc(&b, '9') == -1);
	CHECK(buf_printf(&b, "%s", "x") == -1);
	CHECK_STR(buf_str(&b), "12345678");
	buf_reset(&b);
	CHECK(buf_adds(&b, "123456789") == -1);
	CHECK(b.len == 0);
	buf_free(&b);
}

TEST(take_detaches)
{
	buf_t b;
	char *s;

	buf_init(&b, 0);
	for (int i = 0; i < 10000; i++)
		CHECK(buf_addc(&b, 'a') == 0);
	s = buf_take(&b);
	CHECK(strlen(s) == 10000);
	CHECK(b.data == NULL && b.len == 0);
	free(s);
	s = buf_take(&b);
	CHECK_STR(s, "");
	free(s);
}

TEST(escapes_for_a_terminal)
{
	static const char in[] = "Anu \xc3\x85 \\ \r\nBcc: x\t\x1b[31m\x7f \xff\xc3 \xc2\x9b"
	    "\xe2\x80\xae\xe2\x80\xa8 \xf0\x9f\x98\x80";
	buf_t b;

	buf_init(&b, 4096);
	CHECK(buf_addesc(&b, in, sizeof in - 1) == 0);
	CHECK_STR(buf_str(&b), "Anu \xc3\x85 \\\\ \\r\\nBcc: x\\t\\x1b[31m\\x7f \\xff\\xc3 "
	    "\\u009b\\u202e\\u2028 \xf0\x9f\x98\x80");
	/* a NUL inside the length is shown, not the end */
	buf_reset(&b);
	CHECK(buf_addesc(&b, "a\0b", 3) == 0);
	CHECK_STR(buf_str(&b), "a\\x00b");
	buf_free(&b);
	/* at the ceiling: -1 and the buffer as it was */
	buf_init(&b, 8);
	CHECK(buf_adds(&b, "ab") == 0);
	CHECK(buf_addesc(&b, "\x1b\x1b", 2) == -1);
	CHECK_STR(buf_str(&b), "ab");
	buf_free(&b);
}

int
main(void)
{
	RUN(escapes_for_a_terminal);
	RUN(appends_and_terminates);
	RUN(reserve_alone_terminates);
	RUN(ceiling_refuses_and_keeps_contents);
	RUN(take_detaches);
	return TEST_DONE();
}
