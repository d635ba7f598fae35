/* The bare runtime's string functions. */
#ifndef BARE_STRING_H
#define BARE_STRING_H
#include <stddef.h>
void *memcpy(void *to, const void *from, size_t n);
void *memset(void *to, int byte, size_t n);
int strcmp(const char *a, const char *b);
size_t strlen(const char *text);
#endif
