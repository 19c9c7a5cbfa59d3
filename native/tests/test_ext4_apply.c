/* The ext4 writer (spec §7.3–§7.5): mkfs, every entry kind, replacement
 * and removal semantics, stacking on a committed lower layer, and the
 * error cases. Results are checked by the real e2fsprogs: the image is
 * exported to a sparse file, `e2fsck -fn` must be clean and `debugfs`
 * must show what was written. */
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "check.h"
#include "ext4_apply.h"
#include "ext4_priv.h"
#include "file.h"
#include "image.h"
#include "layer.h"
#include "lsmt.h"

#define MIB (1024u * 1024u)
#define GIB (1024ull * MIB)
#define T0 1700000000 /* 2023-11-14 */

/* ---- helpers ---- */

typedef struct layer_paths {
  char data[4200], index[4200], commit[4200], export[4200];
} layer_paths;

static void layer_paths_init(layer_paths *p, const char *tag) {
  char n[96];
  snprintf(n, sizeof n, "%s-data", tag);
  snprintf(p->data, sizeof p->data, "%s", check_tmp(n));
  snprintf(n, sizeof n, "%s-index", tag);
  snprintf(p->index, sizeof p->index, "%s", check_tmp(n));
  snprintf(n, sizeof n, "%s-commit", tag);
  snprintf(p->commit, sizeof p->commit, "%s", check_tmp(n));
  snprintf(n, sizeof n, "%s-export", tag);
  snprintf(p->export, sizeof p->export, "%s", check_tmp(n));
}

static void layer_paths_remove(const layer_paths *p) {
  remove(p->data);
  remove(p->index);
  remove(p->commit);
  remove(p->export);
}

/* A fresh writable layer of vsize bytes (0 = inherit) over lowers. */
static int open_image(const layer_paths *p, uint64_t vsize,
                      const char **lowers, size_t n, obd_image **out) {
  lsmt_rw_options opt = {.virtual_size = vsize};
  lsmt_rw *rw = NULL;
  lsmt_ro *ro[4] = {0};
  for (size_t i = 0; i < n; i++) {
    int rc = obd_layer_open_path(lowers[i], &ro[i]);
    if (rc < 0) {
      while (i > 0) lsmt_ro_close(ro[--i]);
      return rc;
    }
  }
  int rc = lsmt_rw_create(p->data, p->index, &opt, &rw);
  if (rc < 0) {
    for (size_t i = 0; i < n; i++) lsmt_ro_close(ro[i]);
    return rc;
  }
  return obd_image_open(ro, n, rw, out);
}

/* Opens the committed layers alone, read-only. */
static int open_lowers(const char **lowers, size_t n, obd_image **out) {
  lsmt_ro *ro[4] = {0};
  for (size_t i = 0; i < n; i++) {
    int rc = obd_layer_open_path(lowers[i], &ro[i]);
    if (rc < 0) {
      while (i > 0) lsmt_ro_close(ro[--i]);
      return rc;
    }
  }
  return obd_image_open(ro, n, NULL, out);
}

/* Compacts the writable layer of p into p->commit. */
static int commit(const layer_paths *p) {
  lsmt_rw *rw = NULL;
  obd_sink *sink = NULL;
  OBD_TRY(lsmt_rw_open(p->data, p->index, &rw));
  int rc = obd_sink_open_path(p->commit, 0644, &sink);
  if (rc == 0) rc = lsmt_commit(rw, sink, NULL);
  int c = sink ? obd_sink_close(sink) : 0;
  int r = lsmt_rw_close(rw);
  return rc < 0 ? rc : c < 0 ? c : r;
}

/* Writes the image's bytes to a sparse file of its virtual size. */
static int export_image(obd_image *img, const char *path) {
  FILE *fp = fopen(path, "wb");
  if (!fp) return -1;
  uint8_t *buf = malloc(MIB);
  uint64_t off = 0, s, e;
  int ok = 1;
  while (ok && obd_image_next_data(img, off, &s, &e)) {
    for (uint64_t o = s; ok && o < e; o += MIB) {
      size_t n = e - o < MIB ? (size_t)(e - o) : MIB;
      ok = obd_image_pread(img, buf, n, o) == (int64_t)n &&
           fseeko(fp, (off_t)o, SEEK_SET) == 0 && fwrite(buf, 1, n, fp) == n;
    }
    off = e;
  }
  free(buf);
  ok = ok && ftruncate(fileno(fp), (off_t)obd_image_size(img)) == 0;
  return fclose(fp) == 0 && ok ? 0 : -1;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Output of `debugfs -R "<request>" image` (stderr dropped), malloc'd. */
static char *debugfs(const char *image, const char *request) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "debugfs -R '%s' '%s' 2>/dev/null", request, image);
  FILE *p = popen(cmd, "r");
  if (!p) return NULL;
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  size_t n;
  while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
    len += n;
    if (cap - len < 2) out = realloc(out, cap *= 2);
  }
  out[len] = '\0';
  pclose(p);
  return out;
}

static int debugfs_has(const char *image, const char *request,
                       const char *needle) {
  char *out = debugfs(image, request);
  int has = out && strstr(out, needle) != NULL;
  if (!has)
    fprintf(stderr, "  debugfs '%s': no '%s' in:\n%.2000s\n", request, needle,
            out ? out : "(null)");
  free(out);
  return has;
}

