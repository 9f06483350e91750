/*
 * backup - a consistent copy of the database while the worker runs, and
 * a check of a database or of such a copy.  Readers only: neither takes
 * the writer's lock or writes to the live database.
 *
 * backup_copy() copies store.path into file with SQLite's online backup
 * API from a read-only connection, in one step: one read transaction, so
 * the copy is the database as one commit left it (WAL mode: the worker
 * goes on writing meanwhile, and waits for nothing).  The copy is written
 * to file.tmp-PID beside file, synced, renamed to file and the directory
 * synced, so file is whole or absent; a file that exists is refused
 * (BACKUP_EXISTS), never overwritten.  The copy is a plain database
 * (rollback journal, no -wal companion): restoring it is copying it over
 * store.path, with the worker stopped and the old -wal and -shm removed.
 *
 * backup_check() reads a database: PRAGMA integrity_check, the foreign
 * keys, and the schema version against the one this build migrates to;
 * the findings in *report (a new JSON object: "ok", "schema_version",
 * "schema_latest", "problems": [text]).  A database of an older version
 * is fine (the worker migrates it at start); a newer one is a problem.
 *
 * Errors: BACKUP_NOINPUT with the reason in err when the database cannot
 * be opened or is not one, BACKUP_FAILED when the copy cannot be made or
 * written (SQLite's message).  Threads: any, one call at a time
 * per file.  The read transaction holds WAL checkpoints back while it
 * lasts (a second or so per GiB), so a backup of a huge database lets the
 * WAL grow by what the worker commits meanwhile.
 */
#ifndef TIEDOTE_BACKUP_H
#define TIEDOTE_BACKUP_H

#include <jansson.h>

#include "buf.h"

typedef enum {
	BACKUP_OK,
	BACKUP_FAILED,		/* the copy cannot be made or written */
	BACKUP_EXISTS,		/* the copy's name is taken */
	BACKUP_NOINPUT		/* the database cannot be opened or is not one */
} backup_rc_t;

backup_rc_t backup_copy(const char *db, const char *file, buf_t *err);
/* backup_check - BACKUP_OK with *report (even when it found problems:
 * "ok" says), or BACKUP_FAILED when the file cannot be read at all */
backup_rc_t backup_check(const char *db, json_t **report, buf_t *err);

#endif
