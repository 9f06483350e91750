/* test_admin - the admin requests: the form judged before anything is
 * written, the staged import giving exactly what store_subscriber_put()
 * row by row gave (counts and rows, resubscribe or not), a retried chunk
 * or commit, expiry, and the lock file */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "admin.h"
#include "clock.h"
#include "conf.h"
#include "inbound.h"
#include "outbox.h"
#include "privacy.h"
#include "region.h"
#include "store.h"
#include "subscribe.h"
#include "test.h"
#include "web_int.h"

static char dir[] = "/tmp/tiedote-admin.XXXXXX";
static conf_t conf;

static store_t *
open_fresh(const char *name)
{
	char path[256];
	store_t *s = NULL;
	buf_t err;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	buf_init(&err, 1024);
	conf_set(&conf, "store", "path", path, &err);
	if (store_open(&conf, &s, &err) < 0)
		fprintf(stderr, "  %s\n", buf_str(&err));
	buf_free(&err);
	return s;
}

/* req - admin_handle() on text; the reply parsed (new) */
static json_t *
req(store_t *s, const char *text)
{
	admin_result_t res;
	char *r = admin_handle(s, &conf, text, strlen(text), &res);
	json_t *j = json_loads(r, 0, NULL);

	free(r);
	return j;
}

static int
ok(json_t *j)
{
	int v = json_is_true(json_object_get(j, "ok"));

	json_decref(j);
	return v;
}

static const char *
code(json_t *j)
{
	static char c[64];

	snprintf(c, sizeof c, "%s", json_string_value(json_object_get(j, "error")) ?
	    json_string_value(json_object_get(j, "error")) : "(ok)");
	json_decref(j);
	return c;
}

static int64_t
num(store_t *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (store_prepare(s, sql, &st) < 0)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* dump - every subscriber as text, for comparing two stores */
static void
dump(store_t *s, buf_t *out)
{
	sqlite3_stmt *st;

	if (store_prepare(s, "SELECT id, email, name, lang, regions, status, created, updated"
	    " FROM subscribers ORDER BY id", &st) < 0)
		return;
	while (sqlite3_step(st) == SQLITE_ROW)
		PUT(buf_printf(out, "%lld %s %s %s %d %s %lld %lld\n", sqlite3_column_int64(st, 0),
		    sqlite3_column_text(st, 1), sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
		    sqlite3_column_int(st, 4), sqlite3_column_text(st, 5),
		    sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7)));
	sqlite3_finalize(st);
}