static int fsck_clean(const char *image) {
  int rc = sh("e2fsck -fn '%s' >'%s.fsck' 2>&1", image, image);
  if (rc != 0) sh("cat '%s.fsck' >&2", image);
  sh("rm -f '%s.fsck'", image);
  return rc == 0;
}

/* e2fsck -fn may report nothing but problems with inode `ino`, which the
 * lower layer already had. */
static int fsck_clean_but(const char *image, unsigned ino) {
  char cmd[8192], mark[64];
  snprintf(cmd, sizeof cmd, "e2fsck -fn '%s' 2>&1", image);
  snprintf(mark, sizeof mark, "inode %u", ino);
  FILE *p = popen(cmd, "r");
  if (!p) return 0;
  char line[4096];
  int clean = 1;
  while (fgets(line, sizeof line, p)) {
    if (strncmp(line, "Pass ", 5) == 0 || strncmp(line, "e2fsck ", 7) == 0 ||
        line[0] == '\n' || strstr(line, "still has errors") ||
        strstr(line, " files (") || strstr(line, mark) ||
        strstr(line, "(/lost+found)"))
      continue;
    fprintf(stderr, "  e2fsck: %s", line);
    clean = 0;
  }
  pclose(p);
  return clean;
}

/* Content of a file in the image, via debugfs dump. */
static uint8_t *dump(const char *image, const char *path, size_t *len) {
  const char *out = check_tmp("dump");
  char req[4200];
  snprintf(req, sizeof req, "dump %s %s", path, out);
  free(debugfs(image, req));
  FILE *fp = fopen(out, "rb");
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n + 1);
  *len = fread(buf, 1, (size_t)n, fp);
  fclose(fp);
  remove(out);
  return buf;
}

static void pattern(uint8_t *buf, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    buf[i] = (uint8_t)(seed >> 16) | 1; /* never a zero block */
  }
}

/* ---- cases ---- */

static void mkfs_is_clean_with_the_spec_parameters(void) {
  layer_paths p;
  obd_image *img = NULL;
  layer_paths_init(&p, "mkfs");
  CHECK(open_image(&p, GIB, NULL, 0, &img) == 0);
  ext4_mkfs_options opt = {.timestamp = T0};
  CHECK(ext4_mkfs(img, &opt) == 0);
  CHECK(export_image(img, p.export) == 0);
  CHECK(obd_image_close(img) == 0);
  CHECK(fsck_clean(p.export));
  CHECK(debugfs_has(p.export, "stats", "Filesystem UUID:          bdf7bb2e-c231-43ce-87c2-299792458ef5"));
  CHECK(debugfs_has(p.export, "stats",
                    "Filesystem features:      ext_attr resize_inode dir_index "
                    "sparse_super2 filetype extent 64bit flex_bg sparse_super "
                    "large_file huge_file dir_nlink extra_isize"));
  CHECK(debugfs_has(p.export, "stats", "Block size:               4096"));
  CHECK(debugfs_has(p.export, "stats", "Inode size:	          256"));
  CHECK(debugfs_has(p.export, "stats", "Inode count:              65536"));
  CHECK(debugfs_has(p.export, "stats", "Reserved block count:     13107"));
  CHECK(debugfs_has(p.export, "stats", "Maximum mount count:      -1"));
  CHECK(debugfs_has(p.export, "stats", "Default directory hash:   half_md4"));
  CHECK(debugfs_has(p.export, "stats", "Directory Hash Seed:      bdf7bb2e-c231-43ce-87c2-299792458ef5"));
  CHECK(debugfs_has(p.export, "stat /lost+found", "Size: 16384"));
  CHECK(debugfs_has(p.export, "stat /lost+found", "Mode:  0700"));
  layer_paths_remove(&p);
}

/* A second mkfs discards the first filesystem (inode tables must read as
 * zeros again). */
static void mkfs_over_a_used_image_is_clean(void) {
  layer_paths p;
  obd_image *img = NULL;
  ext4_fs *fs = NULL;
  layer_paths_init(&p, "remkfs");
  CHECK(open_image(&p, 256 * MIB, NULL, 0, &img) == 0);
  CHECK(ext4_mkfs(img, NULL) == 0);
  CHECK(ext4_open(img, &fs) == 0);
  int rc = ext4_write_file(fs, "/old", 0644, 0, 0, T0, "old", 3, 0);
  CHECK(ext4_close(fs) == 0);
  CHECK(rc == 0);
  CHECK(ext4_mkfs(img, NULL) == 0);
  CHECK(export_image(img, p.export) == 0);
  CHECK(obd_image_close(img) == 0);
  CHECK(fsck_clean(p.export));
  char *out = debugfs(p.export, "ls /");
  CHECK(out && strstr(out, "old") == NULL);
  free(out);
  layer_paths_remove(&p);
}

#define HELLO_BLOB                                                             \
  "upstream/hello-world-registry/blobs/sha256/"                                \
  "022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d"

/* A layer converted by upstream's tools is a valid lower. Its lost+found
 * is an htree directory that e2fsck 1.47 already flags in the lower alone
 * ("block #2 not referenced"); nothing else may appear. */
