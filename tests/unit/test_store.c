/* test_store - migrations, revisions, subscribers, a full disk, the config */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "outbox.h"
#include "privacy.h"
#include "store.h"
#include "test.h"

static char dir[] = "/tmp/tiedote-store.XXXXXX";
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

TEST(migrates_and_reopens)
{
	store_t *s = open_fresh("m.db");

	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK(store_schema_version(s) == store_schema_latest());
	store_close(s);
	s = open_fresh("m.db");
	CHECK(s && store_schema_version(s) == store_schema_latest());
	store_close(s);
}

static int
collect(const outbox_row_t *row, void *arg)
{
	buf_t *b = arg;

	PUT(buf_printf(b, "%s%c", row->recipient, ' '));
	return 0;
}

/* sql - run SQL text on the file at name beside the stores, outside them;
 * the first column of the last row is left in out */
static void
sql(const char *name, const char *text, buf_t *out)
{
	char path[256], *msg = NULL;
	sqlite3 *db;
	sqlite3_stmt *st;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	if (out == NULL) {
		CHECK(sqlite3_exec(db, text, NULL, NULL, &msg) == SQLITE_OK);
		if (msg)
			fprintf(stderr, "  %s\n", msg);
		sqlite3_free(msg);
	} else if (sqlite3_prepare_v2(db, text, -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW)
			PUT(buf_printf(out, "%s", (const char *)sqlite3_column_text(st, 0)));
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

/* read_file - the whole of tests/data/NAME into b */
static int
read_file(const char *name, buf_t *b)
{
	const char *root = getenv("TIEDOTE_ROOT");
	char path[512];
	FILE *fp;
	int c;

	snprintf(path, sizeof path, "%s/tests/data/%s", root ? root : ".", name);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while ((c = fgetc(fp)) != EOF)
		PUT(buf_addc(b, (char)c));
	fclose(fp);
	return 0;
}

/* A database of schema 3 with outbox rows in every state (dumped from the
 * last tiedote of schema 3: tests/data/store-v3.sql) keeps them through
 * migration 4, and the sender's queries on the new indexes find the same
 * rows the old ones did. */
TEST(migrates_outbox_from_schema_3)
{
	buf_t text, got;
	store_t *s;
	int64_t open = -1;

	buf_init(&text, 1 << 20);
	buf_init(&got, 4096);
	CHECK(read_file("store-v3.sql", &text) == 0);
	if (text.len == 0)
		goto out;
	sql("v3.db", buf_str(&text), NULL);
	CHECK((s = open_fresh("v3.db")) != NULL);
	if (s == NULL)
		goto out;
	CHECK(store_schema_version(s) == store_schema_latest());
	/* a queued, b sending (a crash), c sent, d due deferred, e failed,
	 * f deferred till 5000 */
	CHECK(outbox_open(s, KIND_BULLETIN, "1", &open) == 0 && open == 4);
	CHECK(outbox_recover(s, 200) == 1);
	CHECK(outbox_claim(s, 1000, 64, collect, &got) == 3);
	CHECK_STR(buf_str(&got), "a@example.fi b@example.fi d@example.fi ");
	CHECK(outbox_open(s, KIND_BULLETIN, "1", &open) == 0 && open == 4);
	store_close(s);
	buf_reset(&got);
	sql("v3.db", "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master"
	    " WHERE type = 'index' AND tbl_name = 'outbox' AND sql IS NOT NULL ORDER BY name)",
	    &got);
	/* 4's partial indexes; 8 adds the one by recipient (inbound mail) */
	CHECK_STR(buf_str(&got), "outbox_due outbox_open outbox_recipient");
	buf_reset(&got);
	sql("v3.db", "SELECT group_concat(state, ' ') FROM (SELECT state FROM outbox ORDER BY id)",
	    &got);
	CHECK_STR(buf_str(&got), "sending sending sent sending failed deferred");
out:
	buf_free(&text);
	buf_free(&got);
}

/* Migrations 13 and 14 rebuild six tables: a database of schema 12 (dumped
 * from the last tiedote of schema 12: tests/data/store-v12.sql) keeps
 * every row and column of them, and inbound's AUTOINCREMENT high-water
 * mark, so an id of a pruned message (still named by inbound_outcomes and
 * mailbox_uidls) is not given again. */
TEST(migrates_rebuilt_tables_from_schema_12)
{
	static const char *const rows[] = {
	    "SELECT group_concat(json_array(id, kind, ref, subscriber_id, recipient, state,"
	    " attempts, next_attempt, first_attempt, reply_code, reply, created, updated,"
	    " contact_id), ' ') FROM (SELECT * FROM outbox ORDER BY id)",
	    "SELECT group_concat(json_array(id, received, via, envelope, kind, token,"
	    " outbox_id, action, sender, subject, report, size, hex(raw)), ' ')"
	    " FROM (SELECT * FROM inbound ORDER BY id)",
	    "SELECT group_concat(json_array(id, inbound_id, at, email, outbox_id, kind, ref,"
	    " class, reason, status, suppressed), ' ')"
	    " FROM (SELECT * FROM inbound_outcomes ORDER BY id)",
	    "SELECT group_concat(json_array(mailbox, uidl, kind, inbound_id, taken), ' ')"
	    " FROM (SELECT * FROM mailbox_uidls ORDER BY mailbox, uidl)",
	    "SELECT group_concat(json_array(id, email, name, lang, regions, status, created,"
	    " updated, paused_until), ' ') FROM (SELECT * FROM subscribers ORDER BY id)",
	    NULL };
	buf_t text, before, after;
	store_t *s;
	int64_t open = -1;
	int i;

	buf_init(&text, 1 << 20);
	buf_init(&before, 1 << 16);
	buf_init(&after, 1 << 16);
	CHECK(read_file("store-v12.sql", &text) == 0);
	sql("v12-as-was.db", buf_str(&text), NULL);
	sql("v12.db", buf_str(&text), NULL);
	CHECK((s = open_fresh("v12.db")) != NULL);
	if (s == NULL)
		goto out;
	CHECK(store_schema_version(s) == store_schema_latest());
	CHECK(outbox_open(s, KIND_BULLETIN, "1", &open) == 0 && open == 3);
	store_close(s);
	for (i = 0; rows[i]; i++) {
		buf_reset(&before);
		buf_reset(&after);
		sql("v12-as-was.db", rows[i], &before);
		sql("v12.db", rows[i], &after);
		CHECK(before.len > 0);
		CHECK_STR(buf_str(&after), buf_str(&before));
	}
	buf_reset(&after);
	sql("v12.db", "INSERT INTO inbound (received, via, envelope, kind, token, action,"
	    " sender, subject, report, size, raw) VALUES (300, 'lmtp', '', 'other', 'none',"
	    " 'kept', '', '', '{}', 0, x'')", NULL);
	sql("v12.db", "SELECT group_concat(id, ' ') FROM inbound", &after);
	CHECK_STR(buf_str(&after), "4 5 10");
	buf_reset(&after);
	sql("v12.db", "SELECT group_concat(name || '=' || seq, ' ') FROM (SELECT * FROM"
	    " sqlite_sequence ORDER BY name)", &after);
	/* and 14's: every table whose ids tokens name has a sequence from
	 * its highest id (contacts: no rows) */
	CHECK_STR(buf_str(&after),
	    "confirmations=0 contacts=0 inbound=10 outbox=8 subscribers=2");
out:
	buf_free(&text);
	buf_free(&before);
	buf_free(&after);
}

/* explain - 1 when text compiles and its program opens an ephemeral
 * table (a b-tree built at each run), 0 when it does not, -1 */
static int
explain(sqlite3 *db, const char *text)
{
	sqlite3_stmt *st;
	char sql[4096];
	int found = 0;

	snprintf(sql, sizeof sql, "EXPLAIN %s", text);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "  %s: %s\n", text, sqlite3_errmsg(db));
		return -1;
	}
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strcmp((const char *)sqlite3_column_text(st, 1), "OpenEphemeral") == 0)
			found = 1;
	sqlite3_finalize(st);
	return found;
}

