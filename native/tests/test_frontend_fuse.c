/* FUSE frontend through the real kernel: golden views read back with
 * buffered and O_DIRECT preads, concurrent readers, SEEK_DATA/SEEK_HOLE,
 * EIO for a damaged ZFile block, writes, removal under a reader, stop with
 * a file still open. Needs root and /dev/fuse; skips otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "frontend_fuse.h"
#include "image.h"
#include "layer.h"
#include "lsmt.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define VIEW_BYTES (12u * MIB)
#define DIO_ALIGN 4096u

/* ---- helpers ---- */

static int copy_file(const char *from, const char *to) {
  size_t len = 0;
  uint8_t *b = check_slurp(from, &len);
  int rc = b ? check_spill(to, b, len) : -1;
  free(b);
  return rc;
}

/* One lower layer (a path under the vectors or absolute), plus a copy of
 * the golden upper when with_upper (stacking rewrites its header). */
static int open_image(const char *lower, int with_upper, const char *tag,
                      obd_image **out) {
  lsmt_ro *ro = NULL;
  lsmt_rw *rw = NULL;
  int rc = obd_layer_open_path(lower, &ro);
  if (rc < 0) return rc;
  if (with_upper) {
    char data[4200], index[4200], name[64];
    snprintf(name, sizeof name, "%s-data", tag);
    snprintf(data, sizeof data, "%s", check_tmp(name));
    snprintf(name, sizeof name, "%s-index", tag);
    snprintf(index, sizeof index, "%s", check_tmp(name));
    if (copy_file(check_vector("upper/writable_data"), data) != 0 ||
        copy_file(check_vector("upper/writable_index"), index) != 0) {
      lsmt_ro_close(ro);
      return OBD_E_IO;
    }
    rc = lsmt_rw_open(data, index, &rw);
    if (rc < 0) {
      lsmt_ro_close(ro);
      return rc;
    }
  }
  return obd_image_open(&ro, 1, rw, out);
}

static int is_mounted(const char *mnt) {
  FILE *fp = fopen("/proc/self/mounts", "r");
  if (!fp) return 0;
  char line[8192], dev[4096], dir[4096];
  int found = 0;
  while (fgets(line, sizeof line, fp))
    if (sscanf(line, "%4095s %4095s", dev, dir) == 2 && strcmp(dir, mnt) == 0)
      found = 1;
  fclose(fp);
  return found;
}

static void path_in(char *out, size_t cap, const char *mnt, const char *name) {
  snprintf(out, cap, "%s/%s", mnt, name);
}

static void *dio_alloc(size_t n) {
  void *p = NULL;
  return posix_memalign(&p, DIO_ALIGN, n) == 0 ? p : NULL;
}

/* Runs body on a fresh mount and always tears it down, also when a CHECK in
 * body failed (it returns early; the mount must not outlive the test). */
static void with_mount(const char *tag, void (*body)(obdfuse *, const char *)) {
  char mnt[4200];
  snprintf(mnt, sizeof mnt, "%s", check_tmp(tag));
  CHECK(mkdir(mnt, 0700) == 0);
  obdfuse *fs = NULL;
  int rc = obdfuse_start(mnt, &fs);
  if (rc == 0) body(fs, mnt);
  int stop = obdfuse_stop(fs);
  int left = is_mounted(mnt);
  if (left) {
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "fusermount3 -u -z '%s'", mnt);
    if (system(cmd) != 0) fprintf(stderr, "  cannot unmount %s\n", mnt);
  }
  rmdir(mnt);
  CHECK(rc == 0);
  CHECK(stop == 0);
  CHECK(!left);
}

/* Compares `n` bytes read through fd at off with the image's own bytes. */
static int same_as_image(int fd, obd_image *img, uint8_t *got, uint8_t *want,
                         size_t n, uint64_t off) {
  ssize_t r = pread(fd, got, n, (off_t)off);
  int64_t w = obd_image_pread(img, want, n, off);
  return r >= 0 && w == r && memcmp(got, want, (size_t)r) == 0;
}

/* ---- cases ---- */

static obd_image *g_lower, *g_stacked;

