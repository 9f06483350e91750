/*
 * cli_subscriber - `tiedote subscriber add|remove|list|import|export|
 * export-data|erase`: the subscriber list and one address's personal data.  list and export read the store directly; add, remove
 * and import are admin requests (cli_admin(): the worker, or this process
 * under the lock).  An import is all rows or none: every bad row is
 * reported with its line before anything is sent, then the rows are
 * staged in chunks of ADMIN_IMPORT_CHUNK and applied by one commit; an
 * export is CSV that an import reads back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "addr.h"
#include "admin.h"
#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "csv.h"
#include "privacy.h"
#include "region.h"
#include "store.h"
#include "util.h"

#define FILE_MAX	((size_t)64 << 20)
#define PIECE		((size_t)1 << 20)	/* an import reads this much at a time */
#define PIECE_MAX	((size_t)8 << 20)	/* more than a record of CSV_MAX_FIELDS
						 * fields of CSV_MAX_FIELD, quoted */

static const char *
check_lang(const char *s)
{
	return strcmp(s, "fi") == 0 || strcmp(s, "sv") == 0 || strcmp(s, "en") == 0 ?
	    NULL : "must be fi, sv or en";
}

static const char *
check_name(const char *s)
{
	const char *why;

	return addr_name_check(s, &why) < 0 ? why : NULL;
}

static json_t *
subscriber_json(const subscriber_t *sub)
{
	buf_t regions;
	json_t *j;

	buf_init(&regions, 64);
	region_format(sub->regions, &regions);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "email", sub->email,
	    "name", sub->name, "lang", sub->lang, "regions", buf_str(&regions),
	    "status", sub->status, "created", (json_int_t)sub->created,
	    "updated", (json_int_t)sub->updated);
	buf_free(&regions);
	return j;
}

/* what list_cb and export_cb write to */
struct lister {
	const cli_t *cli;
	json_t	*arr;		/* --json */
};

static int
list_cb(const subscriber_t *sub, void *arg)
{
	struct lister *l = arg;
	json_t *j = subscriber_json(sub);

	if (l->cli->json)
		json_array_append(l->arr, j);
	else
		printf("%-40s %-2s %-22s %-12s %s\n", sub->email, sub->lang,
		    json_string_value(json_object_get(j, "regions")), sub->status, sub->name);
	json_decref(j);
	return 0;
}

/* csv_field - one CSV field, quoted when it needs to be (RFC 4180); 0 or
 * -1 at the line's ceiling */
static int
csv_field(buf_t *out, const char *s, const char *sep)
{
	int rc = 0;

	if (strpbrk(s, ",\"\r\n") || (*s && (s[0] == ' ' || s[strlen(s) - 1] == ' '))) {
		rc = buf_addc(out, '"');
		for (; *s && rc == 0; s++)
			rc = (*s == '"' ? buf_addc(out, '"') : 0) || buf_addc(out, *s) ? -1 : 0;
		rc = rc || buf_addc(out, '"') ? -1 : 0;
	} else
		rc = buf_adds(out, s);
	return rc || buf_adds(out, sep) ? -1 : 0;
}

static int
export_cb(const subscriber_t *sub, void *arg)
{
	struct lister *l = arg;
	json_t *j = subscriber_json(sub);
	char created[32], updated[32];
	buf_t line;
	int rc = 0;

	if (l->cli->json) {
		json_array_append(l->arr, j);
	} else {
		/* a row is at most a few kB (RFC 5321 address, a name, a region
		 * list); the ceiling only stops a runaway */
		buf_init(&line, 1 << 20);
		clock_format(sub->created, created);
		clock_format(sub->updated, updated);
		if (csv_field(&line, sub->email, ",") < 0 || csv_field(&line, sub->name, ",") < 0 ||
		    csv_field(&line, sub->lang, ",") < 0 ||
		    csv_field(&line, json_string_value(json_object_get(j, "regions")), ",") < 0 ||
		    csv_field(&line, sub->status, ",") < 0 || csv_field(&line, created, ",") < 0 ||
		    csv_field(&line, updated, "\r\n") < 0) {
			cli_error("tiedote: export: the row of %s does not fit in 1 MiB", sub->email);
			rc = -1;
		} else
			fwrite(line.data, 1, line.len, stdout);
		buf_free(&line);
	}
	json_decref(j);
	return rc;
}