/* Migration 13: a single-row INSERT into any table written per message
 * or per imported row, and the sender's update of an outbox row's state,
 * build no ephemeral table (an IN list of three or more constants in a
 * CHECK or a partial index's WHERE did, each run); the open rows' queries
 * are still planned on the partial index outbox_open.  Tables written
 * rarely are named here with why. */
TEST(no_ephemeral_per_row)
{
	static const char *const rare[] = { "issues", "projects", "reminders",
	    "confirmations", NULL };	/* per issue, project, plan, form */
	char path[256], ins[2048], vals[512];
	sqlite3_stmt *st, *cols;
	store_t *s = open_fresh("e.db");
	sqlite3 *db;
	buf_t plan;
	int tables = 0;

	CHECK(s != NULL);
	store_close(s);
	snprintf(path, sizeof path, "%s/e.db", dir);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'table'"
	    " AND name NOT LIKE 'sqlite_%' ORDER BY name", -1, &st, NULL) == SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int i, e, n = 0, skip = 0;

		for (i = 0; rare[i]; i++)
			skip |= strcmp(name, rare[i]) == 0;
		if (skip)
			continue;
		snprintf(ins, sizeof ins, "INSERT INTO \"%s\" (", name);
		vals[0] = '\0';
		CHECK(sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1)", -1,
		    &cols, NULL) == SQLITE_OK);
		sqlite3_bind_text(cols, 1, name, -1, SQLITE_TRANSIENT);
		while (sqlite3_step(cols) == SQLITE_ROW) {
			snprintf(ins + strlen(ins), sizeof ins - strlen(ins), "%s\"%s\"",
			    n ? ", " : "", (const char *)sqlite3_column_text(cols, 0));
			snprintf(vals + strlen(vals), sizeof vals - strlen(vals), "%s?", n++ ? ", " :
			    "");
		}
		sqlite3_finalize(cols);
		snprintf(ins + strlen(ins), sizeof ins - strlen(ins), ") VALUES (%s)", vals);
		if ((e = explain(db, ins)) != 0)
			fprintf(stderr, "  %s: builds an ephemeral table\n", name);
		CHECK(e == 0);
		tables++;
	}
	sqlite3_finalize(st);
	CHECK(tables >= 10);
	CHECK(explain(db, "UPDATE outbox SET state = ?2, reply_code = ?3, reply = ?4,"
	    " next_attempt = ?5, updated = ?6 WHERE id = ?1 AND state = 'sending'") == 0);
	CHECK(explain(db, "UPDATE outbox SET state = 'sending', attempts = attempts + 1"
	    " WHERE id = ?1") == 0);
	CHECK(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT count(*) FROM outbox"
	    " WHERE kind = 'bulletin' AND ref = '1' AND " OUTBOX_OPEN_ROWS, -1, &st,
	    NULL) == SQLITE_OK);
	buf_init(&plan, 4096);
	while (sqlite3_step(st) == SQLITE_ROW)
		PUT(buf_printf(&plan, "%s; ", (const char *)sqlite3_column_text(st, 3)));
	sqlite3_finalize(st);
	sqlite3_close(db);
	CHECK(strstr(buf_str(&plan), "INDEX outbox_open") != NULL);
	buf_free(&plan);
}

