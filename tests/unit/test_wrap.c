/*
 * test_wrap - folding plain text: widths in code points, list items and
 * indentation, words that never split, CR LF, and linear time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "wrap.h"
#include "test.h"

/* wrapped - s wrapped at width (a new string, caller frees) */
static char *
wrapped(const char *s, size_t width)
{
	buf_t b;

	buf_init(&b, 0);
	if (wrap_text(&b, s, strlen(s), width) < 0) {
		buf_free(&b);
		return strdup("(error)");
	}
	return buf_take(&b);
}

#define CHECK_WRAP(in, width, want) do {				\
	char *got_ = wrapped((in), (width));				\
	CHECK_STR(got_, (want));					\
	free(got_);							\
} while (0)

/* widest - the widest line of s in columns, and whether every line over
 * width is one word (after its indentation) */
static size_t
widest(const char *s, size_t width, int *only_words)
{
	const char *p = s, *nl, *q;
	size_t w, max = 0, n;

	*only_words = 1;
	for (; *p; p = nl ? nl + 1 : p + n) {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		w = wrap_columns(p, n);
		if (w > max)
			max = w;
		if (w > width) {
			for (q = p; q < p + n && (*q == ' ' || *q == '\t'); q++)
				;
			if (memchr(q, ' ', n - (size_t)(q - p)) != NULL)
				*only_words = 0;
		}
		if (nl == NULL)
			break;
	}
	return max;
}

TEST(short_lines_untouched)
{
	CHECK_WRAP("", 0, "");
	CHECK_WRAP("\n", 0, "\n");
	CHECK_WRAP("Hei!\n\nTervetuloa.", 0, "Hei!\n\nTervetuloa.");
	CHECK_WRAP("a  b   c\n", 10, "a  b   c\n");
	CHECK_WRAP("\n\n\nx\n\n", 0, "\n\n\nx\n\n");
	/* exactly the width fits */
	CHECK_WRAP("aaaa bbbb", 9, "aaaa bbbb");
	CHECK_WRAP("aaaa bbbb", 8, "aaaa\nbbbb");
	/* the signature separator keeps its space */
	CHECK_WRAP("-- \nTHL\n", 0, "-- \nTHL\n");
}

TEST(breaks_at_spaces)
{
	CHECK_WRAP("one two three four five", 10,
	    "one two\nthree four\nfive");
	/* blanks at a break go, blanks between words on a line stay */
	CHECK_WRAP("one  two   three", 9, "one  two\nthree");
	CHECK_WRAP("one two three   ", 9, "one two\nthree");
	CHECK_WRAP("a\tb c d e f g h i", 9, "a\tb\nc d e f g\nh i");
}

TEST(default_width_is_76)
{
	const char *in = "Alueet voivat hakea valtionavustusta Tulevaisuuden "
	    "sosiaali- ja terveyskeskus -ohjelman kehittämishankkeisiin. Haku "
	    "avautui 20.1.2020, ja se päättyy 31.3.2020 klo 16.15.";
	char *out = wrapped(in, 0);
	int words;

	CHECK_STR(out, "Alueet voivat hakea valtionavustusta Tulevaisuuden "
	    "sosiaali- ja\nterveyskeskus -ohjelman kehittämishankkeisiin. Haku "
	    "avautui 20.1.2020, ja se\npäättyy 31.3.2020 klo 16.15.");
	CHECK(widest(out, 76, &words) <= 76);
	free(out);
}

TEST(utf8_counts_code_points)
{
	/* 15 words of 4 a-umlauts: 74 columns, 134 bytes */
	char in[512] = "", want[512] = "";
	int i;

	for (i = 0; i < 17; i++) {
		strcat(in, i ? " ääää" : "ääää");
		strcat(want, i == 0 ? "ääää" : i == 15 ? "\nääää" : " ääää");
	}
	CHECK_WRAP(in, 76, want);
	CHECK(wrap_columns("ääää", strlen("ääää")) == 4);
	CHECK(wrap_columns("€ – ”", strlen("€ – ”")) == 5);
	CHECK(wrap_columns("\t", 1) == 8 && wrap_columns("ab\tc", 4) == 9);
	CHECK_WRAP("Åbo Åland Ärlig Öja", 10, "Åbo Åland\nÄrlig Öja");
}

