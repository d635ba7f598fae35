/* Signals: handlers (with and without SA_SIGINFO), masks, pending, sigaltstack, SIGSEGV and SIGILL
   from faults, FP registers restored after a handler, alarm, and deaths by signal seen by wait. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits, last_sig, last_code;
static sigjmp_buf escape;
static volatile double fp_in_handler;

static void plain(int sig) { hits++; last_sig = sig; fp_in_handler = sig * 1.5 + 0.25; }
static void with_info(int sig, siginfo_t *info, void *uc) {
    (void)uc;
    last_sig = sig;
    last_code = info->si_code;
    hits++;
}
static void on_fault(int sig, siginfo_t *info, void *uc) {
    (void)uc;
    last_sig = sig;
    last_code = info->si_code;
    siglongjmp(escape, 1);
}

static void die_by(int sig) {
    pid_t pid = fork();
    if (pid == 0) {
        signal(sig, SIG_DFL);
        if (sig == SIGSEGV) *(volatile int *)16 = 1;
        if (sig == SIGABRT) abort();
        raise(sig);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child killed: signaled=%d sig=%d\n", WIFSIGNALED(status), WTERMSIG(status));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGUSR1, plain);
    double x = 3.0;
    raise(SIGUSR1);
    printf("raise: hits=%d sig=%d fp=%g x=%g\n", hits, last_sig, fp_in_handler, x * 2);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = with_info;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    kill(getpid(), SIGUSR2);
    printf("kill: sig=%d code=%d\n", last_sig, last_code);

    sigset_t block, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    hits = 0;
    raise(SIGUSR1);
    sigpending(&pending);
    printf("blocked: hits=%d pending=%d\n", hits, sigismember(&pending, SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    printf("unblocked: hits=%d\n", hits);

    struct sigaction old;
    sigaction(SIGUSR1, NULL, &old);
    printf("old handler is plain: %d\n", old.sa_handler == plain);
    signal(SIGUSR1, SIG_IGN);
    raise(SIGUSR1);
    printf("ignored: still alive\n");

    stack_t ss = {.ss_sp = malloc(SIGSTKSZ), .ss_size = SIGSTKSZ, .ss_flags = 0};
    printf("sigaltstack: %d\n", sigaltstack(&ss, NULL));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    if (sigsetjmp(escape, 1) == 0) *(volatile int *)8 = 42;
    printf("segv caught: sig=%d code=%d\n", last_sig, last_code);
    if (sigsetjmp(escape, 1) == 0) __asm__ volatile(".word 0");
    printf("sigill caught: sig=%d code=%d\n", last_sig, last_code);

    signal(SIGALRM, plain);
    hits = 0;
    sigset_t alrm, nothing;  /* blocked until sigsuspend: the alarm cannot come before the wait */
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    sigemptyset(&nothing);
    sigprocmask(SIG_BLOCK, &alrm, NULL);
    alarm(1);
    sigsuspend(&nothing);
    sigprocmask(SIG_UNBLOCK, &alrm, NULL);
    printf("alarm: hits=%d sig=%d\n", hits, last_sig);

    sigset_t wait_set;
    sigemptyset(&wait_set);
    sigaddset(&wait_set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &wait_set, NULL);
    raise(SIGUSR2);
    int got = 0;
    sigwait(&wait_set, &got);
    printf("sigwait: %d\n", got);

    signal(SIGRTMIN + 2, plain);
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 2};
    timer_t timer;
    printf("timer_create: %d\n", timer_create(CLOCK_MONOTONIC, &sev, &timer));
    struct itimerspec its = {.it_value = {0, 20 * 1000 * 1000}};
    hits = 0;
    sigset_t rt, none;  /* blocked until sigsuspend, so the expiry cannot slip in before the wait */
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN + 2);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &rt, NULL);
    printf("timer_settime: %d\n", timer_settime(timer, 0, &its, NULL));
    while (!hits) sigsuspend(&none);
    sigprocmask(SIG_UNBLOCK, &rt, NULL);
    printf("timer fired: sig is SIGRTMIN+2: %d\n", last_sig == SIGRTMIN + 2);
    printf("timer_delete: %d\n", timer_delete(timer));

    die_by(SIGSEGV);
    die_by(SIGABRT);
    die_by(SIGTERM);
    return 0;
}