static void upstream_layer_takes_a_layer_on_top(void) {
  layer_paths p;
  obd_image *img = NULL;
  ext4_fs *fs = NULL;
  layer_paths_init(&p, "upstream");
  const char *lowers[1] = {check_vector(HELLO_BLOB)};
  char lower[4200];
  snprintf(lower, sizeof lower, "%s", lowers[0]);
  lowers[0] = lower;
  CHECK(open_image(&p, 0, lowers, 1, &img) == 0);
  CHECK(ext4_open(img, &fs) == 0);
  int ok = ext4_hardlink(fs, "/hello2", "/hello", 0) == 0;
  ok &= ext4_write_file(fs, "/etc/added", 0600, 1, 2, T0, "added", 5,
                        EXT4_PARENTS) == 0;
  CHECK(ext4_close(fs) == 0);
  CHECK(ok);
  CHECK(export_image(img, p.export) == 0);
  CHECK(obd_image_close(img) == 0);
  CHECK(fsck_clean_but(p.export, 11));
  CHECK(debugfs_has(p.export, "stat /hello2", "Links: 2"));
  CHECK(debugfs_has(p.export, "cat /etc/added", "added"));
  layer_paths_remove(&p);
}

static void mkfs_refuses_sizes_out_of_range(void) {
  layer_paths p;
  obd_image *img = NULL;
  layer_paths_init(&p, "mkfs-range");
  CHECK(open_image(&p, 8 * MIB, NULL, 0, &img) == 0);
  CHECK(ext4_mkfs(img, NULL) == OBD_E_RANGE);
  ext4_mkfs_options opt = {.size = 16 * GIB};
  CHECK(ext4_mkfs(img, &opt) == OBD_E_RANGE);
  CHECK(obd_image_close(img) == 0);
  layer_paths_remove(&p);
}

static void open_refuses_an_image_without_ext4(void) {
  layer_paths p;
  obd_image *img = NULL;
  ext4_fs *fs = NULL;
  layer_paths_init(&p, "noext4");
  CHECK(open_image(&p, 64 * MIB, NULL, 0, &img) == 0);
  CHECK(ext4_open(img, &fs) == OBD_E_FORMAT);
  CHECK(strstr(obd_last_error(), "open ext4") != NULL);
  CHECK(obd_image_close(img) == 0);
  layer_paths_remove(&p);
}

static const uint8_t CAP[20] = {0x01, 0, 0, 0x02, 0x00, 0x04, 0, 0, 0, 0,
                                0,    0, 0, 0,    0,    0,    0, 0, 0, 0};

/* Writes the tree every case below starts from. */
static int make_tree(ext4_fs *fs, uint8_t *big, size_t big_len) {
  OBD_TRY(ext4_mkdir(fs, "/", 0755, 0, 0, T0, 0));
  OBD_TRY(ext4_mkdir(fs, "/a", 0750, 1000, 1001, T0 + 1, 0));
  OBD_TRY(ext4_mkdir(fs, "/a/b/c", 0700, 7, 8, T0 + 2, EXT4_PARENTS));
  OBD_TRY(ext4_write_file(fs, "/a/hello", 0644, 1000, 1000, T0 + 3, "hello\n", 6, 0));
  OBD_TRY(ext4_write_file(fs, "/a/empty", 0600, 0, 0, T0, "", 0, 0));
  OBD_TRY(ext4_write_file(fs, "/a/setuid", 04755, 0, 0, T0, "#!/bin/sh\n", 10, 0));
  /* A big file in odd-sized pieces. */
  ext4_file *f = NULL;
  OBD_TRY(ext4_file_begin(fs, "/a/big", 0644, 0, 0, T0, big_len, 0, &f));
  for (size_t off = 0; off < big_len;) {
    size_t n = big_len - off < 77777 ? big_len - off : 77777;
    int rc = ext4_file_write(f, big + off, n);
    if (rc < 0) {
      ext4_file_end(f);
      return rc;
    }
    off += n;
  }
  OBD_TRY(ext4_file_end(f));
  /* Sparse: data at 0 and 5 MiB + 100 in an 8 MiB file. */
  uint8_t *sparse = calloc(1, 8 * MIB);
  memcpy(sparse, "head", 4);
  memcpy(sparse + 5 * MIB + 100, "middle", 6);
  int rc = ext4_write_file(fs, "/a/sparse", 0644, 0, 0, T0, sparse, 8 * MIB, 0);
  free(sparse);
  OBD_TRY(rc);
  /* Every other block a hole: 1000 extents, a two-level extent tree. */
  uint8_t *holes = calloc(1, 2000 * 4096);
  for (int i = 0; i < 2000; i += 2) memset(holes + (size_t)i * 4096, 'h', 4096);
  rc = ext4_write_file(fs, "/a/holes", 0644, 0, 0, T0, holes, 2000 * 4096, 0);
  free(holes);
  OBD_TRY(rc);
  OBD_TRY(ext4_symlink(fs, "/a/fast", "hello", 0, 0, T0, 0));
  char slow[201];
  memset(slow, 'x', 200);
  slow[0] = '/';
  slow[200] = '\0';
  OBD_TRY(ext4_symlink(fs, "/a/slow", slow, 5, 6, T0, 0));
  OBD_TRY(ext4_hardlink(fs, "/a/hello2", "/a/hello", 0));
  OBD_TRY(ext4_mknod(fs, "/dev/null", S_IFCHR | 0666, 1, 3, 0, 0, T0, EXT4_PARENTS));
  OBD_TRY(ext4_mknod(fs, "/dev/sda", S_IFBLK | 0660, 8, 0, 0, 6, T0, 0));
  OBD_TRY(ext4_mknod(fs, "/dev/big", S_IFCHR | 0600, 300, 70000, 0, 0, T0, 0));
  OBD_TRY(ext4_mknod(fs, "/dev/fifo", S_IFIFO | 0644, 0, 0, 0, 0, T0, 0));
  OBD_TRY(ext4_mknod(fs, "/dev/sock", S_IFSOCK | 0755, 0, 0, 0, 0, T0, 0));
  OBD_TRY(ext4_set_xattr(fs, "/a/hello", "user.foo", "bar", 3));
  OBD_TRY(ext4_set_xattr(fs, "/a/setuid", "security.capability", CAP, sizeof CAP));
  OBD_TRY(ext4_set_xattr(fs, "/a", "trusted.overlay.opaque", "y", 1));
  char *val = malloc(3000);
  memset(val, 'v', 3000);
  rc = ext4_set_xattr(fs, "/a/big", "user.big", val, 3000);
  free(val);
  OBD_TRY(rc);
  /* Enough entries to grow a directory over many blocks. */
  char name[300];
  for (int i = 0; i < 1500; i++) {
    snprintf(name, sizeof name, "/many/file-with-a-longish-name-%05d", i);
    OBD_TRY(ext4_write_file(fs, name, 0644, 0, 0, T0, name, strlen(name),
                            EXT4_PARENTS));
  }
  memset(name, 'n', sizeof name);
  memcpy(name, "/a/", 3);
  name[3 + 255] = '\0';
  OBD_TRY(ext4_write_file(fs, name, 0644, 0, 0, T0, "long", 4, 0));
  return 0;
}