/* the columns an import reads: the four it stores, then the three export
 * adds (status, created, updated), so that an export reads back */
enum { COL_EMAIL, COL_NAME, COL_LANG, COL_REGIONS, COL_STATUS, COL_CREATED, COL_UPDATED,
	NCOLS };

/* one address seen by the check: where its text is in the arena (+ 1;
 * 0 is an empty slot) and its line, for "the same address as line N" */
struct seen {
	uint32_t off;		/* the arena is within FILE_MAX */
	uint32_t line;
};

/*
 * An import reads the file twice and holds no row: the check keeps only
 * the addresses (one arena of their text and an open-addressing table),
 * so 1,000,000 rows cost their addresses and not three copies of every
 * field; the send parses again and stages a chunk at a time.
 */
struct import {
	int	 col[NCOLS];	/* index of each of import_cols; -1 absent */
	size_t	 ncols;		/* the header's fields */
	int	 header_done;
	size_t	 nrows;
	size_t	 not_active;	/* rows an export marks other than active: skipped */
	int	 errors;
	buf_t	 arena;		/* the addresses, each NUL-terminated */
	struct seen *seen;
	size_t	 seen_cap;	/* a power of two, more than twice nrows */
	/* the send: the staging chunk in hand */
	cli_t	*cli;
	json_int_t id;
	json_t	*chunk;
	int	 rc;
};

/* fold_hash - FNV-1a of the address with ASCII folded, the case rule of
 * strcasecmp() and of SQLite's NOCASE on subscribers.email */
static size_t
fold_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * 1099511628211ull;
	}
	return (size_t)h;
}

/* seen_find - the slot of email: its own, or the empty one to take */
static size_t
seen_find(const struct import *im, const char *email)
{
	size_t mask = im->seen_cap - 1, i = fold_hash(email) & mask;

	while (im->seen[i].off && strcasecmp(im->arena.data + im->seen[i].off - 1, email) != 0)
		i = (i + 1) & mask;
	return i;
}

/* seen_grow - room for one more address */
static void
seen_grow(struct import *im)
{
	struct seen *old = im->seen;
	size_t old_cap = im->seen_cap;

	if ((im->nrows + 1) * 2 < im->seen_cap)
		return;
	im->seen_cap = im->seen_cap ? im->seen_cap * 2 : 1024;
	im->seen = xcalloc(im->seen_cap, sizeof *im->seen);
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].off)
			im->seen[seen_find(im, im->arena.data + old[i].off - 1)] = old[i];
	free(old);
}

static const char *const import_cols[NCOLS] = { "email", "name", "lang", "regions", "status",
	"created", "updated" };

/* the statuses subscribers.status allows (store.c's CHECK), for --status
 * and an export's status column */
static const char *const statuses[] = { "active", "unsubscribed", "suppressed", "pending" };

/* status_known - s is one of statuses */
static int
status_known(const char *s)
{
	for (size_t i = 0; i < NELEM(statuses); i++)
		if (strcmp(s, statuses[i]) == 0)
			return 1;
	return 0;
}

/* row_skipped - the row's status column (an export's) says other than
 * active: it is not imported, so an export read back elsewhere never
 * makes an unsubscribed, suppressed or pending address active */
static int
row_skipped(const struct import *im, char **f, size_t nf)
{
	int k = im->col[COL_STATUS];

	return k >= 0 && (size_t)k < nf && *f[k] && strcmp(f[k], "active") != 0;
}