static void views_body(obdfuse *fs, const char *mnt) {
  CHECK(open_image(check_vector("layer.lsmt"), 0, "views-lower", &g_lower) == 0);
  CHECK(open_image(check_vector("overlaybd.commit"), 1, "views-up", &g_stacked) == 0);
  CHECK(obdfuse_add(fs, "lower", g_lower, 0) == 0);
  CHECK(obdfuse_add(fs, "stacked", g_stacked, 0) == 0);
  const char *names[2] = {"lower", "stacked"};
  const char *raws[2] = {"view.raw", "stacked_view.raw"};
  obd_image *imgs[2] = {g_lower, g_stacked};
  uint8_t *got = dio_alloc(2 * MIB), *want = dio_alloc(2 * MIB);
  CHECK(got && want);
  for (int i = 0; i < 2; i++) {
    char path[4300];
    path_in(path, sizeof path, mnt, names[i]);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK_EQ_U64(st.st_size, obd_image_size(imgs[i]));
    CHECK_EQ_U64(st.st_mode & 0777, 0444);
    size_t raw_len = 0;
    uint8_t *raw = check_slurp(check_vector(raws[i]), &raw_len);
    CHECK(raw && raw_len == VIEW_BYTES);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    /* Buffered: the golden view, then the rest against the image. */
    int ok = 1;
    for (uint64_t off = 0; ok && off < (uint64_t)st.st_size; off += 2 * MIB) {
      ssize_t r = pread(fd, got, 2 * MIB, (off_t)off);
      ok = r == 2 * MIB;
      if (ok && off < VIEW_BYTES) ok = memcmp(got, raw + off, 2 * MIB) == 0;
      if (ok && off >= VIEW_BYTES)
        ok = obd_image_pread(imgs[i], want, 2 * MIB, off) == 2 * MIB &&
             memcmp(got, want, 2 * MIB) == 0;
    }
    /* Unaligned pieces, and a read across the end. */
    ok = ok && same_as_image(fd, imgs[i], got, want, 0, 0);
    ssize_t r = pread(fd, got, 3333, 1000);
    ok = ok && r == 3333 && memcmp(got, raw + 1000, 3333) == 0;
    r = pread(fd, got, 700, 4 * MIB - 100);
    ok = ok && r == 700 && memcmp(got, raw + 4 * MIB - 100, 700) == 0;
    r = pread(fd, got, 4096, (off_t)st.st_size - 1000);
    ok = ok && r == 1000;
    ok = ok && pread(fd, got, 4096, (off_t)st.st_size) == 0;
    close(fd);
    /* O_DIRECT with aligned buffers of several sizes. */
    int dfd = open(path, O_RDONLY | O_DIRECT);
    const size_t sizes[4] = {4 * KIB, 128 * KIB, 1 * MIB, 2 * MIB};
    for (int k = 0; ok && dfd >= 0 && k < 4; k++)
      for (uint64_t off = 0; ok && off + sizes[k] <= VIEW_BYTES;
           off += sizes[k] * 7)
        ok = pread(dfd, got, sizes[k], (off_t)off) == (ssize_t)sizes[k] &&
             memcmp(got, raw + off, sizes[k]) == 0;
    if (dfd >= 0) close(dfd);
    free(raw);
    CHECK(dfd >= 0);
    CHECK(ok);
  }
  free(got);
  free(want);
  /* Both names are listed. */
  char listing[256] = "";
  char cmd[4400];
  snprintf(cmd, sizeof cmd, "ls '%s'", mnt);
  FILE *p = popen(cmd, "r");
  CHECK(p);
  size_t n = fread(listing, 1, sizeof listing - 1, p);
  pclose(p);
  listing[n] = 0;
  CHECK(strcmp(listing, "lower\nstacked\n") == 0);
}

static void views_read_through_kernel(void) {
  g_lower = g_stacked = NULL;
  with_mount("views", views_body);
  obd_image_close(g_lower);
  obd_image_close(g_stacked);
}

typedef struct reader_arg {
  const char *path;
  const uint8_t *raw;
  uint32_t seed;
  int ok;
} reader_arg;

