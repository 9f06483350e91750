/*
 * project - projects and contacts; contract in project.h.
 */
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "datefmt.h"
#include "event.h"
#include "project.h"
#include "region.h"
#include "util.h"

int
project_check(const project_t *p, buf_t *err)
{
	event_err_t e;
	const char *why;

	if (event_id_check(p->id, &e) < 0) {
		buf_notef(err, "project %s", e.message);
		return -1;
	}
	if (p->name == NULL || *p->name == '\0' || strlen(p->name) > 300) {
		buf_notef(err, "name: 1-300 bytes required");
		return -1;
	}
	for (const char *c = p->name, *end = c + strlen(c); *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			buf_notef(err, "name: control characters are not allowed");
			return -1;
		}
		/* the name goes into reminders' subjects and pages */
		if (utf8_bidi_control(c, (size_t)(end - c))) {
			buf_notef(err, "name: bidirectional control characters (U+202A-U+202E,"
			    " U+2066-U+2069) are not allowed");
			return -1;
		}
	}
	if (!datefmt_lang_valid(p->lang)) {
		buf_notef(err, "lang: \"%s\" is not fi, sv or en", p->lang);
		return -1;
	}
	if (p->regions == 0 || (p->regions & ~REGION_ALL) != 0) {
		buf_notef(err, "regions: at least one of HYKS, TYKS, TAYS, KYS, OYS or all");
		return -1;
	}
	if (p->ncontacts == 0 || p->ncontacts > PROJECT_CONTACTS_MAX) {
		buf_notef(err, "contacts: 1-%d addresses required", PROJECT_CONTACTS_MAX);
		return -1;
	}
	for (size_t i = 0; i < p->ncontacts; i++) {
		if (addr_check(p->contacts[i], &why) < 0) {
			buf_notef(err, "contact \"%s\": %s", p->contacts[i], why);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(p->contacts[i], p->contacts[j]) == 0) {
				buf_notef(err, "contact \"%s\": given twice", p->contacts[i]);
				return -1;
			}
	}
	return 0;
}

int
project_put(store_t *s, const project_t *p, int64_t now, int *created)
{
	static const char put_sql[] = "INSERT INTO projects (id, name, lang, regions,"
	    " created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (id) DO UPDATE"
	    " SET name = ?2, lang = ?3, regions = ?4, updated = ?5";
	static const char had_sql[] = "SELECT 1 FROM projects WHERE id = ?1";
	static const char keep_sql[] = "DELETE FROM contacts WHERE project_id = ?1"
	    " AND email NOT IN (SELECT value FROM json_each(?2))";
	static const char add_sql[] = "INSERT OR IGNORE INTO contacts (project_id, email)"
	    " VALUES (?1, ?2)";
	sqlite3_stmt *st;
	json_t *list = json_array();
	char *emails = NULL;
	int64_t one;
	int rc = -1;

	for (size_t i = 0; i < p->ncontacts; i++)
		json_array_append_new(list, json_string(p->contacts[i]));
	emails = json_dumps(list, JSON_COMPACT);
	if ((st = store_cached(s, had_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	if ((*created = store_int(s, st, &one)) < 0 || (st = store_cached(s, put_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->lang, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)p->regions);
	sqlite3_bind_int64(st, 5, now);
	rc = store_run(s, st);
	if (rc < 0 || (st = store_cached(s, keep_sql)) == NULL)
		goto fail;
	/* contacts that stay keep their id, so their opt-out links stay valid */
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, emails, -1, SQLITE_STATIC);
	rc = store_run(s, st);
	if (rc < 0 || (st = store_cached(s, add_sql)) == NULL)
		goto fail;
	for (size_t i = 0; i < p->ncontacts; i++) {
		sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, p->contacts[i], -1, SQLITE_STATIC);
		rc = store_run(s, st);
		if (rc < 0)
			goto fail;
	}
	goto out;
fail:
	rc = -1;
out:
	json_decref(list);
	free(emails);
	return rc;
}

int
project_remove(store_t *s, const char *id, int *found)
{
	static const char sql[] = "DELETE FROM projects WHERE id = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = store_run(s, st);
	*found = rc == 0 && store_changes(s) > 0;
	return rc;
}

/* project_json - the row at st's columns 0-5 (id, name, lang, regions,
 * created, updated) as an object with an empty contact list */
static json_t *
project_json(sqlite3_stmt *st)
{
	buf_t r;
	json_t *o;

	buf_init(&r, 64);
	region_format((unsigned)sqlite3_column_int(st, 3), &r);
	o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:[]}",
	    "id", (const char *)sqlite3_column_text(st, 0),
	    "name", (const char *)sqlite3_column_text(st, 1),
	    "lang", (const char *)sqlite3_column_text(st, 2),
	    "regions", buf_str(&r),
	    "created", (json_int_t)sqlite3_column_int64(st, 4),
	    "updated", (json_int_t)sqlite3_column_int64(st, 5), "contacts");
	buf_free(&r);
	return o;
}

