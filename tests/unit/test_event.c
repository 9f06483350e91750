/* test_event - the intake validator against the contract in queue/README.md */
#include <stdlib.h>

#include "event.h"
#include "test.h"
#include "util.h"

#define MAX (256 * 1024)

/* minimal valid events, one per type */
static const char *const valid[] = {
	"{\"id\":\"stm-2020\",\"type\":\"deadline\",\"title\":\"Haku päättyy\","
	"\"regions\":[\"all\"],\"due\":\"2020-03-31T16:15:00+03:00\"}",
	"{\"id\":\"vp-1\",\"type\":\"network_day\",\"title\":\"Verkostopäivä\","
	"\"regions\":[\"KYS\",\"OYS\"],\"starts\":\"2020-05-12T09:00+03:00\","
	"\"ends\":\"2020-05-12T16:00+03:00\",\"location\":\"Teams\"}",
	"{\"id\":\"ev-1\",\"type\":\"event\",\"title\":{\"sv\":\"Workshop\"},"
	"\"regions\":[\"TYKS\"],\"starts\":\"2020-05-12T06:00:00.5Z\"}",
	"{\"id\":\"p-1\",\"type\":\"practice\",\"title\":\"Malli\",\"regions\":[\"KYS\"],"
	"\"url\":\"https://www.innokyla.fi/fi/toimintamalli/x?a=1#b\","
	"\"published\":\"2020-04-01T10:00:00+03:00\",\"organisation\":\"KSSHP\"}",
	"{\"id\":\"a-1\",\"type\":\"announcement\",\"title\":\"Tiedote\",\"regions\":[\"all\"],"
	"\"body\":\"Rivi 1\\r\\nRivi 2\\n\\n\\tsisennys\",\"send_at\":\"2020-05-04T09:00+03:00\","
	"\"audience\":\"projects\"}",
	"{\"id\":\"n-1\",\"type\":\"news\",\"title\":{\"fi\":\"Uutinen 🎉\",\"sv\":\"Nyhet\","
	"\"en\":\"News \u05e9\u05dc\u05d5\u05dd e\u0301\"},\"regions\":[\"HYKS\",\"TYKS\",\"TAYS\",\"KYS\",\"OYS\"],"
	"\"source\":\"THL\",\"published\":\"2020-01-24T15:43:00+02:00\",\"cancelled\":false}",
};

