/* Signals: sigaction handlers with siginfo (raise, kill), blocking with sigprocmask and sigpending,
 * SIGSEGV on unmapped memory recovered with siglongjmp, SIGILL and SIGTRAP from instructions, a
 * handler on an alternate stack (sigaltstack), alarm, SA_RESETHAND, SIG_IGN.
 *     signals            all of that
 *     signals siginfo    the finer siginfo: sigqueue's value and SEGV_ACCERR on a read-only page
 *     signals abort|segv all of the first, then die of SIGABRT or SIGSEGV */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest.h"

static volatile sig_atomic_t delivered, last_signal, last_code, alarm_count;
static volatile int last_value;
static volatile pid_t last_pid;
static volatile uintptr_t last_address;
static sigjmp_buf recovery;
static char *alternate_stack;
static volatile int on_alternate_stack;
static int *volatile low_address = (int *)16;

static void on_signal(int signal, siginfo_t *info, void *context) {
    (void)context;
    delivered++;
    last_signal = signal;
    last_code = info->si_code;
    last_pid = info->si_pid;
    last_value = info->si_value.sival_int;
}

static void on_fault(int signal, siginfo_t *info, void *context) {
    (void)context;
    last_signal = signal;
    last_code = info->si_code;
    last_address = (uintptr_t)info->si_addr;
    char here;
    on_alternate_stack = &here >= alternate_stack && &here < alternate_stack + SIGSTKSZ * 4;
    siglongjmp(recovery, 1);
}

static void on_alarm(int signal) {
    (void)signal;
    alarm_count++;
}

static void install(int signal, void (*handler)(int, siginfo_t *, void *), int flags) {
    struct sigaction action = {0};
    action.sa_sigaction = handler;
    action.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&action.sa_mask);
    CHECK(sigaction(signal, &action, NULL) == 0, "sigaction");
}

static void report(const char *what) {
    printf("%s: delivered %d signal %d code %d\n", what, delivered, last_signal, last_code);
    delivered = 0;
}

static void handlers(void) {
    install(SIGUSR1, on_signal, 0);
    install(SIGUSR2, on_signal, 0);
    raise(SIGUSR1);
    report("raise(SIGUSR1)");
    CHECK(last_code == SI_TKILL && last_pid == getpid(), "raise comes from this process by tgkill");
    kill(getpid(), SIGUSR2);
    report("kill(self, SIGUSR2)");
    CHECK(last_code == SI_USER && last_pid == getpid(), "kill is SI_USER from this process");
    struct sigaction old;
    sigaction(SIGUSR1, NULL, &old);
    printf("sigaction reads back the handler: %d, SA_SIGINFO %d\n", old.sa_sigaction == on_signal,
           !!(old.sa_flags & SA_SIGINFO));
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    report("ignored SIGUSR2");
    install(SIGUSR2, on_signal, SA_RESETHAND);
    raise(SIGUSR2);
    sigaction(SIGUSR2, NULL, &old);
    report("SA_RESETHAND");
    printf("handler reset to default: %d\n", old.sa_handler == SIG_DFL);
}

static void blocking(void) {
    sigset_t block, previous, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGKILL);  /* silently not blocked */
    CHECK(sigprocmask(SIG_BLOCK, &block, &previous) == 0, "sigprocmask");
    raise(SIGUSR1);
    raise(SIGUSR1);
    sigpending(&pending);
    report("blocked SIGUSR1 raised twice");
    printf("pending: USR1 %d USR2 %d\n", sigismember(&pending, SIGUSR1), sigismember(&pending, SIGUSR2));
    sigset_t current;
    sigprocmask(SIG_SETMASK, NULL, &current);
    printf("mask has USR1 %d KILL %d\n", sigismember(&current, SIGUSR1), sigismember(&current, SIGKILL));
    sigprocmask(SIG_SETMASK, &previous, NULL);
    report("unblocked (standard signals do not queue)");
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR1);
    int received = 0;
    sigwait(&block, &received);
    report("sigwait took it instead");
    printf("sigwait got %d\n", received);
    sigprocmask(SIG_SETMASK, &previous, NULL);
}

