/* Atomics on one thread: C11 <stdatomic.h> at 8/16/32/64 bits (sub-word ones are LR/SC loops on a
 * masked word), __sync builtins, AMO instructions (signed and unsigned min/max, ordering bits) and
 * hand-written LR/SC loops, including a store-conditional that must fail. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>

#include "guest.h"

static _Atomic uint8_t byte_value = 250;
static _Atomic int16_t half_value = -5;
static _Atomic int32_t word_value = 100;
static _Atomic uint64_t double_word = 0xffffffff00000000ULL;
static volatile int64_t memory_word = 5;
static volatile int32_t memory_half[2] = {-1, 7};

static void c11(void) {
    uint8_t old8 = atomic_fetch_add(&byte_value, 10);
    int16_t old16 = atomic_fetch_sub(&half_value, 32767);
    int32_t old32 = atomic_fetch_or(&word_value, 0x0f00);
    uint64_t old64 = atomic_fetch_xor(&double_word, 0x123456789ULL);
    printf("fetch_add8 %u->%u fetch_sub16 %d->%d fetch_or32 %d->%d fetch_xor64 %" PRIx64 "->%" PRIx64 "\n",
           old8, atomic_load(&byte_value), old16, atomic_load(&half_value), old32, atomic_load(&word_value),
           old64, atomic_load(&double_word));
    CHECK(atomic_load(&byte_value) == 4, "8-bit wrap");
    atomic_fetch_and(&word_value, 0x7f0);
    int32_t expected = 12345;
    _Bool swapped = atomic_compare_exchange_strong(&word_value, &expected, 1);
    printf("cas(wrong) %d expected now %d\n", swapped, expected);
    swapped = atomic_compare_exchange_strong(&word_value, &expected, -77);
    printf("cas(right) %d value %d\n", swapped, atomic_load(&word_value));
    CHECK(swapped && atomic_load(&word_value) == -77, "compare_exchange_strong");
    uint8_t expected8 = 4;
    while (!atomic_compare_exchange_weak(&byte_value, &expected8, (uint8_t)(expected8 + 200))) {
    }
    printf("cas_weak8 %u exchange16 %d\n", atomic_load(&byte_value), atomic_exchange(&half_value, 12));
    uint64_t expected64 = atomic_load(&double_word);
    while (!atomic_compare_exchange_weak_explicit(&double_word, &expected64, expected64 * 3,
                                                  memory_order_acq_rel, memory_order_relaxed)) {
    }
    printf("cas_weak64 %" PRIx64 " lock-free %d %d %d %d\n", atomic_load(&double_word),
           atomic_is_lock_free(&byte_value), atomic_is_lock_free(&half_value), atomic_is_lock_free(&word_value),
           atomic_is_lock_free(&double_word));
    atomic_flag flag = ATOMIC_FLAG_INIT;
    int first = atomic_flag_test_and_set(&flag), second = atomic_flag_test_and_set(&flag);
    atomic_flag_clear(&flag);
    printf("flag %d %d %d\n", first, second, atomic_flag_test_and_set(&flag));
    atomic_thread_fence(memory_order_seq_cst);
}

static void sync_builtins(void) {
    static int64_t counter = 40;
    static uint32_t small = 4294967290u;
    int64_t added = __sync_fetch_and_add(&counter, 2);
    int64_t subtracted = __sync_sub_and_fetch(&counter, 50);
    int64_t seen = __sync_val_compare_and_swap(&counter, -8, 99);
    int swapped = __sync_bool_compare_and_swap(&counter, 99, 3);
    int not_swapped = __sync_bool_compare_and_swap(&counter, 99, 4);
    int64_t ored = __sync_fetch_and_or(&counter, 6);
    printf("sync add %" PRId64 " sub %" PRId64 " val_cas %" PRId64 " bool_cas %d %d or %" PRId64 "\n",
           added, subtracted, seen, swapped, not_swapped, ored);
    uint32_t sum = __sync_add_and_fetch(&small, 10);
    uint32_t previous = __sync_lock_test_and_set(&small, 77);
    printf("sync 32-bit add %u lock_test_and_set %u then %u\n", sum, previous, small);
    __sync_lock_release(&small);
    __sync_synchronize();
    printf("released %u counter %" PRId64 "\n", small, counter);
    CHECK(small == 0 && counter == 7, "__sync results");
}

#define AMO(op, width, address, operand) ({ \
    int64_t old_; \
    __asm__ volatile(op "." width " %0, %2, %1" : "=r"(old_), "+A"(*(address)) : "r"(operand) : "memory"); \
    old_; })

static void amos(void) {
    static const char *names[] = {"amoswap", "amoadd", "amoxor", "amoand", "amoor", "amomin", "amomax",
                                  "amominu", "amomaxu"};
    int64_t operands[] = {-3, 9, -1, 0x7fffffff, (int64_t)0x8000000000000000ULL};
    for (int o = 0; o < 5; o++) {
        int64_t operand = operands[o];
        int64_t results[9];
        memory_word = 5;
        results[0] = AMO("amoswap", "d", &memory_word, operand);
        results[1] = AMO("amoadd", "d", &memory_word, operand);
        results[2] = AMO("amoxor", "d.aq", &memory_word, operand);
        results[3] = AMO("amoand", "d.rl", &memory_word, operand);
        results[4] = AMO("amoor", "d.aqrl", &memory_word, operand);
        results[5] = AMO("amomin", "d", &memory_word, operand);
        results[6] = AMO("amomax", "d", &memory_word, operand);
        results[7] = AMO("amominu", "d", &memory_word, operand);
        results[8] = AMO("amomaxu", "d", &memory_word, operand);
        printf("amo.d %" PRId64 ":", operand);
        for (int i = 0; i < 9; i++) {
            printf(" %s=%" PRId64, names[i], results[i]);
        }
        printf(" final %" PRId64 "\n", memory_word);
        int32_t operand32 = (int32_t)operand;
        memory_half[0] = -1;
        int64_t w1 = AMO("amominu", "w", &memory_half[0], operand32);
        int64_t w2 = AMO("amomax", "w", &memory_half[0], operand32);
        int64_t w3 = AMO("amoadd", "w", &memory_half[0], operand32);
        printf("amo.w %d: %" PRId64 " %" PRId64 " %" PRId64 " final %d neighbour %d\n", operand32, w1, w2, w3,
               memory_half[0], memory_half[1]);
    }
    CHECK(memory_half[1] == 7, "a word AMO leaves its neighbour alone");
}

static void lr_sc(void) {
    int64_t value = 10, old, failed;
    /* An LR/SC increment loop. */
    for (int i = 0; i < 5; i++) {
        __asm__ volatile("1: lr.d %0, (%2)\n addi %0, %0, 3\n sc.d %1, %0, (%2)\n bnez %1, 1b"
                         : "=&r"(old), "=&r"(failed) : "r"(&value) : "memory");
    }
    printf("lr/sc loop %" PRId64 "\n", value);
    CHECK(value == 25, "LR/SC loop");
    /* A store-conditional right after a successful one has no reservation and fails. */
    int64_t first, second;
    __asm__ volatile("lr.d %0, (%3)\n sc.d %1, %0, (%3)\n sc.d %2, %0, (%3)"
                     : "=&r"(old), "=&r"(first), "=&r"(second) : "r"(&value) : "memory");
    printf("sc after lr %" PRId64 ", second sc %s\n", first, second ? "failed" : "succeeded");
    CHECK(first == 0 && second != 0, "sc without reservation fails");
    int32_t word = -2, loaded, status;
    __asm__ volatile("lr.w.aq %0, (%2)\n sc.w.rl %1, %3, (%2)"
                     : "=&r"(loaded), "=&r"(status) : "r"(&word), "r"(0x7fffffff) : "memory");
    printf("lr.w sign-extends %d, sc.w %d, word %d\n", loaded, status, word);
}

int main(void) {
    c11();
    sync_builtins();
    amos();
    lr_sc();
    return guest_status();
}
