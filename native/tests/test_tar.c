/* Tar wrapper (spec §3): detection on the golden blobs and hand-made
 * headers, the must-fail corpus, and the writer reproducing overlaybd.commit
 * byte for byte. */
#include <pwd.h>
#include <grp.h>
#include <stdint.h>

#include "alloc.h"
#include "check.h"
#include "file.h"
#include "tar.h"

#define HELLO_BLOB                                                             \
  "upstream/hello-world-registry/blobs/sha256/"                                \
  "022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d"

/* ---- helpers: whole files, an in-memory obd_file and obd_sink ---- */

typedef struct mem_file {
  obd_file base;
  const uint8_t *data;
} mem_file;

static int64_t mem_pread(obd_file *f, void *buf, size_t n, uint64_t off) {
  if (off >= f->size) return 0;
  if (n > f->size - off) n = (size_t)(f->size - off);
  memcpy(buf, ((mem_file *)f)->data + off, n);
  return (int64_t)n;
}

static int mem_closed;
static void mem_close(obd_file *f) {
  mem_closed++;
  free(f);
}

static const obd_file_ops mem_ops = {.pread = mem_pread, .close = mem_close};

/* An obd_file over data[0..len) (not copied); closing frees only the struct. */
static obd_file *mem_file_open(const uint8_t *data, size_t len) {
  mem_file *m = malloc(sizeof *m);
  obd_file_init(&m->base, &mem_ops, len, "mem");
  m->data = data;
  return &m->base;
}

/* tar_detect on a memory buffer. */
static int detect_mem(const uint8_t *data, size_t len, tar_payload *p) {
  obd_file *f = mem_file_open(data, len);
  int rc = tar_detect(f, p);
  obd_file_close(f);
  return rc;
}

static int detect_path(const char *path, tar_payload *p) {
  obd_file *f = NULL;
  int rc = obd_file_open_path(path, &f);
  if (rc < 0) return rc;
  rc = tar_detect(f, p);
  obd_file_close(f);
  return rc;
}

typedef struct mem_sink {
  obd_sink base;
  uint8_t *data;
  size_t len, cap;
  int fail_at; /* the write call (1-based) that fails; 0 = never */
  int writes;
  int *closed;
} mem_sink;

static int ms_write(obd_sink *s, const void *buf, size_t n) {
  mem_sink *m = (mem_sink *)s;
  if (++m->writes == m->fail_at) return obd_fail(OBD_E_IO, "mem sink: injected");
  if (m->len + n > m->cap) {
    m->cap = (m->len + n) * 2;
    m->data = realloc(m->data, m->cap);
  }
  memcpy(m->data + m->len, buf, n);
  m->len += n;
  return 0;
}

static int ms_rewrite(obd_sink *s, const void *buf, size_t n, uint64_t off) {
  memcpy(((mem_sink *)s)->data + off, buf, n);
  return 0;
}

static int ms_close(obd_sink *s) {
  mem_sink *m = (mem_sink *)s;
  (*m->closed)++;
  return 0;
}

static const obd_sink_ops ms_ops = {
    .write = ms_write, .rewrite = ms_rewrite, .close = ms_close};
static const obd_sink_ops ms_stream_ops = {.write = ms_write,
                                           .close = ms_close};

static void mem_sink_init(mem_sink *m, const obd_sink_ops *ops, int *closed) {
  memset(m, 0, sizeof *m);
  obd_sink_init(&m->base, ops, "memsink");
  m->closed = closed;
}

/* Sets the "%6o " + NUL checksum of a hand-made or modified header. */
static void set_checksum(uint8_t *h, int sign) {
  long sum = 0;
  char chk[9];
  memset(h + 148, ' ', 8);
  for (int i = 0; i < 512; i++) sum += sign ? (long)(int8_t)h[i] : (long)h[i];
  snprintf(chk, sizeof chk, "%6lo ", sum);
  memcpy(h + 148, chk, 8);
}