TEST(form_is_judged_before_anything_is_written)
{
	store_t *s = open_fresh("form.db");
	char big[8192];
	json_t *r = NULL;

	CHECK_STR(code(req(s, "nope")), "bad_json");
	CHECK_STR(code(req(s, "[]")), "bad_request");
	CHECK_STR(code(req(s, "{\"op\": 1}")), "bad_request");
	CHECK_STR(code(req(s, "{\"op\": \"subscriber.purge_all\"}")), "unknown_op");
	CHECK_STR(code(req(s, "{\"op\": \"subscriber.add\", \"email\": \"a@b.fi\", \"x\": 1}")),
	    "unknown_field");
	CHECK_STR(code(req(s, "{\"op\": \"subscriber.add\", \"email\": [\"a@b.fi\"]}")),
	    "bad_type");
	CHECK_STR(code(req(s, "{\"op\": \"subscriber.add\", \"name\": \"A\"}")),
	    "missing_field");
	CHECK_STR(code(req(s, "{\"op\": \"subscriber.add\", \"email\": \"a@b.fi\","
	    " \"lang\": \"de\"}")), "invalid");
	CHECK_STR(code(req(s, "{\"op\": \"subscriber.add\", \"email\": \"a@b.fi\","
	    " \"name\": \"x\\r\\nBcc: y@z.fi\"}")), "invalid");
	CHECK_STR(code(req(s, "{\"op\": \"issue.hold\", \"id\": 0}")), "invalid");
	CHECK_STR(code(req(s, "{\"op\": \"issue.hold\", \"id\": 1.5}")), "bad_type");
	CHECK_STR(code(req(s, "{\"op\": \"announce.reschedule\", \"id\": \"a\","
	    " \"at\": \"tomorrow\"}")), "invalid");
	CHECK_STR(code(req(s, "{\"op\": \"subscriber.import.rows\", \"import\": 1, \"rows\":"
	    " [[3, \"a@b.fi\", \"\", \"fi\", \"all\"], [2, \"c@b.fi\", \"\", \"fi\", \"all\"]]}")),
	    "invalid");
	memset(big, ' ', sizeof big);
	/* the length is judged before a byte is read */
	CHECK(admin_parse(big, ADMIN_REQUEST_MAX + 1, &r) == NULL);
	CHECK_STR(code(r), "too_large");
	CHECK(num(s, "SELECT count(*) FROM subscribers") == 0);
	CHECK(ok(req(s, "{\"op\": \"subscriber.add\", \"email\": \"a@b.fi\"}")));
	CHECK(num(s, "SELECT count(*) FROM subscribers") == 1);
	CHECK_STR(code(req(s, "{\"op\": \"subscriber.remove\", \"email\": \"x@b.fi\"}")),
	    "not_found");
	/* a POP3 poller's fields: both or neither, via poll, a UIDL of RFC 1939 */
	CHECK_STR(code(req(s, "{\"op\": \"inbound.deliver\", \"raw\": \"\", \"via\": \"poll\","
	    " \"uidl\": \"A1\"}")), "invalid");
	CHECK_STR(code(req(s, "{\"op\": \"inbound.deliver\", \"raw\": \"\", \"mailbox\": \"m\","
	    " \"uidl\": \"A1\"}")), "invalid");
	CHECK_STR(code(req(s, "{\"op\": \"inbound.deliver\", \"raw\": \"\", \"via\": \"poll\","
	    " \"mailbox\": \"m\", \"uidl\": \"A 1\"}")), "invalid");
	CHECK_STR(code(req(s, "{\"op\": \"inbound.deliver\", \"raw\": \"\", \"via\": \"poll\","
	    " \"mailbox\": \"\", \"uidl\": \"A1\"}")), "invalid");
	CHECK_STR(code(req(s, "{\"op\": \"inbound.mailbox_sync\", \"mailbox\": \"m\","
	    " \"uidls\": [\"A1\", 2]}")), "invalid");
	CHECK_STR(code(req(s, "{\"op\": \"inbound.mailbox_sync\", \"mailbox\": \"m\"}")),
	    "missing_field");
	CHECK(num(s, "SELECT count(*) FROM inbound") == 0);
	r = req(s, "{\"op\": \"inbound.deliver\", \"raw\": \"U3ViamVjdDogaGkKCmhlbGxvCg==\","
	    " \"via\": \"poll\", \"mailbox\": \"m\", \"uidl\": \"A1\"}");
	CHECK(json_is_false(json_object_get(r, "duplicate")));
	json_decref(r);
	r = req(s, "{\"op\": \"inbound.deliver\", \"raw\": \"U3ViamVjdDogaGkKCmhlbGxvCg==\","
	    " \"via\": \"poll\", \"mailbox\": \"m\", \"uidl\": \"A1\"}");
	CHECK(json_is_true(json_object_get(r, "duplicate")));
	json_decref(r);
	CHECK(num(s, "SELECT count(*) FROM inbound") == 1);
	r = req(s, "{\"op\": \"inbound.mailbox_sync\", \"mailbox\": \"m\", \"uidls\": [\"A1\"]}");
	CHECK_STR(json_string_value(json_object_get(json_object_get(r, "taken"), "A1")), "other");
	json_decref(r);
	r = req(s, "{\"op\": \"inbound.mailbox_sync\", \"mailbox\": \"m\", \"uidls\": []}");
	CHECK(json_integer_value(json_object_get(r, "pruned")) == 1);
	json_decref(r);
	/* a message of exactly INBOUND_RAW_MAX bytes (what the CLI sends of a
	 * bigger one) is taken; one byte more is refused */
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t n = INBOUND_RAW_MAX + extra, b64 = sodium_base64_ENCODED_LEN(n,
		    sodium_base64_VARIANT_ORIGINAL);
		char *raw = malloc(n), *enc = malloc(b64), *text;
		json_t *j;

		memset(raw, 'a', n);
		memcpy(raw, "Subject: big\n\n", 14);
		sodium_bin2base64(enc, b64, (unsigned char *)raw, n, sodium_base64_VARIANT_ORIGINAL);
		j = json_pack("{s:s, s:s, s:I}", "op", "inbound.deliver", "raw", enc, "size",
		    (json_int_t)n);
		text = json_dumps(j, JSON_COMPACT);
		r = req(s, text);
		CHECK_STR(code(r), extra ? "invalid" : "(ok)");
		free(text);
		json_decref(j);
		free(enc);
		free(raw);
	}
	store_close(s);
}

/* the cases of one import: a new address, one unchanged, one changed, one
 * unsubscribed, one suppressed, one pending, a case-folded match */
