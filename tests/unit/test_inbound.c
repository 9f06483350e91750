/* test_inbound - the policy on a real store: a hard bounce suppresses at
 * once; soft ones at inbound.soft_limit within soft_days, a delivery
 * between starting the count again; sender-side ones never; a forged
 * token acts on nobody; the address fallback with the Message-ID's issue;
 * a POP3 poller's UIDL recorded with its message, in one transaction, and
 * never stored twice; pruning after keep_days keeps the outcomes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "clock.h"
#include "conf.h"
#include "inbound.h"
#include "store.h"
#include "test.h"
#include "token.h"
#include "util.h"

static char dir[] = "/tmp/tiedote-inbound.XXXXXX";
static store_t *s;
static conf_t c;
static unsigned char key[TOKEN_KEYBYTES];
static int64_t now = 1584430000;	/* 2020-03-17 */

static void
at(int64_t t)
{
	char v[32];

	snprintf(v, sizeof v, "@%lld", (long long)t);
	setenv("TIEDOTE_NOW", v, 1);
}

static int64_t
num(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;
	char path[300];

	snprintf(path, sizeof path, "%s/t.db", dir);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) ==
	    SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
exec(const char *sql)
{
	char *e = NULL;
	char path[300];
	sqlite3 *db;

	snprintf(path, sizeof path, "%s/t.db", dir);
	sqlite3_open(path, &db);
	if (sqlite3_exec(db, sql, NULL, NULL, &e) != SQLITE_OK)
		fprintf(stderr, "  %s: %s\n", sql, e);
	sqlite3_free(e);
	sqlite3_close(db);
}

/* an outbox row of issue 1 to addr, sent at t: its id */
static int64_t
sent(const char *addr, int64_t t)
{
	char sql[512];

	snprintf(sql, sizeof sql, "INSERT INTO outbox (kind, ref, recipient, state, created,"
	    " updated) VALUES ('bulletin', '%lld', '%s', 'sent', %lld, %lld)", (long long)t, addr,
	    (long long)t, (long long)t);
	exec(sql);
	return num("SELECT max(id) FROM outbox");
}

static void
dsn(buf_t *m, const char *addr, const char *status, const char *diag)
{
	buf_reset(m);
	PUT(buf_printf(m, "From: MAILER-DAEMON@mx.example\nSubject: Undelivered Mail\n"
	    "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;"
	    " boundary=B\n\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
	    "Final-Recipient: rfc822; %s\nAction: failed\nStatus: %s\nDiagnostic-Code: smtp; %s\n"
	    "\n--B\nContent-Type: text/rfc822-headers\n\nTo: %s\n"
	    "Message-ID: <2020-01.0123456789abcdef0123@list.example>\n\n--B--\n",
	    addr, status, diag, addr));
}

/* take - a report to bounces+TOKEN(outbox id) (0: no token) */
static int
take(int64_t outbox_id, const char *addr, const char *status, const char *diag,
    inbound_result_t *res)
{
	buf_t m, env, err;
	int rc;

	buf_init(&m, 1 << 16);
	buf_init(&env, 256);
	buf_init(&err, 1024);
	dsn(&m, addr, status, diag);
	if (outbox_id) {
		PUT(buf_adds(&env, "bounces+"));
		PUT(token_make_local(key, TOKEN_BOUNCE, outbox_id, &env));
		PUT(buf_adds(&env, "@tiedote.example"));
	}
	rc = inbound_accept(s, &c, VIA_DELIVER, env.len ? buf_str(&env) : NULL, buf_str(&m),
	    m.len, m.len, res, &err);
	if (rc < 0)
		fprintf(stderr, "  %s\n", buf_str(&err));
	buf_free(&m);
	buf_free(&env);
	buf_free(&err);
	return rc;
}

static const char *
status_of(const char *email)
{
	static char v[32];
	char sql[256];
	int64_t n;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM suppressions WHERE email = '%s'", email);
	n = num(sql);
	snprintf(v, sizeof v, "%s", n > 0 ? "suppressed" : n == 0 ? "active" : "?");
	return v;
}

