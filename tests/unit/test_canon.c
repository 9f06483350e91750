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

/* hdr / body - the canonical form of s (a static buffer; "(error)") */
static const char *
hdr(const char *s)
{
	static char out[1024];
	buf_t b;

	buf_init(&b, sizeof out - 1);
	snprintf(out, sizeof out, "%s", canon_header(s, strlen(s), &b) < 0 ? "(error)" :
	    buf_str(&b));
	buf_free(&b);
	return out;
}

static const char *
body(const char *s)
{
	static char out[1024];
	buf_t b;

	buf_init(&b, sizeof out - 1);
	snprintf(out, sizeof out, "%s", canon_body(s, strlen(s), &b) < 0 ? "(error)" :
	    buf_str(&b));
	buf_free(&b);
	return out;
}

/* RFC 6376 3.4.5: the message's two fields and body, and what "relaxed"
 * makes of them */
TEST(rfc6376_example)
{
	CHECK_STR(hdr("A: X"), "a:X");
	CHECK_STR(hdr("B : Y\t\r\n\tZ  "), "b:Y Z");
	CHECK_STR(body(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
}

TEST(header_rules)
{
	/* the name in lower case, the value's case kept */
	CHECK_STR(hdr("Message-ID: <AbC@Example>"), "message-id:<AbC@Example>");
	/* no space around the colon; a colon in the value is the value's */
	CHECK_STR(hdr("Subject \t:  \t Re: a  b"), "subject:Re: a b");
	CHECK_STR(hdr("Date: Tue, 17 Mar 2020 09:00:00 +0200"),
	    "date:Tue, 17 Mar 2020 09:00:00 +0200");
	/* unfolded: a continuation line's CRLF is gone, its WSP one space */
	CHECK_STR(hdr("To: a@example.fi,\r\n b@example.fi,\r\n\t\tc@example.fi"),
	    "to:a@example.fi, b@example.fi, c@example.fi");
	/* nothing at the value's end, an empty value empty */
	CHECK_STR(hdr("List-Id: x \t \r\n "), "list-id:x");
	CHECK_STR(hdr("X-Empty:"), "x-empty:");
	CHECK_STR(hdr("X-Empty:  "), "x-empty:");
	/* bytes other than SP and HTAB are kept as they are */
	CHECK_STR(hdr("Subject: \xc3\xa4\x01z"), "subject:\xc3\xa4\x01z");
}

TEST(body_rules)
{
	/* an empty body stays empty (relaxed; simple would give CRLF) */
	CHECK_STR(body(""), "");
	CHECK_STR(body("\r\n\r\n"), "");
	CHECK_STR(body("  \t\r\n \r\n"), "");
	/* a last line without CRLF gets one */
	CHECK_STR(body("abc"), "abc\r\n");
	CHECK_STR(body("abc  "), "abc\r\n");
	/* empty lines and blank lines inside the body are kept, as empty */
	CHECK_STR(body("a\r\n\r\n \t\r\nb\r\n\r\n"), "a\r\n\r\n\r\nb\r\n");
	/* a run of WSP at a line's start is one space, not none */
	CHECK_STR(body("\t\t x\r\n"), " x\r\n");
	CHECK_STR(body("a\t \tb \t c\r\n"), "a b c\r\n");
	/* a CR or LF alone is an ordinary byte, not a line end */
	CHECK_STR(body("a\rb\nc\r\n"), "a\rb\nc\r\n");
	/* a dot-stuffing dot is the body's: the caller gives it unstuffed */
	CHECK_STR(body(".\r\n..x\r\n"), ".\r\n..x\r\n");
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
	RUN(header_rules);
	RUN(body_rules);
	RUN(ceiling);
	return TEST_DONE();
}