/* import_error - "line N: COLUMN "VALUE": WHY", the value escaped */
static void
import_error(struct import *im, size_t line, const char *what, const char *value,
    const char *why)
{
	if (value)
		cli_error("line %zu: %s \"%s\": %s", line, what, value, why);
	else
		cli_error("line %zu: %s: %s", line, what, why);
	im->errors++;
}

/* import_values - a record's email, name, lang, regions, defaults filled */
static void
import_values(const struct import *im, char **f, size_t nf, const char *v[4])
{
	for (int k = 0; k < 4; k++)
		v[k] = im->col[k] >= 0 && (size_t)im->col[k] < nf ? f[im->col[k]] : "";
	if (v[2][0] == '\0')
		v[2] = "fi";
	if (v[3][0] == '\0')
		v[3] = "all";
}

/* check_cb - the first pass: the header, then every row checked */
static int
check_cb(size_t line, char **f, size_t nf, void *arg)
{
	struct import *im = arg;
	const char *why, *v[4];
	unsigned regions;
	size_t slot;

	if (!im->header_done) {
		for (int k = 0; k < NCOLS; k++)
			im->col[k] = -1;
		for (size_t i = 0; i < nf; i++) {
			int known = 0;

			for (int k = 0; k < NCOLS; k++)
				if (strcasecmp(f[i], import_cols[k]) == 0) {
					/* two columns of one name: one would be lost */
					if (im->col[k] >= 0) {
						import_error(im, line, "header", f[i],
						    "the column is named twice");
						return 1;
					}
					im->col[k] = (int)i;
					known = 1;
				}
			if (!known) {
				import_error(im, line, "header", f[i],
				    "unknown column (use email, name, lang, regions; status, created,"
				    " updated as export writes them)");
				return 1;
			}
		}
		if (im->col[0] < 0) {
			import_error(im, line, "header", NULL, "no email column");
			return 1;
		}
		im->ncols = nf;
		im->header_done = 1;
		return 0;
	}
	/* a field more than the header names is data that would be lost:
	 * most often a regions list with commas, unquoted */
	if (nf > im->ncols) {
		char why_buf[160];

		snprintf(why_buf, sizeof why_buf, "%zu fields, the header has %zu (a regions list"
		    " with ',' must be quoted)", nf, im->ncols);
		import_error(im, line, "row", NULL, why_buf);
		return 0;
	}
	import_values(im, f, nf, v);
	if (im->col[COL_STATUS] >= 0 && (size_t)im->col[COL_STATUS] < nf &&
	    *f[im->col[COL_STATUS]] && !status_known(f[im->col[COL_STATUS]])) {
		import_error(im, line, "status", f[im->col[COL_STATUS]],
		    "not active, unsubscribed, suppressed or pending");
		return 0;
	}
	if (addr_check(v[0], &why) < 0) {
		import_error(im, line, "email", v[0], why);
		return 0;
	}
	if ((why = check_name(v[1])) != NULL) {
		import_error(im, line, "name", v[1], why);
		return 0;
	}
	if ((why = check_lang(v[2])) != NULL) {
		import_error(im, line, "lang", v[2], why);
		return 0;
	}
	if (region_parse_list(v[3], &regions) < 0) {
		import_error(im, line, "regions", v[3],
		    "use HYKS, TYKS, TAYS, KYS, OYS separated by ';' or ',' (quoted), or all");
		return 0;
	}
	seen_grow(im);
	slot = seen_find(im, v[0]);
	if (im->seen[slot].off) {
		char why_buf[64];

		snprintf(why_buf, sizeof why_buf, "the same address as line %zu",
		    (size_t)im->seen[slot].line);
		import_error(im, line, "email", v[0], why_buf);
		return 0;
	}
	/* an address is within the file, which is within the arena's ceiling */
	im->seen[slot].off = (uint32_t)im->arena.len + 1;
	im->seen[slot].line = (uint32_t)line;
	if (buf_add(&im->arena, v[0], strlen(v[0]) + 1) < 0)
		fatal("import: addresses over %zu bytes", FILE_MAX);
	im->nrows++;
	im->not_active += row_skipped(im, f, nf);
	return 0;
}