static const struct bad {
	const char *json, *code, *field;
} bad[] = {
	/* syntax and shape */
	{ "{\"id\":", "malformed_json", "" },
	{ "{\"id\":\"x\",\"id\":\"y\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"]}",
	  "malformed_json", "" },
	{ "[]", "not_an_object", "" },
	{ "\"x\"", "not_an_object", "" },
	{ "42", "not_an_object", "" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"a\\u0000b\",\"regions\":[\"all\"]}",
	  "malformed_json", "" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"\xff\xfe\",\"regions\":[\"all\"]}",
	  "malformed_json", "" },
	/* type */
	{ "{\"id\":\"x\",\"title\":\"t\",\"regions\":[\"all\"]}", "missing_field", "type" },
	{ "{\"id\":\"x\",\"type\":\"webinar\",\"title\":\"t\",\"regions\":[\"all\"]}",
	  "unknown_type", "type" },
	{ "{\"id\":\"x\",\"type\":7,\"title\":\"t\",\"regions\":[\"all\"]}", "invalid_type", "type" },
	/* missing required fields, per type */
	{ "{\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"]}", "missing_field", "id" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"regions\":[\"all\"]}", "missing_field", "title" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\"}", "missing_field", "regions" },
	{ "{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"]}",
	  "missing_field", "due" },
	{ "{\"id\":\"x\",\"type\":\"network_day\",\"title\":\"t\",\"regions\":[\"all\"]}",
	  "missing_field", "starts" },
	{ "{\"id\":\"x\",\"type\":\"event\",\"title\":\"t\",\"regions\":[\"all\"]}",
	  "missing_field", "starts" },
	{ "{\"id\":\"x\",\"type\":\"practice\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"published\":\"2020-04-01T10:00Z\"}", "missing_field", "url" },
	{ "{\"id\":\"x\",\"type\":\"practice\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"url\":\"https://innokyla.fi/a\"}", "missing_field", "published" },
	{ "{\"id\":\"x\",\"type\":\"announcement\",\"title\":\"t\",\"regions\":[\"all\"]}",
	  "missing_field", "body" },
	/* unknown fields, including ones of another type */
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"],\"titel\":1}",
	  "unknown_field", "titel" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"due\":\"2020-03-31T16:15Z\"}", "unknown_field", "due" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":{\"de\":\"t\"},\"regions\":[\"all\"]}",
	  "unknown_field", "title.de" },
	/* wrong types */
	{ "{\"id\":5,\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"]}", "invalid_type", "id" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":[\"t\"],\"regions\":[\"all\"]}",
	  "invalid_type", "title" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":{\"fi\":1},\"regions\":[\"all\"]}",
	  "invalid_type", "title.fi" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":\"all\"}",
	  "invalid_type", "regions" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"],\"cancelled\":1}",
	  "invalid_type", "cancelled" },
	{ "{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"due\":1585660500}", "invalid_type", "due" },
	{ "{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"due\":\"2020-03-31T16:15Z\",\"remind\":[\"7\"]}", "invalid_type", "remind[0]" },
	/* values */
	{ "{\"id\":\"\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"]}", "invalid_value", "id" },
	{ "{\"id\":\"-x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"]}", "invalid_value", "id" },
	{ "{\"id\":\"a b\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"]}", "invalid_value", "id" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"  \",\"regions\":[\"all\"]}", "invalid_value", "title" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":{},\"regions\":[\"all\"]}", "invalid_value", "title" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"a\\r\\nBcc: x@y.z\",\"regions\":[\"all\"]}",
	  "invalid_value", "title" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"a\\nb\",\"regions\":[\"all\"]}",
	  "invalid_value", "title" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"summary\":\"a\\rb\",\"regions\":[\"all\"]}",
	  "invalid_value", "summary" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"body\":\"a\\u0007b\",\"regions\":[\"all\"]}",
	  "invalid_value", "body" },
	{ "{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"due\":\"2020-03-31T16:15Z\",\"remind\":[7,400]}", "invalid_value", "remind[1]" },
	{ "{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"due\":\"2020-03-31T16:15Z\",\"remind\":[7,7]}", "invalid_value", "remind[1]" },
	{ "{\"id\":\"x\",\"type\":\"announcement\",\"title\":\"t\",\"regions\":[\"all\"],\"body\":\"b\","
	  "\"audience\":\"everyone\"}", "invalid_value", "audience" },
	{ "{\"id\":\"x\",\"type\":\"announcement\",\"title\":\"t\",\"regions\":[\"all\"],\"body\":\"b\","
	  "\"send_at\":\"2020-05-04T09:00+03:00\",\"in_bulletin\":true}", "invalid_value", "in_bulletin" },
	/* times */
	{ "{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"due\":\"31.3.2020\"}", "invalid_time", "due" },
	{ "{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"due\":\"2020-03-31T16:15:00\"}", "invalid_time", "due" },
	{ "{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"due\":\"2020-02-30T12:00Z\"}", "invalid_time", "due" },
	{ "{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"due\":\"2021-02-29T12:00Z\"}", "invalid_time", "due" },
	{ "{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"due\":\"2020-03-31T25:00+03:00\"}", "invalid_time", "due" },
	{ "{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"due\":\"2020-03-31T16:15+15:00\"}", "invalid_time", "due" },
	{ "{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"due\":\"2020-03-31T16:15+03:00 \"}", "invalid_time", "due" },
	{ "{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"due\":\"2020-03-31T16:15Z\",\"opens\":\"2020-04-01T00:00Z\"}", "invalid_time", "opens" },
	{ "{\"id\":\"x\",\"type\":\"event\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"starts\":\"2020-05-12T09:00+03:00\",\"ends\":\"2020-05-12T08:00+03:00\"}",
	  "invalid_time", "ends" },
	/* urls */
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"],\"url\":\"ftp://x.fi/\"}",
	  "invalid_url", "url" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"url\":\"javascript:alert(1)\"}", "invalid_url", "url" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"],\"url\":\"http://\"}",
	  "invalid_url", "url" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"url\":\"https://thl.fi/a b\"}", "invalid_url", "url" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"],"
	  "\"url\":\"https://thl.fi/\\\"><script>\"}", "invalid_url", "url" },
	/* regions */
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"Helsinki\"]}",
	  "invalid_region", "regions[0]" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"kys\"]}",
	  "invalid_region", "regions[0]" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\",\"KYS\"]}",
	  "invalid_region", "regions" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"KYS\",\"KYS\"]}",
	  "invalid_region", "regions[1]" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[]}", "invalid_region", "regions" },
	{ "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[3]}", "invalid_type", "regions[0]" },
};

