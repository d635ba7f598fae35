/* SQLite's operating-system layer for WASI (built with SQLITE_OS_OTHER=1): files through the
 * POSIX calls wasi-libc provides, no file locking (a WASI process is the only user of its files),
 * randomness from getentropy and time from the realtime clock; and the chmod the shell's
 * file-writing functions call, a no-op since WASI files carry no permission bits. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sqlite3.h"

struct wasi_file {
    sqlite3_file base;
    int fd;
    const char *delete_on_close;
};

static int wasi_close(sqlite3_file *file) {
    struct wasi_file *self = (struct wasi_file *)file;
    int failed = close(self->fd) != 0;
    if (self->delete_on_close)
        unlink(self->delete_on_close);
    return failed ? SQLITE_IOERR_CLOSE : SQLITE_OK;
}

static int wasi_read(sqlite3_file *file, void *buffer, int amount, sqlite3_int64 offset) {
    struct wasi_file *self = (struct wasi_file *)file;
    int done = 0;
    while (done < amount) {
        ssize_t got = pread(self->fd, (char *)buffer + done, amount - done, offset + done);
        if (got < 0)
            return SQLITE_IOERR_READ;
        if (got == 0) {
            memset((char *)buffer + done, 0, amount - done);
            return SQLITE_IOERR_SHORT_READ;
        }
        done += got;
    }
    return SQLITE_OK;
}

static int wasi_write(sqlite3_file *file, const void *buffer, int amount, sqlite3_int64 offset) {
    struct wasi_file *self = (struct wasi_file *)file;
    int done = 0;
    while (done < amount) {
        ssize_t put = pwrite(self->fd, (const char *)buffer + done, amount - done, offset + done);
        if (put <= 0)
            return SQLITE_IOERR_WRITE;
        done += put;
    }
    return SQLITE_OK;
}

static int wasi_truncate(sqlite3_file *file, sqlite3_int64 size) {
    return ftruncate(((struct wasi_file *)file)->fd, size) == 0 ? SQLITE_OK : SQLITE_IOERR_TRUNCATE;
}

static int wasi_sync(sqlite3_file *file, int flags) {
    (void)flags;
    return fsync(((struct wasi_file *)file)->fd) == 0 ? SQLITE_OK : SQLITE_IOERR_FSYNC;
}

static int wasi_file_size(sqlite3_file *file, sqlite3_int64 *size) {
    struct stat info;
    if (fstat(((struct wasi_file *)file)->fd, &info) != 0)
        return SQLITE_IOERR_FSTAT;
    *size = info.st_size;
    return SQLITE_OK;
}

static int wasi_lock(sqlite3_file *file, int level) {
    (void)file, (void)level;
    return SQLITE_OK;
}

static int wasi_check_reserved_lock(sqlite3_file *file, int *reserved) {
    (void)file;
    *reserved = 0;
    return SQLITE_OK;
}

static int wasi_file_control(sqlite3_file *file, int op, void *arg) {
    (void)file, (void)op, (void)arg;
    return SQLITE_NOTFOUND;
}

static int wasi_sector_size(sqlite3_file *file) {
    (void)file;
    return 512;
}

static int wasi_device_characteristics(sqlite3_file *file) {
    (void)file;
    return 0;
}

static const sqlite3_io_methods wasi_io_methods = {
    .iVersion = 1,
    .xClose = wasi_close,
    .xRead = wasi_read,
    .xWrite = wasi_write,
    .xTruncate = wasi_truncate,
    .xSync = wasi_sync,
    .xFileSize = wasi_file_size,
    .xLock = wasi_lock,
    .xUnlock = wasi_lock,
    .xCheckReservedLock = wasi_check_reserved_lock,
    .xFileControl = wasi_file_control,
    .xSectorSize = wasi_sector_size,
    .xDeviceCharacteristics = wasi_device_characteristics,
};

static int wasi_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags) {
    (void)vfs;
    struct wasi_file *self = (struct wasi_file *)file;
    self->base.pMethods = NULL;
    if (!name)
        return SQLITE_CANTOPEN; /* temporary files stay in memory (SQLITE_TEMP_STORE=3) */
    int open_flags = flags & SQLITE_OPEN_READWRITE ? O_RDWR : O_RDONLY;
    if (flags & SQLITE_OPEN_CREATE)
        open_flags |= O_CREAT;
    if (flags & SQLITE_OPEN_EXCLUSIVE)
        open_flags |= O_EXCL;
    self->fd = open(name, open_flags, 0644);
    if (self->fd < 0)
        return SQLITE_CANTOPEN;
    self->delete_on_close = flags & SQLITE_OPEN_DELETEONCLOSE ? name : NULL;
    self->base.pMethods = &wasi_io_methods;
    if (out_flags)
        *out_flags = flags;
    return SQLITE_OK;
}

static int wasi_delete(sqlite3_vfs *vfs, const char *name, int sync_directory) {
    (void)vfs, (void)sync_directory;
    if (unlink(name) == 0)
        return SQLITE_OK;
    return errno == ENOENT ? SQLITE_IOERR_DELETE_NOENT : SQLITE_IOERR_DELETE;
}

static int wasi_access(sqlite3_vfs *vfs, const char *name, int what, int *result) {
    (void)vfs;
    *result = access(name, what == SQLITE_ACCESS_EXISTS ? F_OK : R_OK | W_OK) == 0;
    return SQLITE_OK;
}

static int wasi_full_pathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    sqlite3_snprintf(size, out, "%s", name);
    return SQLITE_OK;
}

static int wasi_randomness(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    for (int done = 0; done < size; done += 256)
        if (getentropy(out + done, size - done < 256 ? size - done : 256) != 0)
            return 0;
    return size;
}

static int wasi_sleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    struct timespec duration = {microseconds / 1000000, (microseconds % 1000000) * 1000};
    nanosleep(&duration, NULL);
    return microseconds;
}

static int wasi_current_time_ms(sqlite3_vfs *vfs, sqlite3_int64 *julian_day_ms) {
    (void)vfs;
    static const sqlite3_int64 unix_epoch_in_julian_day_ms = 24405875 * (sqlite3_int64)8640000;
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0)
        return SQLITE_ERROR;
    *julian_day_ms = unix_epoch_in_julian_day_ms + now.tv_sec * (sqlite3_int64)1000 + now.tv_nsec / 1000000;
    return SQLITE_OK;
}

static int wasi_current_time(sqlite3_vfs *vfs, double *julian_day) {
    sqlite3_int64 julian_day_ms;
    int status = wasi_current_time_ms(vfs, &julian_day_ms);
    *julian_day = julian_day_ms / 86400000.0;
    return status;
}

static int wasi_get_last_error(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs, (void)size, (void)out;
    return errno;
}

static sqlite3_vfs wasi_vfs = {
    .iVersion = 2,
    .szOsFile = sizeof(struct wasi_file),
    .mxPathname = 1024,
    .zName = "wasi",
    .xOpen = wasi_open,
    .xDelete = wasi_delete,
    .xAccess = wasi_access,
    .xFullPathname = wasi_full_pathname,
    .xRandomness = wasi_randomness,
    .xSleep = wasi_sleep,
    .xCurrentTime = wasi_current_time,
    .xGetLastError = wasi_get_last_error,
    .xCurrentTimeInt64 = wasi_current_time_ms,
};

int chmod(const char *path, mode_t mode) {
    (void)mode;
    return access(path, F_OK);
}

int sqlite3_os_init(void) { return sqlite3_vfs_register(&wasi_vfs, 1); }

int sqlite3_os_end(void) { return SQLITE_OK; }