/* send_chunk - the rows in hand as one staging request */
static int
send_chunk(struct import *im)
{
	json_t *rows = im->chunk;

	im->chunk = json_array();
	return cli_admin(im->cli, json_pack("{s:s, s:I, s:o}", "op", "subscriber.import.rows",
	    "import", im->id, "rows", rows), 1, NULL);
}

/* send_cb - the second pass: every row (all checked) staged, a chunk of
 * ADMIN_IMPORT_CHUNK a request; stops at the first request that fails */
static int
send_cb(size_t line, char **f, size_t nf, void *arg)
{
	struct import *im = arg;
	const char *v[4];
	unsigned regions;
	buf_t canon;

	if (!im->header_done) {
		im->header_done = 1;
		return 0;
	}
	if (row_skipped(im, f, nf))
		return 0;
	import_values(im, f, nf, v);
	if (region_parse_list(v[3], &regions) < 0) {
		cli_error("line %zu: changed since the check", line);
		im->rc = EX_DATAERR;
		return 1;
	}
	buf_init(&canon, 64);
	if (region_format(regions, &canon) < 0)
		fatal("import: regions do not fit in 64 bytes");
	json_array_append_new(im->chunk, json_pack("[I, s, s, s, s]", (json_int_t)line,
	    v[0], v[1], v[2], buf_str(&canon)));
	buf_free(&canon);
	if (json_array_size(im->chunk) == ADMIN_IMPORT_CHUNK &&
	    (im->rc = send_chunk(im)) != EX_OK)
		return 1;
	return 0;
}

/* drop_import - the import's staged rows, a slice a request (so the
 * worker is never kept long), until the worker says none are left */
static void
drop_import(cli_t *cli, json_int_t id)
{
	json_t *reply = NULL;
	int done = 0;

	while (!done && cli_admin(cli, json_pack("{s:s, s:I}", "op",
	    "subscriber.import.abort", "import", id), 1, &reply) == EX_OK) {
		done = json_is_true(json_object_get(reply, "done"));
		json_decref(reply);
	}
}

/* record_end - the end of the last whole record in data[0, len), just
 * past a line feed outside quotes; 0 when there is none.  data starts at
 * a record boundary, and each quote toggles the quoted state (a doubled
 * one twice); a stray quote is csv_parse()'s error to report */
static size_t
record_end(const char *data, size_t len)
{
	size_t end = 0;
	int quoted = 0;

	for (size_t i = 0; i < len; i++)
		if (data[i] == '"')
			quoted = !quoted;
		else if (data[i] == '\n' && !quoted)
			end = i + 1;
	return end;
}

/* utf8_line - 0 when data[0..len) is UTF-8; else 1 with the error
 * printed, naming the physical line (counted from first) where it is not:
 * a character never holds a line feed, so each line is judged alone */
static int
utf8_line(const char *path, const char *data, size_t len, size_t first)
{
	const char *p = data, *end = data + len, *nl;

	for (size_t line = first; p < end; line++, p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (!utf8_valid(p, (size_t)(nl - p))) {
			cli_error("%s: line %zu: not UTF-8 text (save the file as UTF-8)", path,
			    line);
			return 1;
		}
	}
	return 0;
}

/*
 * import_pass - the file through csv_parse_at() a piece of whole records
 * at a time (PIECE, more for a longer record, PIECE_MAX at most), cb per
 * record, so that no pass holds the file; "-" (stdin, which cannot be read
 * twice) is read whole into *whole once.  EX_OK (also when cb stopped the
 * walk), or EX_NOINPUT / EX_DATAERR with the error printed.
 */