static int
expect_bad(const char *json, size_t len, const char *code, const char *field)
{
	event_err_t err;
	json_t *ev = event_parse(json, len, MAX, &err);

	if (ev != NULL) {
		fprintf(stderr, "  accepted: %.120s\n", json);
		json_decref(ev);
		return 0;
	}
	if (strcmp(err.code, code) != 0 || strcmp(err.field, field) != 0) {
		fprintf(stderr, "  %.120s\n    got %s/%s (%s), want %s/%s\n", json, err.code,
		    err.field, err.message, code, field);
		return 0;
	}
	/* the message names the field */
	return *field == '\0' || strncmp(err.message, field, strlen(field)) == 0;
}

TEST(valid_events_of_every_type)
{
	for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
		event_err_t err;
		json_t *ev = event_parse(valid[i], strlen(valid[i]), MAX, &err);

		if (ev == NULL)
			fprintf(stderr, "  rejected #%zu: %s: %s\n", i, err.code, err.message);
		CHECK(ev != NULL);
		json_decref(ev);
	}
}

TEST(invalid_events_get_code_and_field)
{
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(expect_bad(bad[i].json, strlen(bad[i].json), bad[i].code, bad[i].field));
}

/* A quote in an error is cut by bytes (a type at 32, a key at 100, a
 * time at 64): cut inside a character, it must still be UTF-8, or the
 * intake's json_pack() of the reply fails (it crashed the worker) */
TEST(errors_quoting_cut_characters_are_utf8)
{
	char json[4096], key[512];
	event_err_t err;

	for (int shift = 0; shift < 4; shift++) {
		const char *pad = &"aaa"[3 - shift];
		char many[400] = "";

		for (int i = 0; i < 60; i++)
			strcat(many, "\u00e9");	/* é, two octets */
		snprintf(key, sizeof key, "%s%s", pad, many);
		const char *cases[] = {
			"{\"id\":\"x\",\"type\":\"%s\"}",
			"{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"],"
			"\"%s\":1}",
			"{\"id\":\"x\",\"type\":\"deadline\",\"title\":\"t\",\"regions\":[\"all\"],"
			"\"due\":\"%s\"}",
			"{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"%s\"]}",
		};
		for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
			json_t *ev;

			snprintf(json, sizeof json, cases[c], key);
			ev = event_parse(json, strlen(json), MAX, &err);
			CHECK(ev == NULL);
			json_decref(ev);
			CHECK(utf8_valid(err.message, strlen(err.message)));
			CHECK(utf8_valid(err.field, strlen(err.field)));
		}
	}
}

