/*
 * ical - iCalendar (RFC 5545) files for dated events, built with libical.
 *
 * ical_build() appends one VCALENDAR with METHOD:PUBLISH: the VTIMEZONE of
 * the zone (truncated to the years the events need) and one VEVENT per
 * item (deadline, network_day or event, as stored), worded in lang.  The
 * UID is the event id at the list's domain, so a calendar that imported an
 * event once updates that entry when a new file comes; SEQUENCE is the
 * revision less one, so it grows with every revision; a cancelled event is
 * STATUS:CANCELLED.  Times are the zone's local times with TZID (a
 * deadline is an instant at its due time, transparent; an event ends at
 * its "ends").  DTSTAMP is stamp, so equal input gives equal output.
 * Not thread-safe: libical's zone cache is global (the worker is one
 * thread).
 */
#ifndef TIEDOTE_ICAL_H
#define TIEDOTE_ICAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "buf.h"

typedef struct ical_item {
	const char *type;	/* deadline, network_day or event */
	json_t	*body;		/* borrowed */
	int	 revision;
} ical_item_t;

#define ICAL_CONTENT_TYPE "text/calendar; charset=UTF-8; method=PUBLISH"

/* ical_build - 0, or -1 with the reason in err (unknown zone, an item
 * without a time) */
int	ical_build(const ical_item_t *, size_t n, const char *lang, const char *zone,
	    const char *domain, int64_t stamp, buf_t *out, buf_t *err);

#endif