static int
import_pass(const char *path, buf_t *whole, csv_cb cb, struct import *im)
{
	FILE *fp = NULL;
	char chunk[65536];
	buf_t piece, err;
	size_t line = 1, total = 0, end, n;
	int rc = EX_DATAERR, eof = 0, r;

	buf_init(&piece, PIECE_MAX);
	buf_init(&err, 1024);
	if (strcmp(path, "-") == 0) {
		if (whole->len == 0 && cli_read_all(path, whole) < 0) {
			rc = EX_NOINPUT;
			goto out;
		}
		if (utf8_line(path, buf_str(whole), whole->len, 1))
			goto out;
		if (csv_parse(buf_str(whole), whole->len, cb, im, &err) < 0) {
			cli_error("%s: %s", path, buf_str(&err));
			goto out;
		}
		rc = EX_OK;
		goto out;
	}
	if ((fp = fopen(path, "rb")) == NULL) {
		cli_error("tiedote: %s: %s", path, strerror(errno));
		rc = EX_NOINPUT;
		goto out;
	}
	for (;;) {
		/* a piece, then on until it holds a whole record or the file ends */
		end = 0;
		while (!eof && (piece.len < PIECE || (end = record_end(piece.data,
		    piece.len)) == 0)) {
			if ((n = fread(chunk, 1, sizeof chunk, fp)) == 0) {
				if (ferror(fp)) {
					/* a directory, an I/O error: it cannot be read */
					cli_error("tiedote: %s: %s", path, strerror(errno));
					rc = EX_NOINPUT;
					goto out;
				}
				eof = 1;
				break;
			}
			if ((total += n) > FILE_MAX) {
				cli_error("tiedote: %s: larger than %zu bytes", path, FILE_MAX);
				goto out;
			}
			if (buf_add(&piece, chunk, n) < 0) {
				cli_error("%s: line %zu: a record longer than %zu bytes", path, line,
				    PIECE_MAX);
				goto out;
			}
		}
		if (eof)
			end = piece.len;
		else if (end == 0)
			end = record_end(piece.data, piece.len);
		if (end == 0)
			break;
		/* a piece ends at a line feed: no character is cut */
		if (utf8_line(path, piece.data, end, line))
			goto out;
		if ((r = csv_parse_at(piece.data, end, line, cb, im, &err)) < 0) {
			cli_error("%s: %s", path, buf_str(&err));
			goto out;
		}
		if (r > 0)
			break;
		for (size_t i = 0; i < end; i++)
			line += piece.data[i] == '\n';
		memmove(piece.data, piece.data + end, piece.len - end);
		buf_truncate(&piece, piece.len - end);
		if (eof && piece.len == 0)
			break;
	}
	rc = EX_OK;
out:
	if (fp)
		fclose(fp);
	buf_free(&piece);
	buf_free(&err);
	return rc;
}

/* subscriber_import - all rows or none: every bad row is reported first;
 * then begin, the rows in chunks (parsed again), and one commit that
 * applies them all */
