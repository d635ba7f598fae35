/* pthreads: create/join, mutexes, condition variables, barriers, thread-local storage, atomics. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS 2000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;
static long counter;
static atomic_long atomic_counter;
static __thread int mine;
static int turn, tids_distinct = 1;
static long tids[THREADS];

static void *work(void *arg) {
    long id = (long)arg;
    mine = (int)id * 10;
    tids[id] = syscall(SYS_gettid);
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        atomic_fetch_add(&atomic_counter, 1);
        if (i % 500 == 0) sched_yield();
    }
    pthread_mutex_lock(&lock);
    while (turn != id) pthread_cond_wait(&cond, &lock);
    printf("thread %ld: tls=%d\n", id, mine);
    turn++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    return (void *)(id + 100);
}

int main(void) {
    pthread_t t[THREADS];
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, work, (void *)i);
    long sum = 0;
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        sum += (long)ret;
    }
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < i; j++)
            if (tids[i] == tids[j]) tids_distinct = 0;
    printf("counter=%ld atomic=%ld joined=%ld distinct tids=%d main tls=%d\n", counter,
           (long)atomic_counter, sum, tids_distinct, mine);
    return 0;
}
