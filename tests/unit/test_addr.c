/* test_addr - address validation at the edge */
#include "addr.h"
#include "buf.h"
#include "project.h"
#include "test.h"
#include "util.h"

TEST(accepts_real_addresses)
{
	static const char *const ok[] = {
		"anu.niemi@thl.fi", "kirjaamo@stm.fi", "first.last+tiedote@example.co.uk",
		"o'brien@example.com", "user@sub-domain.example.org", "äiti@esimerkki.fi",
		"info@päijät-häme.fi", "a@b.fi", "müller@straße.de", "用户@例子.广告",
	};
	const char *why;

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int rc = addr_check(ok[i], &why);

		if (rc != 0)
			fprintf(stderr, "  %s: %s\n", ok[i], why);
		CHECK(rc == 0);
	}
}

TEST(refuses_bad_addresses)
{
	char longlocal[80], longaddr[300], longlabel[100];
	const char *bad[] = {
		"", "plain", "@thl.fi", "anu@", "a@@thl.fi", "a@b@thl.fi", "a b@thl.fi",
		"a@thl", "a@.thl.fi", "a@thl..fi", "a@-thl.fi", "a@thl-.fi", ".a@thl.fi",
		"a.@thl.fi", "a..b@thl.fi", "a@[127.0.0.1]", "\"quoted\"@thl.fi",
		"a\r\nBcc: x@thl.fi", "a@thl.fi\n", "a\t@thl.fi", "a(comment)@thl.fi",
		"a@th_l.fi", "\xff@thl.fi", "a@\xc3(.fi", "a\x7f@thl.fi",
		"a\xc2\x85@thl.fi", "a@thl\xe2\x80\xa8.fi",	/* NEL, U+2028 */
		"anu\xc2\xa0@thl.fi", "anu\xe2\x80\x8b@thl.fi",	/* U+00A0, U+200B */
		"a@th\xe2\x80\xaei.fi", "\xef\xbb\xbf" "a@thl.fi",	/* U+202E, U+FEFF */
		"a\xe3\x80\x80@thl.fi", "a\xc2\xad@thl.fi",	/* U+3000, U+00AD */
		"a\xd8\x9c@thl.fi", "a\xf3\xa0\x80\x81@thl.fi",	/* U+061C, U+E0001 */
		"a\xef\xbf\xb9@thl.fi", "a\xe2\xa0\x80@thl.fi",	/* U+FFF9, U+2800 */
		longlocal, longaddr, longlabel,
	};
	const char *why;

	memset(longlocal, 'a', 65);
	strcpy(longlocal + 65, "@thl.fi");
	memset(longaddr, 'b', 250);
	strcpy(longaddr, "a@");
	memset(longaddr + 2, 'b', 250);
	strcpy(longaddr + 252, ".fi");
	memset(longlabel, 'c', 70);
	memcpy(longlabel, "a@", 2);
	strcpy(longlabel + 70, ".fi");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = addr_check(bad[i], &why);

		if (rc == 0)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CHECK(rc == -1 && why && *why);
	}
}

TEST(limits_are_exact)
{
	char addr[300];
	const char *why;

	/* 64-octet local part passes; total 254 passes, 255 fails */
	memset(addr, 'a', 64);
	strcpy(addr + 64, "@thl.fi");
	CHECK(addr_check(addr, &why) == 0);
	memset(addr, 'a', 64);
	addr[64] = '@';
	for (int i = 65; i < 254; i++)
		addr[i] = (i - 65) % 60 == 59 ? '.' : 'd';
	memcpy(addr + 250, ".fi", 4);
	CHECK(strlen(addr) == 253);
	CHECK(addr_check(addr, &why) == 0);
	memcpy(addr + 250, ".fin", 5);
	CHECK(addr_check(addr, &why) == 0);
	memcpy(addr + 250, ".fins", 6);
	CHECK(addr_check(addr, &why) == -1);
}

TEST(display_names)
{
	static const char *const good[] = { "", "Anu Niemi", "Aino \xc3\x84\xc3\xa4lto \xf0\x9f\x8c\xb2",
	    ("\xd7\xa9\xd7\xa8\xd7\x94 \xe2\x80\x8f" "Sara"), "O'Brien, \"Pat\" <x@y>" };
	static const char *const bad[] = { "Anu\nNiemi", "Anu\tNiemi", "\x7f",
	    ("Anu \xe2\x80\xae" "imeiN"), ("\xe2\x80\xaa" "x"), "x\xe2\x80\xac",
	    ("\xe2\x81\xa6" "x\xe2\x81\xa9"),
	    "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x80\xab", "\xe2\x80\xad", "P\xe4iv\xe4",
	    "Anu\xc2\x85Niemi", "Anu\xc2\x9b[2J", "Anu\xe2\x80\xa8Niemi", "Anu\xe2\x80\xa9" };
	const char *why;
	char name[ADDR_NAME_MAX + 2];

	for (size_t i = 0; i < NELEM(good); i++)
		CHECK(addr_name_check(good[i], &why) == 0);
	for (size_t i = 0; i < NELEM(bad); i++) {
		why = NULL;
		CHECK(addr_name_check(bad[i], &why) == -1 && why != NULL);
	}
	memset(name, 'a', ADDR_NAME_MAX);
	name[ADDR_NAME_MAX] = '\0';
	CHECK(addr_name_check(name, &why) == 0);
	name[ADDR_NAME_MAX] = 'a';
	name[ADDR_NAME_MAX + 1] = '\0';
	CHECK(addr_name_check(name, &why) == -1);
}

TEST(project_names_without_bidi_controls)
{
	const char *contacts[] = { "hanke@kys.example" };
	project_t p = { "p-kys", "Pohjois-Savo \xe2\x80\xae" "okkuM", "fi", 0x08,
	    contacts, 1 };
	buf_t err;

	buf_init(&err, 1024);
	CHECK(project_check(&p, &err) == -1 && strstr(buf_str(&err), "bidirectional"));
	p.name = "Pohjois-Savon sote-keskus \xe2\x80\x8f";
	buf_reset(&err);
	CHECK(project_check(&p, &err) == 0);
	buf_free(&err);
}

TEST(redacted_for_the_log)
{
	char out[64];

	CHECK(strcmp(addr_redact("bounces+abcdefgh@tiedote.example", out, sizeof out),
	    "bounces+...@tiedote.example") == 0);
	CHECK(strcmp(addr_redact("reader@example.fi", out, sizeof out), "reader@example.fi") == 0);
	/* a '+' in the domain is not a detail; no '@' at all still hides it */
	CHECK(strcmp(addr_redact("a@b+c.example", out, sizeof out), "a@b+c.example") == 0);
	CHECK(strcmp(addr_redact("unsubscribe+tok", out, sizeof out), "unsubscribe+...") == 0);
	/* cut to fit, never past the end */
	CHECK(strlen(addr_redact("bounces+x@a-very-long-domain-name.example", out, 12)) == 11);
}

int
main(void)
{
	RUN(accepts_real_addresses);
	RUN(refuses_bad_addresses);
	RUN(limits_are_exact);
	RUN(display_names);
	RUN(project_names_without_bidi_controls);
	RUN(redacted_for_the_log);
	return TEST_DONE();
}