/* A plain ustar header for a file of `size` bytes whose size field is `sz`. */
static void plain_header(uint8_t *h, const char *sz) {
  memset(h, 0, 512);
  memcpy(h, "overlaybd.commit", 16);
  memcpy(h + 100, "0000444", 7);
  memcpy(h + 124, sz, strlen(sz));
  h[156] = '0';
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  set_checksum(h, 0);
}

/* ---- detection of the golden blobs ---- */

static void detects_golden_commit(void) {
  tar_payload p;
  size_t zlen = 0;
  CHECK_EQ_U64(detect_path(check_vector("overlaybd.commit"), &p), 1);
  CHECK_EQ_U64(p.pax, 1);
  CHECK_EQ_U64(p.offset, 1536);
  CHECK_EQ_U64(p.size, 2980020);
  CHECK(strcmp(p.name, "overlaybd.commit") == 0);

  uint8_t *want = check_slurp(check_vector("layer.zfile"), &zlen);
  CHECK(want != NULL);
  obd_file *raw = NULL, *payload = NULL;
  CHECK(obd_file_open_path(check_vector("overlaybd.commit"), &raw) == 0);
  CHECK(tar_unwrap(raw, 1, &payload) == 0);
  CHECK(payload != raw);
  CHECK_EQ_U64(payload->size, zlen);
  uint8_t *got = malloc(zlen);
  int rc = obd_file_read_exact(payload, got, zlen, 0);
  int same = rc == 0 && memcmp(got, want, zlen) == 0;
  obd_file_close(payload);
  free(got);
  free(want);
  CHECK(same);
}

static void detects_sparse_commit(void) {
  tar_payload p;
  CHECK_EQ_U64(detect_path(check_vector("sparse.commit"), &p), 1);
  CHECK_EQ_U64(p.pax, 1);
  CHECK_EQ_U64(p.offset, 1536);
  CHECK_EQ_U64(p.size, 2979942); /* its PAX record: "16 size=2979942\n" */
}

static void detects_hello_world_blob(void) {
  tar_payload p;
  uint8_t magic[8];
  CHECK_EQ_U64(detect_path(check_vector(HELLO_BLOB), &p), 1);
  CHECK_EQ_U64(p.pax, 1);
  CHECK_EQ_U64(p.offset, 1536);
  CHECK_EQ_U64(p.size, 639491);
  obd_file *raw = NULL, *payload = NULL;
  CHECK(obd_file_open_path(check_vector(HELLO_BLOB), &raw) == 0);
  CHECK(tar_unwrap(raw, 1, &payload) == 0);
  int rc = obd_file_read_exact(payload, magic, sizeof magic, 0);
  obd_file_close(payload);
  CHECK(rc == 0);
  CHECK(memcmp(magic, "ZFile\0\1\0", 8) == 0);
}

/* Go's archive/tar, closed after the -t output, appends 1024 more zeros. */
static void tolerates_extra_trailing_zeros(void) {
  size_t len = 0;
  tar_payload p;
  uint8_t *blob = check_slurp(check_vector("overlaybd.commit"), &len);
  CHECK(blob != NULL);
  blob = realloc(blob, len + 1024);
  memset(blob + len, 0, 1024);
  int rc = detect_mem(blob, len + 1024, &p);
  free(blob);
  CHECK_EQ_U64(rc, 1);
  CHECK_EQ_U64(p.offset, 1536);
  CHECK_EQ_U64(p.size, 2980020);
}

static void detects_plain_ustar_from_gnu_tar(void) {
  char dir[4200], cmd[8600], path[4300];
  tar_payload p;
  snprintf(dir, sizeof dir, "%s", check_tmp("plain"));
  snprintf(cmd, sizeof cmd,
           "mkdir -p '%s' && cd '%s' && head -c 1000 /dev/urandom > small && "
           "tar --format=ustar -cf small.tar small",
           dir, dir);
  CHECK(system(cmd) == 0);
  snprintf(path, sizeof path, "%s/small.tar", dir);
  CHECK_EQ_U64(detect_path(path, &p), 1);
  CHECK_EQ_U64(p.pax, 0);
  CHECK_EQ_U64(p.offset, 512);
  CHECK_EQ_U64(p.size, 1000);
  CHECK(strcmp(p.name, "small") == 0);

  size_t tlen = 0, slen = 0;
  uint8_t *tarb = check_slurp(path, &tlen);
  snprintf(path, sizeof path, "%s/small", dir);
  uint8_t *small = check_slurp(path, &slen);
  int same = tarb && small && slen == 1000 && memcmp(tarb + 512, small, 1000) == 0;
  free(tarb);
  free(small);
  CHECK(same);
}

