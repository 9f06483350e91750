/*
 * compose - what goes into one bulletin issue, and the data each
 * recipient's copy is rendered from (docs/templates.md).
 *
 * compose_issue_load() reads the issue's items from the store once:
 *   - announcements (those without send_at) received in the period;
 *   - news published in the period (received, when it has no date);
 *   - practices published in the period;
 *   - deadlines due within deadline_days after the period's end, marked
 *     "changed" when a revision received in the period moved the date;
 *   - network days and events starting within event_days after the end.
 * Cancelled items are left out.  The period is (start, end]; end is the
 * send time.  compose_bulletin() then filters the items by a recipient's
 * regions (an item concerns them if the masks meet) and words them in one
 * language (falling back to Finnish, then to whatever the item has).
 * The issue owns its items; compose_bulletin() returns a new object.
 */
#ifndef TIEDOTE_COMPOSE_H
#define TIEDOTE_COMPOSE_H

#include <stdint.h>
#include <jansson.h>

#include "buf.h"
#include "ical.h"
#include "store.h"

typedef struct compose_conf {
	const char *zone;		/* IANA zone, e.g. Europe/Helsinki */
	int	 deadline_days;		/* default 60 */
	int	 event_days;		/* default 90 */
} compose_conf_t;

typedef struct compose_issue compose_issue_t;

int	 compose_issue_load(store_t *, const compose_conf_t *, const char *number,
	    int64_t period_start, int64_t period_end, compose_issue_t **, buf_t *err);
void	 compose_issue_free(compose_issue_t *);
/* compose_issue_serial - a number no other issue loaded by this process
 * has, for caches of what was made from the issue */
uint64_t compose_issue_serial(const compose_issue_t *);
/* compose_issue_count - items a recipient of these regions gets */
int	 compose_issue_count(const compose_issue_t *, unsigned regions);
/* compose_bulletin - new object: the "bulletin" data of docs/templates.md */
json_t	*compose_bulletin(const compose_issue_t *, const char *lang, unsigned regions);
/* compose_calendar - the deadlines and events of the issue a recipient of
 * these regions gets, as calendar items (borrowed from the issue), at most
 * max; the number */
size_t	 compose_calendar(const compose_issue_t *, unsigned regions, ical_item_t *out,
	    size_t max);
/* compose_regions_text - "KYS, OYS" or "kaikki alueet"; appended to out */
int	 compose_regions_text(unsigned regions, const char *lang, buf_t *out);
/* compose_text_lang - obj["<key>_lang"] = the language ev's text field
 * is taken in (event_text_lang()) when it is not lang, the page's: the
 * templates mark such a fallback with lang="..." on its element, so it is
 * read out and hyphenated in its own language (docs/templates.md) */
void	 compose_text_lang(json_t *obj, const char *key, json_t *ev, const char *field,
	    const char *lang);
/* compose_paragraphs - [{"text": …}] of text split at blank lines */
json_t	*compose_paragraphs(const char *text);
/* compose_number - the issue number "YYYY/NN" of an issue sent at t, the
 * (n+1)th of its year in the zone */
int	 compose_number(int64_t t, const char *zone, int n, buf_t *out);

#endif
