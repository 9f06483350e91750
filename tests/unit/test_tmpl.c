/*
 * test_tmpl - the Mustache spec files, then what the spec does not cover:
 * load-time error positions, render limits, load_dir and partial names.
 *
 * The spec files are read from $TIEDOTE_MUSTACHE_SPEC, by default
 * ../shared/mustache-spec relative to the working directory; each spec test
 * counts as one case.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "tmpl.h"
#include "test.h"

static const char *spec_files[] = {
	"comments.json", "delimiters.json", "interpolation.json",
	"inverted.json", "partials.json", "sections.json", "~inheritance.json",
};

/* spec_case - run one spec test; 1 when it passed */
static int
spec_case(const char *file, json_t *tc)
{
	tmpl_set_t *set = tmpl_set_new();
	json_t *partials, *tpl, *want, *val;
	const char *key, *name = json_string_value(json_object_get(tc, "name"));
	buf_t out, err;
	int ok = 0;

	buf_init(&out, 0);
	buf_init(&err, 0);
	tpl = json_object_get(tc, "template");
	want = json_object_get(tc, "expected");
	partials = json_object_get(tc, "partials");
	json_object_foreach(partials, key, val) {
		if (tmpl_set_add(set, key, json_string_value(val),
		    json_string_length(val), &err) < 0)
			goto out;
	}
	if (tmpl_set_add(set, "(spec)", json_string_value(tpl),
	    json_string_length(tpl), &err) < 0)
		goto out;
	if (tmpl_render(set, tmpl_set_get(set, "(spec)"),
	    json_object_get(tc, "data"), &out, &err) < 0)
		goto out;
	ok = out.len == json_string_length(want) &&
	    memcmp(out.data ? out.data : "", json_string_value(want),
	    out.len) == 0;
out:
	if (!ok)
		fprintf(stderr, "  FAIL spec %s: %s\n    template: %s\n"
		    "    want: [%s]\n    got:  [%s]%s%s\n", file, name,
		    json_string_value(tpl), json_string_value(want),
		    buf_str(&out), err.len ? "\n    error: " : "", buf_str(&err));
	buf_free(&out);
	buf_free(&err);
	tmpl_set_free(set);
	return ok;
}

static void
run_spec_file(const char *dir, const char *file)
{
	char path[4096];
	json_error_t jerr;
	json_t *root, *tests, *tc;
	size_t i;
	int passed = 0, total = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((root = json_load_file(path, 0, &jerr)) == NULL) {
		fprintf(stderr, "not ok - spec %s: %s\n", path, jerr.text);
		test_failed++;
		return;
	}
	tests = json_object_get(root, "tests");
	json_array_foreach(tests, i, tc) {
		total++;
		if (spec_case(file, tc)) {
			passed++;
			test_passed++;
		} else
			test_failed++;
	}
	printf("spec %s: %d/%d passed\n", file, passed, total);
	json_decref(root);
}

/* render_str - render src as "t.html" against JSON text data; the output,
 * or "ERROR: message" */
static char *
render_str(const char *src, const char *data)
{
	tmpl_set_t *set = tmpl_set_new();
	json_t *d = json_loads(data, 0, NULL);
	buf_t out, err;

	buf_init(&out, 0);
	buf_init(&err, 0);
	if (tmpl_set_add(set, "t.html", src, strlen(src), &err) < 0 ||
	    tmpl_render(set, tmpl_set_get(set, "t.html"), d, &out, &err) < 0) {
		buf_reset(&out);
		PUT(buf_printf(&out, "ERROR: %s", buf_str(&err)));
	}
	buf_free(&err);
	json_decref(d);
	tmpl_set_free(set);
	return buf_take(&out);
}

/* load_error - the message for loading src as "fi/t.html" */
static char *
load_error(const char *src)
{
	tmpl_set_t *set = tmpl_set_new();
	buf_t err;

	buf_init(&err, 0);
	if (tmpl_set_add(set, "fi/t.html", src, strlen(src), &err) == 0)
		buf_note(&err, "(loaded)");
	else if (tmpl_set_get(set, "fi/t.html") != NULL)
		buf_note(&err, "(failed but present)");
	tmpl_set_free(set);
	return buf_take(&err);
}

