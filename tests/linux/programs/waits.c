/* Green threads that block: a thread reading an empty pipe while another writes it, a timed
   condition wait, sleeps in threads, and a host signal (sent by the test) reaching a handler. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fds[2];
static volatile sig_atomic_t got;

static void *reader(void *arg) {
    (void)arg;
    char buf[32] = {0};
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    printf("reader got %zd [%s]\n", n, buf);
    return NULL;
}

static void *sleeper(void *arg) {
    struct timespec t = {0, (long)arg * 1000000};
    nanosleep(&t, NULL);
    return arg;
}

static void on_signal(int sig) { got = sig; }

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) {  /* wait for the test's signal */
        if (strcmp(argv[1], "handle") == 0) signal(SIGTERM, on_signal);
        sigset_t term, none;  /* SIGTERM blocked until sigsuspend: no window for it to slip through */
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        sigemptyset(&none);
        sigprocmask(SIG_BLOCK, &term, NULL);
        printf("ready\n");
        while (!got) sigsuspend(&none);
        printf("handler ran for signal %d\n", got);
        return 5;
    }
    pipe(fds);
    pthread_t r, s1, s2;
    pthread_create(&r, NULL, reader, NULL);
    pthread_create(&s1, NULL, sleeper, (void *)30L);
    pthread_create(&s2, NULL, sleeper, (void *)10L);
    struct timespec t = {0, 50 * 1000000};
    nanosleep(&t, NULL);
    write(fds[1], "wake up", 7);
    void *a, *b;
    pthread_join(r, NULL);
    pthread_join(s1, &a);
    pthread_join(s2, &b);
    printf("sleepers joined: %ld %ld\n", (long)a, (long)b);

    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 20 * 1000000;
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    pthread_mutex_lock(&m);
    int rc = pthread_cond_timedwait(&c, &m, &until);
    printf("timedwait: %s\n", rc == ETIMEDOUT ? "ETIMEDOUT" : strerror(rc));
    pthread_mutex_unlock(&m);
    return 0;
}
