/*
 * project - funded projects and their contact addresses: who gets deadline
 * reminders (remind.h) and announcements meant for projects (announce.h).
 *
 * A project has an id (the rules of an event id, so that producers can
 * name it in a deadline's "projects"), a name, the language of its
 * messages, its regions and one or more contacts.  A project is not a
 * subscriber: its contacts get the bulletin only if they also subscribe.
 * project_put() adds a project or replaces it with its whole contact list;
 * call it inside a transaction.  This module owns the projects and
 * contacts tables.  Every function returns 0, or -1 on an SQLite error.
 */
#ifndef TIEDOTE_PROJECT_H
#define TIEDOTE_PROJECT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "buf.h"
#include "store.h"

#define PROJECT_CONTACTS_MAX 50

typedef struct project {
	const char *id, *name, *lang;
	unsigned regions;
	const char *const *contacts;
	size_t	 ncontacts;
} project_t;

/* project_check - -1 with one line in err naming what is wrong */
int	project_check(const project_t *, buf_t *err);
/* project_put - *created says whether the id was new */
int	project_put(store_t *, const project_t *, int64_t now, int *created);
/* project_remove - the project and its contacts; *found */
int	project_remove(store_t *, const char *id, int *found);
/* project_list - a new array of projects (with contacts) whose regions
 * meet the mask, in id order */
int	project_list(store_t *, unsigned regions, json_t **out);
/* project_show - one project as a new object with its contacts and the
 * reminders sent to them; 1 when there is no such project */
int	project_show(store_t *, const char *id, json_t **out);

#endif