static int
subscriber_import(cli_t *cli, const char *path, int resubscribe, int dry_run)
{
	struct import im = { .col = { -1, -1, -1, -1, -1, -1, -1 }, .cli = cli, .rc = EX_OK };
	json_t *reply = NULL;
	buf_t data;
	int rc = EX_DATAERR;

	buf_init(&data, FILE_MAX);
	buf_init(&im.arena, FILE_MAX);
	if ((rc = import_pass(path, &data, check_cb, &im)) != EX_OK)
		goto out;
	rc = EX_DATAERR;
	if (!im.header_done && im.errors == 0) {
		cli_error("%s: empty file (expected a header: email,name,lang,regions)", path);
		goto out;
	}
	if (im.errors) {
		cli_error("%s: %d bad row%s; nothing imported", path, im.errors,
		    im.errors == 1 ? "" : "s");
		goto out;
	}
	/* checked: the addresses are not needed to send */
	free(im.seen);
	im.seen = NULL;
	buf_free(&im.arena);
	buf_init(&im.arena, FILE_MAX);
	if ((rc = cli_admin(cli, json_pack("{s:s}", "op", "subscriber.import.begin"), 1,
	    &reply)) != EX_OK)
		goto out;
	im.id = json_integer_value(json_object_get(reply, "import"));
	json_decref(reply);
	reply = NULL;
	im.header_done = 0;
	im.chunk = json_array();
	/* a file changed since its check fails here, before the commit */
	if ((rc = import_pass(path, &data, send_cb, &im)) != EX_OK || (rc = im.rc) != EX_OK ||
	    (json_array_size(im.chunk) > 0 && (rc = send_chunk(&im)) != EX_OK))
		goto abort;
	if ((rc = cli_admin(cli, json_pack("{s:s, s:I, s:b, s:b}", "op",
	    "subscriber.import.commit", "import", im.id, "resubscribe", resubscribe,
	    "dry_run", dry_run), 1, &reply)) == EX_UNAVAILABLE) {
		/* no reply to the commit: it may yet have been applied */
		cli_error("tiedote: %s: the worker did not answer the commit: the import may or"
		    " may not have been applied (subscriber list shows which; running it again"
		    " is safe)", path);
		goto out;
	} else if (rc != EX_OK)
		goto abort;
	if (cli->json) {
		json_object_set_new(reply, "not_active", json_integer((json_int_t)im.not_active));
		cli_print_json(reply);
	} else {
		printf("%s%lld added, %lld updated, %lld unchanged, %lld kept unsubscribed",
		    dry_run ? "dry run: " : "",
		    (long long)json_integer_value(json_object_get(reply, "added")),
		    (long long)json_integer_value(json_object_get(reply, "updated")),
		    (long long)json_integer_value(json_object_get(reply, "unchanged")),
		    (long long)json_integer_value(json_object_get(reply, "kept_unsubscribed")));
		if (im.not_active)
			printf(", %zu not active in the file (skipped)", im.not_active);
		putchar('\n');
	}
	/* applied: its staged rows go now (else when it expires) */
	drop_import(cli, im.id);
	goto out;
abort:
	cli_error("tiedote: %s: nothing imported", path);
	/* what was staged is dropped now, not only when it expires */
	if (rc != EX_UNAVAILABLE)
		drop_import(cli, im.id);
out:
	json_decref(reply);
	json_decref(im.chunk);
	free(im.seen);
	buf_free(&im.arena);
	buf_free(&data);
	return rc;
}

/* subscriber add EMAIL [--name N] [--lang L] [--regions R] */
static int
sub_add(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "lang", required_argument, NULL, 'l' },
		{ "regions", required_argument, NULL, 'r' },
		CLI_OPT_HELP
	};
	const char *name = "", *lang = "fi", *regions = "all", *why;
	subscriber_t sub = { 0, NULL, NULL, NULL, 0, "active", 0, 0 };
	json_t *reply = NULL;
	unsigned mask;
	int c, rc = EX_USAGE;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1)
		switch (c) {
		case 'n': name = optarg; break;
		case 'l': lang = optarg; break;
		case 'r': regions = optarg; break;
		case CLI_HELP: rc = cli_help(cli); goto out;
		default: rc = cli_usage_error(cli); goto out;
		}
	if (argc - optind != 1) {
		rc = cli_usage_error(cli);
		goto out;
	}
	sub.email = argv[optind];
	sub.name = name;
	sub.lang = lang;
	rc = EX_DATAERR;
	if (addr_check(sub.email, &why) < 0) {
		cli_error("tiedote: %s: %s", sub.email, why);
		goto out;
	}
	if ((why = check_name(name)) != NULL) {
		cli_error("tiedote: --name: %s", why);
		goto out;
	}
	if ((why = check_lang(lang)) != NULL) {
		cli_error("tiedote: --lang: \"%s\": %s", lang, why);
		goto out;
	}
	if (region_parse_list(regions, &mask) < 0) {
		cli_error("tiedote: --regions: \"%s\": use HYKS,TYKS,TAYS,KYS,OYS or all", regions);
		goto out;
	}
	/* checked here for the usage's words, and again by admin */
	if ((rc = cli_admin(cli, json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", "subscriber.add",
	    "email", sub.email, "name", name, "lang", lang, "regions", regions), 1,
	    &reply)) != EX_OK)
		goto out;
	if (cli->json)
		cli_print_json(reply);
	else
		printf("%s %s\n", json_string_value(json_object_get(reply, "result")), sub.email);
