/*
 * secret - a credentials file; contract in secret.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"
#include "util.h"

int
auth_file_load(const char *what, const char *path, char **user, char **pass, buf_t *err)
{
	char text[4096], *colon;
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		buf_notef(err, "%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	/* fstat the open file: what we check is what we read */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		buf_notef(err, "%s %s: not a regular file", what, path);
		goto out;
	}
	if (st.st_mode & 077) {
		buf_notef(err, "%s %s: refused, mode %04o lets group or "
		    "others at the password (chmod 600 it)", what, path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (len < sizeof text - 1 &&
	    (n = read(fd, text + len, sizeof text - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			buf_notef(err, "%s %s: %s", what, path, strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	text[len] = '\0';
	text[strcspn(text, "\r\n")] = '\0';
	if ((colon = strchr(text, ':')) == NULL || colon == text) {
		buf_notef(err, "%s %s: the first line is not "
		    "\"user:password\"", what, path);
		goto out;
	}
	*colon = '\0';
	*user = xstrdup(text);
	*pass = xstrdup(colon + 1);
	rc = 0;
out:
	explicit_bzero(text, sizeof text);
	if (fd >= 0)
		close(fd);
	return rc;
}

