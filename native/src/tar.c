/* The one-file tar wrapper (spec §3): detection of a wrapped blob and the
 * writer that produces the PAX form of §3.1 byte for byte. */
#include "tar.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

/* ustar header fields (POSIX ustar; spec §3.1 lists what overlaybd puts in
 * them). Numeric fields are ASCII octal, so le.h does not apply here. */
enum {
  TAR_OFF_NAME = 0, TAR_LEN_NAME = 100,
  TAR_OFF_MODE = 100, TAR_LEN_MODE = 8,
  TAR_OFF_UID = 108, TAR_LEN_UID = 8,
  TAR_OFF_GID = 116, TAR_LEN_GID = 8,
  TAR_OFF_SIZE = 124, TAR_LEN_SIZE = 12,
  TAR_OFF_MTIME = 136, TAR_LEN_MTIME = 12,
  TAR_OFF_CHKSUM = 148, TAR_LEN_CHKSUM = 8,
  TAR_OFF_TYPEFLAG = 156,
  TAR_OFF_MAGIC = 257, TAR_LEN_MAGIC = 6,    /* §3.2 step 1: "ustar" */
  TAR_OFF_VERSION = 263, TAR_LEN_VERSION = 2, /* §3.2 step 1: "00" */
  TAR_OFF_UNAME = 265, TAR_LEN_UNAME = 32,
  TAR_OFF_GNAME = 297, TAR_LEN_GNAME = 32,
};

#define TAR_PAX_PAYLOAD_OFFSET 1536u /* §3.2 step 3 */
#define TAR_PLAIN_PAYLOAD_OFFSET 512u
/* A wrapper has one PAX header; more than a few extension headers in a row
 * means this is not a blob we can use, and the bound keeps detection cheap. */
#define TAR_MAX_HEADERS 16u
/* The fixed payload offset of §3.2 only works for a one-block PAX payload;
 * anything much larger cannot be a wrapper the data plane could read. */
#define TAR_PAX_MAX 8192u

/* ---- header decoding (§3.2) ---- */

typedef struct tar_header {
  char name[TAR_LEN_NAME + 1];
  char typeflag;
  uint64_t size;
  uint8_t size_ok;     /* the size field parsed (octal or GNU base-256) */
  uint8_t ustar;       /* magic "ustar" and version "00" */
  uint8_t checksum_ok; /* stored checksum = unsigned or signed byte sum */
} tar_header;

/* Octal text: optional leading spaces/NULs, digits, then only spaces/NULs.
 * An all-blank field is 0 (writers leave unused fields empty). */
static int parse_octal(const uint8_t *p, size_t len, uint64_t *out) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < len && (p[i] == ' ' || p[i] == 0)) i++;
  for (; i < len && p[i] >= '0' && p[i] <= '7'; i++) {
    if (v > (UINT64_MAX >> 3)) return -1;
    v = v << 3 | (uint64_t)(p[i] - '0');
  }
  for (; i < len; i++)
    if (p[i] != ' ' && p[i] != 0) return -1;
  *out = v;
  return 0;
}

/* GNU base-256: high bit set, next bit the sign, then big-endian binary. */
static int parse_base256(const uint8_t *p, size_t len, uint64_t *out) {
  uint64_t v = p[0] & 0x3f;
  if (p[0] & 0x40) return -1; /* negative */
  for (size_t i = 1; i < len; i++) {
    if (v > (UINT64_MAX >> 8)) return -1;
    v = v << 8 | p[i];
  }
  *out = v;
  return 0;
}

static int parse_number(const uint8_t *p, size_t len, uint64_t *out) {
  return (p[0] & 0x80) ? parse_base256(p, len, out) : parse_octal(p, len, out);
}

/* Checks the stored checksum against both sums §3.2 allows. */
static int checksum_matches(const uint8_t *buf) {
  uint64_t stored;
  uint32_t usum = 0;
  int32_t ssum = 0;
  if (parse_octal(buf + TAR_OFF_CHKSUM, TAR_LEN_CHKSUM, &stored) != 0) return 0;
  for (size_t i = 0; i < TAR_BLOCK; i++) {
    int in_field = i >= TAR_OFF_CHKSUM && i < TAR_OFF_CHKSUM + TAR_LEN_CHKSUM;
    uint8_t b = in_field ? (uint8_t)' ' : buf[i];
    usum += b;
    ssum += (int8_t)b;
  }
  return stored == usum || (ssum >= 0 && stored == (uint64_t)ssum);
}