out:
	json_decref(reply);
	return rc;
}

/* subscriber remove EMAIL [--purge] */
static int
sub_remove(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "purge", no_argument, NULL, 'p' },
		CLI_OPT_HELP
	};
	json_t *reply = NULL;
	int c, purge = 0, rc = EX_USAGE;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1)
		switch (c) {
		case 'p': purge = 1; break;
		case CLI_HELP: rc = cli_help(cli); goto out;
		default: rc = cli_usage_error(cli); goto out;
		}
	if (argc - optind != 1) {
		rc = cli_usage_error(cli);
		goto out;
	}
	if ((rc = cli_admin(cli, json_pack("{s:s, s:s, s:b}", "op", "subscriber.remove",
	    "email", argv[optind], "purge", purge), 1, &reply)) != EX_OK)
		goto out;
	if (cli->json)
		cli_print_json(reply);
	else
		printf("%s %s\n", purge ? "purged" : "unsubscribed", argv[optind]);
out:
	json_decref(reply);
	return rc;
}

/* subscriber list|export [--status S] */
static int
sub_list(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		CLI_OPT_HELP
	};
	struct lister l = { cli, json_array() };
	const char *status = NULL;
	int export = strcmp(argv[0], "export") == 0;
	store_t *store = NULL;
	int c, rc = EX_USAGE;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1)
		switch (c) {
		case 's': status = optarg; break;
		case CLI_HELP: rc = cli_help(cli); goto out;
		default: rc = cli_usage_error(cli); goto out;
		}
	if (argc != optind) {
		rc = cli_usage_error(cli);
		goto out;
	}
	if (status && !status_known(status)) {
		/* a status no row can have would list nothing, silently */
		cli_error("tiedote: subscriber %s: --status \"%s\": not active, unsubscribed,"
		    " suppressed or pending", argv[0], status);
		rc = cli_usage_error(cli);
		goto out;
	}
	rc = EX_TEMPFAIL;
	if (cli_open_store_read(cli, &store) < 0)
		goto out;
	if (export && !cli->json)
		fputs("email,name,lang,regions,status,created,updated\r\n", stdout);
	if (store_subscriber_foreach(store, status, export ? export_cb : list_cb, &l) < 0) {
		cli_error("tiedote: %s", store_errmsg(store));
		goto out;
	}
	if (cli->json)
		cli_print_json(l.arr);
	rc = EX_OK;
out:
	json_decref(l.arr);
	store_close(store);
	return rc;
}

/* subscriber import FILE|- [--resubscribe] [--dry-run] */
static int
sub_import(cli_t *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "resubscribe", no_argument, NULL, 'R' },
		{ "dry-run", no_argument, NULL, 'D' },
		CLI_OPT_HELP
	};
	int c, resubscribe = 0, dry_run = 0;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1)
		switch (c) {
		case 'R': resubscribe = 1; break;
		case 'D': dry_run = 1; break;
		case CLI_HELP: return cli_help(cli);
		default: return cli_usage_error(cli);
		}
	if (argc - optind != 1)
		return cli_usage_error(cli);
	return subscriber_import(cli, argv[optind], resubscribe, dry_run);
}

/* only_email - the one EMAIL argument of a verb with no options but
 * --help: the address, or NULL with *rc the exit (help printed: 0) */