TEST(revisions_and_duplicates)
{
	store_t *s = open_fresh("r.db");
	store_put_t put;
	int rev;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK(store_begin(s) == 0);
	CHECK(store_event_put(s, "d1", "deadline", "{\"a\":1}", 31, 100, 0, 1, &put, &rev) == 0);
	CHECK(put == PUT_NEW && rev == 1);
	CHECK(store_event_put(s, "d1", "deadline", "{\"a\":1}", 31, 100, 0, 2, &put, &rev) == 0);
	CHECK(put == PUT_DUPLICATE && rev == 1);
	CHECK(store_event_put(s, "d1", "deadline", "{\"a\":2}", 31, 200, 0, 3, &put, &rev) == 0);
	CHECK(put == PUT_REVISION && rev == 2);
	CHECK(store_event_put(s, "d1", "news", "{\"a\":3}", 31, 0, 0, 4, &put, &rev) == 0);
	CHECK(put == PUT_TYPE_MISMATCH);
	/* changed back is a change too: the latest revision is the reference */
	CHECK(store_event_put(s, "d1", "deadline", "{\"a\":1}", 31, 100, 0, 5, &put, &rev) == 0);
	CHECK(put == PUT_REVISION && rev == 3);
	CHECK(store_commit(s) == 0);
	/* a rolled-back transaction leaves nothing */
	CHECK(store_begin(s) == 0);
	CHECK(store_event_put(s, "d2", "deadline", "{}", 31, 0, 0, 6, &put, &rev) == 0);
	store_rollback(s);
	{
		json_t *st = NULL;

		CHECK(store_status(s, 10, &st) == 0);
		CHECK(json_integer_value(json_object_get(json_object_get(st, "events"),
		    "deadline")) == 1);
		CHECK(json_integer_value(json_object_get(json_object_get(st, "events"),
		    "revisions")) == 3);
		CHECK(json_array_size(json_object_get(st, "latest_events")) == 1);
		json_decref(st);
	}
	store_close(s);
}

