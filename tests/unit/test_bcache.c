/*
 * test_bcache - a copy filled in from the cache is the copy
 * render_message() makes for the same recipient, byte for byte.
 *
 * Two template sets: the shipped templates/ (the address in a long
 * paragraph of the text, so its length moves the line breaks) with a
 * bulletin's worth of data, and a set written here that uses the personal
 * values everywhere they could go: the subject, sections on them, an
 * indented partial, a list item, lines that wrap at them, HTML.  The
 * recipients' values vary in length, white space, emptiness and script;
 * values bcache_plain() refuses must be refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bcache.h"
#include "buf.h"
#include "render.h"
#include "test.h"
#include "util.h"

static const char *const kinds[] = { "bulletin", "reminder", "announcement", "confirm", "welcome" };
static const char *const langs[] = { "fi", "sv", "en" };

static const char subject_t[] =
    "Hei {{recipient.name}}{{^recipient.name}}lukija{{/recipient.name}}:   tiedote\n"
    "{{#recipient.name}}  ({{recipient.email}}){{/recipient.name}}\n";
static const char text_t[] =
    "{{#recipient.name}}Hei {{{recipient.name}}}!{{/recipient.name}}"
    "{{^recipient.name}}Hei!{{/recipient.name}}\n"
    "\n"
    "* Tämä viesti lähetettiin osoitteeseen {{{recipient.email}}}, koska olet tilannut tiedotteen; peru tilaus osoitteessa {{{links.unsubscribe}}} milloin tahansa.\n"
    "{{#items}}\n"
    "  {{>part}}\n"
    "{{/items}}\n"
    "Lyhyt rivi.\r\n"
    "{{{links.unsubscribe}}}\n"
    "    sisennetty rivi, joka on niin pitkä, että se rivitetään kahdelle riville, ja sen lopussa on {{{recipient.email}}}\n"
    "{{{recipient.name}}} {{{recipient.name}}} {{{recipient.email}}}";
static const char part_t[] =
    "- {{{title}}} ({{{recipient.email}}}) jatkuu pitkään, pitkään, pitkään, pitkään, pitkään.\n";
static const char html_t[] =
    "<p>Hei {{recipient.name}}</p>\n"
    "<a href=\"{{links.unsubscribe}}\">{{recipient.email}}</a>{{#items}}<li>{{title}}</li>{{/items}}\n";

static int
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		return -1;
	fputs(text, fp);
	return fclose(fp);
}

/* own_set - the templates above for every kind and language, in dir */
static int
own_set(char *dir)
{
	char path[512];

	if (mkdtemp(dir) == NULL)
		return -1;
	for (size_t l = 0; l < NELEM(langs); l++) {
		snprintf(path, sizeof path, "%s/%s", dir, langs[l]);
		mkdir(path, 0700);
		snprintf(path, sizeof path, "%s/%s/part.txt", dir, langs[l]);
		if (write_file(path, part_t) < 0)
			return -1;
		for (size_t k = 0; k < NELEM(kinds); k++) {
			snprintf(path, sizeof path, "%s/%s/subject-%s.txt", dir, langs[l], kinds[k]);
			if (write_file(path, subject_t) < 0)
				return -1;
			snprintf(path, sizeof path, "%s/%s/%s.txt", dir, langs[l], kinds[k]);
			if (write_file(path, text_t) < 0)
				return -1;
			snprintf(path, sizeof path, "%s/%s/%s.html", dir, langs[l], kinds[k]);
			if (write_file(path, html_t) < 0)
				return -1;
		}
	}
	return 0;
}

static void
rm_set(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "  could not remove %s\n", dir);
}

/* data - a recipient's template data with these values */
static json_t *
data(const char *email, const char *name, const char *unsub)
{
	json_t *d = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:s, "
	    "s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:b, s:[{s:s, s:[{s:s}], s:s}], "
	    "s:[{s:s}, {s:s}]}",
	    "lang", "fi", "programme", "Tulevaisuuden sote-keskus",
	    "sender", "name", "Tiedote", "address", "tiedote@example.fi",
	    "recipient", "name", name, "email", email,
	    "regions", "kaikki alueet",
	    "links", "unsubscribe", unsub, "home", "https://example.fi",
	    "browser", "https://example.fi/issues/2020-10/fi",
	    "issue", "number", "2020/10", "date", "26.5.2020", "period", "12.–26.5.2020",
	    "has_announcements", 1,
	    "announcements", "title", "Ilmoitus, jonka otsikko on pitkä ja rivittyy",
	    "paragraphs", "text", "Kappale, jossa on tarpeeksi tekstiä rivitykseen: "
	    "sanoja, sanoja, sanoja, sanoja, sanoja, sanoja, sanoja, sanoja.",
	    "url", "https://example.fi/a",
	    "items", "title", "Ensimmäinen", "title", "Toinen");

	if (d == NULL)
		abort();
	return d;
}