static const char *
only_email(cli_t *cli, int argc, char **argv, int *rc)
{
	static const struct option opts[] = { CLI_OPT_HELP };
	int c;

	optind = 0;
	while ((c = cli_getopt(cli, argc, argv, opts)) != -1) {
		*rc = c == CLI_HELP ? cli_help(cli) : cli_usage_error(cli);
		return NULL;
	}
	if (argc - optind != 1) {
		*rc = cli_usage_error(cli);
		return NULL;
	}
	return argv[optind];
}

/* subscriber export-data EMAIL: everything held about the address, read
 * from the store (privacy.h), as JSON whatever --json says */
static int
sub_export_data(cli_t *cli, int argc, char **argv)
{
	store_t *store = NULL;
	json_t *data = NULL;
	const char *email;
	buf_t err;
	int rc;

	buf_init(&err, 1024);
	if ((email = only_email(cli, argc, argv, &rc)) == NULL)
		goto out;
	rc = EX_TEMPFAIL;
	if (cli_open_store_read(cli, &store) < 0)
		goto out;
	if (privacy_export(store, email, &data, &err) < 0) {
		cli_error("tiedote: export-data: %s", buf_str(&err));
		goto out;
	}
	cli_print_json(data);
	rc = EX_OK;
out:
	json_decref(data);
	store_close(store);
	buf_free(&err);
	return rc;
}

/* subscriber erase EMAIL: the admin op subscriber.erase (privacy.h) */
static int
sub_erase(cli_t *cli, int argc, char **argv)
{
	json_t *reply = NULL;
	const char *email;
	int rc;

	if ((email = only_email(cli, argc, argv, &rc)) == NULL)
		goto out;
	if ((rc = cli_admin(cli, json_pack("{s:s, s:s}", "op", "subscriber.erase", "email",
	    email), 1, &reply)) != EX_OK)
		goto out;
	if (cli->json)
		cli_print_json(reply);
	else
		printf("erased %s\n", email);
out:
	json_decref(reply);
	return rc;
}

static const cli_verb_t verbs[] = {
	{ "add", sub_add, "EMAIL [--name N] [--lang fi|sv|en] [--regions R|all]",
	  "add a subscriber, or update one (an unsubscribed address is resubscribed)",
	  "  R: HYKS,TYKS,TAYS,KYS,OYS (comma-separated) or all\n" },
	{ "remove", sub_remove, "EMAIL [--purge]",
	  "unsubscribe (kept, so an import cannot add it back); --purge deletes", NULL },
	{ "list", sub_list, "[--status active|unsubscribed|suppressed|pending]",
	  "the subscribers, one a line", NULL },
	{ "import", sub_import, "FILE.csv|- [--resubscribe] [--dry-run]",
	  "add or update from CSV: all rows or none, every bad row reported",
	  "  columns (a header line, any order): email, name, lang, regions; also\n"
	  "  status, created, updated, as export writes them: a row whose status is\n"
	  "  not active is skipped (never made active), created and updated are ignored\n" },
	{ "export", sub_list, "[--status active|unsubscribed|suppressed|pending]",
	  "CSV with every column, which import reads back", NULL },
	{ "export-data", sub_export_data, "EMAIL",
	  "everything held about one address, as JSON (a data subject's access request)",
	  "  the subscriber row and regions, the consent log, confirmations, outbox\n"
	  "  rows, suppressions, inbound messages and outcomes, project contacts,\n"
	  "  staged import rows; \"erased\": whether the address was erased\n" },
	{ "erase", sub_erase, "EMAIL",
	  "delete the address's personal data, keep its keyed hash: never added again",
	  "  add, import and the web form refuse the address from then on (the form\n"
	  "  answers as for any address).  One transaction: subscriber, consent log,\n"
	  "  confirmations, contacts and staged rows deleted; outbox and inbound\n"
	  "  rows keep their counts without the address; what was queued is\n"
	  "  cancelled\n" },
};

const cli_cmd_t cli_cmd_subscriber = { "subscriber", "the subscriber list", verbs,
	NELEM(verbs) };
