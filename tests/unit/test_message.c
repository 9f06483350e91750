/*
 * test_message - the list headers of every kind of bulk message: a
 * bulletin, an announcement to a subscriber, one to a project contact and
 * a reminder all carry List-Id, List-Unsubscribe (the recipient's https
 * opt-out link and the mailto form) and List-Unsubscribe-Post; the
 * contact's links are its /p/TOKEN, a subscriber's /u/TOKEN.  Also what
 * message_conf_check() says about a configuration before any store exists.
 */
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "message.h"
#include "store.h"
#include "test.h"
#include "util.h"

static char tmpdir[] = "/tmp/test_message.XXXXXX";
static char db_path[512], templates[512];
static conf_t conf;
static store_t *store;

/* header - the unfolded value of the first field called name in eml, into
 * out; 0, or -1 when there is none */
static int
header(const buf_t *eml, const char *name, buf_t *out)
{
	const char *s = buf_str(eml), *end = strstr(s, "\r\n\r\n");
	size_t n = strlen(name);

	buf_reset(out);
	for (const char *l = s; l && l < end; l = strstr(l, "\r\n") ? strstr(l, "\r\n") + 2 : NULL) {
		if (strncasecmp(l, name, n) != 0 || l[n] != ':')
			continue;
		l += n + 1;
		for (;;) {
			const char *e = strstr(l, "\r\n");

			while (*l == ' ' || *l == '\t')
				l++;
			if (out->len && buf_addc(out, ' ') < 0)
				return -1;
			if (buf_add(out, l, (size_t)(e - l)) < 0)
				return -1;
			if (e[2] != ' ' && e[2] != '\t')
				return 0;
			l = e + 2;
		}
	}
	return -1;
}

/* list_headers - eml has List-Id <list_id>, List-Unsubscribe with an https
 * link under base_url/<purpose>/ and a mailto, and the one-click Post */
static int
list_headers(const buf_t *eml, char purpose)
{
	char want[256];
	buf_t v;
	int ok = 1;

	buf_init(&v, 4096);
	if (header(eml, "List-Id", &v) < 0 || strstr(buf_str(&v), "<ajankohtaistiedote."
	    "tiedote.example>") == NULL) {
		fprintf(stderr, "  List-Id: %s\n", buf_str(&v));
		ok = 0;
	}
	snprintf(want, sizeof want, "<https://tiedote.example/%c/", purpose);
	if (header(eml, "List-Unsubscribe", &v) < 0 || strncmp(buf_str(&v), want,
	    strlen(want)) != 0 || strstr(buf_str(&v), ">, <mailto:unsubscribe+") == NULL) {
		fprintf(stderr, "  List-Unsubscribe: %s\n", buf_str(&v));
		ok = 0;
	}
	if (header(eml, "List-Unsubscribe-Post", &v) < 0 ||
	    strcmp(buf_str(&v), "List-Unsubscribe=One-Click") != 0) {
		fprintf(stderr, "  List-Unsubscribe-Post: %s\n", buf_str(&v));
		ok = 0;
	}
	buf_free(&v);
	return ok;
}

static json_t *
announcement_data(void)
{
	return json_pack("{s:{s:s, s:[s]}}", "announcement", "title", "Ilmoitus",
	    "paragraphs", "Verkostopäivän ilmoittautuminen on auki.");
}

TEST(announcement_to_a_subscriber_is_a_list_message)
{
	message_rcpt_t r = { 7, "anu.niemi@thl.example", "Anu Niemi", "fi", 0x1f, 0, 0 };
	message_ctx_t *m;
	json_t *data = announcement_data();
	buf_t eml, err;

	buf_init(&eml, (size_t)8 << 20);
	buf_init(&err, 4096);
	CHECK((m = message_open(&conf, store, &err)) != NULL);
	if (m) {
		CHECK(message_notice(m, "announcement", "announcement-1", &r, data, NULL, 0,
		    1588572000, NULL, &eml, &err) == 0);
		CHECK(list_headers(&eml, 'u'));
	}
	message_close(m);
	json_decref(data);
	buf_free(&eml);
	buf_free(&err);
}