static void tree_check(size_t cache_bytes) {
  layer_paths p;
  obd_image *img = NULL;
  ext4_fs *fs = NULL;
  layer_paths_init(&p, "tree");
  size_t big_len = 3 * MIB + 1234;
  uint8_t *big = malloc(big_len);
  pattern(big, big_len, 42);
  CHECK(open_image(&p, GIB, NULL, 0, &img) == 0);
  CHECK(ext4_mkfs(img, NULL) == 0);
  CHECK(ext4_open_cache(img, cache_bytes, &fs) == 0);
  int rc = make_tree(fs, big, big_len);
  ext4_stat st;
  int lrc = ext4_lookup(fs, "/a/hello2", &st);
  char names[64];
  int64_t need = ext4_list_dir(fs, "/a/b", names, sizeof names);
  CHECK(ext4_close(fs) == 0);
  CHECK(rc == 0);
  CHECK(lrc == 0 && st.nlink == 2 && st.size == 6 && st.uid == 1000 &&
        st.mode == (S_IFREG | 0644) && st.mtime == T0 + 3);
  CHECK(need == 2 && strcmp(names, "c") == 0);
  CHECK(export_image(img, p.export) == 0);
  CHECK(obd_image_close(img) == 0);
  CHECK(fsck_clean(p.export));

  const char *x = p.export;
  CHECK(debugfs_has(x, "cat /a/hello", "hello\n"));
  CHECK(debugfs_has(x, "stat /a/hello", "Links: 2"));
  CHECK(debugfs_has(x, "stat /a/hello", "User:  1000   Group:  1000"));
  CHECK(debugfs_has(x, "stat /a/hello", "user.foo (3) = \"bar\""));
  CHECK(debugfs_has(x, "stat /a", "Mode:  0750"));
  CHECK(debugfs_has(x, "stat /a", "User:  1000   Group:  1001"));
  CHECK(debugfs_has(x, "stat /a", "trusted.overlay.opaque (1) = \"y\""));
  CHECK(debugfs_has(x, "stat /a/b/c", "User:     7   Group:     8"));
  CHECK(debugfs_has(x, "stat /a/b", "Mode:  0755"));
  CHECK(debugfs_has(x, "stat /a/setuid", "Mode:  04755"));
  CHECK(debugfs_has(x, "stat /a/setuid", "security.capability (20)"));
  CHECK(debugfs_has(x, "stat /a/big", "user.big (3000)"));
  CHECK(debugfs_has(x, "stat /a/sparse", "Size: 8388608"));
  CHECK(debugfs_has(x, "stat /a/sparse", "Blockcount: 16")); /* 2 blocks */
  CHECK(debugfs_has(x, "stat /a/empty", "Size: 0"));
  CHECK(debugfs_has(x, "stat /a/fast", "Fast link dest: \"hello\""));
  CHECK(debugfs_has(x, "stat /a/slow", "Type: symlink"));
  CHECK(debugfs_has(x, "stat /a/slow", "Size: 200"));
  CHECK(debugfs_has(x, "stat /dev/null", "Type: character special"));
  CHECK(debugfs_has(x, "stat /dev/null", "Device major/minor number: 01:03"));
  CHECK(debugfs_has(x, "stat /dev/sda", "Type: block special"));
  CHECK(debugfs_has(x, "stat /dev/big", "Device major/minor number: 300:70000"));
  CHECK(debugfs_has(x, "stat /dev/fifo", "Type: FIFO"));
  CHECK(debugfs_has(x, "stat /dev/sock", "Type: socket"));
  CHECK(debugfs_has(x, "stat /", "Mode:  0755"));
  CHECK(debugfs_has(x, "cat /many/file-with-a-longish-name-01499",
                    "/many/file-with-a-longish-name-01499"));

  size_t len = 0;
  uint8_t *got = dump(x, "/a/big", &len);
  CHECK(got && len == big_len && memcmp(got, big, big_len) == 0);
  free(got);
  got = dump(x, "/a/sparse", &len);
  CHECK(got && len == 8 * MIB && memcmp(got, "head", 4) == 0 &&
        memcmp(got + 5 * MIB + 100, "middle", 6) == 0);
  free(got);
  got = dump(x, "/a/slow", &len);
  CHECK(got && len == 200 && got[0] == '/' && got[199] == 'x');
  free(got);
  CHECK(debugfs_has(x, "stat /a/holes", "Blockcount: 8024")); /* + 3 leaves */
  got = dump(x, "/a/holes", &len);
  CHECK(got && len == 2000 * 4096 && got[0] == 'h' && got[4096] == 0 &&
        got[2 * 4096] == 'h' && got[1999 * 4096] == 0);
  free(got);
  free(big);
  layer_paths_remove(&p);
}