#define CHECK_RENDER(src, data, want) do {				\
	char *got_ = render_str(src, data);				\
	CHECK_STR(got_, want);						\
	free(got_);							\
} while (0)

#define CHECK_LOAD_ERROR(src, want) do {				\
	char *got_ = load_error(src);					\
	CHECK_STR(got_, want);						\
	free(got_);							\
} while (0)

TEST(load_errors_have_positions)
{
	CHECK_LOAD_ERROR("a\n  {{#list}}\nb\n",
	    "fi/t.html:2:3: unclosed section \"list\"");
	CHECK_LOAD_ERROR("{{#a}}\n{{^b}}x{{/b}}\n  {{/c}}",
	    "fi/t.html:3:3: closing tag \"c\" does not match section \"a\"");
	CHECK_LOAD_ERROR("x{{/a}}",
	    "fi/t.html:1:2: closing tag \"a\" without an opening tag");
	CHECK_LOAD_ERROR("hello\nab {{name",
	    "fi/t.html:2:4: unclosed tag");
	CHECK_LOAD_ERROR("{{{name}}",
	    "fi/t.html:1:1: unclosed tag");
	CHECK_LOAD_ERROR("x\n\n {{=<% =}}",
	    "fi/t.html:3:2: set-delimiter tag needs two delimiters");
	CHECK_LOAD_ERROR("{{=<% %> x=}}",
	    "fi/t.html:1:1: bad delimiter in set-delimiter tag");
	CHECK_LOAD_ERROR("{{=<= =>=}}",
	    "fi/t.html:1:1: bad delimiter in set-delimiter tag");
	CHECK_LOAD_ERROR("{{=<% %>=}}\n<%#a%><%/b%>",
	    "fi/t.html:2:7: closing tag \"b\" does not match section \"a\"");
	CHECK_LOAD_ERROR("{{=<% %>=",
	    "fi/t.html:1:1: unclosed set-delimiter tag");
	CHECK_LOAD_ERROR("{{! never closed }",
	    "fi/t.html:1:1: unclosed comment");
	CHECK_LOAD_ERROR("a {{ }}",
	    "fi/t.html:1:3: tag has no name");
	CHECK_LOAD_ERROR("{{a b}}",
	    "fi/t.html:1:1: blank inside tag name \"a b\"");
	CHECK_LOAD_ERROR("{{a..b}}",
	    "fi/t.html:1:1: empty part in dotted name \"a..b\"");
	CHECK_LOAD_ERROR("{{<p}}{{$b}}{{/p}}",
	    "fi/t.html:1:13: closing tag \"p\" does not match block \"b\"");
}

TEST(nesting_bounded_at_load)
{
	buf_t src;
	char *got;
	int i;

	buf_init(&src, 0);
	for (i = 0; i < TMPL_MAX_NEST + 1; i++)
		PUT(buf_adds(&src, "{{#a}}"));
	got = load_error(buf_str(&src));
	CHECK(strstr(got, "nested deeper than") != NULL);
	free(got);
	buf_free(&src);
}

TEST(duplicate_name_refused)
{
	tmpl_set_t *set = tmpl_set_new();
	const tmpl_t *t;
	buf_t err;

	buf_init(&err, 0);
	CHECK(tmpl_set_add(set, "a", "one", 3, &err) == 0);
	t = tmpl_set_get(set, "a");
	CHECK(tmpl_set_add(set, "a", "two", 3, &err) == -1);
	CHECK(strstr(buf_str(&err), "already loaded") != NULL);
	CHECK(tmpl_set_get(set, "a") == t);
	CHECK_STR(tmpl_name(t), "a");
	CHECK(tmpl_set_get(set, "b") == NULL);
	buf_free(&err);
	tmpl_set_free(set);
}

