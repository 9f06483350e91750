/*
 * secret - files that hold secrets; contract in secret.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"
#include "util.h"

int
secret_read(const char *path, const char *what, size_t max, buf_t *out, buf_t *err)
{
	char chunk[4096];
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		buf_notef(err, "%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	(void)buf_reserve(out, max);
	/* fstat the open file: what we check is what we read */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		buf_notef(err, "%s %s: not a regular file", what, path);
		goto out;
	}
	if (st.st_mode & 077) {
		buf_notef(err, "%s %s: refused, mode %04o lets group or others read the "
		    "secret (chmod 600 it)", what, path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			buf_notef(err, "%s %s: %s", what, path, strerror(errno));
			goto out;
		}
		if (out->len + (size_t)n > max || buf_add(out, chunk, (size_t)n) < 0) {
			buf_notef(err, "%s %s: larger than %zu bytes", what, path, max);
			goto out;
		}
	}
	rc = 0;
out:
	explicit_bzero(chunk, sizeof chunk);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
auth_file_load(const char *what, const char *path, char **user, char **pass, buf_t *err)
{
	buf_t text;
	char *colon;
	int rc = -1;

	buf_init(&text, SECRET_AUTH_MAX + 1);
	if (secret_read(path, what, SECRET_AUTH_MAX, &text, err) < 0)
		goto out;
	text.data[strcspn(buf_str(&text), "\r\n")] = '\0';
	if ((colon = strchr(buf_str(&text), ':')) == NULL || colon == text.data) {
		buf_notef(err, "%s %s: the first line is not \"user:password\"", what, path);
		goto out;
	}
	*colon = '\0';
	*user = xstrdup(text.data);
	*pass = xstrdup(colon + 1);
	rc = 0;
out:
	secret_wipe(&text);
	return rc;
}

int
secret_write(const char *path, const char *what, mode_t mode, const void *data, size_t len,
    buf_t *err)
{
	const char *p = data;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, mode)) < 0) {
		buf_notef(err, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	/* the umask may have taken bits away, never added: set exactly */
	if (fchmod(fd, mode) < 0)
		goto fail;
	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	rc = 0;
fail:
	if (rc < 0) {
		buf_notef(err, "%s %s: %s", what, path, strerror(errno));
		unlink(path);
	}
	close(fd);
	return rc;
}

void
secret_wipe(buf_t *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}
