/* The bare runtime's stdio: printf and sprintf of the conversions the benchmark kernels use. */
#ifndef BARE_STDIO_H
#define BARE_STDIO_H
int printf(const char *format, ...);
int sprintf(char *out, const char *format, ...);
#endif
