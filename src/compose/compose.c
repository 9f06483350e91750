/*
 * compose - the items of an issue and each recipient's view of them;
 * contract in compose.h.
 */
#include <string.h>

#include "clock.h"
#include "compose.h"
#include "datefmt.h"
#include "event.h"
#include "region.h"
#include "util.h"

enum section { SEC_DEADLINES, SEC_EVENTS, SEC_PRACTICES, SEC_ANNOUNCEMENTS, SEC_NEWS, SEC_N };

static const char *const section_names[SEC_N] = {
	"deadlines", "events", "practices", "announcements", "news"
};

struct item {
	json_t	*ev;		/* the stored event, parsed */
	unsigned regions;
	int64_t	 at;		/* due / starts / published / received */
	int64_t	 prev_at;	/* deadline moved in the period: the old due */
	int	 revision;
};

struct compose_issue {
	uint64_t serial;	/* unique in the process: caches key on it */
	compose_conf_t conf;
	char	*number;
	int64_t	 start, end;
	struct item *items[SEC_N];
	size_t	 n[SEC_N], cap[SEC_N];
};

struct load {
	compose_issue_t *issue;
	store_t	*store;
	enum section sec;
	int	 undated_only;	/* news by received time: only those without a date */
	buf_t	*err;
};

static int64_t
time_field(json_t *ev, const char *key)
{
	json_t *v = json_object_get(ev, key);
	int64_t t = 0;

	if (v)
		clock_parse(json_string_value(v), &t, NULL);
	return t;
}

static int
load_cb(const store_event_t *se, void *arg)
{
	struct load *l = arg;
	compose_issue_t *is = l->issue;
	struct item it = { NULL, se->regions, se->at ? se->at : se->created, 0, se->revision };
	json_error_t jerr;

	if (l->undated_only && se->at != 0)
		return 0;
	if ((it.ev = json_loads(se->body, 0, &jerr)) == NULL) {
		buf_notef(l->err, "event %s: stored body unreadable: %s", se->id, jerr.text);
		return -1;
	}
	if (l->sec == SEC_DEADLINES && se->created <= is->start) {
		/* did a revision in this period move the date? */
		buf_t old;
		json_t *prev;

		buf_init(&old, 0);
		if (store_event_body_before(l->store, se->id, is->start, &old) == 0 &&
		    (prev = json_loads(buf_str(&old), 0, &jerr)) != NULL) {
			int64_t was = time_field(prev, "due");

			if (was != it.at)
				it.prev_at = was;
			json_decref(prev);
		}
		buf_free(&old);
	}
	if (is->n[l->sec] == is->cap[l->sec]) {
		is->cap[l->sec] = is->cap[l->sec] ? is->cap[l->sec] * 2 : 16;
		is->items[l->sec] = xrealloc(is->items[l->sec],
		    is->cap[l->sec] * sizeof *is->items[l->sec]);
	}
	is->items[l->sec][is->n[l->sec]++] = it;
	return 0;
}

static int
by_time(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return (x->at > y->at) - (x->at < y->at);
}

static int
by_time_desc(const void *a, const void *b)
{
	return by_time(b, a);
}

int
compose_issue_load(store_t *store, const compose_conf_t *conf, const char *number,
    int64_t start, int64_t end, compose_issue_t **out, buf_t *err)
{
	/* what to read: section, type, by which time, window.  Dated
	 * practices and news by their date, and those dated in the period
	 * before that arrived in this one (after that issue went out) too */
	const struct {
		enum section sec;
		const char *type;
		store_events_by_t by;
		int undated_only;
		int64_t from, to;
	} q[] = {
		{ SEC_DEADLINES, "deadline", EVENTS_BY_AT, 0, end,
		  end + (int64_t)conf->deadline_days * 86400 },
		{ SEC_EVENTS, "network_day", EVENTS_BY_AT, 0, end,
		  end + (int64_t)conf->event_days * 86400 },
		{ SEC_EVENTS, "event", EVENTS_BY_AT, 0, end, end + (int64_t)conf->event_days * 86400 },
		{ SEC_PRACTICES, "practice", EVENTS_BY_LATE, 0, start, end },
		{ SEC_ANNOUNCEMENTS, "announcement", EVENTS_BY_CREATED, 1, start, end },
		{ SEC_NEWS, "news", EVENTS_BY_LATE, 0, start, end },
		{ SEC_NEWS, "news", EVENTS_BY_CREATED, 1, start, end },
	};
	static uint64_t serials;
	compose_issue_t *is = xcalloc(1, sizeof *is);
	struct load l = { is, store, 0, 0, err };

	is->serial = ++serials;
	is->conf = *conf;
	is->number = xstrdup(number);
	is->start = start;
	is->end = end;
	for (size_t i = 0; i < NELEM(q); i++) {
		l.sec = q[i].sec;
		l.undated_only = q[i].undated_only;
		if (store_events_window(store, q[i].type, q[i].by, q[i].from, q[i].to,
		    load_cb, &l) != 0) {
			if (err->len == 0)
				buf_notef(err, "reading %s: %s", q[i].type, store_errmsg(store));
			compose_issue_free(is);
			return -1;
		}
	}
	/* qsort() must not see the NULL of an empty section */
	if (is->n[SEC_EVENTS] > 1)
		qsort(is->items[SEC_EVENTS], is->n[SEC_EVENTS], sizeof(struct item), by_time);
	for (int s = SEC_PRACTICES; s < SEC_N; s++)
		if (is->n[s] > 1)
			qsort(is->items[s], is->n[s], sizeof(struct item), by_time_desc);
	*out = is;
	return 0;
}