static int
count_cb(const subscriber_t *sub, void *arg)
{
	(void)sub;
	(*(int *)arg)++;
	return 0;
}

TEST(subscribers_lifecycle)
{
	store_t *s = open_fresh("s.db");
	subscriber_t a = { 0, "Anu@thl.fi", "Anu", "fi", 1, "active", 0, 0 };
	store_sub_t res;
	int found, n;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK(store_subscriber_put(s, &a, 0, 10, &res) == 0 && res == SUB_ADDED);
	CHECK(store_subscriber_put(s, &a, 0, 11, &res) == 0 && res == SUB_UNCHANGED);
	a.email = "anu@THL.fi";	/* the same address, other case */
	a.lang = "sv";
	CHECK(store_subscriber_put(s, &a, 0, 12, &res) == 0 && res == SUB_UPDATED);
	CHECK(store_subscriber_remove(s, "ANU@thl.fi", 0, 13, &found) == 0 && found);
	/* an import must not resubscribe someone who left */
	CHECK(store_subscriber_put(s, &a, 0, 14, &res) == 0 && res == SUB_KEPT_UNSUBSCRIBED);
	n = 0;
	CHECK(store_subscriber_foreach(s, "active", count_cb, &n) == 0 && n == 0);
	CHECK(store_subscriber_put(s, &a, 1, 15, &res) == 0 && res == SUB_UPDATED);
	n = 0;
	CHECK(store_subscriber_foreach(s, "active", count_cb, &n) == 0 && n == 1);
	/* whoever leaves gets nothing still queued for them */
	{
		sqlite3_stmt *st;
		int64_t added = 0;

		CHECK(outbox_fill_subscribers(s, KIND_ANNOUNCEMENT, "x", 0x1f, 15, &added) == 0 &&
		    added == 1);
		CHECK(store_subscriber_remove(s, "anu@thl.fi", 0, 16, &found) == 0 && found);
		CHECK(store_prepare(s, "SELECT state, reply FROM outbox", &st) == 0 &&
		    store_step(s, st) == SQLITE_ROW &&
		    strcmp((const char *)sqlite3_column_text(st, 0), "cancelled") == 0);
		sqlite3_finalize(st);
	}
	CHECK(store_subscriber_remove(s, "anu@thl.fi", 1, 16, &found) == 0 && found);
	CHECK(store_subscriber_remove(s, "anu@thl.fi", 1, 17, &found) == 0 && !found);
	/* the purged one's id, the last, is never given again: her old
	 * /u/ links must not name whoever subscribes next (migration 14) */
	a.email = "bo@example.se";
	CHECK(store_subscriber_put(s, &a, 0, 18, &res) == 0 && res == SUB_ADDED);
	store_close(s);
	{
		buf_t got;

		buf_init(&got, 256);
		sql("s.db", "SELECT id FROM subscribers", &got);
		CHECK_STR(buf_str(&got), "2");
		buf_free(&got);
	}
}

