/* A bare runtime for the benchmark kernels: no libc, two Linux system calls (write, exit), so
 * that emulators with only a minimal user environment (tinyrv's) run the same program as qemu-riscv64
 * and vmstack. _start takes argc and argv from the stack as Linux lays them out; printf knows the
 * conversions the kernels use (%d %u %zu %s %x with width and zero fill, %.Nf, %g as %f). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv);

static long system_call(long number, long a0, long a1, long a2) {
    register long x10 __asm__("a0") = a0, x11 __asm__("a1") = a1, x12 __asm__("a2") = a2, x17 __asm__("a7") = number;
    __asm__ volatile("ecall" : "+r"(x10) : "r"(x11), "r"(x12), "r"(x17) : "memory");
    return x10;
}

static void write_all(const char *data, size_t length) {
    while (length) {
        long written = system_call(64, 1, (long)data, (long)length);
        if (written <= 0) {
            return;
        }
        data += written, length -= (size_t)written;
    }
}

void bare_start(long *stack) {
    long status = main((int)stack[0], (char **)(stack + 1));
    system_call(93, status, 0, 0);  /* exit: the only thread, so the process */
}

__asm__(".globl _start\n_start:\n .option push\n .option norelax\n la gp, __global_pointer$\n .option pop\n"
        " mv a0, sp\n andi sp, sp, -16\n call bare_start\n");

void *memcpy(void *to, const void *from, size_t n) {
    unsigned char *out = to;
    const unsigned char *in = from;
    while (n--) {
        *out++ = *in++;
    }
    return to;
}

void *memset(void *to, int byte, size_t n) {
    unsigned char *out = to;
    while (n--) {
        *out++ = (unsigned char)byte;
    }
    return to;
}

int strcmp(const char *a, const char *b) {
    while (*a && *a == *b) {
        a++, b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

size_t strlen(const char *text) {
    size_t n = 0;
    while (text[n]) {
        n++;
    }
    return n;
}

int atoi(const char *text) {
    int sign = 1, value = 0;
    if (*text == '-') {
        sign = -1, text++;
    }
    while (*text >= '0' && *text <= '9') {
        value = value * 10 + (*text++ - '0');
    }
    return sign * value;
}

static unsigned char heap[16 << 20] __attribute__((aligned(16)));
static size_t heap_used;

void *malloc(size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (size > sizeof heap - heap_used) {
        return NULL;
    }
    void *block = heap + heap_used;
    heap_used += size;
    return block;
}

void *calloc(size_t count, size_t size) {
    return malloc(count * size);  /* the heap starts zeroed and is never reused */
}

void free(void *pointer) {
    (void)pointer;
}

struct sink {
    char *out;      /* sprintf's buffer, or NULL for printf */
    char buffer[256];
    size_t used;
};

static void put(struct sink *sink, char c) {
    if (sink->out) {
        *sink->out++ = c;
        return;
    }
    sink->buffer[sink->used++] = c;
    if (sink->used == sizeof sink->buffer) {
        write_all(sink->buffer, sink->used);
        sink->used = 0;
    }
}

static void put_unsigned(struct sink *sink, uint64_t value, unsigned base, int width, char fill) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value);
    while (width-- > n) {
        put(sink, fill);
    }
    while (n) {
        put(sink, digits[--n]);
    }
}

static void put_fixed(struct sink *sink, double value, int precision) {
    if (value < 0) {
        put(sink, '-');
        value = -value;
    }
    uint64_t scale = 1;
    for (int i = 0; i < precision; i++) {
        scale *= 10;
    }
    uint64_t whole = (uint64_t)value;
    double fraction = (value - (double)whole) * (double)scale;
    uint64_t decimals = (uint64_t)fraction;
    double rest = fraction - (double)decimals;
    if (rest > 0.5 || (rest == 0.5 && (decimals & 1))) {
        decimals++;
    }
    if (decimals >= scale) {
        whole++, decimals -= scale;
    }
    put_unsigned(sink, whole, 10, 0, '0');
    if (precision) {
        put(sink, '.');
        put_unsigned(sink, decimals, 10, precision, '0');
    }
}

static int format(struct sink *sink, const char *f, va_list args) {
    for (; *f; f++) {
        if (*f != '%') {
            put(sink, *f);
            continue;
        }
        f++;
        char fill = ' ';
        int width = 0, precision = 6, size = 0;
        if (*f == '0') {
            fill = '0', f++;
        }
        while (*f >= '0' && *f <= '9') {
            width = width * 10 + (*f++ - '0');
        }
        if (*f == '.') {
            precision = 0;
            while (*++f >= '0' && *f <= '9') {
                precision = precision * 10 + (*f - '0');
            }
        }
        while (*f == 'l' || *f == 'z') {
            size = 1, f++;
        }
        switch (*f) {
        case 'd': {
            int64_t value = size ? va_arg(args, long) : va_arg(args, int);
            if (value < 0) {
                put(sink, '-');
                value = -value;
            }
            put_unsigned(sink, (uint64_t)value, 10, width, fill);
            break;
        }
        case 'u':
        case 'x':
            put_unsigned(sink, size ? va_arg(args, unsigned long) : va_arg(args, unsigned), *f == 'x' ? 16 : 10,
                         width, fill);
            break;
        case 's':
            for (const char *s = va_arg(args, const char *); *s; s++) {
                put(sink, *s);
            }
            break;
        case 'f':
        case 'g':
            put_fixed(sink, va_arg(args, double), precision);
            break;
        default:
            put(sink, *f);
        }
    }
    return 0;
}

int printf(const char *f, ...) {
    struct sink sink = {0};
    va_list args;
    va_start(args, f);
    format(&sink, f, args);
    va_end(args);
    write_all(sink.buffer, sink.used);
    return 0;
}

int sprintf(char *out, const char *f, ...) {
    struct sink sink = {.out = out};
    va_list args;
    va_start(args, f);
    format(&sink, f, args);
    va_end(args);
    *sink.out = '\0';
    return (int)(sink.out - out);
}