static uint32_t next_rand(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

static void *random_reader(void *p) {
  reader_arg *a = p;
  a->ok = 0;
  int fd = open(a->path, O_RDONLY | O_DIRECT);
  uint8_t *buf = dio_alloc(256 * KIB);
  if (fd < 0 || !buf) goto out;
  for (int i = 0; i < 300; i++) {
    size_t n = (1 + next_rand(&a->seed) % 64) * 4 * KIB;
    uint64_t off = (uint64_t)(next_rand(&a->seed) % ((VIEW_BYTES - n) / DIO_ALIGN)) * DIO_ALIGN;
    if (pread(fd, buf, n, (off_t)off) != (ssize_t)n || memcmp(buf, a->raw + off, n) != 0)
      goto out;
  }
  a->ok = 1;
out:
  free(buf);
  if (fd >= 0) close(fd);
  return NULL;
}

static void concurrent_body(obdfuse *fs, const char *mnt) {
  CHECK(open_image(check_vector("overlaybd.commit"), 1, "conc", &g_stacked) == 0);
  CHECK(obdfuse_add(fs, "dev", g_stacked, 0) == 0);
  size_t raw_len = 0;
  uint8_t *raw = check_slurp(check_vector("stacked_view.raw"), &raw_len);
  CHECK(raw && raw_len == VIEW_BYTES);
  char path[4300];
  path_in(path, sizeof path, mnt, "dev");
  pthread_t t[4];
  reader_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (reader_arg){path, raw, 0x9e3779b9u * (uint32_t)(i + 1), 0};
    pthread_create(&t[i], NULL, random_reader, &args[i]);
  }
  int ok = 1;
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    ok &= args[i].ok;
  }
  free(raw);
  CHECK(ok);
}

static void four_threads_read_concurrently(void) {
  g_stacked = NULL;
  with_mount("conc", concurrent_body);
  obd_image_close(g_stacked);
}

/* What lseek must answer, from obd_image_next_data directly. */
static off_t expected_seek(obd_image *img, uint64_t off, int whence) {
  uint64_t size = obd_image_size(img), s = 0, e = 0;
  if (off >= size) return -ENXIO;
  int found = obd_image_next_data(img, off, &s, &e);
  if (whence == SEEK_DATA) return found ? (off_t)(s > off ? s : off) : -ENXIO;
  if (!found || s > off) return (off_t)off;
  return (off_t)(e < size ? e : size);
}

static void seek_body(obdfuse *fs, const char *mnt) {
  CHECK(open_image(check_vector("overlaybd.commit"), 1, "seek", &g_stacked) == 0);
  CHECK(obdfuse_add(fs, "dev", g_stacked, 0) == 0);
  char path[4300];
  path_in(path, sizeof path, mnt, "dev");
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0);
  uint64_t size = obd_image_size(g_stacked);
  int ok = 1, data_seen = 0, hole_seen = 0;
  for (uint64_t off = 0; ok && off <= size + 4096; off += 64 * KIB + 512 + 3) {
    for (int w = 0; ok && w < 2; w++) {
      int whence = w ? SEEK_HOLE : SEEK_DATA;
      off_t want = expected_seek(g_stacked, off, whence);
      errno = 0;
      off_t got = lseek(fd, (off_t)off, whence);
      if (got < 0) got = -errno;
      if (got != want)
        fprintf(stderr, "  lseek(%llu, %s) = %lld, want %lld\n",
                (unsigned long long)off, w ? "HOLE" : "DATA", (long long)got,
                (long long)want);
      ok = got == want;
      data_seen |= whence == SEEK_DATA && got == (off_t)off;
      hole_seen |= whence == SEEK_HOLE && got == (off_t)off;
    }
  }
  close(fd);
  CHECK(ok);
  CHECK(data_seen && hole_seen); /* both kinds of region were crossed */
}

static void seek_data_hole_match_next_data(void) {
  g_stacked = NULL;
  with_mount("seek", seek_body);
  obd_image_close(g_stacked);
}

/* A copy of layer.zfile with one byte flipped in a data block: the blocks
 * the image itself cannot read must be EIO through the kernel, every other
 * block must still read right. */
static void corrupt_body(obdfuse *fs, const char *mnt) {
  char copy[4200];
  snprintf(copy, sizeof copy, "%s", check_tmp("corrupt.zfile"));
  size_t len = 0;
  uint8_t *z = check_slurp(check_vector("layer.zfile"), &len);
  CHECK(z);
  z[len / 2] ^= 0x5a;
  int rc = check_spill(copy, z, len);
  free(z);
  CHECK(rc == 0);
  CHECK(open_image(copy, 0, "corrupt", &g_lower) == 0);
  CHECK(obdfuse_add(fs, "dev", g_lower, 0) == 0);
  size_t raw_len = 0;
  uint8_t *raw = check_slurp(check_vector("view.raw"), &raw_len);
  CHECK(raw && raw_len == VIEW_BYTES);
  char path[4300];
  path_in(path, sizeof path, mnt, "dev");
  int fd = open(path, O_RDONLY | O_DIRECT);
  uint8_t *buf = dio_alloc(64 * KIB), *direct = dio_alloc(64 * KIB);
  int ok = fd >= 0 && buf && direct;
  unsigned bad = 0, good = 0;
  for (uint64_t off = 0; ok && off < VIEW_BYTES; off += 64 * KIB) {
    int64_t want = obd_image_pread(g_lower, direct, 64 * KIB, off);
    errno = 0;
    ssize_t got = pread(fd, buf, 64 * KIB, (off_t)off);
    if (want < 0) {
      ok = got == -1 && errno == EIO;
      bad++;
    } else {
      ok = got == 64 * KIB && memcmp(buf, raw + off, 64 * KIB) == 0;
      good++;
    }
  }
  free(buf);
  free(direct);
  free(raw);
  if (fd >= 0) close(fd);
  remove(copy);
  CHECK(ok);
  CHECK(bad > 0);
  CHECK(good > 0);
}

