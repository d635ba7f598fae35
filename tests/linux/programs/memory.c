/* Memory: brk, mmap (anonymous and file), mprotect, mremap, madvise, big mallocs. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    /* before anything mallocs: stdio's buffers may come from the break */
    void *start = sbrk(0);
    int grows = sbrk(8192) == start && (char *)sbrk(0) - (char *)start == 8192;
    memset(start, 7, 8192);
    int shrinks = brk(start) == 0 && sbrk(0) == start;
    printf("sbrk grows: %d\nbrk shrinks: %d\n", grows, shrinks);

    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap: %d aligned=%d zero=%d\n", m != MAP_FAILED, ((uintptr_t)m & 4095) == 0, m[5000] == 0);
    strcpy(m + 4096, "in the middle page");
    printf("mprotect: %d\n", mprotect(m, 4096, PROT_READ));
    printf("munmap last: %d\n", munmap(m + 8192, 4096));
    char *r = mremap(m + 4096, 4096, 16 * 4096, MREMAP_MAYMOVE);
    printf("mremap: %d [%s]\n", r != MAP_FAILED, r);
    r[15 * 4096] = 1;
    memset(r, 9, 4096);
    printf("madvise: %d now=%d\n", madvise(r, 4096, MADV_DONTNEED), r[10]);
    printf("fixed: %d\n", mmap(r, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == r);
    printf("bad length: %d\n", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);

    char path[] = "/tmp/vmstack-mem-XXXXXX";
    int fd = mkstemp(path);
    for (int i = 0; i < 3000; i++) dprintf(fd, "%d,", i);
    char *f = mmap(NULL, 10000, PROT_READ, MAP_PRIVATE, fd, 4096);
    printf("file mmap: %d [%.20s]\n", f != MAP_FAILED, f);
    close(fd);
    unlink(path);

    char spath[] = "/tmp/vmstack-shared-XXXXXX";
    int sfd = mkstemp(spath);
    char page[8192];
    memset(page, '.', sizeof page);
    write(sfd, page, sizeof page);
    char *s = mmap(NULL, sizeof page, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
    memcpy(s + 10, "written through the mapping", 27);
    printf("msync: %d\n", msync(s, 4096, MS_SYNC));
    char back[40] = {0};
    pread(sfd, back, 27, 10);
    printf("file after msync: [%s]\n", back);
    pwrite(sfd, "by write(2)", 11, 5000);
    printf("munmap shared: %d\n", munmap(s, sizeof page));
    memset(back, 0, sizeof back);
    pread(sfd, back, 11, 5000);
    printf("untouched page keeps the write: [%s]\n", back);
    close(sfd);
    unlink(spath);

    size_t total = 0;
    for (int i = 1; i <= 20; i++) {
        char *p = malloc(i * 100000);
        memset(p, i, i * 100000);
        total += p[i * 100000 - 1];
        free(p);
    }
    printf("malloc total: %zu\n", total);
    return 0;
}