TEST(long_words_stay_whole)
{
	const char *url = "https://www.innokyla.fi/fi/toimintamalli/"
	    "asiakaslahtoisen-terveyskeskuksen-valmennusohjelma-iisalmi-ja-"
	    "kiuruvesi";
	char in[1024], want[1024];
	char *big, *out;
	size_t n = 2000;
	int words;

	CHECK_WRAP(url, 0, url);
	snprintf(in, sizeof(in), "Lue lisää: %s sivulta", url);
	snprintf(want, sizeof(want), "Lue lisää:\n%s\nsivulta", url);
	CHECK_WRAP(in, 0, want);
	snprintf(in, sizeof(in), "  %s", url);
	CHECK_WRAP(in, 0, in);
	/* a 2,000-character word between short ones */
	big = malloc(n + 32);
	memcpy(big, "alku ", 5);
	memset(big + 5, 'x', n);
	strcpy(big + 5 + n, " loppu");
	out = wrapped(big, 0);
	CHECK(strncmp(out, "alku\n", 5) == 0);
	CHECK(strlen(out) == n + 11);
	CHECK(strcmp(out + 5 + n, "\nloppu") == 0);
	CHECK(strspn(out + 5, "x") == n);
	CHECK(widest(out, 76, &words) == n && words);
	free(out);
	free(big);
}

TEST(list_items_hang)
{
	CHECK_WRAP("- one two three four five six", 12,
	    "- one two\n  three four\n  five six");
	CHECK_WRAP("* one two three four five six", 12,
	    "* one two\n  three four\n  five six");
	CHECK_WRAP("12. one two three four five six", 12,
	    "12. one two\n    three\n    four\n    five six");
	CHECK_WRAP("1) one two three", 10, "1) one two\n   three");
	CHECK_WRAP("\xe2\x80\xa2 one two three", 10,
	    "\xe2\x80\xa2 one two\n  three");
	/* indented items keep both */
	CHECK_WRAP("  - one two three four", 12,
	    "  - one two\n    three\n    four");
	/* not items: no space after the marker, or a date */
	CHECK_WRAP("-one two three", 8, "-one two\nthree");
	CHECK_WRAP("31.3.2020 klo 16.15 päättyy", 12,
	    "31.3.2020\nklo 16.15\npäättyy");
	CHECK_WRAP("2020 on vuosi", 8, "2020 on\nvuosi");
	/* a long word right after the marker stays beside it */
	CHECK_WRAP("- abcdefghijkl x", 8, "- abcdefghijkl\n  x");
}

TEST(indentation_kept)
{
	CHECK_WRAP("  one two three four", 10, "  one two\n  three\n  four");
	CHECK_WRAP("\tone two three", 20, "\tone two\n\tthree");
	/* an indent wider than half the width is not repeated */
	CHECK_WRAP("      aa bb cc", 10, "      aa\nbb cc");
	CHECK_WRAP("  - aa bb cc dd", 7, "  - aa\n  bb cc\n  dd");
	CHECK_WRAP("  - aa bb cc dd", 8, "  - aa\n    bb\n    cc\n    dd");
}

TEST(crlf_in_lf_out)
{
	CHECK_WRAP("a b c\r\nd e f\r\n", 3, "a b\nc\nd e\nf\n");
	CHECK_WRAP("a\r\n\r\nb", 0, "a\n\nb");
	/* a lone CR is text */
	CHECK_WRAP("a\rb", 0, "a\rb");
}

TEST(ceiling_leaves_buffer)
{
	buf_t b;
	const char *in = "one two three four five six seven eight nine ten";

	buf_init(&b, 30);
	PUT(buf_adds(&b, "keep"));
	CHECK(wrap_text(&b, in, strlen(in), 10) == -1);
	CHECK_STR(buf_str(&b), "keep");
	buf_free(&b);
}

TEST(linear_time)
{
	/* 4 MB of words in one line, then of one-letter words after a deep
	 * indent: quadratic work would take minutes */
	size_t n = (size_t)4 << 20, i;
	char *in = malloc(n + 1);
	buf_t b;
	clock_t t0;
	double secs;

	for (i = 0; i < n; i++)
		in[i] = i % 7 == 6 ? ' ' : 'a' + (char)(i % 26);
	in[n] = '\0';
	buf_init(&b, 0);
	t0 = clock();
	CHECK(wrap_text(&b, in, n, 0) == 0);
	memset(in, ' ', 100000);
	for (i = 100000; i < n; i++)
		in[i] = i % 2 ? ' ' : 'x';
	buf_reset(&b);
	CHECK(wrap_text(&b, in, n, 0) == 0);
	CHECK(b.len < 2 * n);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	CHECK(secs < 5.0);
	buf_free(&b);
	free(in);
}

int
main(void)
{
	RUN(short_lines_untouched);
	RUN(breaks_at_spaces);
	RUN(default_width_is_76);
	RUN(utf8_counts_code_points);
	RUN(long_words_stay_whole);
	RUN(list_items_hang);
	RUN(indentation_kept);
	RUN(crlf_in_lf_out);
	RUN(ceiling_leaves_buffer);
	RUN(linear_time);
	return TEST_DONE();
}