static const struct { const char *email, *name, *lang, *regions; } rows[] = {
	{ "new@a.fi", "New", "fi", "all" },
	{ "same@a.fi", "Same", "sv", "HYKS" },
	{ "changed@a.fi", "Changed now", "en", "KYS,OYS" },
	{ "left@a.fi", "Left", "fi", "TYKS" },
	{ "supp@a.fi", "Supp", "fi", "all" },
	{ "pend@a.fi", "Pend", "fi", "all" },
	{ "CaSe@A.fi", "Case", "fi", "all" },
};

/* seed - the subscribers before the import, in both stores alike */
static void
seed(store_t *s)
{
	static const char *const sql[] = {
	    "INSERT INTO subscribers (email, name, lang, regions, status, created, updated) VALUES"
	    " ('same@a.fi', 'Same', 'sv', 1, 'active', 10, 10),"
	    " ('changed@a.fi', 'Changed', 'en', 24, 'active', 10, 10),"
	    " ('left@a.fi', 'Left', 'fi', 2, 'unsubscribed', 10, 20),"
	    " ('supp@a.fi', 'Supp', 'fi', 31, 'suppressed', 10, 20),"
	    " ('pend@a.fi', 'Pend', 'fi', 31, 'pending', 10, 20),"
	    " ('case@a.fi', 'Case', 'fi', 31, 'active', 10, 10)",
	};
	sqlite3_stmt *st;

	for (size_t i = 0; i < sizeof sql / sizeof *sql; i++)
		if (store_prepare(s, sql[i], &st) == 0) {
			CHECK(sqlite3_step(st) == SQLITE_DONE);
			sqlite3_finalize(st);
		}
}

static void
import_both_ways(int resubscribe)
{
	store_t *a = open_fresh(resubscribe ? "a1.db" : "a0.db");
	store_t *b = open_fresh(resubscribe ? "b1.db" : "b0.db");
	size_t counts[4] = { 0 };
	json_t *r, *rs = json_array();
	json_int_t id;
	buf_t da, db;
	char text[256];

	if (a == NULL || b == NULL)
		return;
	seed(a);
	seed(b);
	/* the old way: one store_subscriber_put() a row, one transaction */
	CHECK(store_begin(b) == 0);
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		subscriber_t sub = { 0, rows[i].email, rows[i].name, rows[i].lang, 0, "active",
		    0, 0 };
		store_sub_t res;
		unsigned mask;

		CHECK(region_parse_list(rows[i].regions, &mask) == 0);
		sub.regions = mask;
		CHECK(store_subscriber_put(b, &sub, resubscribe, clock_now(), &res) == 0);
		counts[res]++;
	}
	CHECK(store_commit(b) == 0);
	/* the staged way, in two chunks and a chunk repeated */
	r = req(a, "{\"op\": \"subscriber.import.begin\"}");
	id = json_integer_value(json_object_get(r, "import"));
	json_decref(r);
	CHECK(id > 0);
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
		json_array_append_new(rs, json_pack("[I, s, s, s, s]", (json_int_t)i + 2,
		    rows[i].email, rows[i].name, rows[i].lang, rows[i].regions));
	for (int part = 0; part < 3; part++) {
		json_t *chunk = json_array(), *q;
		size_t from = part == 1 ? 4 : 0, to = part == 1 ? json_array_size(rs) : 4;
		char *t;

		for (size_t i = from; i < to; i++)
			json_array_append(chunk, json_array_get(rs, i));
		q = json_pack("{s:s, s:I, s:o}", "op", "subscriber.import.rows", "import", id,
		    "rows", chunk);
		t = json_dumps(q, JSON_COMPACT);
		CHECK(ok(req(a, t)));	/* part 2 repeats part 0: a retry */
		free(t);
		json_decref(q);
	}
	CHECK(num(a, "SELECT count(*) FROM import_rows") == (int64_t)json_array_size(rs));
	CHECK(num(a, "SELECT count(*) FROM subscribers") == 6);	/* staged is invisible */
	snprintf(text, sizeof text, "{\"op\": \"subscriber.import.commit\", \"import\": %lld,"
	    " \"resubscribe\": %s}", (long long)id, resubscribe ? "true" : "false");
	r = req(a, text);
	CHECK(json_is_true(json_object_get(r, "ok")));
	CHECK(json_integer_value(json_object_get(r, "added")) == (json_int_t)counts[SUB_ADDED]);
	CHECK(json_integer_value(json_object_get(r, "updated")) == (json_int_t)counts[SUB_UPDATED]);
	CHECK(json_integer_value(json_object_get(r, "unchanged")) ==
	    (json_int_t)counts[SUB_UNCHANGED]);
	CHECK(json_integer_value(json_object_get(r, "kept_unsubscribed")) ==
	    (json_int_t)counts[SUB_KEPT_UNSUBSCRIBED]);
	json_decref(r);
	/* a commit retried after a lost reply gets the same counts, writes nothing */
	r = req(a, text);
	CHECK(json_integer_value(json_object_get(r, "added")) == (json_int_t)counts[SUB_ADDED]);
	json_decref(r);
	buf_init(&da, 1 << 16);
	buf_init(&db, 1 << 16);
	dump(a, &da);
	dump(b, &db);
	CHECK_STR(buf_str(&da), buf_str(&db));
	snprintf(text, sizeof text, "{\"op\": \"subscriber.import.abort\", \"import\": %lld}",
	    (long long)id);
	CHECK(ok(req(a, text)));
	CHECK(num(a, "SELECT count(*) FROM import_rows") == 0);
	buf_free(&da);
	buf_free(&db);
	json_decref(rs);
	store_close(a);
	store_close(b);
}

