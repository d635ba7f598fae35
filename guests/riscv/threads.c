/* pthreads: create and join with return values, many threads incrementing an atomic counter and a
 * mutex-protected one, a condition-variable handoff, a barrier, pthread_once, thread-local storage,
 * gettid and a detached thread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "guest.h"

#define THREADS 6
#define INCREMENTS 300

static atomic_long atomic_counter;
static long locked_counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t barrier;
static __thread int thread_value = 7;
static __thread char thread_name[16] = "main";
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static atomic_int distinct_tids;
static pid_t main_tid;

static void run_once(void) {
    once_runs++;
}

static void *worker(void *argument) {
    int index = (int)(intptr_t)argument;
    CHECK(thread_value == 7 && strcmp(thread_name, "main") == 0, "fresh thread-local values");
    thread_value = index * 100;
    snprintf(thread_name, sizeof thread_name, "worker%d", index);
    pthread_once(&once, run_once);
    if (gettid() != main_tid && gettid() != getpid()) {
        atomic_fetch_add(&distinct_tids, 1);
    }
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < INCREMENTS; i++) {
        atomic_fetch_add_explicit(&atomic_counter, 1, memory_order_relaxed);
        pthread_mutex_lock(&lock);
        locked_counter++;
        pthread_mutex_unlock(&lock);
        if (i % 64 == 0) {
            sched_yield();
        }
    }
    CHECK(thread_value == index * 100, "thread-local value kept");
    return (void *)(intptr_t)(thread_value + (int)strlen(thread_name));
}

static pthread_mutex_t box_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t box_changed = PTHREAD_COND_INITIALIZER;
static int box, box_full, handoffs_done;

static void *consumer(void *unused) {
    (void)unused;
    long total = 0;
    for (int i = 0; i < 20; i++) {
        pthread_mutex_lock(&box_lock);
        while (!box_full) {
            pthread_cond_wait(&box_changed, &box_lock);
        }
        total += box;
        box_full = 0;
        pthread_cond_signal(&box_changed);
        pthread_mutex_unlock(&box_lock);
    }
    return (void *)total;
}

static void *detached(void *unused) {
    (void)unused;
    pthread_mutex_lock(&box_lock);
    handoffs_done = 1;
    pthread_cond_signal(&box_changed);
    pthread_mutex_unlock(&box_lock);
    return NULL;
}

int main(void) {
    main_tid = gettid();
    printf("main thread: gettid == getpid %d\n", main_tid == getpid());
    pthread_barrier_init(&barrier, NULL, THREADS);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)(i + 1)) == 0, "pthread_create");
    }
    for (int i = 0; i < THREADS; i++) {
        void *result;
        CHECK(pthread_join(threads[i], &result) == 0, "pthread_join");
        printf("thread %d returned %ld\n", i + 1, (long)(intptr_t)result);
    }
    printf("atomic counter %ld, mutex counter %ld (expected %d)\n", (long)atomic_counter, locked_counter,
           THREADS * INCREMENTS);
    CHECK(atomic_counter == THREADS * INCREMENTS && locked_counter == THREADS * INCREMENTS, "counters");
    printf("pthread_once ran %d time(s), threads with their own tid %d\n", once_runs, (int)distinct_tids);
    printf("main's thread-locals untouched: %d %s\n", thread_value, thread_name);

    pthread_t consumer_thread;
    pthread_create(&consumer_thread, NULL, consumer, NULL);
    for (int i = 1; i <= 20; i++) {
        pthread_mutex_lock(&box_lock);
        while (box_full) {
            pthread_cond_wait(&box_changed, &box_lock);
        }
        box = i * i;
        box_full = 1;
        pthread_cond_signal(&box_changed);
        pthread_mutex_unlock(&box_lock);
    }
    void *total;
    pthread_join(consumer_thread, &total);
    printf("condition variable handoff: sum of squares %ld\n", (long)total);
    CHECK((long)total == 2870, "handoff sum");

    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t detached_thread;
    pthread_create(&detached_thread, &attributes, detached, NULL);
    pthread_mutex_lock(&box_lock);
    while (!handoffs_done) {
        pthread_cond_wait(&box_changed, &box_lock);
    }
    pthread_mutex_unlock(&box_lock);
    printf("detached thread ran\n");
    pthread_mutex_t error_checking;
    pthread_mutexattr_t mutex_attributes;
    pthread_mutexattr_init(&mutex_attributes);
    pthread_mutexattr_settype(&mutex_attributes, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&error_checking, &mutex_attributes);
    pthread_mutex_lock(&error_checking);
    printf("relock of an error-checking mutex: %d, trylock of a held mutex: %d\n",
           pthread_mutex_lock(&error_checking), pthread_mutex_trylock(&lock) == 0 && pthread_mutex_trylock(&lock));
    return guest_status();
}