/* What ACI's Go code writes around the baselayer: a bare ustar header. */
static void detects_go_style_header(void) {
  uint8_t blob[512 + 1024 + 1024] = {0};
  tar_payload p;
  plain_header(blob, "00000002000");
  CHECK_EQ_U64(detect_mem(blob, sizeof blob, &p), 1);
  CHECK_EQ_U64(p.pax, 0);
  CHECK_EQ_U64(p.offset, 512);
  CHECK_EQ_U64(p.size, 1024);
}

static void accepts_gnu_base256_size(void) {
  uint8_t blob[512 + 3072] = {0};
  tar_payload p;
  plain_header(blob, "");
  memset(blob + 124, 0, 12);
  blob[124] = 0x80;
  blob[134] = 0x0c; /* 3072 = 0x0c00 */
  blob[135] = 0x00;
  set_checksum(blob, 0);
  CHECK_EQ_U64(detect_mem(blob, sizeof blob, &p), 1);
  CHECK_EQ_U64(p.size, 3072);
  CHECK_EQ_U64(p.offset, 512);
}

/* §3.2: readers accept a checksum computed over signed bytes too. */
static void accepts_signed_checksum(void) {
  uint8_t blob[1024] = {0};
  tar_payload p;
  plain_header(blob, "00000000001");
  blob[20] = 0xe9; /* a high byte makes the two sums differ */
  set_checksum(blob, 1);
  CHECK_EQ_U64(detect_mem(blob, sizeof blob, &p), 1);
  CHECK_EQ_U64(p.size, 1);
}

/* ---- not a tar ---- */

static void random_bytes_are_not_a_tar(void) {
  uint8_t buf[4096];
  tar_payload p;
  srand(7);
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)rand();
  CHECK_EQ_U64(detect_mem(buf, sizeof buf, &p), 0);
  CHECK_EQ_U64(detect_mem(buf, 100, &p), 0); /* shorter than a header */
  CHECK_EQ_U64(detect_mem(buf, 0, &p), 0);
}

static void zfile_is_not_a_tar(void) {
  tar_payload p;
  obd_file *f = NULL, *out = NULL;
  CHECK_EQ_U64(detect_path(check_vector("layer.zfile"), &p), 0);
  CHECK_EQ_U64(detect_path(check_vector("layer.lsmt"), &p), 0);
  CHECK(obd_file_open_path(check_vector("layer.zfile"), &f) == 0);
  int rc = tar_unwrap(f, 1, &out);
  int same = out == f;
  obd_file_close(out);
  CHECK(rc == 0);
  CHECK(same);
}

static void bad_checksum_is_not_a_tar(void) {
  size_t len = 0;
  tar_payload p;
  uint8_t *blob = check_slurp(check_vector("overlaybd.commit"), &len);
  CHECK(blob != NULL);
  blob[3] ^= 0x01; /* inside the first header's name */
  int rc = detect_mem(blob, len, &p);
  blob[3] ^= 0x01;
  memcpy(blob + 263, "xx", 2); /* the placeholder's version */
  set_checksum(blob, 0);
  int rc2 = detect_mem(blob, len, &p);
  free(blob);
  CHECK_EQ_U64(rc, 0);
  CHECK_EQ_U64(rc2, 0);
}

/* ---- must fail: a tar whose headers are inconsistent ---- */