TEST(oversize_event_refused_before_parsing)
{
	size_t n = 300 * 1024;
	char *big = malloc(n);

	memset(big, ' ', n);
	memcpy(big, "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"]}", 55);
	CHECK(expect_bad(big, n, "too_large", ""));
	free(big);
}

TEST(deep_nesting_is_an_error_not_a_crash)
{
	size_t n = 200000;
	char *deep = malloc(n);

	memset(deep, '[', n);
	CHECK(expect_bad(deep, n, "malformed_json", ""));
	memset(deep, '{', n);
	CHECK(expect_bad(deep, n, "malformed_json", ""));
	free(deep);
	{
		const char *j = "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\","
		    "\"regions\":[[[[[[[]]]]]]]}";

		CHECK(expect_bad(j, strlen(j), "invalid_type", "regions[0]"));
	}
}

TEST(raw_nul_byte_is_malformed)
{
	const char j[] = "{\"id\":\"x\",\"type\":\"news\",\"title\":\"a\0b\",\"regions\":[\"all\"]}";

	CHECK(expect_bad(j, sizeof j - 1, "malformed_json", ""));
}

TEST(normalisation_text_and_crlf)
{
	event_err_t err;
	json_t *ev = event_parse(valid[4], strlen(valid[4]), MAX, &err);
	char *canon;

	CHECK(ev != NULL);
	if (ev == NULL)
		return;
	/* a plain string is Finnish; CR LF in multi-line text becomes LF */
	CHECK_STR(event_text(ev, "title", "sv"), "Tiedote");
	CHECK_STR(event_text(ev, "body", "fi"), "Rivi 1\nRivi 2\n\n\tsisennys");
	canon = event_canonical(ev);
	CHECK(strstr(canon, "\"title\":{\"fi\":\"Tiedote\"}") != NULL);
	CHECK(strncmp(canon, "{\"audience\"", 11) == 0);	/* sorted keys */
	free(canon);
	json_decref(ev);
}

TEST(canonical_form_ignores_key_order_and_spacing)
{
	const char *a = "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"]}";
	const char *b = "{ \"regions\" : [ \"all\" ], \"title\" : {\"fi\":\"t\"},\n"
	    "  \"type\":\"news\", \"id\":\"x\" }";
	event_err_t err;
	json_t *ea = event_parse(a, strlen(a), MAX, &err), *eb = event_parse(b, strlen(b), MAX, &err);
	char *ca, *cb;

	CHECK(ea && eb);
	if (!ea || !eb)
		return;
	ca = event_canonical(ea);
	cb = event_canonical(eb);
	CHECK_STR(ca, cb);
	free(ca);
	free(cb);
	json_decref(ea);
	json_decref(eb);
}

TEST(language_fallback)
{
	const char *j = "{\"id\":\"x\",\"type\":\"news\",\"title\":{\"sv\":\"Nyhet\",\"en\":\"News\"},"
	    "\"regions\":[\"all\"]}";
	event_err_t err;
	json_t *ev = event_parse(j, strlen(j), MAX, &err);

	CHECK(ev != NULL);
	if (ev == NULL)
		return;
	CHECK_STR(event_text(ev, "title", "en"), "News");
	CHECK_STR(event_text(ev, "title", "sv"), "Nyhet");
	/* no Finnish: any language rather than nothing */
	CHECK(event_text(ev, "title", "fi") != NULL);
	CHECK(event_text(ev, "summary", "fi") == NULL);
	CHECK(event_regions(ev) == 0x1f);
	json_decref(ev);
}

/* urls_list - tests/data/urls.json, which test_contract.py also gives to
 * the schema and to tiedoted; NULL when it cannot be read */
static json_t *
urls_list(void)
{
	const char *root = getenv("TIEDOTE_ROOT");
	char path[1024];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof path, "%s/tests/data/urls.json", root && *root ? root : ".");
	if ((j = json_load_file(path, 0, &jerr)) == NULL)
		fprintf(stderr, "  %s: %s\n", path, jerr.text);
	return j;
}

