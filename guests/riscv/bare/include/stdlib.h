/* The bare runtime's stdlib: atoi and a bump allocator. */
#ifndef BARE_STDLIB_H
#define BARE_STDLIB_H
#include <stddef.h>
int atoi(const char *text);
void *malloc(size_t size);
void *calloc(size_t count, size_t size);
void free(void *pointer);
#endif