TEST(policy)
{
	inbound_result_t res;
	int64_t o1, o2, o3, o4, o5;
	const int64_t day = 86400;

	/* hard, by token: suppressed at once, whatever address the report shows */
	o1 = sent("gone@example.net", now - 3 * day);
	at(now);
	CHECK(take(o1, "forwarded@elsewhere.example", "5.1.1", "550 5.1.1 User unknown",
	    &res) == 0);
	CHECK(res.kind == KIND_BOUNCE);
	CHECK_STR(status_of("gone@example.net"), "suppressed");
	CHECK_STR(status_of("forwarded@elsewhere.example"), "active");

	/* soft: 1 of 2; a delivery between (o3, no bounce names it); then
	 * two more: suppressed at the second of them */
	o2 = sent("full@example.org", now - 10 * day);
	CHECK(take(o2, "full@example.org", "4.2.2", "452 4.2.2 Mailbox full", &res) == 0);
	CHECK(strstr(res.action, "1 of 2") != NULL);
	o3 = sent("full@example.org", now - 5 * day);
	(void)o3;
	o4 = sent("full@example.org", now - 4 * day);
	at(now + 1);
	CHECK(take(o4, "full@example.org", "4.2.2", "452 4.2.2 Mailbox full", &res) == 0);
	CHECK(strstr(res.action, "1 of 2") != NULL);
	CHECK_STR(status_of("full@example.org"), "active");
	o5 = sent("full@example.org", now - 3 * day);
	at(now + 2);
	CHECK(take(o5, "full@example.org", "4.2.2", "452 4.2.2 Mailbox full", &res) == 0);
	CHECK(strstr(res.action, "2 of 2, suppressed") != NULL);
	CHECK_STR(status_of("full@example.org"), "suppressed");
	CHECK(num("SELECT count(*) FROM inbound_outcomes WHERE suppressed = 1") == 2);

	/* the window: soft bounces older than soft_days do not count */
	o1 = sent("slow@example.org", now - 40 * day);
	at(now - 35 * day);
	CHECK(take(o1, "slow@example.org", "4.2.2", "452 4.2.2 Mailbox full", &res) == 0);
	o2 = sent("slow@example.org", now - 2 * day);
	at(now);
	CHECK(take(o2, "slow@example.org", "4.2.2", "452 4.2.2 Mailbox full", &res) == 0);
	CHECK(strstr(res.action, "1 of 2") != NULL);

	/* messages, not reports: a second report about one message (a relay's
	 * next delay warning) does not count again */
	o1 = sent("twice@example.org", now - 2 * day);
	CHECK(take(o1, "twice@example.org", "4.2.2", "452 4.2.2 Mailbox full", &res) == 0);
	CHECK(strstr(res.action, "1 of 2") != NULL);
	at(now + 3);
	CHECK(take(o1, "twice@example.org", "4.2.2", "452 4.2.2 Mailbox full", &res) == 0);
	CHECK(strstr(res.action, "1 of 2") != NULL);
	CHECK_STR(status_of("twice@example.org"), "active");
	at(now);

	/* the action names the address and is cut at 127 octets: cut inside
	 * a character, it must still be UTF-8, or its JSON reply to
	 * inbound.deliver is not made (it crashed the worker after the commit) */
	{
		char addr[200];

		memset(addr, 'x', 100);
		addr[100] = '\0';
		for (int i = 0; i < 20; i++)
			strcat(addr, "\xc3\xa4");	/* ä */
		strcat(addr, "@example.fi");
		o1 = sent(addr, now - day);
		CHECK(take(o1, addr, "5.1.1", "550 5.1.1 User unknown", &res) == 0);
		CHECK(strlen(res.action) > 100 && utf8_valid(res.action, strlen(res.action)));
	}

	/* sender-side: counted for the operator, never against the reader */
	o1 = sent("fine@example.com", now - day);
	CHECK(take(o1, "fine@example.com", "5.7.1", "554 5.7.1 Client host [192.0.2.1] blocked"
	    " using zen.spamhaus.org", &res) == 0);
	CHECK(strstr(res.action, "sender-side") != NULL);
	CHECK_STR(status_of("fine@example.com"), "active");
	CHECK(num("SELECT count(*) FROM inbound_outcomes WHERE class = 'sender'") == 1);

	/* a forged token: logged, ignored; the report's address then decides */
	{
		buf_t m, err;

		buf_init(&m, 1 << 16);
		buf_init(&err, 1024);
		dsn(&m, "nobody@never.example", "5.1.1", "550 5.1.1 User unknown");
		CHECK(inbound_accept(s, &c, VIA_LMTP, "bounces+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "@tiedote.example", buf_str(&m), m.len, m.len, &res, &err) == 0);
		CHECK(num("SELECT count(*) FROM inbound WHERE token = 'forged'") == 1);
		CHECK(strstr(res.action, "not ours") != NULL);
		buf_free(&m);
		buf_free(&err);
	}

	/* no token: by address, and the Message-ID's issue (2020/01) */
	exec("INSERT INTO issues (number, period_start, period_end, state, created, updated)"
	    " VALUES ('2020/01', 0, 1, 'sent', 0, 0)");
	{
		char sql[256];
		int64_t issue = num("SELECT id FROM issues WHERE number = '2020/01'");

		snprintf(sql, sizeof sql, "INSERT INTO outbox (kind, ref, recipient, state, created,"
		    " updated) VALUES ('bulletin', '%lld', 'old@example.fi', 'sent', 1, 1)",
		    (long long)issue);
		exec(sql);
		sent("old@example.fi", now - day);	/* a later message to the same address */
		CHECK(take(0, "old@example.fi", "5.1.1", "550 5.1.1 no such user", &res) == 0);
		CHECK_STR(status_of("old@example.fi"), "suppressed");
		snprintf(sql, sizeof sql, "SELECT count(*) FROM inbound_outcomes WHERE email ="
		    " 'old@example.fi' AND ref = '%lld'", (long long)issue);
		CHECK(num(sql) == 1);
	}
}

/* a project contact's reminder token mailed to unsubscribe+TOKEN@: the
 * address opted out like the web's /p/TOKEN POST (contact_optouts, its
 * queued reminders cancelled); a contact that is gone is kept for staff */
TEST(contact_optout)
{
	inbound_result_t res;
	buf_t m, env, err;
	int64_t contact;

	exec("INSERT INTO projects (id, name, lang, regions, created, updated)"
	    " VALUES ('p1', 'Project', 'fi', 1, 0, 0)");
	exec("INSERT INTO contacts (project_id, email) VALUES ('p1', 'lead@example.org')");
	contact = num("SELECT id FROM contacts WHERE email = 'lead@example.org'");
	exec("INSERT INTO outbox (kind, ref, recipient, state, created, updated, contact_id)"
	    " SELECT 'reminder', 'r1', 'lead@example.org', 'queued', 1, 1, id FROM contacts"
	    " WHERE email = 'lead@example.org'");
	CHECK(num("SELECT count(*) FROM outbox WHERE kind = 'reminder' AND state = 'queued'")
	    == 1);
	buf_init(&m, 4096);
	buf_init(&env, 256);
	buf_init(&err, 1024);
	PUT(buf_adds(&m, "From: Lead <lead@example.org>\nSubject: unsubscribe\n\nplease stop\n"));
	PUT(buf_adds(&env, "unsubscribe+"));
	PUT(token_make_local(key, TOKEN_CONTACT, contact, &env));
	PUT(buf_adds(&env, "@tiedote.example"));
	CHECK(inbound_accept(s, &c, VIA_DELIVER, buf_str(&env), buf_str(&m), m.len, m.len, &res,
	    &err) == 0);
	CHECK(res.kind == KIND_UNSUBSCRIBE);
	CHECK(strstr(res.action, "opted out of reminders") != NULL);
	CHECK(num("SELECT count(*) FROM contact_optouts WHERE email = 'lead@example.org'") == 1);
	CHECK(num("SELECT count(*) FROM outbox WHERE kind = 'reminder' AND state = 'queued'")
	    == 0);
	/* the same token again, the contact since removed: nothing to do */
	exec("DELETE FROM contacts WHERE email = 'lead@example.org'");
	CHECK(inbound_accept(s, &c, VIA_DELIVER, buf_str(&env), buf_str(&m), m.len, m.len, &res,
	    &err) == 0);
	CHECK(strstr(res.action, "a contact that is gone") != NULL);
	buf_free(&m);
	buf_free(&env);
	buf_free(&err);
}

TEST(uidl_record)
{
	static const char msg[] = "From: Someone <someone@example.net>\nSubject: A question\n\n"
	    "How do I change my regions?\n";
	static const char mb[] = "pop3s://tiedote@mail.example:995";
	json_t *list = json_pack("[s, s]", "A1", "B2"), *taken = NULL;
	inbound_result_t res, again;
	int64_t before, pruned = -1, id;
	buf_t err;
	int dup = -1;

	CHECK(inbound_uidl_ok("1") && inbound_uidl_ok("0000000159d1bc3a") &&
	    inbound_uidl_ok("~!\"#"));
	CHECK(!inbound_uidl_ok("") && !inbound_uidl_ok("a b") && !inbound_uidl_ok("\x7f") &&
	    !inbound_uidl_ok("\xc3\xa4"));
	CHECK(inbound_uidl_ok("0123456789012345678901234567890123456789012345678901234567890123"
	    "456789") && !inbound_uidl_ok("0123456789012345678901234567890123456789012345678901"
	    "2345678901234567890"));
	buf_init(&err, 1024);
	before = num("SELECT count(*) FROM inbound");
	CHECK(inbound_accept_uidl(s, &c, mb, "A1", msg, sizeof msg - 1, sizeof msg - 1, &res,
	    &dup, &err) == 0);
	CHECK(dup == 0 && res.kind == KIND_OTHER);
	id = res.id;
	CHECK(num("SELECT count(*) FROM mailbox_uidls WHERE mailbox = "
	    "'pop3s://tiedote@mail.example:995' AND uidl = 'A1' AND kind = 'other'") == 1);
	CHECK(num("SELECT inbound_id FROM mailbox_uidls WHERE uidl = 'A1'") == id);
	/* sent again (the reply was lost): answered, not stored */
	CHECK(inbound_accept_uidl(s, &c, mb, "A1", msg, sizeof msg - 1, sizeof msg - 1, &again,
	    &dup, &err) == 0);
	CHECK(dup == 1 && again.id == id && again.kind == KIND_OTHER);
	CHECK(strncmp(again.action, "already taken: ", 15) == 0);
	CHECK(num("SELECT count(*) FROM inbound") == before + 1);
	/* the same UIDL of another mailbox is another message */
	CHECK(inbound_accept_uidl(s, &c, "pop3s://other@mail.example:995", "A1", msg,
	    sizeof msg - 1, sizeof msg - 1, &res, &dup, &err) == 0);
	CHECK(dup == 0 && res.id != id);
	/* the record cannot be written: the message is not stored either */
	exec("CREATE TRIGGER no_record BEFORE INSERT ON mailbox_uidls BEGIN"
	    " SELECT RAISE(ABORT, 'no'); END");
	CHECK(inbound_accept_uidl(s, &c, mb, "C3", msg, sizeof msg - 1, sizeof msg - 1, &res,
	    &dup, &err) == -1);
	CHECK(strstr(buf_str(&err), "nothing was written") != NULL);
	CHECK(num("SELECT count(*) FROM inbound") == before + 2);
	exec("DROP TRIGGER no_record");

	/* sync: what is recorded among the listed; pruned only with the whole list */
	CHECK(inbound_uidl_sync(s, mb, list, 1, &taken, &pruned, &err) == 0);
	CHECK(pruned == 0 && json_object_size(taken) == 1 &&
	    strcmp(json_string_value(json_object_get(taken, "A1")), "other") == 0);
	json_decref(taken);
	json_array_remove(list, 0);
	CHECK(inbound_uidl_sync(s, mb, list, 0, &taken, &pruned, &err) == 0);
	CHECK(pruned == 0 && json_object_size(taken) == 0);
	CHECK(num("SELECT count(*) FROM mailbox_uidls WHERE uidl = 'A1'") == 2);
	json_decref(taken);
	CHECK(inbound_uidl_sync(s, mb, list, 1, &taken, &pruned, &err) == 0);
	CHECK(pruned == 1 && json_object_size(taken) == 0);
	/* the other mailbox's row stays */
	CHECK(num("SELECT count(*) FROM mailbox_uidls WHERE uidl = 'A1'") == 1);
	json_decref(taken);
	json_decref(list);
	buf_free(&err);
}

TEST(prune)
{
	int64_t before = num("SELECT count(*) FROM inbound_outcomes"), n;

	CHECK(num("SELECT count(*) FROM inbound") > 0);
	at(now + 2 * 86400);
	/* keep_days 30: the one received 35 days before now */
	CHECK(inbound_prune(s, &c, now + 2 * 86400) == 1);
	n = num("SELECT count(*) FROM inbound");
	CHECK(inbound_prune(s, &c, now + 40 * 86400) == n);
	CHECK(num("SELECT count(*) FROM inbound") == 0);
	CHECK(num("SELECT count(*) FROM inbound_outcomes") == before);
}

/* fill - n outbox rows of the issue numbered 2020/01 to other readers */
static void
fill(int from, int n)
{
	char sql[512];

	snprintf(sql, sizeof sql, "INSERT INTO outbox (kind, ref, recipient, state, created,"
	    " updated) WITH RECURSIVE k(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM k"
	    " WHERE i < %d) SELECT 'bulletin', (SELECT id FROM issues WHERE number = '2020/01'),"
	    " 'reader' || i || '@example.org', 'sent', 1, 1 FROM k", from, from + n - 1);
	exec(sql);
}

static int
count_step(void *arg)
{
	(*(long *)arg)++;
	return 0;
}

/* steps - SQLite's virtual machine steps (in 16s) that a hard bounce
 * to addr without a token costs, the address spelled as given */
static long
steps(const char *addr, const char *spelled)
{
	inbound_result_t res;
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	char sql[512];
	long n = 0;

	snprintf(sql, sizeof sql, "INSERT INTO outbox (kind, ref, recipient, state, created,"
	    " updated) VALUES ('bulletin', (SELECT id FROM issues WHERE number = '2020/01'),"
	    " '%s', 'sent', 2, 2)", addr);
	exec(sql);
	CHECK(store_prepare(s, "SELECT 1", &st) == 0);
	db = sqlite3_db_handle(st);
	sqlite3_finalize(st);
	sqlite3_progress_handler(db, 16, count_step, &n);
	CHECK(take(0, spelled, "5.1.1", "550 5.1.1 no such user", &res) == 0);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	CHECK_STR(status_of(addr), "suppressed");
	snprintf(sql, sizeof sql, "SELECT count(*) FROM inbound_outcomes o JOIN outbox m ON"
	    " m.id = o.outbox_id WHERE m.recipient = '%s'", addr);
	CHECK(num(sql) == 1);
	return n;
}

/* a report without a token finds the outbox row of its address (any
 * case) through an index: what it costs does not grow with the outbox,
 * as it would if either lookup (in the Message-ID's issue, then the
 * latest) walked the issue or the table: 200 rows, then 40,200 */
TEST(lookup_scale)
{
	long small, big;

	fill(1, 200);
	small = steps("Scale.One@Example.fi", "scale.one@example.FI");
	fill(1000, 40000);
	big = steps("scale.two@example.fi", "SCALE.TWO@EXAMPLE.FI");
	CHECK(small > 0);
	CHECK(big < small + small / 2);
	if (big >= small + small / 2)
		fprintf(stderr, "  %ld steps with 200 rows, %ld with 40,200\n", small, big);
}

int
main(void)
{
	buf_t err;
	char path[300], cmd[320];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	at(now);
	conf_init(&c);
	buf_init(&err, 1024);
	snprintf(path, sizeof path, "%s/t.db", dir);
	if (conf_set(&c, "store", "path", path, &err) < 0 ||
	    conf_set(&c, "inbound", "soft_limit", "2", &err) < 0 ||
	    conf_set(&c, "inbound", "keep_days", "30", &err) < 0 ||
	    store_open(&c, &s, &err) < 0 || token_key(s, key, &err) < 0) {
		fprintf(stderr, "%s\n", buf_str(&err));
		return 1;
	}
	RUN(policy);
	RUN(contact_optout);
	RUN(uidl_record);
	RUN(lookup_scale);
	RUN(prune);
	store_close(s);
	conf_free(&c);
	buf_free(&err);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	rc = system(cmd);
	(void)rc;
	return TEST_DONE();
}