static int tar_header_decode(const uint8_t *buf, size_t len, tar_header *out) {
  if (len < TAR_BLOCK)
    return obd_fail(OBD_E_INVAL, "tar header needs %u bytes, got %zu",
                    TAR_BLOCK, len);
  memcpy(out->name, buf + TAR_OFF_NAME, TAR_LEN_NAME);
  out->name[TAR_LEN_NAME] = '\0';
  out->typeflag = (char)buf[TAR_OFF_TYPEFLAG];
  out->size = 0;
  out->size_ok = parse_number(buf + TAR_OFF_SIZE, TAR_LEN_SIZE, &out->size) == 0;
  out->ustar = memcmp(buf + TAR_OFF_MAGIC, "ustar", 5) == 0 &&
               memcmp(buf + TAR_OFF_VERSION, "00", TAR_LEN_VERSION) == 0;
  out->checksum_ok = (uint8_t)checksum_matches(buf);
  return 0;
}

/* ---- PAX records: "<len> <key>=<value>\n" ---- */

static int parse_decimal(const uint8_t *p, size_t len, uint64_t *out) {
  uint64_t v = 0;
  if (len == 0) return -1;
  for (size_t i = 0; i < len; i++) {
    if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - 9) / 10) return -1;
    v = v * 10 + (uint64_t)(p[i] - '0');
  }
  *out = v;
  return 0;
}

/* Length of the record starting at p (at most len bytes), or 0 if the
 * length prefix is malformed or the record does not fit. */
static size_t pax_record_len(const uint8_t *p, size_t len, size_t *digits) {
  uint64_t reclen;
  size_t d = 0;
  while (d < len && p[d] != ' ') d++;
  if (d == len || parse_decimal(p, d, &reclen) != 0) return 0;
  if (reclen <= d + 1 || reclen > len || p[reclen - 1] != '\n') return 0;
  *digits = d;
  return (size_t)reclen;
}

/* Sets *size from a "size" record (0 if there is none). */
static int pax_parse(const uint8_t *data, size_t len, uint64_t *size,
                     const char *fname, uint64_t at) {
  size_t pos = 0, digits = 0;
  *size = 0;
  while (pos < len && data[pos] != 0) { /* zero fill ends the records */
    const uint8_t *rec = data + pos;
    size_t reclen = pax_record_len(rec, len - pos, &digits);
    if (reclen == 0)
      return obd_fail(OBD_E_CORRUPT, "%s: bad PAX record at offset %llu",
                      fname, (unsigned long long)(at + pos));
    const uint8_t *kv = rec + digits + 1;
    size_t kvlen = reclen - digits - 2; /* without the trailing '\n' */
    const uint8_t *eq = memchr(kv, '=', kvlen);
    if (!eq)
      return obd_fail(OBD_E_CORRUPT, "%s: PAX record at offset %llu has no '='",
                      fname, (unsigned long long)(at + pos));
    size_t klen = (size_t)(eq - kv);
    if (klen == 4 && memcmp(kv, "size", 4) == 0 &&
        parse_decimal(eq + 1, kvlen - klen - 1, size) != 0)
      return obd_fail(OBD_E_CORRUPT, "%s: bad PAX size at offset %llu", fname,
                      (unsigned long long)(at + pos));
    pos += reclen;
  }
  return 0;
}

static int read_pax(obd_file *f, uint64_t off, uint64_t n, uint64_t *size) {
  uint8_t data[TAR_PAX_MAX];
  if (n > sizeof data)
    return obd_fail(OBD_E_UNSUPPORTED,
                    "%s: PAX header at offset %llu holds %llu bytes (at most %u)",
                    f->name, (unsigned long long)off, (unsigned long long)n,
                    TAR_PAX_MAX);
  OBD_TRY(obd_file_read_exact(f, data, (size_t)n, off));
  return pax_parse(data, (size_t)n, size, f->name, off);
}

/* ---- detection ---- */