TEST(import_counts_and_rows_as_row_by_row)
{
	import_both_ways(0);
}

TEST(import_with_resubscribe_as_row_by_row)
{
	import_both_ways(1);
}

TEST(repeated_address_refuses_the_chunk)
{
	store_t *s = open_fresh("dup.db");
	json_t *r;

	r = req(s, "{\"op\": \"subscriber.import.begin\"}");
	json_decref(r);
	CHECK(ok(req(s, "{\"op\": \"subscriber.import.rows\", \"import\": 1, \"rows\":"
	    " [[2, \"x@a.fi\", \"\", \"fi\", \"all\"]]}")));
	r = req(s, "{\"op\": \"subscriber.import.rows\", \"import\": 1, \"rows\":"
	    " [[3, \"y@a.fi\", \"\", \"fi\", \"all\"], [4, \"X@A.FI\", \"\", \"fi\", \"all\"]]}");
	CHECK(strstr(json_string_value(json_object_get(r, "message")), "line 4") != NULL);
	CHECK(strstr(json_string_value(json_object_get(r, "message")), "line 2") != NULL);
	CHECK_STR(code(r), "invalid");
	CHECK(num(s, "SELECT count(*) FROM import_rows") == 1);	/* y not staged */
	store_close(s);
}

TEST(abandoned_imports_expire)
{
	store_t *s = open_fresh("exp.db");
	int64_t now = clock_now();

	json_decref(req(s, "{\"op\": \"subscriber.import.begin\"}"));
	CHECK(ok(req(s, "{\"op\": \"subscriber.import.rows\", \"import\": 1, \"rows\":"
	    " [[2, \"x@a.fi\", \"\", \"fi\", \"all\"]]}")));
	CHECK(admin_expire(s, now) == 0);
	CHECK(num(s, "SELECT count(*) FROM import_rows") == 1);
	CHECK(admin_expire(s, now + ADMIN_IMPORT_TTL_S + 1) == 2);	/* a row, an import */
	CHECK(admin_expire(s, now + ADMIN_IMPORT_TTL_S + 1) == 0);
	CHECK(num(s, "SELECT count(*) FROM import_rows") == 0);
	CHECK_STR(code(req(s, "{\"op\": \"subscriber.import.commit\", \"import\": 1}")),
	    "no_import");
	CHECK(num(s, "SELECT count(*) FROM subscribers") == 0);
	store_close(s);
}

TEST(lock_file_is_one_holder)
{
	char path[256];
	buf_t err;
	int a = -1, b = -1;

	snprintf(path, sizeof path, "%s/lock/x.db", dir);
	buf_init(&err, 1024);
	conf_set(&conf, "store", "path", path, &err);
	CHECK(admin_lock(&conf, &a, &err) == 1 && a >= 0);	/* directory made too */
	CHECK(admin_lock(&conf, &b, &err) == 0 && b < 0);	/* another open file */
	CHECK(admin_lock_wait(&conf, 60, -1, &b, &err) == 0);
	admin_unlock(a);
	CHECK(admin_lock(&conf, &b, &err) == 1);
	admin_unlock(b);
	buf_free(&err);
}

static int
exec_sql(store_t *s, const char *sql)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(s, sql, &st) < 0)
		return -1;
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

/* one welcome per subscriber: a later subscription of the address in
 * other letters, confirmed, sends none */