static int
no_row(const outbox_row_t *row, void *arg)
{
	(void)row;
	(void)arg;
	return 0;
}

/* An address erased while its message is in flight: the relay's reply,
 * which names it, is not kept, and the sender sees that the row was
 * erased (it then writes no suppression of the address back) */
TEST(erased_in_flight_keeps_no_reply)
{
	store_t *s = open_fresh("e.db");
	json_t *req = json_pack("{s:s, s:s}", "op", "subscriber.erase", "email", "ann@example.fi");
	json_t *reply = NULL;
	buf_t got;

	CHECK(s != NULL && req != NULL);
	if (s == NULL || req == NULL)
		return;
	buf_init(&got, 1024);
	CHECK(store_begin(s) == 0 && outbox_add(s, KIND_DRAFT, "1", "ann@example.fi", 10) == 0 &&
	    outbox_add(s, KIND_DRAFT, "1", "bo@example.fi", 10) == 0 && store_commit(s) == 0);
	CHECK(outbox_claim(s, 10, 64, no_row, NULL) == 2);
	CHECK(privacy_run_erase(s, &conf, req, &reply) == 0);
	CHECK(outbox_erased(s, 1) == 1 && outbox_erased(s, 2) == 0);
	CHECK(outbox_result(s, 1, OUTBOX_FAILED, 550, "550 5.1.1 <ann@example.fi> unknown", 0,
	    11) == 0);
	CHECK(outbox_result(s, 2, OUTBOX_FAILED, 550, "550 5.1.1 <bo@example.fi> unknown", 0,
	    11) == 0);
	store_close(s);
	sql("e.db", "SELECT group_concat(recipient || ' ' || state || ' ' || reply, ', ')"
	    " FROM (SELECT * FROM outbox ORDER BY id)", &got);
	CHECK_STR(buf_str(&got), "erased/1 failed erased, "
	    "bo@example.fi failed 550 5.1.1 <bo@example.fi> unknown");
	json_decref(req);
	json_decref(reply);
	buf_free(&got);
}

/* a claim given back (a hold, a pause) is no attempt: the row's age for
 * smtp.max_age_hours starts at its first real one */
TEST(released_row_keeps_no_first_attempt)
{
	store_t *s = open_fresh("r.db");
	buf_t got;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	buf_init(&got, 1024);
	CHECK(store_begin(s) == 0 && outbox_add(s, KIND_DRAFT, "1", "ann@example.fi", 10) == 0 &&
	    store_commit(s) == 0);
	CHECK(outbox_claim(s, 10, 64, no_row, NULL) == 1);
	CHECK(store_begin(s) == 0 && outbox_release(s, 1, 11) == 0 && store_commit(s) == 0);
	/* three days later: claimed, deferred, claimed, given back */
	CHECK(outbox_claim(s, 259200, 64, no_row, NULL) == 1);
	CHECK(outbox_result(s, 1, OUTBOX_DEFERRED, 451, "451 4.3.0 later", 259300, 259201) == 0);
	CHECK(outbox_claim(s, 259300, 64, no_row, NULL) == 1);
	CHECK(store_begin(s) == 0 && outbox_release(s, 1, 259301) == 0 && store_commit(s) == 0);
	store_close(s);
	sql("r.db", "SELECT state || ' ' || attempts || ' ' || first_attempt FROM outbox", &got);
	CHECK_STR(buf_str(&got), "queued 1 259200");
	buf_free(&got);
}

