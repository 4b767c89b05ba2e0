/*
 * cwork.c - crypto worker pool (cwork.h): one mutex-protected FIFO of
 * submitted jobs that workers wait on, one of finished jobs that the
 * loop drains when the eventfd says so.
 */
#include "ike/cwork.h"
#include "ike/iked.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MOD "iked"

struct cwork {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cwork_job *in, **in_tail;   /* submitted, FIFO */
	struct cwork_job *out, **out_tail; /* finished, FIFO */
	bool stop;
	int efd;
	unsigned n, pending;
	pthread_t th[CWORK_MAX];
};

static void job_free(struct cwork_job *j)
{
	mem_wipe(j, j->size);
	free(j);
}

static void *worker(void *arg)
{
	struct cwork *w = arg;
	struct cwork_job *j;
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && !w->in)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		j = w->in;
		w->in = j->next;
		if (!w->in)
			w->in_tail = &w->in;
		pthread_mutex_unlock(&w->mu);
		j->run(j);
		pthread_mutex_lock(&w->mu);
		j->next = NULL;
		*w->out_tail = j;
		w->out_tail = &j->next;
		/* a full eventfd counter is still readable: nothing lost */
		(void)!write(w->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void drain(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct iked *d = arg;
	struct cwork *w = d->cw;
	struct cwork_job *j, *next;
	uint64_t v;

	(void)loop;
	(void)events;
	(void)!read(fd, &v, sizeof(v));
	pthread_mutex_lock(&w->mu);
	j = w->out;
	w->out = NULL;
	w->out_tail = &w->out;
	pthread_mutex_unlock(&w->mu);
	for (; j; j = next) {
		next = j->next;
		w->pending--;
		j->done(d, j);
		job_free(j);
	}
}

unsigned cwork_default(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	n = CPU_COUNT(&set);
	if (n <= 1)
		return 0;
	return n > CWORK_MAX ? CWORK_MAX : (unsigned)n;
}

int cwork_start(struct iked *d, unsigned n)
{
	struct cwork *w;
	sigset_t all, old;
	int rc;

	if (!n)
		return 0;
	if (n > CWORK_MAX)
		n = CWORK_MAX;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->in_tail = &w->in;
	w->out_tail = &w->out;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		rc = -errno;
		goto free_w;
	}
	rc = ev_add_fd(d->loop, w->efd, EPOLLIN, drain, d);
	if (rc < 0)
		goto close_efd;
	d->cw = w;
	/* workers take no signals (the loop's signalfd does) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; w->n < n; w->n++) {
		rc = -pthread_create(&w->th[w->n], NULL, worker, w);
		if (rc < 0)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!w->n) {
		d->cw = NULL;
		ev_del_fd(d->loop, w->efd);
		goto close_efd;
	}
	log_info(MOD, "%u crypto worker%s", w->n, w->n == 1 ? "" : "s");
	return 0;

close_efd:
	close(w->efd);
free_w:
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return rc;
}

void cwork_stop(struct iked *d)
{
	struct cwork *w = d->cw;
	struct cwork_job *j, *next;
	unsigned i;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->n; i++)
		pthread_join(w->th[i], NULL);
	for (j = w->in; j; j = next) {
		next = j->next;
		job_free(j);
	}
	for (j = w->out; j; j = next) {
		next = j->next;
		job_free(j);
	}
	ev_del_fd(d->loop, w->efd);
	close(w->efd);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	d->cw = NULL;
}

void cwork_submit(struct iked *d, struct cwork_job *j)
{
	struct cwork *w = d->cw;

	if (!w) {
		j->run(j);
		j->done(d, j);
		job_free(j);
		return;
	}
	j->next = NULL;
	pthread_mutex_lock(&w->mu);
	*w->in_tail = j;
	w->in_tail = &j->next;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	w->pending++;
}

unsigned cwork_pending(const struct iked *d)
{
	return d->cw ? d->cw->pending : 0;
}
