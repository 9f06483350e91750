/*
 * clock - the one source of "now", and RFC 3339 time parsing.
 *
 * Every time-dependent decision (schedules, reminders, retries, backoff,
 * timestamps in the store) reads the clock through clock_now().  Tests set
 * it without waiting:
 *   TIEDOTE_NOW=2020-03-29T02:59:59+02:00   now is that instant (or @EPOCH)
 *   TIEDOTE_NOW_FILE=/path                 now is read from that file (same
 *                                          syntax), so a test can move a
 *                                          running worker's clock across a
 *                                          DST change or a 5-day outage in
 *                                          milliseconds.
 * The rule for the file is exact: once the test's rename() of a new file
 * over it (or its close() after writing it in place) has returned, every
 * later clock read sees the new time.  A program without a loop reads the
 * file at every clock_now(); the worker calls clock_watch(), polls the
 * descriptor it returns and calls clock_refresh() when it is readable and
 * before stamping anything a request brought, so reading the clock stays
 * free of system calls; the worker's scheduler runs at once when the
 * value changes (clock_changes()), not at its next tick.
 * A malformed value, one before 1970, or an empty file is fatal: a test
 * must never silently run on real time (write the file whole elsewhere,
 * then rename it into place).
 * Times are int64 seconds since the Unix epoch (UTC).
 *
 * clock_mono_ms()/clock_mono_us() are the one monotonic clock: timeouts,
 * pacing and deadlines, which must not follow the settable clock.
 *
 * Threads: clock_now(), clock_now_ms(), clock_refresh() and the
 * monotonic clock may be called from any thread (the test hook is read
 * under a mutex); the web front's thread calls clock_refresh() at each
 * request, so the rule above holds for its requests too.  clock_watch()
 * is the worker's, before any thread starts.
 * BUGS: when the web front's thread reads the inotify events first, the
 * loop's poll may not wake for them: its scheduler then sees the change
 * at its next turn, within its one-second tick at the latest.
 */
#ifndef TIEDOTE_CLOCK_H
#define TIEDOTE_CLOCK_H

#include <stdint.h>

int64_t	clock_now(void);
/* clock_now_ms - milliseconds; real monotonic-ish wall time unless set */
int64_t	clock_now_ms(void);
/* clock_watch - the worker's hook: an fd to poll for clock changes, or -1
 * when the clock is not set by a file; fatal when the file cannot be watched */
int	clock_watch(void);
/* clock_refresh - take a change clock_watch()'s fd reported: the file is
 * read again only when an event named it; cheap to call */
void	clock_refresh(void);
/* clock_changes - how many times a watched clock has taken a new value
 * (counted by clock_refresh(), whichever thread called it): the worker
 * compares it at every loop turn to run its scheduler when the test clock
 * moved; 0 for ever when the clock is not watched */
unsigned long clock_changes(void);
/* clock_mono_ms, clock_mono_us - CLOCK_MONOTONIC */
int64_t	clock_mono_ms(void);
int64_t	clock_mono_us(void);
/* clock_parse - RFC 3339 with offset, seconds optional; 0 or -1 (also
 * for a date or time that does not exist, see clock_civil_valid) */
int	clock_parse(const char *, int64_t *epoch, int *offset_min);
/* clock_civil_valid - 1 when the fields name a date and time that exist:
 * years 1970-9999, months 1-12, the month's own days (29 February in leap
 * years only), hours 0-23, minutes 0-59, seconds 0-60 (a leap second).
 * The one rule for every date tiedote reads: clock_parse() and
 * datefmt_parse_local() both ask it, so no input is normalised (2020-02-31
 * is refused, never 2 March). */
int	clock_civil_valid(int y, int mo, int d, int h, int mi, int sec);
/* clock_format - UTC "YYYY-MM-DDTHH:MM:SSZ" into out[32] */
void	clock_format(int64_t, char *out);
/* days_from_civil - days since 1970-01-01 of a proleptic Gregorian date */
int64_t	clock_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
