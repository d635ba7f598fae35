/* The initramfs's /init for the kernel boot tests: say hello, check and stamp the first virtio-blk disk,
 * power off. The disk's first sector holds a line written by the test; /init prints it and writes
 * "vmstack-init was here" at offset 512, which the test reads back after the guest has powered off.
 * When the board has a virtio-rng (/dev/hwrng) /init reads 32 bytes from it and prints them in hex;
 * when it has a virtio-console (hvc1: hvc0 is the SBI console) it writes a line there. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

static const char STAMP[] = "vmstack-init was here\n";

static int check_disk(const char *path) {
    char sector[512];
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    if (pread(fd, sector, sizeof sector, 0) != (ssize_t)sizeof sector) {
        perror("read");
        return 1;
    }
    sector[sizeof sector - 1] = 0;
    sector[strcspn(sector, "\n")] = 0;
    printf("init: disk says: %s\n", sector);
    if (pwrite(fd, STAMP, sizeof STAMP - 1, 512) != (ssize_t)(sizeof STAMP - 1) || fsync(fd) != 0) {
        perror("write");
        return 1;
    }
    close(fd);
    printf("init: disk stamped\n");
    return 0;
}

static void check_hwrng(void) {
    unsigned char bytes[32];
    int fd = open("/dev/hwrng", O_RDONLY);
    if (fd < 0)
        return;
    ssize_t got = read(fd, bytes, sizeof bytes);
    close(fd);
    printf("init: hwrng gave %zd bytes:", got);
    for (ssize_t i = 0; i < got; i++)
        printf(" %02x", bytes[i]);
    printf("\n");
}

static void check_virtio_console(void) {
    static const char LINE[] = "init: hello on the virtio console\n";
    int fd = open("/dev/hvc1", O_WRONLY | O_NOCTTY);
    if (fd < 0)
        return;
    printf("init: virtio console %s\n", write(fd, LINE, sizeof LINE - 1) == sizeof LINE - 1 ? "written" : "FAILED");
    close(fd);
}

int main(void) {
    printf("init: hello from vmstack's /init\n");
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    int failed = check_disk("/dev/vda");
    check_hwrng();
    check_virtio_console();
    printf("init: %s, powering off\n", failed ? "FAILED" : "done");
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return 1;
}