/* list_row - a store_rows() callback: a project's row (one per contact)
 * into the listing, a new object when the project changes */
static int
list_row(sqlite3_stmt *st, void *out)
{
	const char *id = (const char *)sqlite3_column_text(st, 0);
	json_t *cur = json_array_get(out, json_array_size(out) - 1);

	if (cur == NULL || strcmp(id, json_string_value(json_object_get(cur, "id"))) != 0) {
		cur = project_json(st);
		json_array_append_new(out, cur);
	}
	if (sqlite3_column_type(st, 6) != SQLITE_NULL)
		json_array_append_new(json_object_get(cur, "contacts"),
		    json_string((const char *)sqlite3_column_text(st, 6)));
	return 0;
}

/* contact_row, sent_row - store_rows() callbacks of project_show() */
static int
contact_row(sqlite3_stmt *st, void *contacts)
{
	json_array_append_new(contacts, json_string((const char *)sqlite3_column_text(st, 0)));
	return 0;
}

static int
sent_row(sqlite3_stmt *st, void *sent)
{
	json_array_append_new(sent, json_pack("{s:s, s:i, s:I, s:I, s:s, s:s, s:s}",
	    "deadline", (const char *)sqlite3_column_text(st, 0),
	    "days", sqlite3_column_int(st, 1),
	    "due", (json_int_t)sqlite3_column_int64(st, 2),
	    "fired", (json_int_t)sqlite3_column_int64(st, 3),
	    "recipient", (const char *)sqlite3_column_text(st, 4),
	    "state", (const char *)sqlite3_column_text(st, 5),
	    "reply", (const char *)sqlite3_column_text(st, 6)));
	return 0;
}

int
project_list(store_t *s, unsigned regions, json_t **out)
{
	static const char sql[] = "SELECT p.id, p.name, p.lang, p.regions, p.created,"
	    " p.updated, c.email FROM projects p LEFT JOIN contacts c ON c.project_id = p.id"
	    " WHERE p.regions & ?1 ORDER BY p.id, c.email";
	sqlite3_stmt *st;

	*out = json_array();
	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, (int)regions);
	return store_rows(s, st, list_row, *out);
}

int
project_show(store_t *s, const char *id, json_t **out)
{
	static const char sql[] = "SELECT id, name, lang, regions, created, updated"
	    " FROM projects WHERE id = ?1";
	static const char contacts_sql[] = "SELECT email FROM contacts WHERE project_id = ?1"
	    " ORDER BY email";
	static const char sent_sql[] = "SELECT r.event_id, r.days, r.due, r.fired, o.recipient,"
	    " o.state, coalesce(o.reply, '') FROM outbox o"
	    " JOIN contacts c ON c.id = o.contact_id"
	    " JOIN reminder_sends r ON o.kind = 'reminder' AND o.ref = CAST(r.id AS TEXT)"
	    " WHERE c.project_id = ?1 ORDER BY r.id DESC, o.recipient LIMIT 100";
	sqlite3_stmt *st;
	json_t *sent;
	int step, rc = -1;

	*out = NULL;
	if ((st = store_cached(s, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((step = store_step(s, st)) == SQLITE_ROW)
		*out = project_json(st);
	sqlite3_reset(st);
	if (step != SQLITE_ROW)
		return step == SQLITE_DONE ? 1 : -1;
	if ((st = store_cached(s, contacts_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (store_rows(s, st, contact_row, json_object_get(*out, "contacts")) < 0 ||
	    (st = store_cached(s, sent_sql)) == NULL)
		goto out;
	sent = json_array();
	json_object_set_new(*out, "reminders", sent);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = store_rows(s, st, sent_row, sent);
out:
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}