TEST(announcement_to_a_contact_is_a_list_message)
{
	message_rcpt_t r = { 3, "hanke@kys.example", "", "fi", 0x08, 0, 1 };
	message_ctx_t *m;
	json_t *data = announcement_data();
	buf_t eml, err;

	buf_init(&eml, (size_t)8 << 20);
	buf_init(&err, 4096);
	CHECK((m = message_open(&conf, store, &err)) != NULL);
	if (m) {
		CHECK(message_notice(m, "announcement", "announcement-2", &r, data, NULL, 0,
		    1588572000, NULL, &eml, &err) == 0);
		CHECK(list_headers(&eml, 'p'));
	}
	message_close(m);
	json_decref(data);
	buf_free(&eml);
	buf_free(&err);
}

TEST(reminder_is_a_list_message)
{
	message_rcpt_t r = { 4, "hanke@kys.example", "", "fi", 0x08, 0, 1 };
	message_ctx_t *m;
	json_t *data;
	buf_t eml, err;

	data = json_pack("{s:{s:s, s:s, s:i, s:b, s:b, s:b}}", "deadline",
	    "title", "Valtionavustushaku päättyy", "when", "ti 31.3.2020 klo 16.15",
	    "days_left", 7, "today", 0, "tomorrow", 0, "changed", 0);
	buf_init(&eml, (size_t)8 << 20);
	buf_init(&err, 4096);
	CHECK((m = message_open(&conf, store, &err)) != NULL);
	if (m) {
		CHECK(message_notice(m, "reminder", "reminder-1", &r, data, NULL, 0,
		    1585036800, NULL, &eml, &err) == 0);
		if (err.len)
			fprintf(stderr, "  %s\n", buf_str(&err));
		CHECK(list_headers(&eml, 'p'));
	}
	message_close(m);
	json_decref(data);
	buf_free(&eml);
	buf_free(&err);
}

TEST(conf_check_names_the_key_and_touches_no_store)
{
	char missing[600], db[600];
	conf_t c;
	buf_t err;

	buf_init(&err, 4096);
	conf_init(&c);
	snprintf(db, sizeof db, "%s/never.db", tmpdir);
	CHECK(conf_set(&c, "store", "path", db, &err) == 0);
	CHECK(conf_set(&c, "message", "templates", templates, &err) == 0);
	CHECK(message_conf_check(&c, &err) == 0);
	if (err.len)
		fprintf(stderr, "  %s\n", buf_str(&err));
	/* a template directory that is not there: the key to set is named */
	snprintf(missing, sizeof missing, "%s/no-templates", tmpdir);
	CHECK(conf_set(&c, "message", "templates", missing, &err) == 0);
	buf_reset(&err);
	CHECK(message_conf_check(&c, &err) == -1);
	CHECK(strstr(buf_str(&err), "message.templates") != NULL);
	CHECK(strstr(buf_str(&err), "set message.templates") != NULL);
	/* nothing was created: no database, no directory for it */
	CHECK(access(db, F_OK) < 0);
	CHECK(conf_set(&c, "message", "templates", templates, &err) == 0);
	CHECK(conf_set(&c, "message", "time_zone", "Europe/Atlantis", &err) == 0);
	buf_reset(&err);
	CHECK(message_conf_check(&c, &err) == -1 && strstr(buf_str(&err), "message.time_zone"));
	CHECK(conf_set(&c, "message", "time_zone", "Europe/Helsinki", &err) == 0);
	CHECK(conf_set(&c, "message", "base_url", "https://user:pw@tiedote.example", &err) == 0);
	buf_reset(&err);
	CHECK(message_conf_check(&c, &err) == -1 && strstr(buf_str(&err), "message.base_url"));
	CHECK(conf_set(&c, "message", "base_url", "https://tiedote.example", &err) == 0);
	CHECK(conf_set(&c, "message", "from_address", "not an address", &err) == 0);
	buf_reset(&err);
	CHECK(message_conf_check(&c, &err) == -1 && strstr(buf_str(&err), "message.from_address"));
	CHECK(conf_set(&c, "message", "from_address", "tiedote@tiedote.example", &err) == 0);
	/* addresses that go out as local+TOKEN@: 23 octets before the @ fit
	 * (23 + 1 + 40 = 64), 24 would make every message fail at its build */
	CHECK(conf_set(&c, "message", "unsubscribe_address",
	    "abcdefghijklmnopqrstuvw@tiedote.example", &err) == 0);
	buf_reset(&err);
	CHECK(message_conf_check(&c, &err) == 0);
	CHECK(conf_set(&c, "message", "unsubscribe_address",
	    "abcdefghijklmnopqrstuvwx@tiedote.example", &err) == 0);
	CHECK(message_conf_check(&c, &err) == -1 &&
	    strstr(buf_str(&err), "message.unsubscribe_address") &&
	    strstr(buf_str(&err), "at most 23 octets"));
	CHECK(conf_set(&c, "message", "unsubscribe_address", "u@tiedote.example", &err) == 0);
	CHECK(conf_set(&c, "smtp", "envelope_from", "abcdefghijklmnopqrstuvwx@tiedote.example",
	    &err) == 0);
	buf_reset(&err);
	CHECK(message_conf_check(&c, &err) == -1 && strstr(buf_str(&err), "smtp.envelope_from"));
	CHECK(conf_set(&c, "smtp", "verp", "no", &err) == 0);
	buf_reset(&err);
	CHECK(message_conf_check(&c, &err) == 0);
	/* the list id is a dot-atom, or every Message-ID and List-Id fails */
	for (size_t i = 0; i < 3; i++) {
		const char *bad[] = { "tiedote.example.", ".tiedote.example", "tiedote..example" };

		CHECK(conf_set(&c, "message", "list_id", bad[i], &err) == 0);
		buf_reset(&err);
		CHECK(message_conf_check(&c, &err) == -1 && strstr(buf_str(&err), "message.list_id"));
	}
	conf_free(&c);
	buf_free(&err);
}