static void corrupt_block_gives_eio_only_there(void) {
  g_lower = NULL;
  with_mount("corrupt", corrupt_body);
  obd_image_close(g_lower);
}

typedef struct hammer_arg {
  const char *path;
  volatile int reads;
  int err;
} hammer_arg;

/* Reads until the file goes away under it. */
static void *hammer(void *p) {
  hammer_arg *a = p;
  int fd = open(a->path, O_RDONLY | O_DIRECT);
  uint8_t *buf = dio_alloc(MIB);
  a->err = fd < 0 ? errno : 0;
  for (uint64_t i = 0; fd >= 0 && buf && a->err == 0; i++) {
    if (pread(fd, buf, MIB, (off_t)((i % 12) * MIB)) < 0)
      a->err = errno;
    else
      __atomic_add_fetch(&a->reads, 1, __ATOMIC_SEQ_CST);
  }
  free(buf);
  if (fd >= 0) close(fd);
  return NULL;
}

static void remove_body(obdfuse *fs, const char *mnt) {
  CHECK(open_image(check_vector("layer.zfile"), 0, "rm", &g_lower) == 0);
  CHECK(obdfuse_add(fs, "dev", g_lower, 0) == 0);
  char path[4300];
  path_in(path, sizeof path, mnt, "dev");
  hammer_arg a = {path, 0, 0};
  pthread_t t;
  pthread_create(&t, NULL, hammer, &a);
  while (__atomic_load_n(&a.reads, __ATOMIC_SEQ_CST) < 20 && a.err == 0)
    usleep(1000);
  int rc = obdfuse_remove(fs, "dev");
  /* The frontend promised no request uses the image any more: close it
   * while the reader keeps going (ASan catches a use after free). */
  obd_image_close(g_lower);
  g_lower = NULL;
  pthread_join(t, NULL);
  CHECK(rc == 0);
  CHECK_EQ_U64(a.err, ESTALE);
  struct stat st;
  CHECK(stat(path, &st) == -1 && errno == ENOENT);
  CHECK(obdfuse_remove(fs, "dev") == OBD_E_NOTFOUND);
  /* The name can be published again; it is a new file. */
  CHECK(open_image(check_vector("layer.lsmt"), 0, "rm2", &g_lower) == 0);
  CHECK(obdfuse_add(fs, "dev", g_lower, 0) == 0);
  uint8_t b[512];
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0);
  ssize_t r = pread(fd, b, sizeof b, 0);
  close(fd);
  CHECK(r == (ssize_t)sizeof b);
}

static void remove_waits_for_reader(void) {
  g_lower = NULL;
  with_mount("remove", remove_body);
  obd_image_close(g_lower);
}

