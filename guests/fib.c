/* Kernel: naive recursive Fibonacci (call-heavy). Usage: fib [N], default N=24.
 * Self-check: the recursive result must equal an iterative one. */
#include <stdio.h>
#include <stdlib.h>

static unsigned fib_recursive(unsigned n) {
    return n < 2 ? n : fib_recursive(n - 1) + fib_recursive(n - 2);
}

static unsigned fib_iterative(unsigned n) {
    unsigned previous = 0, current = 1;
    if (n == 0)
        return 0;
    for (unsigned i = 1; i < n; i++) {
        unsigned next = previous + current;
        previous = current;
        current = next;
    }
    return current;
}

int main(int argc, char **argv) {
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 24;
    unsigned result = fib_recursive(n);
    printf("fib(%u) = %u\n", n, result);
    if (result != fib_iterative(n)) {
        printf("FAILED: iterative fib(%u) = %u\n", n, fib_iterative(n));
        return 1;
    }
    printf("ok\n");
    return 0;
}
