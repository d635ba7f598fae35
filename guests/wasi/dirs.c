/* WASI directories: mkdir, readdir, rename, rmdir, links, symlinks, stat/lstat, utimensat. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *what, long long result) {
    printf("%-24s %lld errno %d\n", what, result, result < 0 ? errno : 0);
    errno = 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

static void list(const char *path) {
    static char names[160][80];
    int count = 0;
    DIR *dir = opendir(path);
    if (!dir) {
        printf("opendir %s failed errno %d\n", path, errno);
        return;
    }
    struct dirent *entry;
    while ((entry = readdir(dir)) && count < 160)
        snprintf(names[count++], 80, "%s type %d", entry->d_name, entry->d_type);
    closedir(dir);
    qsort(names, count, sizeof names[0], by_name);
    printf("%s:", path);
    for (int i = 0; i < count; i++)
        printf(" [%s]", names[i]);
    printf("\n");
}

int main(void) {
    struct stat st;
    report("mkdir", mkdir("d", 0755));
    report("mkdir again", mkdir("d", 0755));
    report("mkdir nested", mkdir("d/e", 0755));
    report("mkdir trailing slash", mkdir("d/f/", 0755));
    report("mkdir missing parent", mkdir("x/y", 0755));
    for (int i = 0; i < 120; i++) {
        char name[64];
        snprintf(name, sizeof name, "d/file-with-a-long-name-%03d", i);
        close(open(name, O_WRONLY | O_CREAT, 0644));
    }
    list("d");
    list(".");
    report("symlink", symlink("d/e", "link"));
    report("symlink dangling", symlink("nowhere", "dangling"));
    report("symlink absolute", symlink("/etc", "abs"));
    char target[64] = {0};
    report("readlink", readlink("link", target, sizeof target));
    printf("target %s\n", target);
    report("readlink short", readlink("link", target, 2));
    report("readlink file", readlink("d/e", target, sizeof target));
    report("stat link", stat("link", &st));
    printf("is dir %d\n", S_ISDIR(st.st_mode));
    report("lstat link", lstat("link", &st));
    printf("is link %d size %lld\n", S_ISLNK(st.st_mode), (long long)st.st_size);
    report("stat dangling", stat("dangling", &st));
    report("lstat dangling", lstat("dangling", &st));
    report("open via link", open("link/inner", O_WRONLY | O_CREAT, 0644));
    report("stat via link", stat("d/e/inner", &st));
    report("open nofollow", open("link", O_RDONLY | O_NOFOLLOW));
    report("hard link", link("d/e/inner", "hard"));
    stat("hard", &st);
    printf("nlink %d\n", (int)st.st_nlink);
    report("rename file", rename("hard", "d/moved"));
    report("rename dir", rename("d/e", "d/g"));
    report("rename missing", rename("nothing", "d/h"));
    report("rename onto dir", rename("d/moved", "d/g"));
    report("stat old name", stat("hard", &st));
    report("readlink now dangling", stat("link", &st));
    struct timespec times[2] = {{1500000000, 0}, {1600000000, 0}};
    report("utimensat", utimensat(AT_FDCWD, "d/moved", times, 0));
    stat("d/moved", &st);
    printf("mtime %lld atime %lld\n", (long long)st.st_mtim.tv_sec, (long long)st.st_atim.tv_sec);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {1700000000, 0}};
    report("utimensat omit", utimensat(AT_FDCWD, "d/moved", omit, 0));
    stat("d/moved", &st);
    printf("mtime %lld atime %lld\n", (long long)st.st_mtim.tv_sec, (long long)st.st_atim.tv_sec);
    report("utimensat nofollow", utimensat(AT_FDCWD, "dangling", times, AT_SYMLINK_NOFOLLOW));
    report("rmdir nonempty", rmdir("d"));
    report("rmdir file", rmdir("d/moved"));
    report("unlink dir", unlink("d/g"));
    report("unlink symlink", unlink("link"));
    report("unlink file", unlink("d/moved"));
    report("unlink inner", unlink("d/g/inner"));
    report("rmdir", rmdir("d/g"));
    report("rmdir missing", rmdir("d/g"));
    list("d/f");
    report("opendir file", opendir("d/file-with-a-long-name-000") ? 0 : -1);
    return 0;
}
