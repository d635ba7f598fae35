/* Kernel: sieve of Eratosthenes (memory loads and stores). Usage: sieve [LIMIT], default 200000.
 * Self-check: the primes below min(LIMIT, 2000) are recounted by trial division. */
#include <stdio.h>
#include <stdlib.h>

static int is_prime_by_trial_division(unsigned n) {
    if (n < 2)
        return 0;
    for (unsigned d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

int main(int argc, char **argv) {
    unsigned limit = argc > 1 ? (unsigned)atoi(argv[1]) : 200000;
    unsigned char *composite = calloc(limit + 1, 1);
    if (!composite) {
        printf("FAILED: out of memory\n");
        return 1;
    }
    for (unsigned i = 2; (unsigned long long)i * i <= limit; i++)
        if (!composite[i])
            for (unsigned j = i * i; j <= limit; j += i)
                composite[j] = 1;
    unsigned count = 0, largest = 0, checked = 0, check_limit = limit < 2000 ? limit : 2000;
    for (unsigned i = 2; i <= limit; i++)
        if (!composite[i]) {
            count++;
            largest = i;
        }
    for (unsigned i = 0; i <= check_limit; i++)
        if (is_prime_by_trial_division(i) != (i >= 2 && !composite[i])) {
            printf("FAILED: sieve disagrees with trial division at %u\n", i);
            return 1;
        } else {
            checked++;
        }
    printf("primes up to %u: %u, largest %u\n", limit, count, largest);
    printf("ok (%u numbers cross-checked)\n", checked);
    free(composite);
    return 0;
}