TEST(templates_default_falls_back_to_the_installed_ones)
{
	char cwd[1024];
	conf_t c;

	conf_init(&c);
	/* in the checkout ./templates is there and is used */
	CHECK_STR(message_templates(&c), MESSAGE_TEMPLATES_DEFAULT);
	/* elsewhere the default means the installed directory */
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK(chdir(tmpdir) == 0);
	CHECK_STR(message_templates(&c), TIEDOTE_DATADIR "/templates");
	/* a directory given is used as given, there or not */
	CHECK(conf_set(&c, "message", "templates", "./mine", NULL) == 0);
	CHECK_STR(message_templates(&c), "./mine");
	CHECK(chdir(cwd) == 0);
	conf_free(&c);
}

static int
setup(void)
{
	const char *root = getenv("TIEDOTE_ROOT");
	buf_t err;
	int rc = -1;

	if (root == NULL || *root == '\0')
		root = ".";
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(db_path, sizeof db_path, "%s/message.db", tmpdir);
	snprintf(templates, sizeof templates, "%s/templates", root);
	buf_init(&err, 4096);
	conf_init(&conf);
	if (conf_set(&conf, "store", "path", db_path, &err) < 0 ||
	    conf_set(&conf, "message", "templates", templates, &err) < 0 ||
	    store_open(&conf, &store, &err) < 0) {
		fprintf(stderr, "set-up: %s\n", buf_str(&err));
		goto out;
	}
	setenv("TZ", conf.time_zone, 1);
	rc = 0;
out:
	buf_free(&err);
	return rc;
}

static void
teardown(void)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char path[600];

	store_close(store);
	conf_free(&conf);
	for (size_t i = 0; i < NELEM(suffix); i++) {
		snprintf(path, sizeof path, "%s%s", db_path, suffix[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

int
main(void)
{
	if (setup() < 0) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	RUN(announcement_to_a_subscriber_is_a_list_message);
	RUN(announcement_to_a_contact_is_a_list_message);
	RUN(reminder_is_a_list_message);
	RUN(conf_check_names_the_key_and_touches_no_store);
	RUN(templates_default_falls_back_to_the_installed_ones);
	teardown();
	return TEST_DONE();
}