TEST(full_database_fails_cleanly)
{
	store_t *s;
	char body[8192];
	buf_t err;
	store_put_t put;
	int rev, rc = 0, i;

	buf_init(&err, 256);
	conf_set(&conf, "store", "max_size_mb", "1", &err);
	s = open_fresh("f.db");
	CHECK(s != NULL);
	if (s == NULL)
		goto out;
	memset(body, 'x', sizeof body - 1);
	body[sizeof body - 1] = '\0';
	for (i = 0; i < 1000 && rc == 0; i++) {
		char id[32];

		snprintf(id, sizeof id, "e%d", i);
		if ((rc = store_begin(s)) == 0 &&
		    (rc = store_event_put(s, id, "news", body, 31, 0, 0, i, &put, &rev)) == 0)
			rc = store_commit(s);
		if (rc)
			store_rollback(s);
	}
	CHECK(rc == -1 && store_full(s));
	CHECK(i > 10 && i < 1000);
	store_close(s);
out:
	conf_set(&conf, "store", "max_size_mb", "0", &err);
	buf_free(&err);
}

TEST(disk_space_counts_the_wal_and_keeps_the_reserve)
{
	store_space_t sp;
	store_t *s;
	char body[8192], id[32];
	buf_t err;
	store_put_t put;
	int rev, i, rc = 0, between = 0;

	buf_init(&err, 256);
	/* no cap, no reserve: the WAL budget is the sender's old 32 MiB */
	conf_set(&conf, "store", "reserve_mb", "0", &err);
	s = open_fresh("w0.db");
	CHECK(s && store_space(s, 0, &sp) == STORE_SPACE_OK);
	CHECK(sp.wal_budget == (int64_t)32 << 20 && sp.cap == 0 && sp.reserve == 0);
	CHECK(sp.projected >= sp.logical + sp.wal_budget && sp.avail > 0);
	store_close(s);
	/* a reserve no disk has: low, the reserve named; W is half of it at
	 * most, so 32 MiB still */
	conf_set(&conf, "store", "reserve_mb", "1073741824", &err);
	s = open_fresh("w1.db");
	CHECK(s && store_space(s, 0, &sp) == STORE_SPACE_LOW);
	CHECK(sp.limit && strcmp(sp.limit, "store.reserve_mb") == 0 && sp.room < 0);
	store_close(s);
	/* a 2 MiB cap: W is a quarter, 512 KiB; the database file gets the
	 * rest; the projection reaches the cap before SQLite refuses a page */
	conf_set(&conf, "store", "reserve_mb", "0", &err);
	conf_set(&conf, "store", "max_size_mb", "2", &err);
	s = open_fresh("w2.db");
	CHECK(s && store_space(s, 0, &sp) == STORE_SPACE_OK);
	CHECK(sp.wal_budget == 512 << 10 && sp.cap == 2 << 20);
	memset(body, 'x', sizeof body - 1);
	body[sizeof body - 1] = '\0';
	for (i = 0; s && i < 1000 && rc == 0; i++) {
		snprintf(id, sizeof id, "e%d", i);
		if ((rc = store_begin(s)) == 0 &&
		    (rc = store_event_put(s, id, "news", body, 31, 0, 0, i, &put, &rev)) == 0)
			rc = store_commit(s);
		if (rc)
			store_rollback(s);
		/* a store that was low stays low until it has 1 MiB of room */
		if (rc == 0 && store_space(s, 0, &sp) == STORE_SPACE_OK &&
		    sp.room < STORE_SPACE_RESUME) {
			between++;
			CHECK(store_space(s, 1, &sp) == STORE_SPACE_LOW);
		}
		CHECK(sp.db + sp.wal + sp.shm <= 2 << 20);
	}
	CHECK(rc == -1 && store_full(s));
	CHECK(between > 0);
	CHECK(s && store_space(s, 0, &sp) == STORE_SPACE_LOW);
	CHECK(sp.limit && strcmp(sp.limit, "store.max_size_mb") == 0);
	CHECK(sp.logical <= (2 << 20) - (512 << 10));
	/* the checkpoint copies the WAL back and cuts it to nothing */
	CHECK(s && store_checkpoint(s) == 0 && store_space(s, 1, &sp) == STORE_SPACE_LOW &&
	    sp.wal == 0 && sp.db == sp.logical);
	store_close(s);
	conf_set(&conf, "store", "max_size_mb", "0", &err);
	conf_set(&conf, "store", "reserve_mb", "64", &err);
	buf_free(&err);
}