static void faults(void) {
    stack_t stack = {0};
    alternate_stack = malloc(SIGSTKSZ * 4);
    stack.ss_sp = alternate_stack;
    stack.ss_size = SIGSTKSZ * 4;
    CHECK(sigaltstack(&stack, NULL) == 0, "sigaltstack");
    stack_t current;
    sigaltstack(NULL, &current);
    printf("sigaltstack set: %d flags %d\n", current.ss_sp == alternate_stack, current.ss_flags);
    install(SIGSEGV, on_fault, SA_ONSTACK);
    install(SIGILL, on_fault, 0);
    install(SIGTRAP, on_fault, 0);
    install(SIGBUS, on_fault, 0);

    if (sigsetjmp(recovery, 1) == 0) {
        *low_address = 1;
    }
    printf("store to address 16: signal %d code %d address %#lx on alternate stack %d\n", last_signal,
           last_code, (unsigned long)last_address, on_alternate_stack);
    CHECK(last_signal == SIGSEGV && last_code == SEGV_MAPERR && last_address == 16, "SIGSEGV on unmapped page");

    long page_size = sysconf(_SC_PAGESIZE);
    char *page = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page, page_size);
    if (sigsetjmp(recovery, 1) == 0) {
        (void)*(volatile char *)page;
    }
    printf("load from unmapped page: signal %d code %d at page offset %ld\n", last_signal, last_code,
           (long)(last_address - (uintptr_t)page));

    if (sigsetjmp(recovery, 1) == 0) {
        __asm__ volatile(".4byte 0x00000000");
    }
    printf("illegal instruction: signal %d code %d\n", last_signal, last_code);
    CHECK(last_signal == SIGILL, "SIGILL");
    if (sigsetjmp(recovery, 1) == 0) {
        __asm__ volatile("ebreak");
    }
    printf("ebreak: signal %d code %d\n", last_signal, last_code);
    sigset_t mask;
    sigprocmask(SIG_SETMASK, NULL, &mask);
    printf("siglongjmp restored the mask (SEGV unblocked): %d\n", !sigismember(&mask, SIGSEGV));
}

static void finer_siginfo(void) {
    install(SIGUSR1, on_signal, 0);
    union sigval value = {.sival_int = 4242};
    sigqueue(getpid(), SIGUSR1, value);
    report("sigqueue");
    printf("sigqueue value %d\n", last_value);
    CHECK(last_code == SI_QUEUE && last_value == 4242, "sigqueue's siginfo");
    install(SIGSEGV, on_fault, 0);
    long page_size = sysconf(_SC_PAGESIZE);
    char *page = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    page[0] = 'x';
    mprotect(page, page_size, PROT_READ);
    if (sigsetjmp(recovery, 1) == 0) {
        page[100] = 'y';
    }
    printf("store to read-only page: signal %d code %d at page offset %ld, page still reads %c\n", last_signal,
           last_code, (long)(last_address - (uintptr_t)page), page[0]);
    CHECK(last_code == SEGV_ACCERR, "SEGV_ACCERR");
    munmap(page, page_size);
}

static void alarms(void) {
    signal(SIGALRM, on_alarm);
    printf("alarm(1) returns %u\n", alarm(1));
    sigset_t empty;
    sigemptyset(&empty);
    while (!alarm_count) {
        sigsuspend(&empty);
    }
    printf("alarm delivered %d time(s)\n", alarm_count);
    printf("alarm(5) then alarm(0) returns a remaining time: %d\n", (alarm(5), alarm(0)) > 0);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "siginfo") == 0) {
        finer_siginfo();
        return guest_status();
    }
    handlers();
    blocking();
    faults();
    alarms();
    int status = guest_status();
    if (argc > 1 && strcmp(argv[1], "abort") == 0) {
        fprintf(stderr, "aborting on purpose\n");
        abort();
    }
    if (argc > 1 && strcmp(argv[1], "segv") == 0) {
        signal(SIGSEGV, SIG_DFL);
        fprintf(stderr, "faulting on purpose\n");
        *(low_address - 2) = 0;
    }
    return status;
}