void
compose_issue_free(compose_issue_t *is)
{
	if (is == NULL)
		return;
	for (int s = 0; s < SEC_N; s++) {
		for (size_t i = 0; i < is->n[s]; i++)
			json_decref(is->items[s][i].ev);
		free(is->items[s]);
	}
	free(is->number);
	free(is);
}

uint64_t
compose_issue_serial(const compose_issue_t *is)
{
	return is->serial;
}

int
compose_issue_count(const compose_issue_t *is, unsigned regions)
{
	int n = 0;

	for (int s = 0; s < SEC_N; s++)
		for (size_t i = 0; i < is->n[s]; i++)
			n += (is->items[s][i].regions & regions) != 0;
	return n;
}

size_t
compose_calendar(const compose_issue_t *is, unsigned regions, ical_item_t *out, size_t max)
{
	static const enum section dated[] = { SEC_DEADLINES, SEC_EVENTS };
	size_t n = 0;

	for (size_t d = 0; d < NELEM(dated); d++)
		for (size_t i = 0; i < is->n[dated[d]]; i++) {
			const struct item *it = &is->items[dated[d]][i];

			if ((it->regions & regions) == 0 || n == max)
				continue;
			out[n++] = (ical_item_t){ json_string_value(json_object_get(it->ev, "type")),
			    it->ev, it->revision };
		}
	return n;
}

int
compose_regions_text(unsigned regions, const char *lang, buf_t *out)
{
	const char *sep = "";

	if ((regions & REGION_ALL) == REGION_ALL)
		return buf_adds(out, strcmp(lang, "sv") == 0 ? "alla regioner" :
		    strcmp(lang, "en") == 0 ? "all regions" : "kaikki alueet");
	for (int i = 0; i < 5; i++)
		if (regions & (1u << i)) {
			if (buf_printf(out, "%s%s", sep, region_name(i)) < 0)
				return -1;
			sep = ", ";
		}
	return 0;
}