static int is_extension(char typeflag) {
  return typeflag == 'x' || typeflag == 'g' || typeflag == 'L' ||
         typeflag == 'K';
}

static int read_header(obd_file *f, uint64_t pos, tar_header *h) {
  uint8_t block[TAR_BLOCK];
  if (pos > f->size || TAR_BLOCK > f->size - pos)
    return obd_fail(OBD_E_CORRUPT, "%s: tar headers run past the end (offset %llu)",
                    f->name, (unsigned long long)pos);
  OBD_TRY(obd_file_read_exact(f, block, sizeof block, pos));
  OBD_TRY(tar_header_decode(block, sizeof block, h));
  if (!h->checksum_ok)
    return obd_fail(OBD_E_CORRUPT, "%s: tar header at offset %llu: bad checksum",
                    f->name, (unsigned long long)pos);
  return 0;
}

/* Consumes extension headers from h (the verified header at 0) to the file
 * entry (§3.2 step 2); returns its header in h and the PAX state. */
static int walk_headers(obd_file *f, tar_header *h, int *pax,
                        uint64_t *pax_size) {
  uint64_t pos = 0;
  for (unsigned i = 0;; i++) {
    if (i > 0) OBD_TRY(read_header(f, pos, h));
    if (!h->size_ok)
      return obd_fail(OBD_E_CORRUPT, "%s: tar header at offset %llu: bad size field",
                      f->name, (unsigned long long)pos);
    if (!is_extension(h->typeflag)) return 0;
    if (i + 1 >= TAR_MAX_HEADERS)
      return obd_fail(OBD_E_CORRUPT, "%s: more than %u tar extension headers",
                      f->name, TAR_MAX_HEADERS);
    uint64_t data = pos + TAR_BLOCK;
    if (h->size > f->size - data)
      return obd_fail(OBD_E_CORRUPT,
                      "%s: tar header at offset %llu: %llu data bytes pass the end",
                      f->name, (unsigned long long)pos,
                      (unsigned long long)h->size);
    if (h->typeflag == 'x') {
      *pax = 1;
      OBD_TRY(read_pax(f, data, h->size, pax_size));
    }
    pos = data + (h->size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
  }
}

int tar_detect(obd_file *f, tar_payload *out) {
  uint8_t block[TAR_BLOCK];
  tar_header h;
  int pax = 0;
  uint64_t pax_size = 0;
  if (f->size < TAR_BLOCK) return 0;
  OBD_TRY(obd_file_read_exact(f, block, sizeof block, 0));
  OBD_TRY(tar_header_decode(block, sizeof block, &h));
  if (!h.ustar || !h.checksum_ok) return 0;
  OBD_TRY(walk_headers(f, &h, &pax, &pax_size));
  uint64_t size = pax && pax_size > 0 ? pax_size : h.size;
  uint64_t offset = pax ? TAR_PAX_PAYLOAD_OFFSET : TAR_PLAIN_PAYLOAD_OFFSET;
  if (offset > f->size || size > f->size - offset)
    return obd_fail(OBD_E_CORRUPT,
                    "%s: tar payload of %llu bytes at offset %llu passes the end (%llu bytes)",
                    f->name, (unsigned long long)size,
                    (unsigned long long)offset, (unsigned long long)f->size);
  out->offset = offset;
  out->size = size;
  out->pax = (uint8_t)pax;
  memcpy(out->name, h.name, sizeof out->name);
  return 1;
}

int tar_unwrap(obd_file *f, int own, obd_file **out) {
  tar_payload p;
  int rc = tar_detect(f, &p);
  if (rc == 0) {
    *out = f;
    return 0;
  }
  if (rc > 0) rc = obd_file_window(f, own, p.offset, p.size, out);
  if (rc < 0 && own) obd_file_close(f);
  return rc < 0 ? rc : 0;
}

/* ---- header encoding (§3.1) ---- */

/* The text of each field as written; NULL leaves a field all NUL. */
typedef struct tar_fields {
  const char *name, *mode, *uid, *gid, *size, *mtime;
  char typeflag;
  const char *magic, *version, *uname, *gname;
} tar_fields;

static void put_text(uint8_t *buf, size_t off, size_t len, const char *s) {
  if (s) memcpy(buf + off, s, strnlen(s, len));
}

/* Writes one 512-byte header with its "%6o " + NUL unsigned checksum. */
static int tar_header_encode(const tar_fields *in, uint8_t *buf, size_t cap) {
  char chk[TAR_LEN_CHKSUM + 1];
  uint32_t sum = 0;
  if (cap < TAR_BLOCK)
    return obd_fail(OBD_E_INVAL, "tar header needs %u bytes, got %zu",
                    TAR_BLOCK, cap);
  memset(buf, 0, TAR_BLOCK);
  put_text(buf, TAR_OFF_NAME, TAR_LEN_NAME, in->name);
  put_text(buf, TAR_OFF_MODE, TAR_LEN_MODE, in->mode);
  put_text(buf, TAR_OFF_UID, TAR_LEN_UID, in->uid);
  put_text(buf, TAR_OFF_GID, TAR_LEN_GID, in->gid);
  put_text(buf, TAR_OFF_SIZE, TAR_LEN_SIZE, in->size);
  put_text(buf, TAR_OFF_MTIME, TAR_LEN_MTIME, in->mtime);
  buf[TAR_OFF_TYPEFLAG] = (uint8_t)in->typeflag;
  put_text(buf, TAR_OFF_MAGIC, TAR_LEN_MAGIC, in->magic);
  put_text(buf, TAR_OFF_VERSION, TAR_LEN_VERSION, in->version);
  put_text(buf, TAR_OFF_UNAME, TAR_LEN_UNAME - 1, in->uname);
  put_text(buf, TAR_OFF_GNAME, TAR_LEN_GNAME - 1, in->gname);
  memset(buf + TAR_OFF_CHKSUM, ' ', TAR_LEN_CHKSUM);
  for (size_t i = 0; i < TAR_BLOCK; i++) sum += buf[i];
  snprintf(chk, sizeof chk, "%6o ", (unsigned)sum);
  memcpy(buf + TAR_OFF_CHKSUM, chk, TAR_LEN_CHKSUM); /* includes the NUL */
  return 0;
}

static size_t decimal_digits(size_t v) {
  size_t d = 1;
  for (; v >= 10; v /= 10) d++;
  return d;
}

/* "<L> size=<Z>\n" where L counts its own digits (§3.1). */
static size_t pax_record(uint64_t size, char *out, size_t cap) {
  char probe[32];
  size_t rest = (size_t)snprintf(probe, sizeof probe, " size=%llu\n",
                                 (unsigned long long)size);
  size_t total = rest + decimal_digits(rest);
  if (decimal_digits(total) != decimal_digits(rest))
    total = rest + decimal_digits(total); /* rest 98: 100 has 3 digits → 101 */
  return (size_t)snprintf(out, cap, "%zu size=%llu\n", total,
                          (unsigned long long)size);
}

/* uname/gname of §3.1: the names of uid 0 and gid 0 on this host. */
static void root_names(char *user, size_t ucap, char *group, size_t gcap) {
  char buf[4096];
  struct passwd pw, *pwp = NULL;
  struct group gr, *grp = NULL;
  user[0] = group[0] = '\0';
  if (getpwuid_r(0, &pw, buf, sizeof buf, &pwp) == 0 && pwp)
    snprintf(user, ucap, "%s", pwp->pw_name);
  if (getgrgid_r(0, &gr, buf, sizeof buf, &grp) == 0 && grp)
    snprintf(group, gcap, "%s", grp->gr_name);
}

/* The 1536 bytes in front of the payload; `final` selects the real headers
 * over the placeholder written at open. */
static int encode_wrapper(uint64_t payload, uint32_t mode, int final,
                          uint8_t *buf) {
  char rec[64], pax_len[16], mode_s[16], user[TAR_LEN_UNAME], group[TAR_LEN_GNAME];
  const char *magic = final ? "ustar" : "xxtar";
  const char *version = final ? "00" : "xx";
  size_t reclen = pax_record(final ? payload : 0, rec, sizeof rec);
  snprintf(pax_len, sizeof pax_len, "%11o ", (unsigned)reclen);
  snprintf(mode_s, sizeof mode_s, "%6o ", (unsigned)(mode & 0777777u));
  root_names(user, sizeof user, group, sizeof group);
  tar_fields pax = {.name = final ? "overlaybd.pax" : "overlaybd.new",
                    .size = pax_len, .typeflag = 'x',
                    .magic = magic, .version = version};
  tar_fields file = {.name = final ? "overlaybd.commit" : "overlaybd.new",
                     .mode = mode_s, .uid = "     0 ", .gid = "     0 ",
                     .size = "          0 ", .mtime = "          0 ",
                     .typeflag = '0', .magic = magic, .version = version,
                     .uname = user, .gname = group};
  memset(buf, 0, TAR_PAX_PAYLOAD_OFFSET);
  OBD_TRY(tar_header_encode(&pax, buf, TAR_BLOCK));
  memcpy(buf + TAR_BLOCK, rec, reclen);
  return tar_header_encode(&file, buf + 2 * TAR_BLOCK, TAR_BLOCK);
}

/* ---- writer ---- */

typedef struct tar_writer {
  obd_sink base; /* base.written = payload bytes so far */
  obd_sink *out;
  uint64_t start; /* out->written when the wrapper began */
  uint32_t mode;
  int own_out;
  int err; /* first failure; every later call returns it */
} tar_writer;

static int tw_write(obd_sink *s, const void *buf, size_t n) {
  tar_writer *w = (tar_writer *)s;
  if (w->err == 0) w->err = obd_sink_write(w->out, buf, n);
  return w->err;
}

static int tw_rewrite(obd_sink *s, const void *buf, size_t n, uint64_t off) {
  tar_writer *w = (tar_writer *)s;
  if (w->err == 0)
    w->err = obd_sink_rewrite(w->out, buf, n,
                              w->start + TAR_PAX_PAYLOAD_OFFSET + off);
  return w->err;
}

/* Pads the payload, ends the archive and replaces the placeholder. */
static int tw_finish(tar_writer *w) {
  static const uint8_t zeros[3 * TAR_BLOCK];
  uint8_t hdr[TAR_PAX_PAYLOAD_OFFSET];
  size_t pad = (size_t)((TAR_BLOCK - w->base.written % TAR_BLOCK) % TAR_BLOCK);
  OBD_TRY(obd_sink_write(w->out, zeros, pad + 2 * TAR_BLOCK));
  OBD_TRY(encode_wrapper(w->base.written, w->mode, 1, hdr));
  return obd_sink_rewrite(w->out, hdr, sizeof hdr, w->start);
}

static int tw_close(obd_sink *s) {
  tar_writer *w = (tar_writer *)s;
  int rc = w->err ? w->err : tw_finish(w);
  int crc = w->own_out ? obd_sink_close(w->out) : 0;
  obd_free(w);
  return rc ? rc : crc;
}

static const obd_sink_ops tar_writer_ops = {
    .write = tw_write,
    .rewrite = tw_rewrite,
    .close = tw_close,
};

static int tw_start(obd_sink *out, uint32_t mode, tar_writer **wp) {
  uint8_t hdr[TAR_PAX_PAYLOAD_OFFSET];
  if (!out->ops->rewrite)
    return obd_fail(OBD_E_UNSUPPORTED,
                    "%s: the tar wrapper must rewrite its headers; the sink cannot",
                    out->name);
  tar_writer *w = obd_calloc(1, sizeof *w);
  if (!w) return obd_fail(OBD_E_NOMEM, "%s: tar writer", out->name);
  obd_sink_init(&w->base, &tar_writer_ops, out->name);
  w->out = out;
  w->start = out->written;
  w->mode = mode;
  int rc = encode_wrapper(0, mode, 0, hdr);
  if (rc == 0) rc = obd_sink_write(out, hdr, sizeof hdr);
  if (rc < 0) {
    obd_free(w);
    return rc;
  }
  *wp = w;
  return 0;
}

int tar_writer_open(obd_sink *out, int own_out, uint32_t mode,
                    obd_sink **writer) {
  tar_writer *w = NULL;
  int rc = tw_start(out, mode, &w);
  if (rc < 0) {
    if (own_out) obd_sink_close(out);
    return rc;
  }
  w->own_out = own_out;
  *writer = &w->base;
  return 0;
}