static void write_body(obdfuse *fs, const char *mnt) {
  CHECK(open_image(check_vector("layer.lsmt"), 0, "wr-ro", &g_lower) == 0);
  CHECK(open_image(check_vector("overlaybd.commit"), 1, "wr-up", &g_stacked) == 0);
  CHECK(obdfuse_add(fs, "ro", g_lower, 0) == 0);
  CHECK(obdfuse_add(fs, "rw", g_stacked, 1) == 0);
  char ro[4300], rw[4300];
  path_in(ro, sizeof ro, mnt, "ro");
  path_in(rw, sizeof rw, mnt, "rw");
  struct stat st;
  CHECK(stat(rw, &st) == 0 && (st.st_mode & 0777) == 0644);
  CHECK(open(ro, O_RDWR) == -1 && errno == EROFS);

  int fd = open(rw, O_RDWR);
  CHECK(fd >= 0);
  uint8_t pat[8192], got[8192], want[8192];
  for (size_t i = 0; i < sizeof pat; i++) pat[i] = (uint8_t)(i * 7 + 3);
  int ok = pwrite(fd, pat, 8192, MIB) == 8192;            /* aligned */
  ok = ok && pwrite(fd, pat, 100, 5 * MIB + 7) == 100;    /* inside one sector */
  ok = ok && pwrite(fd, pat, 1500, 6 * MIB - 700) == 1500; /* across sectors */
  ok = ok && same_as_image(fd, g_stacked, got, want, 8192, MIB);
  ok = ok && pread(fd, got, 8192, MIB) == 8192 && memcmp(got, pat, 8192) == 0;
  ok = ok && pread(fd, got, 100, 5 * MIB + 7) == 100 && memcmp(got, pat, 100) == 0;
  ok = ok && pread(fd, got, 1500, 6 * MIB - 700) == 1500 &&
       memcmp(got, pat, 1500) == 0;
  /* The bytes around the partial writes are the view's. */
  size_t raw_len = 0;
  uint8_t *raw = check_slurp(check_vector("stacked_view.raw"), &raw_len);
  ok = ok && raw && pread(fd, got, 7, 5 * MIB) == 7 && memcmp(got, raw + 5 * MIB, 7) == 0;
  ok = ok && pread(fd, got, 405, 5 * MIB + 107) == 405 &&
       memcmp(got, raw + 5 * MIB + 107, 405) == 0;
  free(raw);
  CHECK(ok);
  /* Punch a hole: zeros through the kernel and in the image. */
  CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 * MIB, 64 * KIB) == 0);
  memset(want, 0, sizeof want);
  CHECK(pread(fd, got, 8192, 2 * MIB + 4096) == 8192 && memcmp(got, want, 8192) == 0);
  CHECK(fallocate(fd, 0, 0, 4096) == -1 && errno == EOPNOTSUPP);
  CHECK(pwrite(fd, pat, 512, st.st_size) == -1 && errno == EFBIG);
  close(fd);
}

static void writable_file_writes_reach_image(void) {
  g_lower = g_stacked = NULL;
  with_mount("write", write_body);
  obd_image_close(g_lower);
  obd_image_close(g_stacked);
}

static int g_open_fd = -1;

static void busy_body(obdfuse *fs, const char *mnt) {
  CHECK(open_image(check_vector("layer.lsmt"), 0, "busy", &g_lower) == 0);
  CHECK(obdfuse_add(fs, "dev", g_lower, 0) == 0);
  CHECK(obdfuse_add(fs, "dev", g_lower, 0) == OBD_E_EXISTS);
  CHECK(obdfuse_add(fs, "a/b", g_lower, 0) == OBD_E_INVAL);
  CHECK(obdfuse_add(fs, "..", g_lower, 0) == OBD_E_INVAL);
  CHECK(obdfuse_add(fs, "", g_lower, 0) == OBD_E_INVAL);
  CHECK(obdfuse_remove(fs, "nope") == OBD_E_NOTFOUND);
  char path[4300];
  path_in(path, sizeof path, mnt, "dev");
  g_open_fd = open(path, O_RDONLY);
  CHECK(g_open_fd >= 0);
}

/* A file still open (as a loop device would hold it) must not make stop
 * hang or leave the mount behind; its later reads fail. */
static void stop_with_file_open(void) {
  g_lower = NULL;
  g_open_fd = -1;
  CHECK(obdfuse_stop(NULL) == 0);
  with_mount("busy", busy_body);
  uint8_t b[512];
  int fd = g_open_fd;
  ssize_t r = fd >= 0 ? pread(fd, b, sizeof b, 0) : 0;
  int err = errno;
  if (fd >= 0) close(fd);
  obd_image_close(g_lower);
  CHECK(fd >= 0);
  CHECK(r == -1 && (err == ENOTCONN || err == EIO));
}

int main(void) {
  if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
    printf("skip: test_frontend_fuse needs root and /dev/fuse\n");
    printf("0 passed, 0 failed\n");
    return 0;
  }
  /* A wedged mount must fail the run, not hang it. */
  alarm(300);
  static const check_case cases[] = {
      {"views read through the kernel", views_read_through_kernel},
      {"four threads read concurrently", four_threads_read_concurrently},
      {"SEEK_DATA/SEEK_HOLE match next_data", seek_data_hole_match_next_data},
      {"corrupt block gives EIO only there", corrupt_block_gives_eio_only_there},
      {"remove waits for a reader", remove_waits_for_reader},
      {"writable file writes reach the image", writable_file_writes_reach_image},
      {"stop with a file open", stop_with_file_open},
  };
  return check_main(cases, sizeof cases / sizeof cases[0]);
}