TEST(values_and_escaping)
{
	CHECK_RENDER("{{a}}|{{{a}}}", "{\"a\": \"<a href='x'>&\\\"</a>\"}",
	    "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;|"
	    "<a href='x'>&\"</a>");
	CHECK_RENDER("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}}",
	    "{\"a\": 0.1, \"b\": 1e3, \"c\": -9007199254740993, \"d\": 1.5,"
	    " \"e\": true, \"f\": [1]}",
	    "0.1 1000 -9007199254740993 1.5 true ");
	/* 0 and "" are truthy in Mustache; only false, null, [] and
	 * missing names are not */
	CHECK_RENDER("{{#z}}z{{/z}}{{#s}}s{{/s}}{{#o}}o{{/o}}{{^n}}n{{/n}}",
	    "{\"z\": 0, \"s\": \"\", \"o\": {}, \"n\": null}", "zson");
	CHECK_RENDER("{{#a}}{{b}}{{/a}}", "{\"a\": {\"b\": null}, \"b\": 1}",
	    "");
	CHECK_RENDER("{{x}}", "null", "");
}

TEST(partial_indentation)
{
	tmpl_set_t *set = tmpl_set_new();
	json_t *d = json_pack("{s:s, s:[i,i]}", "v", "a\nb", "l", 1, 2);
	buf_t out, err;
	const char *outer = "<ul>\n  {{>item}}\n</ul>\n";
	const char *item = "{{#l}}\n<li>{{.}}</li>\n  {{>v}}\n{{/l}}\n";
	const char *v = "[{{v}}]\n";

	buf_init(&out, 0);
	buf_init(&err, 0);
	CHECK(tmpl_set_add(set, "outer", outer, strlen(outer), &err) == 0);
	CHECK(tmpl_set_add(set, "item", item, strlen(item), &err) == 0);
	CHECK(tmpl_set_add(set, "v", v, strlen(v), &err) == 0);
	CHECK(tmpl_render(set, tmpl_set_get(set, "outer"), d, &out, &err) == 0);
	/* indentation adds up; a value's own newlines are never indented */
	CHECK_STR(buf_str(&out), "<ul>\n  <li>1</li>\n    [a\nb]\n"
	    "  <li>2</li>\n    [a\nb]\n</ul>\n");
	buf_free(&out);
	buf_free(&err);
	json_decref(d);
	tmpl_set_free(set);
}

TEST(recursion_bounded)
{
	tmpl_set_t *set = tmpl_set_new();
	json_t *d = json_pack("{s:[i,i,i,i,i,i,i,i,i,i]}", "l",
	    1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
	buf_t out, err;
	time_t t0 = time(NULL);
	char name[16], src[64];
	int i;

	buf_init(&out, 0);
	buf_init(&err, 0);
	CHECK(tmpl_set_add(set, "self", "x{{>self}}", 10, &err) == 0);
	CHECK(tmpl_render(set, tmpl_set_get(set, "self"), NULL, &out,
	    &err) == -1);
	CHECK(strstr(buf_str(&err), "partials nested deeper than 64") != NULL);
	CHECK(out.len == 0);

	/* parents recurse the same way */
	buf_reset(&err);
	CHECK(tmpl_set_add(set, "p", "{{<p}}{{/p}}", 12, &err) == 0);
	CHECK(tmpl_render(set, tmpl_set_get(set, "p"), NULL, &out, &err) == -1);
	CHECK(strstr(buf_str(&err), "nested deeper") != NULL);

	/* a block that overrides itself */
	buf_reset(&err);
	CHECK(tmpl_set_add(set, "b", "{{<q}}{{$a}}{{$a}}{{/a}}{{/a}}{{/q}}",
	    36, &err) == 0);
	CHECK(tmpl_set_add(set, "q", "{{$a}}{{/a}}", 12, &err) == 0);
	CHECK(tmpl_render(set, tmpl_set_get(set, "b"), NULL, &out, &err) == -1);
	CHECK(strstr(buf_str(&err), "nested deeper") != NULL);

	/* 10^30 expansions within the depth limit that write nothing: the
	 * step budget stops them */
	buf_reset(&err);
	for (i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		snprintf(src, sizeof(src), "{{#l}}{{>f%d}}{{/l}}", i + 1);
		CHECK(tmpl_set_add(set, name, src, strlen(src), &err) == 0);
	}
	tmpl_set_limits(set, 0, 1000000);
	CHECK(tmpl_render(set, tmpl_set_get(set, "f0"), d, &out, &err) == -1);
	CHECK(strstr(buf_str(&err), "steps") != NULL);
	CHECK(time(NULL) - t0 < 10);

	/* and a smaller depth limit is honoured */
	buf_reset(&err);
	tmpl_set_limits(set, 3, 0);
	CHECK(tmpl_render(set, tmpl_set_get(set, "self"), NULL, &out,
	    &err) == -1);
	CHECK(strstr(buf_str(&err), "deeper than 3") != NULL);
	buf_free(&out);
	buf_free(&err);
	json_decref(d);
	tmpl_set_free(set);
}

TEST(ceiling_fails_cleanly)
{
	tmpl_set_t *set = tmpl_set_new();
	json_t *d = json_pack("{s:s}", "name", "Maija Meikäläinen");
	const char *src = "Hei {{name}}, tervetuloa!";
	buf_t out, err;

	buf_init(&out, 16);
	buf_init(&err, 0);
	CHECK(buf_adds(&out, "0123") == 0);
	CHECK(tmpl_set_add(set, "t", src, strlen(src), &err) == 0);
	CHECK(tmpl_render(set, tmpl_set_get(set, "t"), d, &out, &err) == -1);
	CHECK(strstr(buf_str(&err), "larger than 16 bytes") != NULL);
	/* what was there before stays, nothing half-rendered follows */
	CHECK_STR(buf_str(&out), "0123");

	buf_free(&out);
	buf_init(&out, 64);
	buf_reset(&err);
	CHECK(tmpl_render(set, tmpl_set_get(set, "t"), d, &out, &err) == 0);
	CHECK_STR(buf_str(&out), "Hei Maija Meikäläinen, tervetuloa!");
	buf_free(&out);
	buf_free(&err);
	json_decref(d);
	tmpl_set_free(set);
}

static void
write_file(const char *dir, const char *rel, const char *text)
{
	char path[4096], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		return;
	}
	fputs(text, f);
	fclose(f);
}