TEST(welcome_once_per_subscriber)
{
	store_t *s = open_fresh("welcome.db");
	json_t *j;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	conf_set(&conf, "web", "confirm_interval", "0", NULL);
	CHECK(ok(req(s, "{\"op\":\"web.subscribe\",\"email\":\"Uusi@Example.fi\"}")));
	CHECK(ok(req(s, "{\"op\":\"web.confirm\",\"id\":1}")));
	CHECK(ok(req(s, "{\"op\":\"web.subscribe\",\"email\":\"UUSI@EXAMPLE.FI\"}")));
	j = req(s, "{\"op\":\"web.confirm\",\"id\":2}");
	CHECK_STR(json_string_value(json_object_get(j, "result")), "confirmed");
	json_decref(j);
	CHECK(num(s, "SELECT count(*) FROM outbox WHERE kind = 'welcome'") == 1);
	conf_set(&conf, "web", "confirm_interval", "3600", NULL);
	store_close(s);
}

/* the subscriber pages' ops (subscribe.h): the confirmation and its
 * message, the limit per address, confirming, preferences, leaving with
 * what is queued, a contact's opt-out; each idempotent */
TEST(web_ops)
{
	store_t *s = open_fresh("web.db");
	json_t *j;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	conf_set(&conf, "web", "confirm_interval", "3600", NULL);
	j = req(s, "{\"op\":\"web.subscribe\",\"email\":\"Uusi@Example.fi\",\"lang\":\"sv\","
	    "\"regions\":\"KYS,OYS\"}");
	CHECK_STR(json_string_value(json_object_get(j, "result")), "queued");
	json_decref(j);
	CHECK(num(s, "SELECT count(*) FROM outbox WHERE kind = 'confirm' AND ref = '1'") == 1);
	j = req(s, "{\"op\":\"web.subscribe\",\"email\":\"uusi@example.fi\"}");
	CHECK_STR(json_string_value(json_object_get(j, "result")), "limited");
	json_decref(j);
	CHECK(num(s, "SELECT count(*) FROM confirmations") == 1);
	CHECK(strcmp(code(req(s, "{\"op\":\"web.subscribe\",\"email\":\"a\\r\\nb@x.fi\"}")),
	    "invalid") == 0);
	CHECK(num(s, "SELECT count(*) FROM subscribers") == 0);	/* not before confirming */
	j = req(s, "{\"op\":\"web.confirm\",\"id\":1}");
	CHECK_STR(json_string_value(json_object_get(j, "result")), "confirmed");
	json_decref(j);
	CHECK(num(s, "SELECT count(*) FROM subscribers WHERE status = 'active' AND lang = 'sv'"
	    " AND regions = 24") == 1);
	j = req(s, "{\"op\":\"web.confirm\",\"id\":1}");
	CHECK_STR(json_string_value(json_object_get(j, "result")), "already");
	json_decref(j);
	/* one welcome, for the subscriber, however often the link is followed */
	CHECK(num(s, "SELECT count(*) FROM outbox WHERE kind = 'welcome' AND ref = '1' AND"
	    " recipient = 'Uusi@Example.fi' AND state = 'queued'") == 1);
	CHECK(num(s, "SELECT count(*) FROM outbox WHERE kind = 'welcome'") == 1);
	j = req(s, "{\"op\":\"web.confirm\",\"id\":99}");
	CHECK_STR(json_string_value(json_object_get(j, "result")), "unknown");
	json_decref(j);
	CHECK(ok(req(s, "{\"op\":\"web.preferences\",\"id\":1,\"lang\":\"en\","
	    "\"regions\":\"all\",\"paused_until\":1600000000}")));
	CHECK(num(s, "SELECT paused_until FROM subscribers WHERE lang = 'en' AND regions = 31")
	    == 1600000000);
	CHECK(strcmp(code(req(s, "{\"op\":\"web.preferences\",\"id\":1,\"lang\":\"de\","
	    "\"regions\":\"all\"}")), "invalid") == 0);
	CHECK(num(s, "SELECT count(*) FROM subscribers WHERE lang = 'en'") == 1);
	/* leaving cancels what is queued for the address */
	CHECK(exec_sql(s, "INSERT INTO outbox (kind, ref, subscriber_id, recipient,"
	    " state, created, updated) VALUES ('bulletin', '2020/05', 1, 'uusi@example.fi',"
	    " 'deferred', 0, 0)") == 0);
	j = req(s, "{\"op\":\"web.unsubscribe\",\"id\":1}");
	CHECK_STR(json_string_value(json_object_get(j, "result")), "unsubscribed");
	json_decref(j);
	CHECK(ok(req(s, "{\"op\":\"web.unsubscribe\",\"id\":1}")));
	CHECK(num(s, "SELECT count(*) FROM outbox WHERE kind = 'bulletin' AND state = 'cancelled'")
	    == 1);
	CHECK(num(s, "SELECT count(*) FROM subscribers WHERE status = 'unsubscribed'") == 1);
	j = req(s, "{\"op\":\"web.preferences\",\"id\":1,\"lang\":\"fi\",\"regions\":\"all\"}");
	CHECK_STR(json_string_value(json_object_get(j, "result")), "not_active");
	json_decref(j);
	/* a contact's opt-out outlives its project's next contact list */
	CHECK(ok(req(s, "{\"op\":\"project.add\",\"id\":\"p1\",\"name\":\"P\",\"regions\":\"KYS\","
	    "\"contacts\":[\"hanke@example.fi\"]}")));
	CHECK(ok(req(s, "{\"op\":\"web.contact_optout\",\"id\":1}")));
	CHECK(ok(req(s, "{\"op\":\"web.contact_optout\",\"id\":1}")));
	CHECK(num(s, "SELECT count(*) FROM contact_optouts") == 1);
	CHECK(strcmp(code(req(s, "{\"op\":\"web.confirm\",\"id\":0}")), "invalid") == 0);
	/* a dropped confirmation's id is never given again: its /c/ link
	 * must not confirm another address's request */
	CHECK(exec_sql(s, "DELETE FROM confirmations") == 0);
	conf_set(&conf, "web", "confirm_interval", "0", NULL);
	CHECK(ok(req(s, "{\"op\":\"web.subscribe\",\"email\":\"toinen@example.fi\"}")));
	CHECK(num(s, "SELECT id FROM confirmations WHERE email = 'toinen@example.fi'") == 2);
	/* retention: pending past expiry and followed past keep_days go, the
	 * rest and every consent log row stay */
	CHECK(exec_sql(s, "INSERT INTO confirmations (email, name, lang, regions, created,"
	    " expires, confirmed) VALUES ('a@x.fi', '', 'fi', 31, 0, 100, NULL),"
	    " ('b@x.fi', '', 'fi', 31, 0, 100, 50), ('c@x.fi', '', 'fi', 31, 0, 100000000000,"
	    " NULL), ('d@x.fi', '', 'fi', 31, 0, 100, 1000000)") == 0);
	CHECK(exec_sql(s, "INSERT INTO consents (confirmation_id, email, given, ip, lang,"
	    " form_version, text) VALUES (4, 'b@x.fi', 0, '', 'fi', 'v', 't')") == 0);
	conf_set(&conf, "web", "confirmations_keep_days", "10", NULL);
	CHECK(subscribe_prune(s, &conf, 1000000 + 10 * 86400 - 1) == 2);
	CHECK(num(s, "SELECT count(*) FROM confirmations WHERE email IN ('c@x.fi', 'd@x.fi')")
	    == 2 && num(s, "SELECT count(*) FROM consents WHERE email = 'b@x.fi'") == 1);
	CHECK(subscribe_prune(s, &conf, 1000000 + 10 * 86400 + 1) == 1);
	CHECK(num(s, "SELECT count(*) FROM confirmations WHERE email LIKE '%@x.fi'") == 1);
	store_close(s);
}

