/*
 * signq - the signing threads and their two queues; contract in signq.h.
 *
 * One mutex guards both lists (a job moves from todo to done under it);
 * the threads sleep on one condition variable while todo is empty.  Each
 * finished job adds 1 to the eventfd, and signq_get() takes one back, so
 * the descriptor is readable exactly while results wait.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "sign.h"
#include "signq.h"
#include "util.h"

struct sjob {
	struct sjob *next;
	uint64_t tag;
	int64_t	 now;
	int	 ok;
	buf_t	 eml, err;
};

struct worker {
	pthread_t thread;
	int	 started;
	sign_t	*sign;
	sign_t	*next;		/* signq_reload()'s, taken before the next job */
	signq_t	*q;
};

struct signq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sjob *todo, **todo_tail, *done, **done_tail;
	int	 count;		/* jobs in either list */
	int	 stopping;
	int	 efd;
	struct worker workers[SIGNQ_THREADS];
	int	 nworkers;
};

static void
sjob_free(struct sjob *j)
{
	buf_free(&j->eml);
	buf_free(&j->err);
	free(j);
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	signq_t *q = w->q;
	struct sjob *j;
	uint64_t one = 1;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		sign_t *old = NULL;

		while (q->todo == NULL && !q->stopping)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->stopping)
			break;
		j = q->todo;
		if ((q->todo = j->next) == NULL)
			q->todo_tail = &q->todo;
		/* new keys between two messages, never within one */
		if (w->next) {
			old = w->sign;
			w->sign = w->next;
			w->next = NULL;
		}
		pthread_mutex_unlock(&q->mu);
		sign_close(old);
		j->ok = sign_message(w->sign, &j->eml, j->now, &j->err) == 0;
		j->next = NULL;
		pthread_mutex_lock(&q->mu);
		*q->done_tail = j;
		q->done_tail = &j->next;
		/* an eventfd write of 1 cannot block or fail short of 2^64-2 */
		if (write(q->efd, &one, sizeof one) != sizeof one)
			log_error("signq: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int
signq_open(const conf_t *conf, signq_t **out, buf_t *err)
{
	signq_t *q;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int n = cpus > 0 && cpus < SIGNQ_THREADS ? (int)cpus : SIGNQ_THREADS, rc;

	*out = NULL;
	if (*conf->dkim_domain == '\0') {
		sign_t *none;

		/* nothing to sign; sign_open() refuses a key without a domain */
		return sign_open(conf, &none, err);
	}
	q = xcalloc(1, sizeof *q);
	q->efd = -1;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->todo_tail = &q->todo;
	q->done_tail = &q->done;
	if ((q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC | EFD_SEMAPHORE)) < 0) {
		buf_notef(err, "signq: eventfd: %s", strerror(errno));
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		struct worker *w = &q->workers[q->nworkers];

		w->q = q;
		if (sign_open(conf, &w->sign, err) < 0)
			goto fail;
		q->nworkers++;
		if ((rc = pthread_create(&w->thread, NULL, run, w)) != 0) {
			buf_notef(err, "signq: pthread_create: %s", strerror(rc));
			goto fail;
		}
		w->started = 1;
	}
	sign_log(q->workers[0].sign, conf);
	*out = q;
	return 0;
fail:
	signq_close(q);
	return -1;
}

int
signq_reload(signq_t *q, const conf_t *conf, buf_t *err)
{
	sign_t *fresh[SIGNQ_THREADS] = { NULL }, *old[SIGNQ_THREADS] = { NULL };
	int rc = -1;

	for (int i = 0; i < q->nworkers; i++)
		if (sign_open(conf, &fresh[i], err) < 0)
			goto out;
		else if (fresh[i] == NULL) {
			buf_note(err, "dkim.domain: empty; signing stops only at a restart");
			goto out;
		}
	sign_log(fresh[0], conf);
	pthread_mutex_lock(&q->mu);
	for (int i = 0; i < q->nworkers; i++) {
		old[i] = q->workers[i].next;	/* a reload not yet taken */
		q->workers[i].next = fresh[i];
		fresh[i] = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	rc = 0;
out:
	for (int i = 0; i < SIGNQ_THREADS; i++) {
		sign_close(fresh[i]);
		sign_close(old[i]);
	}
	return rc;
}

int
signq_put(signq_t *q, uint64_t tag, buf_t *eml, int64_t now)
{
	struct sjob *j;

	pthread_mutex_lock(&q->mu);
	if (q->count >= SIGNQ_MAX) {
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	q->count++;
	pthread_mutex_unlock(&q->mu);
	j = xcalloc(1, sizeof *j);
	j->tag = tag;
	j->now = now;
	j->eml = *eml;		/* the buffer moves; the caller's is left empty */
	buf_init(eml, eml->max);
	buf_init(&j->err, 1024);
	pthread_mutex_lock(&q->mu);
	*q->todo_tail = j;
	q->todo_tail = &j->next;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

int
signq_get(signq_t *q, uint64_t *tag, int *ok, buf_t *eml, buf_t *err)
{
	struct sjob *j;
	uint64_t one;

	pthread_mutex_lock(&q->mu);
	if ((j = q->done) != NULL) {
		if ((q->done = j->next) == NULL)
			q->done_tail = &q->done;
		q->count--;
	}
	pthread_mutex_unlock(&q->mu);
	if (j == NULL)
		return 0;
	/* EFD_SEMAPHORE: one read takes one result's 1 */
	if (read(q->efd, &one, sizeof one) != sizeof one)
		log_error("signq: eventfd: %s", strerror(errno));
	*tag = j->tag;
	*ok = j->ok;
	if (j->ok) {
		buf_free(eml);
		*eml = j->eml;
		buf_init(&j->eml, 0);
	} else
		buf_note(err, buf_str(&j->err));
	sjob_free(j);
	return 1;
}

int
signq_fd(const signq_t *q)
{
	return q->efd;
}

void
signq_close(signq_t *q)
{
	struct sjob *j, *next;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (int i = 0; i < q->nworkers; i++) {
		if (q->workers[i].started)
			pthread_join(q->workers[i].thread, NULL);
		sign_close(q->workers[i].sign);
		sign_close(q->workers[i].next);
	}
	for (j = q->todo; j; j = next) {
		next = j->next;
		sjob_free(j);
	}
	for (j = q->done; j; j = next) {
		next = j->next;
		sjob_free(j);
	}
	if (q->efd >= 0)
		close(q->efd);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