json_t *
compose_paragraphs(const char *text)
{
	json_t *arr = json_array();
	const char *p = text, *start = NULL, *last = NULL;

	/* a paragraph ends at a line of nothing but spaces and tabs */
	for (;;) {
		const char *eol = strchr(p, '\n'), *q;
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		int blank = 1;

		for (q = p; q < p + len; q++)
			blank &= *q == ' ' || *q == '\t';
		if (!blank) {
			if (start == NULL)
				start = p;
			last = p + len;
		}
		if ((blank || eol == NULL) && start) {
			while (last > start && (last[-1] == ' ' || last[-1] == '\t'))
				last--;
			json_array_append_new(arr, json_pack("{s:s%}", "text", start,
			    (size_t)(last - start)));
			start = NULL;
		}
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	return arr;
}

int
compose_number(int64_t t, const char *zone, int n, buf_t *out)
{
	int year = 0;

	datefmt_year(t, zone, &year);
	return buf_printf(out, "%04d/%02d", year, n + 1);
}

void
compose_text_lang(json_t *obj, const char *key, json_t *ev, const char *field,
    const char *lang)
{
	const char *l = event_text_lang(ev, field, lang);
	char name[64];

	if (l && strcmp(l, lang) != 0) {
		snprintf(name, sizeof name, "%s_lang", key);
		json_object_set_new(obj, name, json_string(l));
	}
}

/* set_text - obj[key] = the item's text field in lang, when it has one,
 * and obj[key_lang] when it fell back to another language */
static void
set_text(json_t *obj, const char *key, json_t *ev, const char *field, const char *lang)
{
	const char *s = event_text(ev, field, lang);

	if (s) {
		json_object_set_new(obj, key, json_string(s));
		compose_text_lang(obj, key, ev, field, lang);
	}
}

static void
set_time(json_t *obj, const char *key, int64_t t, int with_clock, const char *lang,
    const char *zone)
{
	buf_t b;

	buf_init(&b, 256);
	if (with_clock)
		datefmt_datetime(&b, t, lang, zone);
	else
		datefmt_date(&b, t, lang, zone);
	json_object_set_new(obj, key, json_string(buf_str(&b)));
	buf_free(&b);
}

static json_t *
item_json(const compose_issue_t *is, enum section sec, const struct item *it, const char *lang)
{
	const char *zone = is->conf.zone;
	json_t *o = json_object(), *ev = it->ev, *url = json_object_get(ev, "url");
	buf_t regions;

	set_text(o, "title", ev, "title", lang);
	set_text(o, "summary", ev, "summary", lang);
	if (url)
		json_object_set(o, "url", url);
	buf_init(&regions, 256);
	compose_regions_text(it->regions, lang, &regions);
	json_object_set_new(o, "regions", json_string(buf_str(&regions)));
	buf_free(&regions);
	switch (sec) {
	case SEC_DEADLINES:
		set_time(o, "when", it->at, 1, lang, zone);
		{
			int64_t days = 0;

			datefmt_days_between(is->end, it->at, zone, &days);
			json_object_set_new(o, "days_left", json_integer(days));
		}
		json_object_set_new(o, "changed", json_boolean(it->prev_at != 0));
		if (it->prev_at)
			set_time(o, "previous_when", it->prev_at, 1, lang, zone);
		json_object_set_new(o, "cancelled", json_false());
		break;
	case SEC_EVENTS:
		set_time(o, "when", it->at, 1, lang, zone);
		if (json_object_get(ev, "ends")) {
			int64_t end = time_field(ev, "ends"), days = 0;
			buf_t b;

			/* the same day: "ti 12.5.2020 klo 9.00–16.00" through the
			 * template's "{{when}}–{{ends}}"; another day: the whole
			 * range in "when", "ke 1.4.2020 klo 10.00 – to 2.4.2020 klo
			 * 12.00", and no "ends" */
			buf_init(&b, 256);
			datefmt_days_between(it->at, end, zone, &days);
			if (days == 0) {
				datefmt_end(&b, it->at, end, lang, zone);
				json_object_set_new(o, "ends", json_string(buf_str(&b)));
			} else {
				/* b holds two dates (datefmt.h) and the dash */
				datefmt_datetime(&b, it->at, lang, zone);
				if (buf_adds(&b, " – ") == 0)
					datefmt_datetime(&b, end, lang, zone);
				json_object_set_new(o, "when", json_string(buf_str(&b)));
			}
			buf_free(&b);
		}
		set_text(o, "location", ev, "location", lang);
		json_object_set_new(o, "network_day", json_boolean(strcmp(
		    json_string_value(json_object_get(ev, "type")), "network_day") == 0));
		break;
	case SEC_PRACTICES:
		set_text(o, "organisation", ev, "organisation", lang);
		set_time(o, "when", it->at, 0, lang, zone);
		break;
	case SEC_ANNOUNCEMENTS: {
		const char *body = event_text(ev, "body", lang);

		json_object_set_new(o, "paragraphs", compose_paragraphs(body ? body : ""));
		compose_text_lang(o, "body", ev, "body", lang);
		break;
	}
	case SEC_NEWS:
		set_text(o, "source", ev, "source", lang);
		set_time(o, "when", it->at, 0, lang, zone);
		break;
	case SEC_N:
		break;
	}
	return o;
}

json_t *
compose_bulletin(const compose_issue_t *is, const char *lang, unsigned regions)
{
	json_t *data = json_object(), *issue;
	buf_t b;
	int count = 0;

	buf_init(&b, 256);
	datefmt_date(&b, is->end, lang, is->conf.zone);
	issue = json_pack("{s:s, s:s}", "number", is->number, "date", buf_str(&b));
	buf_reset(&b);
	datefmt_period(&b, is->start, is->end, lang, is->conf.zone);
	json_object_set_new(issue, "period", json_string(buf_str(&b)));
	json_object_set_new(data, "issue", issue);
	for (int s = 0; s < SEC_N; s++) {
		json_t *list = json_array();
		char has[32];

		for (size_t i = 0; i < is->n[s]; i++)
			if (is->items[s][i].regions & regions)
				json_array_append_new(list, item_json(is, s, &is->items[s][i], lang));
		count += (int)json_array_size(list);
		snprintf(has, sizeof has, "has_%s", section_names[s]);
		json_object_set_new(data, has, json_boolean(json_array_size(list) > 0));
		json_object_set_new(data, section_names[s], list);
	}
	json_object_set_new(data, "count", json_integer(count));
	buf_free(&b);
	return data;
}