static void tree_of_every_kind_is_clean_and_readable(void) {
  tree_check(EXT4_CACHE_BYTES);
}

/* The same with a 16-block cache: every path through eviction. */
static void tree_is_the_same_with_a_tiny_cache(void) { tree_check(1); }

static void replacing_entries_follows_tar_semantics(void) {
  layer_paths p;
  obd_image *img = NULL;
  ext4_fs *fs = NULL;
  ext4_stat st;
  layer_paths_init(&p, "replace");
  CHECK(open_image(&p, 256 * MIB, NULL, 0, &img) == 0);
  CHECK(ext4_mkfs(img, NULL) == 0);
  CHECK(ext4_open(img, &fs) == 0);
  int ok = 1;
  ok &= ext4_mkdir(fs, "/d", 0755, 0, 0, T0, 0) == 0;
  ok &= ext4_write_file(fs, "/d/keep", 0644, 0, 0, T0, "k", 1, 0) == 0;
  /* a directory over a directory keeps its contents, takes the metadata */
  ok &= ext4_mkdir(fs, "/d", 0711, 3, 4, T0 + 9, 0) == 0;
  ok &= ext4_lookup(fs, "/d/keep", &st) == 0;
  ok &= ext4_lookup(fs, "/d", &st) == 0 && st.mode == (S_IFDIR | 0711) &&
        st.uid == 3 && st.mtime == T0 + 9;
  /* a file over a directory removes the tree */
  ok &= ext4_mkdir(fs, "/t/u/v", 0755, 0, 0, T0, EXT4_PARENTS) == 0;
  ok &= ext4_write_file(fs, "/t/u/v/f", 0644, 0, 0, T0, "f", 1, 0) == 0;
  ok &= ext4_write_file(fs, "/t", 0644, 0, 0, T0, "now a file", 10, 0) == 0;
  ok &= ext4_lookup(fs, "/t", &st) == 0 && S_ISREG(st.mode) && st.size == 10;
  /* a directory over a file, a symlink over a file, a file over a symlink */
  ok &= ext4_mkdir(fs, "/t", 0755, 0, 0, T0, 0) == 0;
  ok &= ext4_lookup(fs, "/t", &st) == 0 && S_ISDIR(st.mode);
  ok &= ext4_symlink(fs, "/d/keep", "elsewhere", 0, 0, T0, 0) == 0;
  ok &= ext4_lookup(fs, "/d/keep", &st) == 0 && S_ISLNK(st.mode);
  ok &= ext4_write_file(fs, "/d/keep", 0644, 0, 0, T0, "x", 1, 0) == 0;
  ok &= ext4_lookup(fs, "/d/keep", &st) == 0 && S_ISREG(st.mode);
  /* symlinks in the parent path are followed inside the root */
  ok &= ext4_mkdir(fs, "/usr/lib", 0755, 0, 0, T0, EXT4_PARENTS) == 0;
  ok &= ext4_symlink(fs, "/lib", "usr/lib", 0, 0, T0, 0) == 0;
  ok &= ext4_symlink(fs, "/usr/lib/up", "../../../../..", 0, 0, T0, 0) == 0;
  ok &= ext4_write_file(fs, "/lib/libx.so", 0644, 0, 0, T0, "elf", 3, 0) == 0;
  ok &= ext4_write_file(fs, "/lib/up/usr/lib/liby.so", 0644, 0, 0, T0, "y", 1, 0) == 0;
  ok &= ext4_lookup(fs, "/usr/lib/libx.so", &st) == 0;
  ok &= ext4_lookup(fs, "/usr/lib/liby.so", &st) == 0;
  ok &= ext4_symlink(fs, "/abs", "/usr", 0, 0, T0, 0) == 0;
  ok &= ext4_write_file(fs, "/abs/lib/libz.so", 0644, 0, 0, T0, "z", 1, 0) == 0;
  ok &= ext4_lookup(fs, "/usr/lib/libz.so", &st) == 0;
  /* a hard link over the same inode is a no-op; over another it replaces */
  ok &= ext4_hardlink(fs, "/usr/lib/libx2.so", "/lib/libx.so", 0) == 0;
  ok &= ext4_hardlink(fs, "/usr/lib/libx2.so", "/usr/lib/libx.so", 0) == 0;
  ok &= ext4_hardlink(fs, "/usr/lib/liby.so", "/usr/lib/libx.so", 0) == 0;
  ok &= ext4_lookup(fs, "/usr/lib/libx.so", &st) == 0 && st.nlink == 3;
  /* removal: recursive, and hard links only drop a count */
  ok &= ext4_remove(fs, "/usr/lib/libx2.so") == 0;
  ok &= ext4_lookup(fs, "/usr/lib/libx.so", &st) == 0 && st.nlink == 2;
  ok &= ext4_remove(fs, "/many") == OBD_E_NOTFOUND;
  ok &= ext4_mkdir(fs, "/gone/x/y", 0755, 0, 0, T0, EXT4_PARENTS) == 0;
  ok &= ext4_symlink(fs, "/gone/x/link", "/usr", 0, 0, T0, 0) == 0;
  ok &= ext4_remove(fs, "/gone") == 0;
  ok &= ext4_lookup(fs, "/gone", &st) == OBD_E_NOTFOUND;
  ok &= ext4_lookup(fs, "/usr/lib/libz.so", &st) == 0;
  /* a new inode in a freed slot carries no stale xattrs */
  ok &= ext4_write_file(fs, "/xa", 0644, 0, 0, T0, "1", 1, 0) == 0;
  ok &= ext4_set_xattr(fs, "/xa", "user.stale", "old", 3) == 0;
  ok &= ext4_remove(fs, "/xa") == 0;
  ok &= ext4_write_file(fs, "/xb", 0644, 0, 0, T0, "2", 1, 0) == 0;
  ok &= ext4_set_attr(fs, "/xb", 0600, 9, 9, T0 + 5) == 0;
  /* dates past 2038 and before 1970 keep their epoch bits */
  ok &= ext4_write_file(fs, "/future", 0644, 0, 0, 5000000000ll, "", 0, 0) == 0;
  ok &= ext4_lookup(fs, "/future", &st) == 0 && st.mtime == 5000000000ll;
  ok &= ext4_write_file(fs, "/past", 0644, 0, 0, -1000, "", 0, 0) == 0;
  ok &= ext4_lookup(fs, "/past", &st) == 0 && st.mtime == -1000;
  CHECK(ext4_close(fs) == 0);
  CHECK(ok);
  CHECK(export_image(img, p.export) == 0);
  CHECK(obd_image_close(img) == 0);
  CHECK(fsck_clean(p.export));
  CHECK(debugfs_has(p.export, "cat /t", "") && debugfs_has(p.export, "stat /t", "Type: directory"));
  CHECK(debugfs_has(p.export, "cat /usr/lib/libx.so", "elf"));
  CHECK(debugfs_has(p.export, "stat /lib", "Fast link dest: \"usr/lib\""));
  CHECK(debugfs_has(p.export, "stat /xb", "User:     9   Group:     9"));
  char *out = debugfs(p.export, "ea_list /xb");
  CHECK(out && strstr(out, "stale") == NULL);
  free(out);
  layer_paths_remove(&p);
}

