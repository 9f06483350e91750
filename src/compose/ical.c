/*
 * ical - iCalendar with libical; contract in ical.h.
 */
#include <libical/ical.h>
#include <string.h>

#include "clock.h"
#include "event.h"
#include "ical.h"

/* local_time - t as the zone's wall-clock time, without a zone of its own:
 * the TZID parameter names the zone (libical would print a zoned value as
 * UTC, "Z") */
static icalproperty *
local_time(icalproperty *p, int64_t t, icaltimezone *z, const char *tzid,
    void (*set)(icalproperty *, struct icaltimetype))
{
	struct icaltimetype tt = icaltime_from_timet_with_zone((time_t)t, 0, z);

	tt.zone = NULL;
	set(p, tt);
	icalproperty_add_parameter(p, icalparameter_new_tzid(tzid));
	return p;
}

static int
item_time(json_t *body, const char *key, int64_t *t)
{
	json_t *v = json_object_get(body, key);

	return v && clock_parse(json_string_value(v), t, NULL) == 0 ? 0 : -1;
}

#define ICAL_SCRATCH_MAX	16384

static icalcomponent *
vevent(const ical_item_t *it, const char *lang, icaltimezone *z, const char *tzid,
    const char *domain, int64_t stamp, int64_t start, buf_t *scratch)
{
	icalcomponent *ev = icalcomponent_new_vevent();
	const char *id = json_string_value(json_object_get(it->body, "id"));
	const char *summary = event_text(it->body, "summary", lang);
	const char *location = event_text(it->body, "location", lang);
	const char *url = json_string_value(json_object_get(it->body, "url"));
	int deadline = strcmp(it->type, "deadline") == 0;
	int64_t end;

	buf_reset(scratch);
	if (buf_printf(scratch, "%s@%s", id, domain) < 0)
		goto toolong;
	icalcomponent_add_property(ev, icalproperty_new_uid(buf_str(scratch)));
	icalcomponent_add_property(ev, icalproperty_new_dtstamp(
	    icaltime_from_timet_with_zone((time_t)stamp, 0, icaltimezone_get_utc_timezone())));
	icalcomponent_add_property(ev, icalproperty_new_sequence(it->revision - 1));
	icalcomponent_add_property(ev, local_time(icalproperty_new(ICAL_DTSTART_PROPERTY),
	    start, z, tzid, icalproperty_set_dtstart));
	if (!deadline && item_time(it->body, "ends", &end) == 0 && end > start)
		icalcomponent_add_property(ev, local_time(icalproperty_new(ICAL_DTEND_PROPERTY),
		    end, z, tzid, icalproperty_set_dtend));
	icalcomponent_add_property(ev, icalproperty_new_summary(
	    event_text(it->body, "title", lang)));
	if (summary || url) {
		buf_reset(scratch);
		if ((summary && buf_adds(scratch, summary) < 0) ||
		    (summary && url && buf_adds(scratch, "\n\n") < 0) ||
		    (url && buf_adds(scratch, url) < 0))
			goto toolong;
		icalcomponent_add_property(ev, icalproperty_new_description(buf_str(scratch)));
	}
	if (location)
		icalcomponent_add_property(ev, icalproperty_new_location(location));
	if (url)
		icalcomponent_add_property(ev, icalproperty_new_url(url));
	/* a deadline takes no time from anyone's day */
	icalcomponent_add_property(ev, icalproperty_new_transp(deadline ?
	    ICAL_TRANSP_TRANSPARENT : ICAL_TRANSP_OPAQUE));
	icalcomponent_add_property(ev, icalproperty_new_status(
	    json_is_true(json_object_get(it->body, "cancelled")) ?
	    ICAL_STATUS_CANCELLED : ICAL_STATUS_CONFIRMED));
	return ev;
toolong:
	icalcomponent_free(ev);
	return NULL;
}

int
ical_build(const ical_item_t *items, size_t n, const char *lang, const char *zone,
    const char *domain, int64_t stamp, buf_t *out, buf_t *err)
{
	icaltimezone *z = icaltimezone_get_builtin_timezone(zone);
	icalcomponent *cal = NULL, *vtz;
	int64_t first = 0, *starts = NULL;
	buf_t scratch;
	char *text = NULL;
	int rc = -1;

	/* a summary (2,000 characters of up to 4 bytes) and a url (2,048
	 * bytes), or an id and the list id */
	buf_init(&scratch, ICAL_SCRATCH_MAX);
	if (z == NULL) {
		buf_notef(err, "ical: unknown time zone \"%s\"", zone);
		goto out;
	}
	starts = calloc(n ? n : 1, sizeof *starts);
	for (size_t i = 0; i < n; i++) {
		const char *key = strcmp(items[i].type, "deadline") == 0 ? "due" : "starts";

		if (item_time(items[i].body, key, &starts[i]) < 0) {
			buf_notef(err, "ical: %s has no %s", json_string_value(
			    json_object_get(items[i].body, "id")), key);
			goto out;
		}
		if (i == 0 || starts[i] < first)
			first = starts[i];
	}
	cal = icalcomponent_vanew(ICAL_VCALENDAR_COMPONENT,
	    icalproperty_new_version("2.0"),
	    icalproperty_new_prodid("-//tiedote//tiedote//EN"),
	    icalproperty_new_calscale("GREGORIAN"),
	    icalproperty_new_method(ICAL_METHOD_PUBLISH), (void *)0);
	/* the zone as its IANA name, and only from the first event's year:
	 * the full history is dozens of rules no calendar needs */
	vtz = icalcomponent_new_clone(icaltimezone_get_component(z));
	icalproperty_set_tzid(icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY), zone);
	icaltimezone_truncate_vtimezone(vtz, icaltime_from_timet_with_zone(
	    (time_t)(first - 366 * 86400), 0, icaltimezone_get_utc_timezone()),
	    icaltime_null_time(), 0);
	icalcomponent_add_component(cal, vtz);
	for (size_t i = 0; i < n; i++) {
		icalcomponent *ev = vevent(&items[i], lang, z, zone, domain, stamp, starts[i],
		    &scratch);

		if (ev == NULL) {
			buf_notef(err, "ical: %s: id, summary and url over %zu bytes",
			    json_string_value(json_object_get(items[i].body, "id")), scratch.max);
			goto out;
		}
		icalcomponent_add_component(cal, ev);
	}
	text = icalcomponent_as_ical_string_r(cal);
	if (text == NULL || buf_adds(out, text) < 0) {
		buf_notef(err, "ical: %s", text ? "calendar too large" : icalerror_strerror(icalerrno));
		goto out;
	}
	rc = 0;
out:
	free(text);
	free(starts);
	if (cal)
		icalcomponent_free(cal);
	buf_free(&scratch);
	return rc;
}
