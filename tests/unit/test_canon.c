/*
 * test_canon - DKIM's relaxed canonicalisation: the example of RFC 6376
 * 3.4.5 exactly, then each rule of 3.4.2 and 3.4.4 on its own, and the
 * ceiling.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "canon.h"
#include "test.h"

/* canon - the canonical form of s by fn (a static buffer; "(error)") */
static const char *
canon(int (*fn)(const char *, size_t, buf_t *), const char *s)
{
	static char out[1024];
	buf_t b;

	buf_init(&b, sizeof out - 1);
	snprintf(out, sizeof out, "%s", fn(s, strlen(s), &b) < 0 ? "(error)" : buf_str(&b));
	buf_free(&b);
	return out;
}

#define hdr(s)	canon(canon_header, (s))
#define body(s)	canon(canon_body, (s))

/* RFC 6376 3.4.5: the message's two fields and body, and what "relaxed"
 * makes of them */
TEST(rfc6376_example)
{
	CHECK_STR(hdr("A: X"), "a:X");
	CHECK_STR(hdr("B : Y\t\r\n\tZ  "), "b:Y Z");
	CHECK_STR(body(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
}

/* each rule of 3.4.2 (a field) and 3.4.4 (a body) on its own */
static const struct rule {
	int	 field;		/* 1: canon_header, 0: canon_body */
	const char *in, *want, *why;
} rules[] = {
	{ 1, "Message-ID: <AbC@Example>", "message-id:<AbC@Example>",
	  "the name in lower case, the value's case kept" },
	{ 1, "Subject \t:  \t Re: a  b", "subject:Re: a b",
	  "no space around the colon; a colon in the value is the value's" },
	{ 1, "Date: Tue, 17 Mar 2020 09:00:00 +0200", "date:Tue, 17 Mar 2020 09:00:00 +0200",
	  "colons and single spaces inside the value kept" },
	{ 1, "To: a@example.fi,\r\n b@example.fi,\r\n\t\tc@example.fi",
	  "to:a@example.fi, b@example.fi, c@example.fi",
	  "unfolded: a continuation line's CRLF gone, its WSP one space" },
	{ 1, "List-Id: x \t \r\n ", "list-id:x", "nothing at the value's end" },
	{ 1, "X-Empty:", "x-empty:", "an empty value" },
	{ 1, "X-Empty:  ", "x-empty:", "a value of spaces is empty" },
	{ 1, "Subject: \xc3\xa4\x01z", "subject:\xc3\xa4\x01z",
	  "bytes other than SP and HTAB kept as they are" },
	{ 0, "", "", "an empty body stays empty (relaxed; simple would give CRLF)" },
	{ 0, "\r\n\r\n", "", "a body of empty lines is empty" },
	{ 0, "  \t\r\n \r\n", "", "lines of spaces at the end are empty lines" },
	{ 0, "abc", "abc\r\n", "a last line without CRLF gets one" },
	{ 0, "abc  ", "abc\r\n", "and loses its spaces at the end" },
	{ 0, "a\r\n\r\n \t\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n",
	  "empty and blank lines inside the body kept, as empty" },
	{ 0, "\t\t x\r\n", " x\r\n", "a run of WSP at a line's start is one space, not none" },
	{ 0, "a\t \tb \t c\r\n", "a b c\r\n", "each run of WSP one space" },
	{ 0, "a\rb\nc\r\n", "a\rb\nc\r\n", "a CR or LF alone is an ordinary byte" },
	{ 0, ".\r\n..x\r\n", ".\r\n..x\r\n", "dots are the body's: given unstuffed" },
};

TEST(each_rule)
{
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		const struct rule *r = &rules[i];
		const char *got = r->field ? hdr(r->in) : body(r->in);

		if (strcmp(got, r->want) != 0)
			fprintf(stderr, "  rule %zu: %s\n", i, r->why);
		CHECK_STR(got, r->want);
	}
}

TEST(ceiling)
{
	buf_t b;

	buf_init(&b, 4);
	CHECK(canon_body("abcdef\r\n", 8, &b) == -1);
	buf_free(&b);
	buf_init(&b, 4);
	CHECK(canon_header("Subject: long", 13, &b) == -1);
	buf_free(&b);
	buf_init(&b, 5);
	CHECK(canon_body("abc\r\n", 5, &b) == 0);
	CHECK(b.len == 5);
	buf_free(&b);
}

int
main(void)
{
	RUN(rfc6376_example);
	RUN(each_rule);
	RUN(ceiling);
	return TEST_DONE();
}