/* The per-directory name caches must follow every change, including a
 * removed directory whose inode number a new directory reuses. */
static void directory_caches_follow_changes(void) {
  layer_paths p;
  obd_image *img = NULL;
  ext4_fs *fs = NULL;
  ext4_stat st;
  layer_paths_init(&p, "dcache");
  CHECK(open_image(&p, 256 * MIB, NULL, 0, &img) == 0);
  CHECK(ext4_mkfs(img, NULL) == 0);
  CHECK(ext4_open(img, &fs) == 0);
  int ok = 1;
  char name[64];
  for (int i = 0; i < 5000 && ok; i++) {
    snprintf(name, sizeof name, "/big/entry-%05d", i);
    ok &= ext4_write_file(fs, name, 0644, 0, 0, T0, "", 0, EXT4_PARENTS) == 0;
  }
  ok &= ext4_lookup(fs, "/big/entry-04999", &st) == 0;
  ok &= ext4_remove(fs, "/big/entry-00000") == 0;
  ok &= ext4_lookup(fs, "/big/entry-00000", &st) == OBD_E_NOTFOUND;
  ok &= ext4_write_file(fs, "/big/entry-00000", 0600, 0, 0, T0, "", 0, 0) == 0;
  ok &= ext4_lookup(fs, "/big/entry-00000", &st) == 0 && st.mode == (S_IFREG | 0600);
  ok &= ext4_mkdir(fs, "/x/d1", 0755, 0, 0, T0, EXT4_PARENTS) == 0;
  ok &= ext4_write_file(fs, "/x/d1/f", 0644, 0, 0, T0, "", 0, 0) == 0;
  ok &= ext4_lookup(fs, "/x/d1/f", &st) == 0;
  uint64_t d1 = 0;
  ok &= ext4_lookup(fs, "/x/d1", &st) == 0;
  d1 = st.ino;
  ok &= ext4_remove(fs, "/x/d1") == 0;
  ok &= ext4_mkdir(fs, "/x/d2", 0755, 0, 0, T0, 0) == 0;
  ok &= ext4_lookup(fs, "/x/d2", &st) == 0 && st.ino == d1; /* reused */
  ok &= ext4_lookup(fs, "/x/d2/f", &st) == OBD_E_NOTFOUND;
  char buf[16];
  ok &= ext4_list_dir(fs, "/x/d2", buf, sizeof buf) == 0;
  CHECK(ext4_close(fs) == 0);
  CHECK(ok);
  CHECK(export_image(img, p.export) == 0);
  CHECK(obd_image_close(img) == 0);
  CHECK(fsck_clean(p.export));
  CHECK(debugfs_has(p.export, "stat /big/entry-00000", "Mode:  0600"));
  CHECK(debugfs_has(p.export, "ls /big", "entry-04999"));
  layer_paths_remove(&p);
}