TEST(config_file_errors_name_the_line)
{
	char path[256];
	conf_t c;
	buf_t err;
	FILE *fp;

	snprintf(path, sizeof path, "%s/t.conf", dir);
	fp = fopen(path, "w");
	fputs("; comment\n[store]\npath = /tmp/x.db\n\n[intake]\nbatchmax = 10\n", fp);
	fclose(fp);
	conf_init(&c);
	buf_init(&err, 256);
	CHECK(conf_load(&c, path, &err) == -1);
	CHECK(strstr(buf_str(&err), "t.conf:6: unknown setting [intake] batchmax") != NULL);
	CHECK_STR(c.db_path, "/tmp/x.db");
	fp = fopen(path, "w");
	fputs("[intake]\nmax_event_size = 12k\n", fp);
	fclose(fp);
	buf_reset(&err);
	CHECK(conf_load(&c, path, &err) == -1);
	CHECK(strstr(buf_str(&err), ":2: intake.max_event_size") != NULL);
	fp = fopen(path, "w");
	fputs("[intake]\nendpoint = ipc:///tmp/t.sock\nbatch_max = 64 ; inline\n", fp);
	fclose(fp);
	buf_reset(&err);
	CHECK(conf_load(&c, path, &err) == 0);
	CHECK_STR(c.endpoint, "ipc:///tmp/t.sock");
	CHECK(c.batch_max == 64);
	buf_reset(&err);
	CHECK(conf_load(&c, "/nonexistent/tiedote.conf", &err) == -1);
	/* what libinih would misread is refused, naming the line: a line of
	 * 200 bytes or more (read in pieces), an indented line (taken as the
	 * previous value's continuation: it replaced the value) */
	fp = fopen(path, "w");
	fprintf(fp, "[bulletin]\neditors = %0*d@thl.fi\n", 190, 0);
	fclose(fp);
	buf_reset(&err);
	CHECK(conf_load(&c, path, &err) == -1 && strstr(buf_str(&err), "t.conf:2: longer than"));
	fp = fopen(path, "w");
	fputs("[intake]\nbatch_max = 64\n  ; an indented comment is fine\n  batch_max = 8\n", fp);
	fclose(fp);
	buf_reset(&err);
	CHECK(conf_load(&c, path, &err) == -1 && strstr(buf_str(&err), "t.conf:4: starts with"));
	conf_free(&c);
	buf_free(&err);
}

int
main(void)
{
	char cmd[300];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	conf_init(&conf);
	RUN(migrates_and_reopens);
	RUN(migrates_outbox_from_schema_3);
	RUN(migrates_rebuilt_tables_from_schema_12);
	RUN(no_ephemeral_per_row);
	RUN(revisions_and_duplicates);
	RUN(subscribers_lifecycle);
	RUN(erased_in_flight_keeps_no_reply);
	RUN(released_row_keeps_no_first_attempt);
	RUN(full_database_fails_cleanly);
	RUN(disk_space_counts_the_wal_and_keeps_the_reserve);
	RUN(config_file_errors_name_the_line);
	conf_free(&conf);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	rc = system(cmd);
	(void)rc;
	return TEST_DONE();
}
