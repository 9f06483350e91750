/*
 * sched - the bulletin calendar; contract in sched.h.
 */
#include "clock.h"
#include "datefmt.h"
#include "sched.h"

int
sched_init(sched_t *s, const conf_t *conf, buf_t *err)
{
	s->zone = conf->time_zone;
	s->interval_days = (int)conf->bulletin_interval_days;
	if (clock_parse(conf->bulletin_first, &s->first, NULL) < 0) {
		buf_notef(err, "bulletin.first: not an RFC 3339 time: \"%s\"",
		    conf->bulletin_first);
		return -1;
	}
	/* the time of day is first's on the zone's clock: not the time since
	 * its midnight, which a DST change that day makes an hour more or
	 * less */
	if (!datefmt_zone_valid(s->zone) ||
	    datefmt_clock(s->first, s->zone, &s->hour, &s->minute) < 0) {
		buf_notef(err, "message.time_zone: unknown zone \"%s\"", s->zone);
		return -1;
	}
	return 0;
}

int64_t
sched_due(const sched_t *s, int64_t k)
{
	int64_t t = 0;

	datefmt_local_time(s->first, s->zone, (int)(k * s->interval_days), s->hour,
	    s->minute, &t);
	return t;
}

int64_t
sched_index(const sched_t *s, int64_t t)
{
	int64_t k;

	if (t < s->first)
		return -1;
	/* an estimate in whole days, then corrected for DST hours */
	k = (t - s->first) / ((int64_t)s->interval_days * 86400);
	while (k > 0 && sched_due(s, k) > t)
		k--;
	while (sched_due(s, k + 1) <= t)
		k++;
	return k;
}