static void errors_name_the_path(void) {
  layer_paths p;
  obd_image *img = NULL;
  ext4_fs *fs = NULL;
  ext4_file *f = NULL;
  layer_paths_init(&p, "errors");
  CHECK(open_image(&p, 32 * MIB, NULL, 0, &img) == 0);
  CHECK(ext4_mkfs(img, NULL) == 0);
  CHECK(ext4_open(img, &fs) == 0);
  int ok = 1;
  ok &= ext4_write_file(fs, "/no/parent", 0644, 0, 0, T0, "", 0, 0) == OBD_E_NOTFOUND;
  ok &= strstr(obd_last_error(), "/no/parent") != NULL;
  ok &= ext4_write_file(fs, "/file", 0644, 0, 0, T0, "", 0, 0) == 0;
  ok &= ext4_write_file(fs, "/file/x", 0644, 0, 0, T0, "", 0, 0) == OBD_E_INVAL;
  ok &= strstr(obd_last_error(), "not a directory") != NULL;
  ok &= ext4_mkdir(fs, "/dir", 0755, 0, 0, T0, 0) == 0;
  ok &= ext4_hardlink(fs, "/h", "/dir", 0) == OBD_E_INVAL;
  ok &= ext4_hardlink(fs, "/h", "/missing", 0) == OBD_E_NOTFOUND;
  ok &= strstr(obd_last_error(), "hard link /h") != NULL;
  ok &= ext4_hardlink(fs, "/dir", "/dir/../file", 0) == 0;
  ok &= ext4_remove(fs, "/") == OBD_E_INVAL;
  ok &= ext4_symlink(fs, "/loop1", "loop2", 0, 0, T0, 0) == 0;
  ok &= ext4_symlink(fs, "/loop2", "loop1", 0, 0, T0, 0) == 0;
  ok &= ext4_write_file(fs, "/loop1/x", 0644, 0, 0, T0, "", 0, 0) == OBD_E_INVAL;
  ok &= strstr(obd_last_error(), "symbolic links") != NULL;
  ok &= ext4_mknod(fs, "/bad", S_IFREG | 0644, 0, 0, 0, 0, T0, 0) == OBD_E_INVAL;
  ok &= ext4_symlink(fs, "/empty", "", 0, 0, T0, 0) == OBD_E_INVAL;
  /* more data than announced, then less */
  ok &= ext4_file_begin(fs, "/short", 0644, 0, 0, T0, 4, 0, &f) == 0;
  ok &= ext4_file_write(f, "12345", 5) == OBD_E_RANGE;
  ok &= ext4_file_end(f) == OBD_E_RANGE;
  ok &= ext4_file_begin(fs, "/short", 0644, 0, 0, T0, 4, 0, &f) == 0;
  ok &= ext4_file_write(f, "12", 2) == 0;
  ok &= ext4_file_end(f) == OBD_E_TRUNCATED;
  /* a file bigger than the filesystem */
  uint8_t *blob = malloc(40 * MIB);
  pattern(blob, 40 * MIB, 7);
  int rc = ext4_write_file(fs, "/huge", 0644, 0, 0, T0, blob, 40 * MIB, 0);
  free(blob);
  ok &= rc == OBD_E_RANGE && strstr(obd_last_error(), "/huge") != NULL &&
        strstr(obd_last_error(), "no space") != NULL;
  /* the filesystem stays usable and consistent after the failures */
  ok &= ext4_remove(fs, "/huge") == 0;
  ok &= ext4_write_file(fs, "/after", 0644, 0, 0, T0, "ok", 2, 0) == 0;
  CHECK(ext4_close(fs) == 0);
  CHECK(ok);
  CHECK(export_image(img, p.export) == 0);
  CHECK(obd_image_close(img) == 0);
  CHECK(fsck_clean(p.export));
  CHECK(debugfs_has(p.export, "stat /dir", "Type: regular"));
  layer_paths_remove(&p);
}

/* Layer 1: the tree; layer 2 on top of the committed layer 1: deletions,
 * replacements, a hard link to a lower file, xattrs on lower entries. */
