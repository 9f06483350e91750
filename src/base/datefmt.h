/*
 * datefmt - dates and times as a Finnish, Swedish or English reader
 * expects them, in an IANA zone, and local-calendar arithmetic.
 *
 * Times are int64 seconds since the Unix epoch (UTC), as in clock.h; a
 * zone is an IANA name ("Europe/Helsinki"; NULL means DATEFMT_ZONE_DEFAULT)
 * and a language is "fi", "sv" or "en".  The words are built in (no
 * setlocale, no strftime), so output never depends on the host's locales:
 *
 *   datetime  ti 31.3.2020 klo 16.15 | tis 31.3.2020 kl. 16.15 |
 *             Tue 31 March 2020, 16:15
 *   date      ti 31.3.2020 | tis 31.3.2020 | Tue 31 March 2020
 *   time      16.15 | 16.15 | 16:15
 *   period    21.4.–5.5.2020 | 21 April – 5 May 2020 (the year, and the
 *             month, written once when the two dates share them)
 *
 * The formatters append to the caller's buffer and return 0, or -1 with
 * the buffer unchanged for an unknown language, an unusable zone, a time
 * outside the years 1-9999 or the buffer's ceiling.
 *
 * The zone's rules come from the system's tz database through
 * localtime_r(), the only libc call here that knows zones: each call sets
 * TZ to the zone, calls tzset() and puts TZ back as it was before
 * returning, so the rest of the process never sees a changed TZ.  That
 * makes these functions unsafe to call from two threads at once (the
 * worker has one).  Setting TZ to the zone once at start-up makes every
 * call skip the switch and the re-reading of the zone file it costs.
 */
#ifndef TIEDOTE_DATEFMT_H
#define TIEDOTE_DATEFMT_H

#include <stdint.h>

#include "buf.h"

#define DATEFMT_ZONE_DEFAULT	"Europe/Helsinki"

/* datefmt_zone_valid - 1 when zone names a zone in the tz database */
int	datefmt_zone_valid(const char *zone);
/* datefmt_lang_valid - 1 for "fi", "sv" and "en" */
int	datefmt_lang_valid(const char *lang);

/* datefmt_year - the year of t's local day; 0 or -1 */
int	datefmt_year(int64_t t, const char *zone, int *year);
/* datefmt_clock - the local hour and minute of t in zone: 0, or -1 */
int	datefmt_clock(int64_t t, const char *zone, int *hour, int *minute);
int	datefmt_datetime(buf_t *, int64_t t, const char *lang,
	    const char *zone);
int	datefmt_date(buf_t *, int64_t t, const char *lang, const char *zone);
int	datefmt_time(buf_t *, int64_t t, const char *lang, const char *zone);
/* datefmt_period - the dates of from and to as one period; one date when
 * both fall on the same local day */
int	datefmt_period(buf_t *, int64_t from, int64_t to, const char *lang,
	    const char *zone);
/* datefmt_end - the end of something that starts at start: the time
 * alone when both fall on the same local day, else the datetime, so that
 * "{{when}}–{{ends}}" reads "ti 12.5.2020 klo 9.00–16.00" */
int	datefmt_end(buf_t *, int64_t start, int64_t end, const char *lang,
	    const char *zone);

/*
 * datefmt_local_time - *out is hour:minute local time on the local day
 * `days` days after the day of t (negative: before), e.g. (due, zone, -14,
 * 9, 0) is "14 days before the deadline at 09:00".  A local time that the
 * zone skips (03:30 on the day summer time begins in Helsinki) moves
 * forward by the gap (04:30); one that occurs twice (03:30 on the day it
 * ends) is the first.  0, or -1 for a bad zone, hour or minute or a result
 * outside the years 1-9999.
 */
int	datefmt_local_time(int64_t t, const char *zone, int days, int hour,
	    int minute, int64_t *out);
/*
 * datefmt_parse_local - a local time as people type it: "YYYY-MM-DD HH:MM"
 * (or with a T between) in zone, and, when hour is not negative, also
 * "YYYY-MM-DD" alone, meaning hour:minute of that day.  The date and time
 * must exist (clock_civil_valid, the rule of RFC 3339 times too).  A typed
 * time that the zone skips (03:30 on the day summer time begins in
 * Helsinki) is refused: nobody means it, and moving it silently would
 * send at a time nobody typed.  The hour:minute of the date-only form is
 * configuration (the bulletin's time of day) and moves forward by the gap
 * as in datefmt_local_time, so that it agrees with the scheduler.  A time
 * that occurs twice is the first.  0; -1 with err untouched when s is not
 * of the form; -1 with the reason in err when it is but names no time.
 */
int	datefmt_parse_local(const char *s, const char *zone, int hour,
	    int minute, int64_t *out, buf_t *err);
/* datefmt_local_midnight - the start of t's local day */
int	datefmt_local_midnight(int64_t t, const char *zone, int64_t *out);
/* datefmt_days_between - local calendar days from from's day to to's day
 * (negative when to's day is earlier): 1 means "tomorrow" */
int	datefmt_days_between(int64_t from, int64_t to, const char *zone,
	    int64_t *out);

#endif