/* consent and personal data (privacy.h): the consent log written with the
 * confirmation and stamped by the confirm; export-data names every row of
 * the address; erase deletes them in one go, keeps counts without the
 * address, and leaves only the keyed hash, which add, the import's
 * staging and web.subscribe then refuse in any case of the address */
TEST(privacy_export_and_erase)
{
	store_t *s = open_fresh("privacy.db");
	json_t *j, *x = NULL;
	double rate0 = -1, rate1 = -2;
	int live = -1;
	buf_t err;

	buf_init(&err, 1024);
	CHECK(s != NULL);
	if (s == NULL)
		goto out;
	conf_set(&conf, "web", "confirm_interval", "3600", NULL);
	j = req(s, "{\"op\":\"web.subscribe\",\"email\":\"Ann@Example.fi\",\"lang\":\"sv\","
	    "\"regions\":\"KYS\",\"ip\":\"hash:ab\",\"consent_version\":\"v1\","
	    "\"consent_text\":\"I agree <b>.</b>\",\"consent_lang\":\"en\"}");
	CHECK_STR(json_string_value(json_object_get(j, "result")), "queued");
	json_decref(j);
	CHECK(num(s, "SELECT count(*) FROM consents WHERE email = 'ann@example.fi' AND"
	    " ip = 'hash:ab' AND form_version = 'v1' AND text = 'I agree <b>.</b>' AND"
	    " lang = 'en' AND confirmed IS NULL AND given > 0") == 1);
	CHECK(ok(req(s, "{\"op\":\"web.confirm\",\"id\":1}")));
	CHECK(num(s, "SELECT confirmed > 0 FROM consents") == 1);
	CHECK(ok(req(s, "{\"op\":\"project.add\",\"id\":\"p1\",\"name\":\"P\","
	    "\"regions\":\"KYS\",\"contacts\":[\"ann@example.fi\",\"other@example.fi\"]}")));
	CHECK(exec_sql(s, "INSERT INTO outbox (kind, ref, subscriber_id, recipient, state,"
	    " reply, created, first_attempt, updated) VALUES ('bulletin', '2020/05', 1,"
	    " 'Ann@Example.fi', 'sent', '250 ok <Ann@Example.fi>', 0, 100, 110), ('bulletin',"
	    " '2020/06', 1, 'Ann@Example.fi', 'deferred', NULL, 0, 100, 100), ('bulletin',"
	    " '2020/05', 2, 'other@example.fi', 'sent', NULL, 0, 100, 104)") == 0);
	CHECK(outbox_rate(s, "bulletin", "2020/05", 99999, &rate0, &live) == 0 && !live &&
	    rate0 == 2.0 / 10);
	CHECK(exec_sql(s, "INSERT INTO inbound (received, via, envelope, kind, token, action,"
	    " sender, subject, report, size, raw) VALUES (1, 'lmtp', 'b@x', 'bounce', 'bounce',"
	    " 'suppressed', 'MAILER-DAEMON', 'failed', '{\"to\":\"ann@example.fi\"}', 3,"
	    " X'414243')") == 0);
	CHECK(exec_sql(s, "INSERT INTO inbound_outcomes (inbound_id, at, email, class, reason,"
	    " status) VALUES (1, 1, 'ann@example.fi', 'soft', 'mailboxfull', '4.2.2')") == 0);

	CHECK(privacy_export(s, "ANN@example.fi", &x, &err) == 0);
	CHECK(x && json_object_get(json_object_get(x, "subscriber"), "email") &&
	    strcmp(json_string_value(json_object_get(json_object_get(x, "subscriber"),
	    "regions")), "KYS") == 0);
	CHECK(json_array_size(json_object_get(x, "consents")) == 1 &&
	    json_array_size(json_object_get(x, "confirmations")) == 1 &&
	    json_array_size(json_object_get(x, "outbox")) == 4 &&	/* confirm, welcome, 2 */
	    json_array_size(json_object_get(x, "project_contacts")) == 1 &&
	    json_array_size(json_object_get(x, "inbound")) == 1 &&
	    json_array_size(json_object_get(x, "inbound_outcomes")) == 1 &&
	    json_is_false(json_object_get(x, "erased")));
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(x, "inbound"),
	    0), "raw_base64")), "QUJD");
	json_decref(x);
	x = NULL;

	j = req(s, "{\"op\":\"subscriber.erase\",\"email\":\"ann@EXAMPLE.fi\"}");
	CHECK_STR(json_string_value(json_object_get(j, "result")), "erased");
	CHECK(json_integer_value(json_object_get(json_object_get(j, "removed"), "outbox")) == 4);
	json_decref(j);
	/* nothing names the address; the counts stay; the deferred one is off */
	CHECK(num(s, "SELECT (SELECT count(*) FROM subscribers) + (SELECT count(*) FROM consents)"
	    " + (SELECT count(*) FROM confirmations) + (SELECT count(*) FROM contacts WHERE"
	    " email LIKE 'ann%') + (SELECT count(*) FROM outbox WHERE recipient LIKE '%ann%' OR"
	    " reply LIKE '%ann%') + (SELECT count(*) FROM inbound WHERE report LIKE '%ann%' OR"
	    " length(raw) > 0) + (SELECT count(*) FROM inbound_outcomes WHERE email LIKE"
	    " '%ann%')") == 0);
	CHECK(num(s, "SELECT count(*) FROM outbox WHERE kind = 'bulletin'") == 3);
	CHECK(num(s, "SELECT count(*) FROM outbox WHERE ref = '2020/06' AND state = 'cancelled'")
	    == 1);
	CHECK(num(s, "SELECT count(*) FROM outbox WHERE recipient = 'other@example.fi'") == 1);
	/* the figures stay: the erased row keeps its times (its
	 * updated once became the erase's, and the average fell to 0.0/s) */
	CHECK(num(s, "SELECT count(*) FROM outbox WHERE ref = '2020/05' AND recipient LIKE"
	    " 'erased/%' AND first_attempt = 100 AND updated = 110") == 1);
	CHECK(outbox_rate(s, "bulletin", "2020/05", 99999, &rate1, &live) == 0 && !live &&
	    rate1 == rate0);
	CHECK(num(s, "SELECT count(*) FROM contacts WHERE email = 'other@example.fi'") == 1);
	CHECK(num(s, "SELECT count(*) FROM suppressions WHERE email LIKE 'erased:%' AND"
	    " length(email) = 71 AND reason = 'erased'") == 1);
	CHECK(privacy_export(s, "Ann@Example.fi", &x, &err) == 0);
	CHECK(x && json_is_null(json_object_get(x, "subscriber")) &&
	    json_is_true(json_object_get(x, "erased")) &&
	    json_array_size(json_object_get(x, "consents")) == 0);
	json_decref(x);
	x = NULL;
	/* erasing again is harmless; nothing adds the address back */
	CHECK(ok(req(s, "{\"op\":\"subscriber.erase\",\"email\":\"ann@example.fi\"}")));
	CHECK(strcmp(code(req(s, "{\"op\":\"subscriber.add\",\"email\":\"ANN@example.fi\"}")),
	    "erased") == 0);
	CHECK(ok(req(s, "{\"op\":\"subscriber.import.begin\"}")));
	CHECK(strcmp(code(req(s, "{\"op\":\"subscriber.import.rows\",\"import\":1,\"rows\":"
	    "[[2,\"new@example.fi\",\"N\",\"fi\",\"all\"],[3,\"Ann@example.fi\",\"A\","
	    "\"fi\",\"all\"]]}")), "erased") == 0);
	CHECK(num(s, "SELECT count(*) FROM import_rows") == 0);	/* the chunk is refused whole */
	conf_set(&conf, "web", "confirm_interval", "0", NULL);
	j = req(s, "{\"op\":\"web.subscribe\",\"email\":\"ann@example.fi\"}");
	CHECK_STR(json_string_value(json_object_get(j, "result")), "suppressed");
	json_decref(j);
	CHECK(num(s, "SELECT count(*) FROM confirmations") == 0);
	CHECK(ok(req(s, "{\"op\":\"subscriber.add\",\"email\":\"new@example.fi\"}")));
