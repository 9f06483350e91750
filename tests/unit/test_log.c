/*
 * test_log - the journal entry's fields (log_fields), the journal stream
 * recognised by JOURNAL_STREAM's device and inode only, and plain lines
 * otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "test.h"

TEST(fields_all)
{
	char out[8192];
	log_ids_t ids = { .event = "dl-2020-7", .issue = 12, .recipient = "a+...@example.fi" };

	log_init("tiedoted");
	CHECK(log_fields(LOG_INFO, &ids, "intake: stored", out, sizeof out) == 6);
	CHECK_STR(out, "MESSAGE=intake: stored\nPRIORITY=6\nSYSLOG_IDENTIFIER=tiedoted\n"
	    "TIEDOTE_EVENT_ID=dl-2020-7\nTIEDOTE_ISSUE=12\nTIEDOTE_RECIPIENT=a+...@example.fi\n");
}

TEST(fields_some)
{
	char out[8192];
	log_ids_t issue = { .issue = 3 }, bad = { .event = "x\ny\x01" };

	log_init("tiedoted");
	CHECK(log_fields(LOG_ERR, NULL, "m", out, sizeof out) == 3);
	CHECK_STR(out, "MESSAGE=m\nPRIORITY=3\nSYSLOG_IDENTIFIER=tiedoted\n");
	CHECK(log_fields(LOG_WARNING, &issue, "m", out, sizeof out) == 4);
	CHECK(strstr(out, "TIEDOTE_ISSUE=3\n") != NULL && strstr(out, "TIEDOTE_EVENT_ID") == NULL);
	/* an id cannot forge a second field */
	CHECK(log_fields(LOG_INFO, &bad, "m", out, sizeof out) == 4);
	CHECK(strstr(out, "TIEDOTE_EVENT_ID=x?y?\n") != NULL);
	/* nor a C1 control (NEL) or a line separator: each octet a '?' */
	bad.event = "x\xc2\x85y\xe2\x80\xa8z";
	CHECK(log_fields(LOG_INFO, &bad, "m", out, sizeof out) == 4);
	CHECK(strstr(out, "TIEDOTE_EVENT_ID=x??y???z\n") != NULL);
	bad.event = "x\ny\x01";
	CHECK(log_fields(LOG_INFO, &bad, "m", out, 10) == -1);
}

/* logged - what one log_ids() line writes to stderr, with JOURNAL_STREAM
 * as given ("match": stderr's own device and inode) */
static void
logged(const char *stream, char *got, size_t size)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	char v[64];
	struct stat st;
	size_t n;

	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	if (stream && strcmp(stream, "match") == 0 && fstat(STDERR_FILENO, &st) == 0) {
		snprintf(v, sizeof v, "%llu:%llu", (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", v, 1);
	} else if (stream)
		setenv("JOURNAL_STREAM", stream, 1);
	else
		unsetenv("JOURNAL_STREAM");
	log_init("t");
	log_ids(LOG_INFO, &(log_ids_t){ .issue = 9 }, "issue %d sent", 9);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(got, 1, size - 1, f);
	got[n] = '\0';
	fclose(f);
	unsetenv("JOURNAL_STREAM");
}

TEST(stream)
{
	char got[4096];

	logged(NULL, got, sizeof got);
	CHECK(strstr(got, " t[") && strstr(got, "] info: issue 9 sent\n") &&
	    !strstr(got, "TIEDOTE_"));
	/* inherited by a process whose stderr is elsewhere: plain lines */
	logged("1:2", got, sizeof got);
	CHECK(strstr(got, "] info: issue 9 sent\n") != NULL);
	/* the journal's stream: the entry goes to journald, or, when there is
	 * none (as here), "<6>" on stderr; never a plain line */
	logged("match", got, sizeof got);
	CHECK(strstr(got, " t[") == NULL);
	CHECK(got[0] == '\0' || strcmp(got, "<6>issue 9 sent\n") == 0);
}

int
main(void)
{
	RUN(fields_all);
	RUN(fields_some);
	RUN(stream);
	return TEST_DONE();
}