static void truncated_payload_is_corrupt(void) {
  size_t len = 0;
  tar_payload p;
  uint8_t *blob = check_slurp(check_vector("overlaybd.commit"), &len);
  CHECK(blob != NULL);
  int mid = detect_mem(blob, 2000000, &p);
  int in_headers = detect_mem(blob, 1100, &p);
  int in_pax = detect_mem(blob, 520, &p);
  free(blob);
  CHECK_EQ_U64(mid, OBD_E_CORRUPT);
  CHECK(strstr(obd_last_error(), "mem") != NULL);
  CHECK_EQ_U64(in_headers, OBD_E_CORRUPT);
  CHECK_EQ_U64(in_pax, OBD_E_CORRUPT);
}

static void bad_pax_records_are_corrupt(void) {
  static const char *bad[] = {
      "17 size=2980020\n", /* length counts one byte too many */
      "16 size=29x0020\n", /* not a number */
      "16 size 2980020\n", /* no '=' */
      "16 size=2980020x",  /* no newline */
      "x6 size=2980020\n", /* bad length */
      "16 size=9980020\n", /* past the end of the file */
  };
  size_t len = 0;
  tar_payload p;
  uint8_t *blob = check_slurp(check_vector("overlaybd.commit"), &len);
  CHECK(blob != NULL);
  int rcs[6];
  for (size_t i = 0; i < 6; i++) {
    memcpy(blob + 512, bad[i], 16);
    rcs[i] = detect_mem(blob, len, &p);
  }
  free(blob);
  for (size_t i = 0; i < 6; i++) CHECK_EQ_U64(rcs[i], OBD_E_CORRUPT);
}

static void bad_size_field_is_corrupt(void) {
  uint8_t blob[2048] = {0};
  tar_payload p;
  plain_header(blob, "0000000x001");
  CHECK_EQ_U64(detect_mem(blob, sizeof blob, &p), OBD_E_CORRUPT);
  plain_header(blob, "00000010000"); /* 4096 bytes in a 2048-byte file */
  CHECK_EQ_U64(detect_mem(blob, sizeof blob, &p), OBD_E_CORRUPT);
}

/* A second header with a bad checksum after a valid PAX header. */
static void damaged_file_header_is_corrupt(void) {
  size_t len = 0;
  tar_payload p;
  uint8_t *blob = check_slurp(check_vector("overlaybd.commit"), &len);
  CHECK(blob != NULL);
  blob[1024 + 2] ^= 0x20;
  int rc = detect_mem(blob, len, &p);
  free(blob);
  CHECK_EQ_U64(rc, OBD_E_CORRUPT);
}

static void unwrap_failure_closes_owned_file(void) {
  size_t len = 0;
  uint8_t *blob = check_slurp(check_vector("overlaybd.commit"), &len);
  CHECK(blob != NULL);
  obd_file *f = mem_file_open(blob, 2000000), *out = NULL;
  int before = mem_closed;
  int rc = tar_unwrap(f, 1, &out);
  int closed = mem_closed - before;
  free(blob);
  CHECK_EQ_U64(rc, OBD_E_CORRUPT);
  CHECK_EQ_U64(closed, 1);
}

/* ---- writer ---- */

static int host_root_is_root(void) {
  struct passwd *pw = getpwuid(0);
  struct group *gr = getgrgid(0);
  return pw && gr && strcmp(pw->pw_name, "root") == 0 &&
         strcmp(gr->gr_name, "root") == 0;
}

