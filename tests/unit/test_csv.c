/* test_csv - the RFC 4180 reader behind subscriber import */
#include <stdlib.h>

#include "csv.h"
#include "test.h"

struct rec {
	size_t	n, line[16], nf[16];
	char	f[16][4][64];
};

static int
collect(size_t line, char **fields, size_t nf, void *arg)
{
	struct rec *r = arg;

	if (r->n == 16)
		return 1;
	r->line[r->n] = line;
	r->nf[r->n] = nf;
	for (size_t i = 0; i < nf && i < 4; i++)
		snprintf(r->f[r->n][i], 64, "%s", fields[i]);
	r->n++;
	return 0;
}

TEST(quoting_line_ends_and_bom)
{
	const char data[] = "\xef\xbb\xbf" "email,name\r\n"
	    "a@thl.fi,\"Niemi, Anu\"\r\n"
	    "\r\n"
	    "b@thl.fi,\"say \"\"hei\"\"\"\n"
	    "c@thl.fi,\"two\nlines\"\n"
	    "d@thl.fi,";
	struct rec r = { 0 };
	buf_t err;

	buf_init(&err, 256);
	CHECK(csv_parse(data, sizeof data - 1, collect, &r, &err) == 0);
	CHECK(r.n == 5);
	CHECK_STR(r.f[0][0], "email");
	CHECK_STR(r.f[1][1], "Niemi, Anu");
	CHECK(r.line[1] == 2);
	CHECK_STR(r.f[2][1], "say \"hei\"");
	CHECK(r.line[2] == 4);
	CHECK_STR(r.f[3][1], "two\nlines");
	CHECK(r.line[4] == 7);	/* counted past the quoted line break */
	CHECK(r.nf[4] == 2);
	CHECK_STR(r.f[4][1], "");
	buf_free(&err);
}

/* a piece of a file read in pieces: the file's lines, and a BOM is only
 * skipped on line 1 (elsewhere it is text) */
TEST(a_piece_counts_from_its_first_line)
{
	const char data[] = "\xef\xbb\xbf" "a@thl.fi,\"two\nlines\"\nb@thl.fi,x\n";
	struct rec r = { 0 };
	buf_t err;

	buf_init(&err, 256);
	CHECK(csv_parse_at(data, sizeof data - 1, 1001, collect, &r, &err) == 0);
	CHECK(r.n == 2);
	CHECK(r.line[0] == 1001);
	CHECK(r.line[1] == 1003);
	CHECK_STR(r.f[0][0], "\xef\xbb\xbf" "a@thl.fi");
	CHECK(csv_parse_at("a\nc,d\"e\n", 8, 41, collect, &r, &err) == -1);
	CHECK_STR(buf_str(&err), "line 42: quote inside an unquoted field");
	buf_free(&err);
}

TEST(malformed_files_name_the_line)
{
	static const struct { const char *data, *msg; } bad[] = {
		{ "a,b\nc,\"open\n", "line 2: quoted field never closed" },
		{ "a,b\nc,d\"e\n", "line 2: quote inside an unquoted field" },
		{ "a\n\"x\"y\n", "line 2: text after a closing quote" },
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct rec r = { 0 };
		buf_t err;

		buf_init(&err, 256);
		CHECK(csv_parse(bad[i].data, strlen(bad[i].data), collect, &r, &err) == -1);
		CHECK_STR(buf_str(&err), bad[i].msg);
		buf_free(&err);
	}
}

TEST(nul_and_huge_fields_refused)
{
	const char nul[] = "a,b\nc\0d,e\n";
	char *big = malloc(CSV_MAX_FIELD + 10);
	struct rec r = { 0 };
	buf_t err;

	buf_init(&err, 256);
	CHECK(csv_parse(nul, sizeof nul - 1, collect, &r, &err) == -1);
	CHECK_STR(buf_str(&err), "line 2: NUL byte");
	memset(big, 'x', CSV_MAX_FIELD + 10);
	buf_reset(&err);
	CHECK(csv_parse(big, CSV_MAX_FIELD + 10, collect, &r, &err) == -1);
	CHECK(strstr(buf_str(&err), "longer than") != NULL);
	free(big);
	buf_free(&err);
}

int
main(void)
{
	RUN(quoting_line_ends_and_bom);
	RUN(a_piece_counts_from_its_first_line);
	RUN(malformed_files_name_the_line);
	RUN(nul_and_huge_fields_refused);
	return TEST_DONE();
}