static void
remove_tree(const char *dir)
{
	char cmd[4200];

	/* the directory is ours, made by mkdtemp under /tmp */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

TEST(load_dir_and_partial_names)
{
	char dir[] = "/tmp/test_tmpl.XXXXXX", bad[4200];
	tmpl_set_t *set;
	json_t *d;
	buf_t out, err;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		CHECK(0);
		return;
	}
	write_file(dir, "footer.html", "-- {{org}}\n");
	write_file(dir, "fi/footer.html", "-- {{org}} (fi)\n");
	write_file(dir, "fi/layout.html",
	    "<html>\n"
	    "  {{$body}}\n"
	    "  oletus\n"
	    "  {{/body}}\n"
	    "{{>footer}}"
	    "</html>\n");
	write_file(dir, "fi/bulletin.html",
	    "{{<layout}}\n"
	    "{{$body}}\n"
	    "<p>Hei {{name}}!</p>\n"
	    "{{>parts/greeting}}\n"
	    "{{/body}}\n"
	    "{{/layout}}\n");
	write_file(dir, "fi/parts/greeting.html", "<p>{{greeting}}</p>\n");
	write_file(dir, "en/bulletin.txt", "Hi {{name}}\n{{>footer}}");
	write_file(dir, ".hidden", "{{#not loaded");

	set = tmpl_set_new();
	d = json_pack("{s:s, s:s, s:s}", "name", "Aino", "org", "Yhdistys",
	    "greeting", "Terve");
	buf_init(&out, 0);
	buf_init(&err, 0);
	CHECK(tmpl_set_load_dir(set, dir, &err) == 0);
	CHECK_STR(buf_str(&err), "");
	CHECK(tmpl_set_get(set, "fi/layout.html") != NULL);
	CHECK(tmpl_set_get(set, "fi/parts/greeting.html") != NULL);
	CHECK(tmpl_set_get(set, ".hidden") == NULL);

	/* "layout" and "footer" resolve next to fi/bulletin.html, with its
	 * extension; the block keeps the layout's indentation */
	CHECK(tmpl_render(set, tmpl_set_get(set, "fi/bulletin.html"), d, &out,
	    &err) == 0);
	CHECK_STR(buf_str(&out),
	    "<html>\n"
	    "  <p>Hei Aino!</p>\n"
	    "  <p>Terve</p>\n"
	    "-- Yhdistys (fi)\n"
	    "</html>\n");

	/* from en/bulletin.txt, "footer" means en/footer, en/footer.txt,
	 * footer or footer.txt: none exists, so it renders as nothing */
	buf_reset(&out);
	CHECK(tmpl_render(set, tmpl_set_get(set, "en/bulletin.txt"), d, &out,
	    &err) == 0);
	CHECK_STR(buf_str(&out), "Hi Aino\n");
	tmpl_set_free(set);

	/* a broken file is reported by its path on disk */
	write_file(dir, "zz/broken.html", "ok\n{{#a}}\n{{/b}}\n");
	set = tmpl_set_new();
	buf_reset(&err);
	CHECK(tmpl_set_load_dir(set, dir, &err) == -1);
	snprintf(bad, sizeof(bad),
	    "%s/zz/broken.html:3:1: closing tag \"b\" does not match section \"a\"",
	    dir);
	CHECK_STR(buf_str(&err), bad);
	tmpl_set_free(set);

	set = tmpl_set_new();
	buf_reset(&err);
	CHECK(tmpl_set_load_dir(set, "/nonexistent/tiedote", &err) == -1);
	CHECK(strstr(buf_str(&err), "No such file") != NULL);
	tmpl_set_free(set);

	buf_free(&out);
	buf_free(&err);
	json_decref(d);
	remove_tree(dir);
}