/* url_event - a news event with url u, as JSON text (caller frees) */
static char *
url_event(const char *u)
{
	json_t *ev = json_pack("{s:s, s:s, s:s, s:[s], s:s}", "id", "x", "type", "news",
	    "title", "t", "regions", "all", "url", u);
	char *s = json_dumps(ev, JSON_COMPACT);

	json_decref(ev);
	return s;
}

TEST(url_rule_good_and_bad)
{
	json_t *urls = urls_list(), *u;
	event_err_t err;
	size_t i;

	CHECK(urls != NULL);
	CHECK(json_array_size(json_object_get(urls, "good")) > 10);
	CHECK(json_array_size(json_object_get(urls, "bad")) > 30);
	json_array_foreach(json_object_get(urls, "good"), i, u) {
		char *j = url_event(json_string_value(u));
		json_t *ev = event_parse(j, strlen(j), MAX, &err);

		if (ev == NULL || event_url_check(json_string_value(u), &err) < 0) {
			fprintf(stderr, "  good url refused: %s: %s\n", json_string_value(u),
			    err.message);
			CHECK(0);
		}
		json_decref(ev);
		free(j);
	}
	json_array_foreach(json_object_get(urls, "bad"), i, u) {
		char *j = url_event(json_string_value(u));

		if (!expect_bad(j, strlen(j), "invalid_url", "url") ||
		    event_url_check(json_string_value(u), &err) == 0) {
			fprintf(stderr, "  bad url accepted: %s\n", json_string_value(u));
			CHECK(0);
		}
		free(j);
	}
	json_decref(urls);
}

TEST(bidi_controls_refused_in_text)
{
	static const char *const bidi[] = { "\\u202a", "\\u202b", "\\u202c", "\\u202d",
	    "\\u202e", "\\u2066", "\\u2067", "\\u2068", "\\u2069" };
	static const char *const field[] = { "title", "summary", "body", "source" };
	char j[512], path[32];

	for (size_t f = 0; f < NELEM(field); f++)
		for (size_t b = 0; b < NELEM(bidi); b++) {
			/* as the whole text and in one language of an object */
			snprintf(j, sizeof j, "{\"id\":\"x\",\"type\":\"news\",\"title\":\"t\","
			    "\"regions\":[\"all\"],\"%s\":\"abc%sgpj.exe\"}", field[f], bidi[b]);
			if (strcmp(field[f], "title") == 0)
				snprintf(j, sizeof j, "{\"id\":\"x\",\"type\":\"news\",\"title\":"
				    "\"abc%sgpj.exe\",\"regions\":[\"all\"]}", bidi[b]);
			CHECK(expect_bad(j, strlen(j), "invalid_value", field[f]));
			snprintf(j, sizeof j, "{\"id\":\"x\",\"type\":\"event\",\"title\":"
			    "{\"fi\":\"t\",\"en\":\"t%s\"},\"regions\":[\"all\"],"
			    "\"starts\":\"2020-05-12T09:00+03:00\",\"location\":{\"sv\":\"x%s\"}}",
			    bidi[b], bidi[b]);
			CHECK(expect_bad(j, strlen(j), "invalid_value", "title.en"));
		}
	/* location, organisation too, and the marks LRM/RLM stay allowed */
	snprintf(j, sizeof j, "{\"id\":\"x\",\"type\":\"event\",\"title\":\"t\","
	    "\"regions\":[\"all\"],\"starts\":\"2020-05-12T09:00+03:00\","
	    "\"location\":{\"sv\":\"x\\u2067\"}}");
	snprintf(path, sizeof path, "location.sv");
	CHECK(expect_bad(j, strlen(j), "invalid_value", path));
	{
		const char *ok = "{\"id\":\"x\",\"type\":\"news\",\"title\":\"\\u05e9\\u200f"
		    " \\u200e RLM LRM\",\"regions\":[\"all\"]}";
		event_err_t err;
		json_t *ev = event_parse(ok, strlen(ok), MAX, &err);

		CHECK(ev != NULL);
		json_decref(ev);
	}
	CHECK(utf8_bidi_control("\xe2\x80\xae", 3) == 0x202e);
	CHECK(utf8_bidi_control("\xe2\x80\xae", 2) == 0);
	CHECK(utf8_bidi_control("\xe2\x80\x8f", 3) == 0);
	CHECK(utf8_bidi_control("\xe2\x81\xa9", 3) == 0x2069);
	CHECK(utf8_bidi_control("\xe2\x81\xaa", 3) == 0);
}