out:
	buf_free(&err);
	store_close(s);
}

/* the form values the pages judge before they ask the worker */
TEST(web_form_values)
{
	json_t *f = json_pack("{s:s, s:s, s:[s, s]}", "email", "anu@example.fi", "name", "Anu",
	    "regions", "KYS", "oys"), *errs = json_array();
	unsigned mask;
	int64_t t;

	CHECK(web_form_subscribe(f, errs) == 0 && json_array_size(errs) == 0);
	CHECK(web_form_regions(f, &mask) == 0 && mask == (8 | 16));
	json_object_set_new(f, "name", json_string("Eve\r\nBcc: x@y.fi"));
	json_array_append_new(json_object_get(f, "regions"), json_string("XYZ"));
	CHECK(web_form_subscribe(f, errs) < 0 && json_array_size(errs) == 2);
	CHECK(web_form_date("", &t) == 1);
	CHECK(web_form_date("2020-02-30", &t) < 0 && web_form_date("2020-4-15", &t) < 0 &&
	    web_form_date("2020-04-15x", &t) < 0);
	setenv("TZ", "Europe/Helsinki", 1);
	tzset();
	CHECK(web_form_date("2020-04-15", &t) == 0 && t == 1586898000);	/* 00:00+03:00 */
	CHECK(web_form_lang("sv") != NULL && web_form_lang("de") == NULL);
	json_decref(f);
	json_decref(errs);
}

int
main(void)
{
	char cmd[300];
	int rc;

	/* both ways of an import stamp the same second */
	setenv("TIEDOTE_NOW", "2020-03-10T12:00:00+02:00", 1);
	if (mkdtemp(dir) == NULL)
		return 1;
	conf_init(&conf);
	RUN(form_is_judged_before_anything_is_written);
	RUN(import_counts_and_rows_as_row_by_row);
	RUN(import_with_resubscribe_as_row_by_row);
	RUN(repeated_address_refuses_the_chunk);
	RUN(abandoned_imports_expire);
	RUN(lock_file_is_one_holder);
	RUN(web_ops);
	RUN(welcome_once_per_subscriber);
	RUN(web_form_values);
	RUN(privacy_export_and_erase);
	conf_free(&conf);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	rc = system(cmd);
	(void)rc;
	return TEST_DONE();
}
