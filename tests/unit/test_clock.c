/* test_clock - RFC 3339 parsing and the TIEDOTE_NOW test hook */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "datefmt.h"
#include "log.h"
#include "region.h"
#include "test.h"

TEST(parses_offsets_and_forms)
{
	int64_t t, u;
	int off;

	CHECK(clock_parse("2020-03-31T16:15:00+03:00", &t, &off) == 0);
	CHECK(t == 1585660500 && off == 180);
	CHECK(clock_parse("2020-03-31T16:15+03:00", &u, NULL) == 0 && u == t);
	CHECK(clock_parse("2020-03-31T13:15:00Z", &u, NULL) == 0 && u == t);
	CHECK(clock_parse("2020-03-31t13:15:00.999z", &u, NULL) == 0 && u == t);
	CHECK(clock_parse("2020-03-31T09:15:00-04:00", &u, NULL) == 0 && u == t);
	CHECK(clock_parse("2020-02-29T00:00Z", &u, NULL) == 0 && u == 1582934400);
	CHECK(clock_parse("2016-12-31T23:59:60Z", &u, NULL) == 0);
}

TEST(refuses_what_is_not_a_time)
{
	static const char *const bad[] = {
		"", "31.3.2020", "2020-03-31", "2020-03-31T16:15", "2020-03-31T16:15:00",
		"2020-03-31 16:15+03:00", "2020-02-30T00:00Z", "2019-02-29T00:00Z",
		"2020-13-01T00:00Z", "2020-00-01T00:00Z", "2020-03-31T24:00Z",
		"2020-03-31T16:60Z", "2020-03-31T16:15+15:00", "2020-03-31T16:15+0300",
		"2020-03-31T16:15Z ", "2020-03-31T16:15.5Z", "1969-12-31T23:59Z",
		"2020-03-31T16:15:00.Z",
	};
	int64_t t;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = clock_parse(bad[i], &t, NULL);

		if (rc == 0)
			fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
		CHECK(rc == -1);
	}
}

TEST(now_can_be_set_and_moved)
{
	char path[] = "/tmp/tiedote-now.XXXXXX";
	int fd = mkstemp(path);
	FILE *fp;

	setenv("TIEDOTE_NOW", "2020-03-29T02:59:59+02:00", 1);
	CHECK(clock_now() == 1585443599);
	setenv("TIEDOTE_NOW", "@1585443600", 1);
	CHECK(clock_now() == 1585443600);
	CHECK(clock_now_ms() == 1585443600000LL);
	/* without a watch (the CLI) the file is read at every call */
	fp = fdopen(fd, "w");
	fputs("2020-03-31T16:15:00+03:00\n", fp);
	fclose(fp);
	setenv("TIEDOTE_NOW_FILE", path, 1);
	CHECK(clock_now() == 1585660500);
	fp = fopen(path, "w");
	fputs("@1586000000", fp);
	fclose(fp);
	CHECK(clock_now() == 1586000000);
	/* an empty file (written in place, caught half-way) and a time
	 * before 1970 stop the program; never the real clock instead */
	for (int i = 0; i < 3; i++) {
		const char *text[] = { "", "@-1", "1969-12-31T23:59:00Z" };
		pid_t pid;
		int status = 0;

		fp = fopen(path, "w");
		fputs(text[i], fp);
		fclose(fp);
		if ((pid = fork()) == 0) {
			log_set_level(LOG_EMERG);
			(void)clock_now();
			_exit(0);
		}
		CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 75);
	}
	unlink(path);
	unsetenv("TIEDOTE_NOW_FILE");
	unsetenv("TIEDOTE_NOW");
	CHECK(clock_now() > 1700000000);
}

/* set_clock - what a test does: a new file renamed over the old one */
static void
set_clock(const char *path, long long t)
{
	char tmp[64];
	FILE *fp;

	snprintf(tmp, sizeof tmp, "%s.new", path);
	fp = fopen(tmp, "w");
	fprintf(fp, "@%lld\n", t);
	fclose(fp);
	rename(tmp, path);
}