TEST(text_language_taken)
{
	const char *j = "{\"id\":\"x\",\"type\":\"news\",\"title\":{\"sv\":\"Nyhet\","
	    "\"fi\":\"Uutinen\"},\"summary\":{\"en\":\"Only English\"},\"regions\":[\"all\"]}";
	event_err_t err;
	json_t *ev = event_parse(j, strlen(j), MAX, &err);

	CHECK(ev != NULL);
	if (ev == NULL)
		return;
	CHECK_STR(event_text_lang(ev, "title", "sv"), "sv");
	CHECK_STR(event_text_lang(ev, "title", "en"), "fi");
	CHECK_STR(event_text_lang(ev, "summary", "fi"), "en");
	CHECK(event_text_lang(ev, "body", "fi") == NULL);
	json_decref(ev);
}

TEST(length_limits)
{
	char j[4096], title[700];

	/* 300 characters of two bytes each pass; 301 do not */
	for (int i = 0; i < 300; i++)
		memcpy(title + 2 * i, "\xc3\xa4", 2);
	title[600] = '\0';
	snprintf(j, sizeof j, "{\"id\":\"x\",\"type\":\"news\",\"title\":\"%s\",\"regions\":[\"all\"]}",
	    title);
	{
		event_err_t err;
		json_t *ev = event_parse(j, strlen(j), MAX, &err);

		CHECK(ev != NULL);
		json_decref(ev);
	}
	memcpy(title + 600, "\xc3\xa4", 3);
	snprintf(j, sizeof j, "{\"id\":\"x\",\"type\":\"news\",\"title\":\"%s\",\"regions\":[\"all\"]}",
	    title);
	CHECK(expect_bad(j, strlen(j), "invalid_value", "title"));
	memset(title, 'a', 129);
	title[129] = '\0';
	snprintf(j, sizeof j, "{\"id\":\"%s\",\"type\":\"news\",\"title\":\"t\",\"regions\":[\"all\"]}",
	    title);
	CHECK(expect_bad(j, strlen(j), "invalid_value", "id"));
}

TEST(long_hostile_key_is_quoted_safely)
{
	char j[2200], key[1001];
	event_err_t err;

	memset(key, 'k', 1000);
	key[1000] = '\0';
	snprintf(j, sizeof j, "{\"id\":\"x\",\"type\":\"news\",\"%s\":1}", key);
	CHECK(event_parse(j, strlen(j), MAX, &err) == NULL);
	CHECK_STR(err.code, "unknown_field");
	CHECK(strlen(err.field) == sizeof err.field - 1);
	CHECK(strlen(err.message) < 200);
}

/* same_as_jansson - event_canonical_buf() of v is json_dumps()'s text */
static int
same_as_jansson(json_t *v)
{
	char *want = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	buf_t b;
	int ok;

	buf_init(&b, 1 << 20);
	ok = want != NULL && event_canonical_buf(v, &b) == 0 && strcmp(buf_str(&b), want) == 0;
	if (!ok)
		fprintf(stderr, "    ours:    %s\n    jansson: %s\n", buf_str(&b), want);
	buf_free(&b);
	free(want);
	return ok;
}