/* same - render_message() and the cache agree for these values */
static void
same(render_t *rd, bcache_t *c, const char *email, const char *name, const char *unsub)
{
	const char *v[BCACHE_NVALUES] = { email, name, unsub };
	const bcache_entry_t *e;
	bcache_key_t key = { 1, "fi", 0x1f, 0 };
	buf_t s1, t1, h1, s2, t2, h2, rs, rt, rh, err;
	json_t *d;

	buf_init(&s1, 4096);
	buf_init(&s2, 4096);
	buf_init(&t1, 0);
	buf_init(&t2, 0);
	buf_init(&h1, 0);
	buf_init(&h2, 0);
	buf_init(&rs, 0);
	buf_init(&rt, 0);
	buf_init(&rh, 0);
	buf_init(&err, 1024);
	d = data(email, name, unsub);
	CHECK(render_message(rd, "bulletin", "fi", d, &s1, &t1, &h1, &err) == 0);
	json_decref(d);
	for (int k = 0; k < BCACHE_NVALUES; k++)
		if (*v[k] == '\0')
			key.empty |= 1u << k;
	if ((e = bcache_get(c, &key)) == NULL) {
		d = data(*email ? bcache_marker(c, BCACHE_EMAIL) : "",
		    *name ? bcache_marker(c, BCACHE_NAME) : "",
		    *unsub ? bcache_marker(c, BCACHE_UNSUBSCRIBE) : "");
		CHECK(render_raw(rd, "bulletin", "fi", d, &rs, &rt, &rh, &err) == 0);
		json_decref(d);
		e = bcache_put(c, &key, &rs, &rt, &rh);
	}
	CHECK(e != NULL);
	if (e) {
		CHECK(bcache_fill(c, e, v, &s2, &t2, &h2) == 0);
		CHECK_STR(buf_str(&s2), buf_str(&s1));
		CHECK_STR(buf_str(&t2), buf_str(&t1));
		CHECK_STR(buf_str(&h2), buf_str(&h1));
	}
	buf_free(&s1);
	buf_free(&s2);
	buf_free(&t1);
	buf_free(&t2);
	buf_free(&h1);
	buf_free(&h2);
	buf_free(&rs);
	buf_free(&rt);
	buf_free(&rh);
	buf_free(&err);
}

static const struct {
	const char *email, *name, *unsub;
} people[] = {
	{ "a@b.fi", "Matti Meikäläinen", "https://example.fi/u/AAAA" },
	{ "hyvin.pitka.osoite.joka.siirtaa.rivinvaihtoja@sairaanhoitopiiri.example.fi",
	    "Anna-Liisa  Virtanen ", "https://example.fi/u/BBBBBBBBBBBBBBBBBBBBBBBBBBBB" },
	{ "x@y.se", "", "https://example.fi/u/C" },
	{ "Åsa@exempel.se", "Åsa Öberg", "https://example.fi/u/DDDD" },
	{ "n@example.org", "\xe2\x80\x83wide\xe2\x80\x83space", "https://example.fi/u/E" },
	{ "tab@example.org", "   ", "https://example.fi/u/F" },
	{ "a@b.fi", "Matti Meikäläinen", "https://example.fi/u/AAAA" },
};

static void
all_people(render_t *rd)
{
	bcache_t *c = bcache_new();

	for (size_t i = 0; i < NELEM(people); i++)
		same(rd, c, people[i].email, people[i].name, people[i].unsub);
	bcache_free(c);
}

TEST(shipped_templates)
{
	const char *root = getenv("TIEDOTE_ROOT");
	char dir[512];
	buf_t err;
	render_t *rd;

	buf_init(&err, 1024);
	snprintf(dir, sizeof dir, "%s/templates", root ? root : ".");
	rd = render_open(dir, &err);
	CHECK(rd != NULL);
	if (rd)
		all_people(rd);
	render_close(rd);
	buf_free(&err);
}

TEST(values_everywhere)
{
	char dir[] = "/tmp/tiedote-bcache.XXXXXX";
	buf_t err;
	render_t *rd = NULL;

	buf_init(&err, 1024);
	CHECK(own_set(dir) == 0);
	rd = render_open(dir, &err);
	if (rd == NULL)
		fprintf(stderr, "  %s\n", buf_str(&err));
	CHECK(rd != NULL);
	if (rd)
		all_people(rd);
	render_close(rd);
	rm_set(dir);
	buf_free(&err);
}

TEST(plain_values_only)
{
	CHECK(bcache_plain("Matti Meikäläinen"));
	CHECK(bcache_plain(""));
	CHECK(!bcache_plain("O'Brien"));
	CHECK(!bcache_plain("a&b@example.org"));
	CHECK(!bcache_plain("<x>"));
	CHECK(!bcache_plain("\"q\""));
	CHECK(!bcache_plain("tab\there"));
	CHECK(!bcache_plain("line\nbreak"));
	CHECK(!bcache_plain("c1 \xc2\x85 control"));
	CHECK(!bcache_plain("del \x7f"));
}

int
main(void)
{
	RUN(shipped_templates);
	RUN(values_everywhere);
	RUN(plain_values_only);
	return TEST_DONE();
}
