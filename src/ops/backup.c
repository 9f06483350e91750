/*
 * backup - online backup and check of the database; contract in backup.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "backup.h"
#include "store.h"
#include "util.h"

#define BACKUP_BUSY_MS	5000	/* a reader waits only while the WAL is recovered */
#define CHECK_PROBLEMS	100	/* integrity_check's rows reported at most */

/* open_ro - a raw read-only handle, the one place outside store.c that
 * prepares SQL itself: backup and check read a file that may not be ours
 * (a copy, a damaged file), and store_open() would migrate or refuse it */
static int
open_ro(const char *path, sqlite3 **db, buf_t *err)
{
	/* no SQLITE_OPEN_CREATE: a mistyped path is an error, not a new file */
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		buf_notef(err, "%s: %s", path, *db ? sqlite3_errmsg(*db) : "cannot open");
		return -1;
	}
	sqlite3_busy_timeout(*db, BACKUP_BUSY_MS);
	return 0;
}

/* sync_path - fsync a file or directory by name */
static int
sync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

backup_rc_t
backup_copy(const char *dbpath, const char *file, buf_t *err)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b = NULL;
	char *tmp = NULL, *dir = xstrdup(file);
	backup_rc_t rc = BACKUP_FAILED;
	int step, fd;

	if (access(file, F_OK) == 0) {
		buf_notef(err, "%s exists; a backup never overwrites a file", file);
		rc = BACKUP_EXISTS;
		goto out;
	}
	if (asprintf(&tmp, "%s.tmp-%ld", file, (long)getpid()) < 0)
		fatal("out of memory");
	if (open_ro(dbpath, &src, err) < 0) {
		rc = BACKUP_NOINPUT;
		goto out;
	}
	(void)unlink(tmp);	/* left by a backup of ours killed midway */
	/* made here, not by SQLite: mode 0600 whatever the umask (the copy
	 * holds every address and the token key), and never through a
	 * symbolic link someone left at the name; an empty file is an empty
	 * database to SQLite */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		buf_notef(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		/* cannot be created (no such directory, no permission): an I/O
		 * failure, not the file that exists */
		buf_notef(err, "%s: %s", tmp, dst ? sqlite3_errmsg(dst) : "cannot create");
		goto out;
	}
	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		buf_notef(err, "backup of %s: %s", dbpath, sqlite3_errmsg(dst));
		goto out;
	}
	/* -1: every page in one step, one read transaction: one commit's state */
	step = sqlite3_backup_step(b, -1);
	if (sqlite3_backup_finish(b) != SQLITE_OK || step != SQLITE_DONE) {
		b = NULL;
		buf_notef(err, "backup of %s: %s", dbpath, sqlite3_errmsg(dst));
		if (step == SQLITE_NOTADB)
			rc = BACKUP_NOINPUT;	/* the source: a file not SQLite's */
		goto out;
	}
	b = NULL;
	/* a backup is one file: a copy in WAL mode would grow a -wal and a
	 * -shm beside it when it is first read (tiedote check); the worker
	 * that opens a restored copy makes it WAL again */
	if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK) {
		buf_notef(err, "%s: %s", tmp, sqlite3_errmsg(dst));
		goto out;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		buf_notef(err, "%s: %s", tmp, sqlite3_errmsg(dst));
		goto out;
	}
	dst = NULL;
	if (sync_path(tmp, O_RDONLY) < 0 || link(tmp, file) < 0 ||
	    sync_path(dirname(dir), O_RDONLY | O_DIRECTORY) < 0) {
		/* link, not rename: a file made meanwhile is not replaced */
		buf_notef(err, "%s: %s", file, strerror(errno));
		rc = errno == EEXIST ? BACKUP_EXISTS : BACKUP_FAILED;
		goto out;
	}
	rc = BACKUP_OK;
out:
	if (b)
		sqlite3_backup_finish(b);
	if (dst)
		sqlite3_close(dst);
	sqlite3_close(src);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

/* pragma_rows - each row's first column of a pragma into problems, except
 * "ok"; -1 on an SQLite error */
static int
pragma_rows(sqlite3 *db, const char *sql, const char *what, json_t *problems)
{
	sqlite3_stmt *st = NULL;
	int rc, n = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < CHECK_PROBLEMS) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		if (t && strcmp(t, "ok") == 0)
			continue;
		json_array_append_new(problems, json_sprintf("%s: %s", what, t ? t : "(null)"));
		n++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

backup_rc_t
backup_check(const char *dbpath, json_t **report, buf_t *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	json_t *problems = json_array();
	backup_rc_t rc = BACKUP_FAILED;
	int version = -1;

	if (open_ro(dbpath, &db, err) < 0)
		goto out;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		buf_notef(err, "%s: %s", dbpath, sqlite3_errmsg(db));
		goto out;
	}
	version = sqlite3_column_int(st, 0);
	if (version == 0)
		json_array_append_new(problems, json_string("not a tiedote database"
		    " (schema version 0)"));
	else if (version > store_schema_latest())
		json_array_append_new(problems, json_sprintf("schema version %d is newer than"
		    " this build's %d", version, store_schema_latest()));
	/* foreign_key_check's first column is the table: a row is a problem */
	if (pragma_rows(db, "PRAGMA integrity_check", "integrity", problems) < 0 ||
	    pragma_rows(db, "PRAGMA foreign_key_check", "foreign key broken in table",
	    problems) < 0) {
		buf_notef(err, "%s: %s", dbpath, sqlite3_errmsg(db));
		goto out;
	}
	*report = json_pack("{s:b, s:s, s:i, s:i, s:O}", "ok", json_array_size(problems) == 0,
	    "database", dbpath, "schema_version", version, "schema_latest",
	    store_schema_latest(), "problems", problems);
	rc = BACKUP_OK;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	json_decref(problems);
	return rc;
}