TEST(watched_clock_is_exact)
{
	char dir[] = "/tmp/tiedote-nowdir.XXXXXX", path[64];
	int fd, moved = 1;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/now", dir);
	set_clock(path, 1600000000);
	setenv("TIEDOTE_NOW_FILE", path, 1);
	fd = clock_watch();
	CHECK(fd >= 0);
	CHECK(clock_watch() == fd);
	CHECK(clock_now() == 1600000000);
	/* the worker's rule: no change seen before a refresh, none missed
	 * after one, however quickly the clock moves (no sleeping here) */
	for (long long i = 1; i <= 2000; i++) {
		set_clock(path, 1600000000 + i);
		if (clock_now() != 1600000000 + i - 1)
			moved = 0;
		clock_refresh();
		if (clock_now() != 1600000000 + i)
			moved = 0;
	}
	CHECK(moved);
	/* a refresh with nothing new keeps the value, and reads nothing */
	clock_refresh();
	CHECK(clock_now() == 1600002000);
	/* written in place and closed: seen too (IN_CLOSE_WRITE) */
	{
		FILE *fp = fopen(path, "w");

		fputs("@1600003000\n", fp);
		fclose(fp);
		clock_refresh();
		CHECK(clock_now() == 1600003000);
	}
	/* clock_changes(): one for a new value, none for the same value again
	 * or for another file written in the directory (the database's) */
	{
		unsigned long before = clock_changes();
		char other[80];
		FILE *fp;

		set_clock(path, 1600003000);
		clock_refresh();
		CHECK(clock_changes() == before);
		snprintf(other, sizeof other, "%s/other", dir);
		fp = fopen(other, "w");
		fputs("@1\n", fp);
		fclose(fp);
		clock_refresh();
		CHECK(clock_changes() == before);
		CHECK(clock_now() == 1600003000);
		set_clock(path, 1600003001);
		CHECK(clock_changes() == before);	/* not before a refresh */
		clock_refresh();
		CHECK(clock_changes() == before + 1);
		CHECK(clock_now() == 1600003001);
		unlink(other);
	}
	unlink(path);
	rmdir(dir);
	unsetenv("TIEDOTE_NOW_FILE");
	CHECK(clock_now() > 1700000000);
}

TEST(region_lists)
{
	unsigned m;
	buf_t b;

	buf_init(&b, 64);
	CHECK(region_parse_list("KYS,OYS", &m) == 0 && m == (8 | 16));
	CHECK(region_parse_list("hyks; tyks", &m) == 0 && m == 3);
	CHECK(region_parse_list("all", &m) == 0 && m == REGION_ALL);
	CHECK(region_parse_list("all,KYS", &m) == -1);
	CHECK(region_parse_list("Helsinki", &m) == -1);
	CHECK(region_parse_list("", &m) == -1);
	region_format(8 | 1, &b);
	CHECK_STR(buf_str(&b), "HYKS,KYS");
	buf_reset(&b);
	region_format(REGION_ALL, &b);
	CHECK_STR(buf_str(&b), "all");
	buf_free(&b);
}

/* one rule for what exists: clock_parse refuses what clock_civil_valid
 * refuses, and the local times of datefmt_parse_local are checked by it */
TEST(civil_dates_that_exist)
{
	int64_t t;

	CHECK(clock_civil_valid(2020, 2, 29, 9, 0, 0));
	CHECK(!clock_civil_valid(2021, 2, 29, 9, 0, 0));
	CHECK(!clock_civil_valid(2100, 2, 29, 9, 0, 0));
	CHECK(clock_civil_valid(2000, 2, 29, 9, 0, 0));
	CHECK(!clock_civil_valid(2020, 2, 31, 9, 0, 0));
	CHECK(!clock_civil_valid(2020, 4, 31, 9, 0, 0));
	CHECK(clock_civil_valid(2020, 12, 31, 23, 59, 60));
	CHECK(!clock_civil_valid(2020, 13, 1, 9, 0, 0));
	CHECK(!clock_civil_valid(2020, 0, 1, 9, 0, 0));
	CHECK(!clock_civil_valid(2020, 1, 0, 9, 0, 0));
	CHECK(!clock_civil_valid(2020, 5, 4, 24, 0, 0));
	CHECK(!clock_civil_valid(2020, 5, 4, 9, 60, 0));
	CHECK(!clock_civil_valid(2020, 5, 4, -1, 0, 0));
	CHECK(!clock_civil_valid(1969, 12, 31, 9, 0, 0));
	CHECK(clock_parse("2020-02-31T09:00+02:00", &t, NULL) == -1);
	CHECK(clock_parse("2020-05-04T24:00+03:00", &t, NULL) == -1);
	/* the local form takes the same rule (it normalised to 2 March before) */
	{
		buf_t err;

		buf_init(&err, 256);
		CHECK(datefmt_parse_local("2020-02-31 09:00", "Europe/Helsinki", -1, 0, &t,
		    &err) == -1 && strstr(buf_str(&err), "no such date"));
		buf_reset(&err);
		CHECK(datefmt_parse_local("2020-02-30", "Europe/Helsinki", 9, 0, &t, &err) == -1 &&
		    err.len > 0);
		buf_reset(&err);
		CHECK(datefmt_parse_local("2020-05-04 24:00", "Europe/Helsinki", -1, 0, &t,
		    &err) == -1 && err.len > 0);
		buf_reset(&err);
		CHECK(datefmt_parse_local("2020-13-04 09:00", "Europe/Helsinki", -1, 0, &t,
		    &err) == -1 && err.len > 0);
		buf_free(&err);
	}
}

int
main(void)
{
	RUN(civil_dates_that_exist);
	RUN(parses_offsets_and_forms);
	RUN(refuses_what_is_not_a_time);
	RUN(now_can_be_set_and_moved);
	RUN(watched_clock_is_exact);
	RUN(region_lists);
	return TEST_DONE();
}