static void stacked_layer_edits_the_merged_view(void) {
  layer_paths l1, l2;
  obd_image *img = NULL;
  ext4_fs *fs = NULL;
  layer_paths_init(&l1, "stack1");
  layer_paths_init(&l2, "stack2");
  size_t big_len = 2 * MIB;
  uint8_t *big = malloc(big_len);
  pattern(big, big_len, 9);
  CHECK(open_image(&l1, GIB, NULL, 0, &img) == 0);
  CHECK(ext4_mkfs(img, NULL) == 0);
  CHECK(ext4_open(img, &fs) == 0);
  int rc = make_tree(fs, big, big_len);
  CHECK(ext4_close(fs) == 0);
  CHECK(rc == 0);
  CHECK(obd_image_close(img) == 0);
  CHECK(commit(&l1) == 0);

  const char *lowers[2] = {l1.commit, l2.commit};
  CHECK(open_image(&l2, 0, lowers, 1, &img) == 0);
  CHECK(obd_image_size(img) == GIB);
  CHECK(ext4_open(img, &fs) == 0);
  int ok = 1;
  ok &= ext4_remove(fs, "/a/hello") == 0;                       /* .wh.hello */
  ok &= ext4_remove(fs, "/many") == 0;                          /* whole dir */
  ok &= ext4_mkdir(fs, "/a/sparse", 0755, 0, 0, T0, 0) == 0;    /* file → dir */
  ok &= ext4_write_file(fs, "/a/b", 0644, 0, 0, T0, "b", 1, 0) == 0; /* dir → file */
  ok &= ext4_hardlink(fs, "/biglink", "/a/big", 0) == 0;        /* lower file */
  ok &= ext4_set_xattr(fs, "/a/big", "user.layer", "2", 1) == 0;
  ok &= ext4_set_xattr(fs, "/a/hello2", "security.capability", CAP, sizeof CAP) == 0;
  ok &= ext4_write_file(fs, "/new", 0644, 0, 0, T0, "layer two", 9, 0) == 0;
  ok &= ext4_mknod(fs, "/dev/null", S_IFCHR | 0666, 1, 5, 0, 0, T0, 0) == 0;
  CHECK(ext4_close(fs) == 0);
  CHECK(ok);
  CHECK(obd_image_close(img) == 0);
  CHECK(commit(&l2) == 0);

  /* The merged view of both committed layers. */
  CHECK(open_lowers(lowers, 2, &img) == 0);
  CHECK(export_image(img, l2.export) == 0);
  CHECK(obd_image_close(img) == 0);
  CHECK(fsck_clean(l2.export));
  const char *x = l2.export;
  char *out = debugfs(x, "ls -l /a");
  CHECK(out && strstr(out, " hello ") == NULL && strstr(out, "hello2") != NULL);
  free(out);
  CHECK(debugfs_has(x, "stat /a/hello2", "Links: 1"));
  CHECK(debugfs_has(x, "stat /a/hello2", "security.capability (20)"));
  CHECK(debugfs_has(x, "stat /a/hello2", "user.foo (3) = \"bar\""));
  CHECK(debugfs_has(x, "stat /a/sparse", "Type: directory"));
  CHECK(debugfs_has(x, "cat /a/b", "b"));
  CHECK(debugfs_has(x, "stat /biglink", "Links: 2"));
  CHECK(debugfs_has(x, "stat /biglink", "user.layer (1) = \"2\""));
  CHECK(debugfs_has(x, "cat /new", "layer two"));
  CHECK(debugfs_has(x, "stat /dev/null", "Device major/minor number: 01:05"));
  out = debugfs(x, "ls /");
  CHECK(out && strstr(out, "many") == NULL);
  free(out);
  size_t len = 0;
  uint8_t *got = dump(x, "/biglink", &len);
  CHECK(got && len == big_len && memcmp(got, big, big_len) == 0);
  free(got);

  /* Layer 1 alone is unchanged. */
  CHECK(open_lowers(lowers, 1, &img) == 0);
  CHECK(export_image(img, l1.export) == 0);
  CHECK(obd_image_close(img) == 0);
  CHECK(fsck_clean(l1.export));
  CHECK(debugfs_has(l1.export, "cat /a/hello", "hello\n"));
  CHECK(debugfs_has(l1.export, "stat /a/sparse", "Type: regular"));
  free(big);
  layer_paths_remove(&l1);
  layer_paths_remove(&l2);
}

static void write_through_a_read_only_image_fails_cleanly(void) {
  layer_paths p;
  obd_image *img = NULL;
  ext4_fs *fs = NULL;
  layer_paths_init(&p, "ro");
  CHECK(open_image(&p, 64 * MIB, NULL, 0, &img) == 0);
  CHECK(ext4_mkfs(img, NULL) == 0);
  CHECK(obd_image_close(img) == 0);
  CHECK(commit(&p) == 0);
  const char *lowers[1] = {p.commit};
  CHECK(open_lowers(lowers, 1, &img) == 0);
  CHECK(ext4_open(img, &fs) == 0);
  int rc = ext4_write_file(fs, "/x", 0644, 0, 0, T0, "data", 4, 0);
  int crc = ext4_close(fs);
  CHECK(rc == OBD_E_READONLY || crc == OBD_E_READONLY);
  CHECK(obd_image_close(img) == 0);
  layer_paths_remove(&p);
}

int main(void) {
  if (system("command -v e2fsck >/dev/null && command -v debugfs >/dev/null") != 0) {
    printf("skipped: e2fsck/debugfs not installed\n0 passed, 0 failed\n");
    return 0;
  }
  static const check_case cases[] = {
      {"mkfs_is_clean_with_the_spec_parameters", mkfs_is_clean_with_the_spec_parameters},
      {"mkfs_over_a_used_image_is_clean", mkfs_over_a_used_image_is_clean},
      {"upstream_layer_takes_a_layer_on_top", upstream_layer_takes_a_layer_on_top},
      {"mkfs_refuses_sizes_out_of_range", mkfs_refuses_sizes_out_of_range},
      {"open_refuses_an_image_without_ext4", open_refuses_an_image_without_ext4},
      {"tree_of_every_kind_is_clean_and_readable", tree_of_every_kind_is_clean_and_readable},
      {"tree_is_the_same_with_a_tiny_cache", tree_is_the_same_with_a_tiny_cache},
      {"replacing_entries_follows_tar_semantics", replacing_entries_follows_tar_semantics},
      {"directory_caches_follow_changes", directory_caches_follow_changes},
      {"errors_name_the_path", errors_name_the_path},
      {"stacked_layer_edits_the_merged_view", stacked_layer_edits_the_merged_view},
      {"write_through_a_read_only_image_fails_cleanly", write_through_a_read_only_image_fails_cleanly},
  };
  return check_main(cases, sizeof cases / sizeof cases[0]);
}