static void writer_reproduces_golden_commit(void) {
  if (!host_root_is_root()) {
    printf("  skip: uid/gid 0 are not named root here; uname/gname differ\n");
    return;
  }
  size_t zlen = 0, want_len = 0, got_len = 0;
  const char *out_path = check_tmp("golden.commit");
  uint8_t *z = check_slurp(check_vector("layer.zfile"), &zlen);
  uint8_t *want = check_slurp(check_vector("overlaybd.commit"), &want_len);
  CHECK(z && want);
  obd_sink *file = NULL, *w = NULL;
  CHECK(obd_sink_open_path(out_path, 0644, &file) == 0);
  CHECK(tar_writer_open(file, 1, 0100644, &w) == 0);
  int rc = 0;
  /* odd chunk sizes so no write is block-aligned */
  for (size_t off = 0, step = 1; off < zlen && rc == 0; off += step, step = step * 3 + 1) {
    if (step > zlen - off) step = zlen - off;
    rc = obd_sink_write(w, z + off, step);
  }
  int crc = obd_sink_close(w);
  uint8_t *got = check_slurp(out_path, &got_len);
  int same = got && got_len == want_len && memcmp(got, want, want_len) == 0;
  free(z);
  free(want);
  free(got);
  CHECK(rc == 0);
  CHECK(crc == 0);
  CHECK_EQ_U64(got_len, 2982912);
  CHECK(same);
}

static void writer_translates_rewrites(void) {
  int closed = 0;
  mem_sink m;
  uint8_t payload[1000];
  tar_payload p;
  mem_sink_init(&m, &ms_ops, &closed);
  memset(payload, 'A', sizeof payload);
  obd_sink *w = NULL;
  CHECK(tar_writer_open(&m.base, 0, 0100444, &w) == 0);
  CHECK(obd_sink_write(w, payload, sizeof payload) == 0);
  CHECK(obd_sink_rewrite(w, "BBBB", 4, 10) == 0);
  CHECK(obd_sink_rewrite(w, "C", 1, 1000) == OBD_E_INVAL); /* past the end */
  CHECK(obd_sink_close(w) == 0);
  CHECK_EQ_U64(closed, 0); /* not owned */
  int rc = detect_mem(m.data, m.len, &p);
  size_t len = m.len;
  int ok = memcmp(m.data + 1536 + 10, "BBBB", 4) == 0 && m.data[1536 + 14] == 'A' &&
           memcmp(m.data + 1024 + 100, "100444 \0", 8) == 0 &&
           memcmp(m.data + 512, "13 size=1000\n", 13) == 0;
  free(m.data);
  CHECK_EQ_U64(rc, 1);
  CHECK_EQ_U64(p.size, 1000);
  CHECK_EQ_U64(len, 1536 + 1024 + 1024);
  CHECK(ok);
}

static void writer_handles_empty_payload(void) {
  int closed = 0;
  mem_sink m;
  tar_payload p;
  mem_sink_init(&m, &ms_ops, &closed);
  obd_sink *w = NULL;
  CHECK(tar_writer_open(&m.base, 1, 0100644, &w) == 0);
  CHECK(obd_sink_close(w) == 0);
  CHECK_EQ_U64(closed, 1);
  int rc = detect_mem(m.data, m.len, &p);
  size_t len = m.len;
  free(m.data);
  CHECK_EQ_U64(rc, 1);
  CHECK_EQ_U64(p.size, 0);
  CHECK_EQ_U64(len, 1536 + 1024);
}

static void writer_needs_a_rewritable_sink(void) {
  int closed = 0;
  mem_sink m;
  mem_sink_init(&m, &ms_stream_ops, &closed);
  obd_sink *w = NULL;
  CHECK_EQ_U64(tar_writer_open(&m.base, 1, 0100644, &w), OBD_E_UNSUPPORTED);
  CHECK_EQ_U64(closed, 1); /* owned: closed on failure too */
  free(m.data);
}

static void writer_errors_are_sticky(void) {
  int closed = 0;
  mem_sink m;
  mem_sink_init(&m, &ms_ops, &closed);
  m.fail_at = 3; /* placeholder, first payload write, then this one */
  obd_sink *w = NULL;
  CHECK(tar_writer_open(&m.base, 1, 0100644, &w) == 0);
  CHECK(obd_sink_write(w, "abc", 3) == 0);
  int rc1 = obd_sink_write(w, "def", 3);
  int rc2 = obd_sink_write(w, "ghi", 3); /* the sink would accept this one */
  int rc3 = obd_sink_rewrite(w, "x", 1, 0);
  int rc4 = obd_sink_close(w);
  size_t len = m.len;
  free(m.data);
  CHECK_EQ_U64(rc1, OBD_E_IO);
  CHECK_EQ_U64(rc2, OBD_E_IO);
  CHECK_EQ_U64(rc3, OBD_E_IO);
  CHECK_EQ_U64(rc4, OBD_E_IO);
  CHECK_EQ_U64(closed, 1);
  CHECK_EQ_U64(len, 1536 + 3);
}