TEST(canonical_writer_is_jansson_byte_for_byte)
{
	static const char *const docs[] = {
		"{}", "[]", "[[]]", "{\"a\":{}}", "null", "true", "false", "0", "-0",
		"9223372036854775807", "-9223372036854775808", "\"\"",
		"{\"b\":1,\"a\":2,\"ab\":3,\"aa\":[1,2,{\"z\":null,\"y\":false}],\"A\":true}",
		"{\"\\u00e4\":1,\"z\":2,\"\\u00c4\":3,\"\\ud83d\\ude00\":4}",
		"[\"quote \\\" backslash \\\\ slash / tab \\t lf \\n cr \\r bs \\b ff \\f\"]",
		"[\"\\u0001\\u001f\\u007f\\u0080\\u2028\\u2029\\ufeff \\ud83d\\ude00\"]",
		("{\"title\":{\"sv\":\"Framtidens social- och h\\u00e4lsocentral\","
		    "\"fi\":\"Tulevaisuuden sote-keskus\"},\"id\":\"x\",\"remind\":[30,7,1]}"),
	};
	char all[130];
	json_t *v;

	for (size_t i = 0; i < NELEM(docs); i++) {
		v = json_loads(docs[i], JSON_DECODE_ANY, NULL);
		CHECK(v != NULL && same_as_jansson(v));
		json_decref(v);
	}
	/* every byte that may stand in a string, one string */
	for (int c = 1; c < 128; c++)
		all[c - 1] = (char)c;
	v = json_pack("{s:s%}", "all", all, (size_t)127);
	CHECK(same_as_jansson(v));
	json_decref(v);
	/* a key with a NUL sorts by its bytes, then by its length */
	v = json_object();
	json_object_setn_new(v, "a\0b", 3, json_integer(1));
	json_object_setn_new(v, "a", 1, json_integer(2));
	json_object_setn_new(v, "a\0", 2, json_integer(3));
	CHECK(same_as_jansson(v));
	json_decref(v);
}

TEST(canonical_writer_hands_the_rest_to_jansson)
{
	json_t *v = json_pack("{s:f,s:[f]}", "real", 0.1, "reals", 1e300), *big = json_object();
	char key[16];
	buf_t b;

	CHECK(same_as_jansson(v));
	json_decref(v);
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof key, "k%02d", 39 - i);
		json_object_set_new(big, key, json_integer(i));
	}
	CHECK(same_as_jansson(big));
	/* at its ceiling: -1, and the buffer as it was */
	buf_init(&b, 32);
	PUT(buf_adds(&b, "kept"));
	CHECK(event_canonical_buf(big, &b) == -1);
	CHECK_STR(buf_str(&b), "kept");
	v = json_pack("[s]", "a string too long for the buffer's 32 bytes");
	CHECK(event_canonical_buf(v, &b) == -1);
	CHECK_STR(buf_str(&b), "kept");
	buf_free(&b);
	json_decref(v);
	json_decref(big);
}

int
main(void)
{
	RUN(valid_events_of_every_type);
	RUN(invalid_events_get_code_and_field);
	RUN(errors_quoting_cut_characters_are_utf8);
	RUN(oversize_event_refused_before_parsing);
	RUN(deep_nesting_is_an_error_not_a_crash);
	RUN(raw_nul_byte_is_malformed);
	RUN(normalisation_text_and_crlf);
	RUN(canonical_form_ignores_key_order_and_spacing);
	RUN(language_fallback);
	RUN(length_limits);
	RUN(url_rule_good_and_bad);
	RUN(bidi_controls_refused_in_text);
	RUN(text_language_taken);
	RUN(long_hostile_key_is_quoted_safely);
	RUN(canonical_writer_is_jansson_byte_for_byte);
	RUN(canonical_writer_hands_the_rest_to_jansson);
	return TEST_DONE();
}