TEST(absolute_partial_names)
{
	tmpl_set_t *set = tmpl_set_new();
	const char *src;
	buf_t out, err;

	buf_init(&out, 0);
	buf_init(&err, 0);
	CHECK(tmpl_set_add(set, "x.html", "top", 3, &err) == 0);
	CHECK(tmpl_set_add(set, "fi/x.html", "fi", 2, &err) == 0);
	src = "{{>x}} {{>/x}} {{>/x.html}} {{>fi/x}} {{>nope}}";
	CHECK(tmpl_set_add(set, "fi/a.html", src, strlen(src), &err) == 0);
	CHECK(tmpl_render(set, tmpl_set_get(set, "fi/a.html"), NULL, &out,
	    &err) == 0);
	CHECK_STR(buf_str(&out), "fi top top fi ");
	buf_free(&out);
	buf_free(&err);
	tmpl_set_free(set);
}

TEST(parse_once_render_many)
{
	tmpl_set_t *set = tmpl_set_new();
	const char *src = "{{#items}}{{name}}={{n}};{{/items}}";
	json_t *d;
	buf_t out, err;
	int i, ok = 1;

	buf_init(&out, 0);
	buf_init(&err, 0);
	CHECK(tmpl_set_add(set, "t", src, strlen(src), &err) == 0);
	for (i = 0; i < 1000 && ok; i++) {
		d = json_pack("{s:[{s:s,s:i},{s:s,s:i}]}", "items",
		    "name", "a", "n", i, "name", "b", "n", -i);
		buf_reset(&out);
		ok = tmpl_render(set, tmpl_set_get(set, "t"), d, &out, &err) == 0;
		if (ok && i == 7)
			CHECK_STR(buf_str(&out), "a=7;b=-7;");
		json_decref(d);
	}
	CHECK(ok);
	buf_free(&out);
	buf_free(&err);
	tmpl_set_free(set);
}

int
main(void)
{
	const char *dir = getenv("TIEDOTE_MUSTACHE_SPEC");
	size_t i;

	if (dir == NULL || *dir == '\0')
		dir = "../shared/mustache-spec";
	for (i = 0; i < sizeof(spec_files) / sizeof(spec_files[0]); i++)
		run_spec_file(dir, spec_files[i]);

	RUN(load_errors_have_positions);
	RUN(nesting_bounded_at_load);
	RUN(duplicate_name_refused);
	RUN(values_and_escaping);
	RUN(partial_indentation);
	RUN(recursion_bounded);
	RUN(ceiling_fails_cleanly);
	RUN(load_dir_and_partial_names);
	RUN(absolute_partial_names);
	RUN(parse_once_render_many);
	return TEST_DONE();
}