static void writer_alloc_failure_closes_owned_sink(void) {
  int closed = 0;
  mem_sink m;
  mem_sink_init(&m, &ms_ops, &closed);
  obd_sink *w = NULL;
  obd_alloc_fail_after(0);
  int rc = tar_writer_open(&m.base, 1, 0100644, &w);
  obd_alloc_fail_after(-1);
  free(m.data);
  CHECK_EQ_U64(rc, OBD_E_NOMEM);
  CHECK_EQ_U64(closed, 1);
}

/* The PAX length prefix counts its own digits, across a digit boundary. */
static void writer_pax_length_counts_itself(void) {
  static const struct { size_t size; const char *rec; } cases[] = {
      {0, "9 size=0\n"},
      {9, "9 size=9\n"},
      {10, "11 size=10\n"},
      {4737695, "16 size=4737695\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int closed = 0;
    mem_sink m;
    mem_sink_init(&m, &ms_ops, &closed);
    obd_sink *w = NULL;
    uint8_t *payload = calloc(1, cases[i].size + 1);
    CHECK(tar_writer_open(&m.base, 1, 0100644, &w) == 0);
    CHECK(obd_sink_write(w, payload, cases[i].size) == 0);
    CHECK(obd_sink_close(w) == 0);
    int ok = memcmp(m.data + 512, cases[i].rec, strlen(cases[i].rec)) == 0 &&
             m.data[512 + strlen(cases[i].rec)] == 0;
    free(payload);
    free(m.data);
    CHECK(ok);
  }
}

int main(void) {
  static const check_case cases[] = {
      {"tar_detect() reads the golden overlaybd.commit", detects_golden_commit},
      {"tar_detect() reads sparse.commit", detects_sparse_commit},
      {"tar_detect() reads the converted hello-world blob", detects_hello_world_blob},
      {"tar_detect() tolerates 1024 extra zero bytes", tolerates_extra_trailing_zeros},
      {"tar_detect() finds a plain ustar payload at 512", detects_plain_ustar_from_gnu_tar},
      {"tar_detect() reads a Go-style header", detects_go_style_header},
      {"tar_detect() accepts a GNU base-256 size", accepts_gnu_base256_size},
      {"tar_detect() accepts a signed-byte checksum", accepts_signed_checksum},
      {"tar_detect() says random bytes are not a tar", random_bytes_are_not_a_tar},
      {"tar_unwrap() returns a ZFile itself", zfile_is_not_a_tar},
      {"tar_detect() says a bad checksum is not a tar", bad_checksum_is_not_a_tar},
      {"tar_detect() fails on a truncated blob", truncated_payload_is_corrupt},
      {"tar_detect() fails on bad PAX records", bad_pax_records_are_corrupt},
      {"tar_detect() fails on a bad size field", bad_size_field_is_corrupt},
      {"tar_detect() fails on a damaged second header", damaged_file_header_is_corrupt},
      {"tar_unwrap() closes an owned file on failure", unwrap_failure_closes_owned_file},
      {"tar_writer_open() reproduces overlaybd.commit", writer_reproduces_golden_commit},
      {"tar writer translates rewrites past the headers", writer_translates_rewrites},
      {"tar writer handles an empty payload", writer_handles_empty_payload},
      {"tar_writer_open() needs a rewritable sink", writer_needs_a_rewritable_sink},
      {"tar writer errors are sticky", writer_errors_are_sticky},
      {"tar_writer_open() closes an owned sink when allocation fails",
       writer_alloc_failure_closes_owned_sink},
      {"tar writer PAX length counts itself", writer_pax_length_counts_itself},
  };
  return check_main(cases, sizeof cases / sizeof cases[0]);
}
