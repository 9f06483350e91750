/*
 * sched - the bulletin's calendar: when each issue is due.
 *
 * Issue k (k >= 0) is due on the local day bulletin.first + k ×
 * interval_days, at first's local time of day, in message.time_zone, so
 * "every second Tuesday at 09:00 Helsinki" stays at 09:00 across both DST
 * changes.  sched_due() gives issue k's time; sched_index() the last issue
 * due at or before t (-1 before the first).  All arithmetic is on local
 * calendar days (datefmt.h); the clock is the caller's (clock_now()).
 */
#ifndef TIEDOTE_SCHED_H
#define TIEDOTE_SCHED_H

#include <stdint.h>

#include "buf.h"
#include "conf.h"

typedef struct sched {
	int64_t	 first;
	int	 interval_days, hour, minute;
	const char *zone;
} sched_t;

int	 sched_init(sched_t *, const conf_t *, buf_t *err);
int64_t	 sched_due(const sched_t *, int64_t k);
int64_t	 sched_index(const sched_t *, int64_t t);

#endif
