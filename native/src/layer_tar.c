#include "layer_tar.h"

#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "alloc.h"
#include "error.h"
#include "file.h"

/* Blob bytes handed to the decoder at a time: small enough that progress
 * (blob_bytes) moves smoothly, large enough that the loop costs nothing. */
#define IN_PIECE (1u << 20)

/* Returned inside the decoder thread when close asked it to stop. */
#define CANCELLED 1

struct layer_tar {
  obd_file *file;
  uint32_t compression;
  pthread_t thread;
  int started;

  pthread_mutex_t mu; /* guards the queue, finished, err, msg, cancel, digests */
  pthread_cond_t cv;  /* signalled on every change of count, finished, cancel */
  uint8_t **chunks;
  size_t *lens;
  size_t nchunks;
  size_t head;     /* next chunk the reader takes */
  size_t count;    /* filled chunks waiting */
  size_t head_pos; /* bytes of chunks[head] already read */
  int finished;    /* the decoder stopped: end of blob or err */
  int err;
  int cancel;
  char msg[OBD_DETAIL_MAX];
  uint8_t blob_sha256[DIGEST_SHA256_SIZE];
  uint8_t tar_sha256[DIGEST_SHA256_SIZE];

  _Atomic uint64_t blob_bytes; /* written by the decoder, read by get_info */
  _Atomic uint64_t tar_bytes;

  /* The decoder thread's own state. */
  digest_sha256 *blob_hash;
  digest_sha256 *tar_hash;
  const uint8_t *mapped; /* the whole blob when the file could be mapped */
  uint8_t *in_buf;       /* IN_PIECE, when it could not */
  uint64_t in_off;       /* blob offset of the next input piece */
  uint8_t *cur;          /* chunk being filled, NULL when none */
  size_t cur_len;
  struct inflate_state *inflate;
  ZSTD_DStream *zstd;
};

/* ---- decoder side ---- */

/* The next piece of the blob (len 0 at its end), already hashed. */
static int in_next(layer_tar *t, const uint8_t **p, size_t *len) {
  uint64_t size = obd_file_size(t->file);
  size_t n = size - t->in_off < IN_PIECE ? (size_t)(size - t->in_off) : IN_PIECE;
  if (n == 0) {
    *len = 0;
    return 0;
  }
  if (t->mapped) {
    *p = t->mapped + t->in_off;
  } else {
    OBD_TRY(obd_file_read_exact(t->file, t->in_buf, n, t->in_off));
    *p = t->in_buf;
  }
  OBD_TRY(digest_sha256_update(t->blob_hash, *p, n));
  t->in_off += n;
  atomic_store(&t->blob_bytes, t->in_off);
  *len = n;
  return 0;
}

/* Hands the chunk being filled to the reader. */
static void publish(layer_tar *t) {
  pthread_mutex_lock(&t->mu);
  t->lens[(t->head + t->count) % t->nchunks] = t->cur_len;
  t->count++;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
  t->cur = NULL;
}

/* Room for decoded bytes: waits for a free chunk when none is being filled. */
static int out_space(layer_tar *t, uint8_t **p, size_t *avail) {
  if (!t->cur) {
    pthread_mutex_lock(&t->mu);
    while (t->count == t->nchunks && !t->cancel) pthread_cond_wait(&t->cv, &t->mu);
    int cancel = t->cancel;
    if (!cancel) t->cur = t->chunks[(t->head + t->count) % t->nchunks];
    pthread_mutex_unlock(&t->mu);
    if (cancel) return CANCELLED;
    t->cur_len = 0;
  }
  *p = t->cur + t->cur_len;
  *avail = LAYER_TAR_CHUNK - t->cur_len;
  return 0;
}

/* Counts n bytes just decoded into out_space's room. */
static int out_done(layer_tar *t, size_t n) {
  if (n == 0) return 0;
  OBD_TRY(digest_sha256_update(t->tar_hash, t->cur + t->cur_len, n));
  t->cur_len += n;
  atomic_fetch_add(&t->tar_bytes, n);
  if (t->cur_len == LAYER_TAR_CHUNK) publish(t);
  return 0;
}

static int copy_plain(layer_tar *t) {
  for (;;) {
    const uint8_t *in;
    size_t len;
    OBD_TRY(in_next(t, &in, &len));
    if (len == 0) return 0;
    while (len) {
      uint8_t *p;
      size_t avail;
      int rc = out_space(t, &p, &avail);
      if (rc) return rc;
      size_t n = len < avail ? len : avail;
      memcpy(p, in, n);
      OBD_TRY(out_done(t, n));
      in += n;
      len -= n;
    }
  }
}

/* Resets for the next member; the reset also forgets the input. */
static void gzip_member_start(struct inflate_state *s) {
  uint8_t *next_in = s->next_in;
  uint32_t avail_in = s->avail_in;
  isal_inflate_reset(s);
  s->crc_flag = ISAL_GZIP;
  s->next_in = next_in;
  s->avail_in = avail_in;
}

/* After a gzip member: another member follows (magic byte), or only zero
 * bytes up to the end (padding some writers add), or garbage. Returns 1 for
 * a new member, 0 when only zeros follow in this piece. */
static int gzip_next_member(layer_tar *t, struct inflate_state *s, uint64_t at) {
  while (s->avail_in && s->next_in[0] == 0) {
    s->next_in++;
    s->avail_in--;
  }
  if (!s->avail_in) return 0;
  if (s->next_in[0] != 0x1f)
    return obd_fail(OBD_E_CORRUPT, "%s: garbage after the gzip stream at offset %llu",
                    t->file->name, (unsigned long long)(at - s->avail_in));
  gzip_member_start(s);
  return 1;
}

static int gunzip(layer_tar *t) {
  struct inflate_state *s = t->inflate;
  isal_inflate_init(s);
  s->crc_flag = ISAL_GZIP;
  int between = 0; /* after a member's end: zeros or a new member may follow */
  int full = 0;    /* the last call filled the output: isa-l may hold more */
  for (;;) {
    if (s->avail_in == 0 && !full) {
      const uint8_t *in;
      size_t len;
      OBD_TRY(in_next(t, &in, &len));
      if (len == 0) break;
      s->next_in = (uint8_t *)in;
      s->avail_in = (uint32_t)len;
    }
    if (between) {
      int rc = gzip_next_member(t, s, t->in_off);
      if (rc < 0) return rc;
      if (rc == 0) continue;
      between = 0;
    }
    uint8_t *p;
    size_t avail;
    int rc = out_space(t, &p, &avail);
    if (rc) return rc;
    s->next_out = p;
    s->avail_out = (uint32_t)avail;
    int r = isal_inflate(s);
    OBD_TRY(out_done(t, avail - s->avail_out));
    full = s->avail_out == 0;
    if (r < 0)
      return obd_fail(OBD_E_CORRUPT, "%s: corrupt gzip data before offset %llu (isa-l %d)",
                      t->file->name, (unsigned long long)(t->in_off - s->avail_in), r);
    if (s->block_state == ISAL_BLOCK_FINISH) {
      between = 1;
      full = 0; /* a finished member has flushed everything */
    }
  }
  if (!between)
    return obd_fail(OBD_E_TRUNCATED, "%s: the gzip stream ends early, after %llu bytes",
                    t->file->name, (unsigned long long)t->in_off);
  return 0;
}

static int unzstd(layer_tar *t) {
  size_t last = 0; /* 0 when the last frame ended */
  for (;;) {
    const uint8_t *in;
    size_t len;
    OBD_TRY(in_next(t, &in, &len));
    if (len == 0) break;
    ZSTD_inBuffer ib = {in, len, 0};
    int full;
    do {
      uint8_t *p;
      size_t avail;
      int rc = out_space(t, &p, &avail);
      if (rc) return rc;
      ZSTD_outBuffer ob = {p, avail, 0};
      last = ZSTD_decompressStream(t->zstd, &ob, &ib);
      OBD_TRY(out_done(t, ob.pos));
      if (ZSTD_isError(last))
        return obd_fail(OBD_E_CORRUPT, "%s: corrupt zstd data before offset %llu: %s",
                        t->file->name, (unsigned long long)(t->in_off - len + ib.pos),
                        ZSTD_getErrorName(last));
      /* A full output may hide more, unless the frame just ended: another
       * call would then start waiting for the next frame's header. */
      full = ob.pos == ob.size && last != 0;
    } while (ib.pos < ib.size || full);
  }
  if (last != 0)
    return obd_fail(OBD_E_TRUNCATED, "%s: the zstd stream ends early, after %llu bytes",
                    t->file->name, (unsigned long long)t->in_off);
  return 0;
}

static int decode(layer_tar *t) {
  int rc;
  switch (t->compression) {
  case LAYER_TAR_GZIP: rc = gunzip(t); break;
  case LAYER_TAR_ZSTD: rc = unzstd(t); break;
  default: rc = copy_plain(t); break;
  }
  if (rc) return rc;
  if (t->cur && t->cur_len) publish(t);
  pthread_mutex_lock(&t->mu);
  rc = digest_sha256_final(t->blob_hash, t->blob_sha256);
  if (rc == 0) rc = digest_sha256_final(t->tar_hash, t->tar_sha256);
  pthread_mutex_unlock(&t->mu);
  return rc;
}

static void *decoder_main(void *arg) {
  layer_tar *t = arg;
  int rc = decode(t);
  pthread_mutex_lock(&t->mu);
  if (rc < 0) {
    t->err = rc;
    snprintf(t->msg, sizeof t->msg, "%s", obd_last_error());
  }
  t->finished = 1;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
  return NULL;
}

/* ---- reader side ---- */

int64_t layer_tar_read(layer_tar *t, void *buf, size_t cap) {
  if (cap == 0) return 0;
  pthread_mutex_lock(&t->mu);
  while (t->count == 0 && !t->finished) pthread_cond_wait(&t->cv, &t->mu);
  int64_t rc;
  if (t->count == 0) {
    rc = t->err;
  } else {
    size_t left = t->lens[t->head] - t->head_pos;
    size_t n = left < cap ? left : cap;
    /* The decoder never touches a published chunk, so copy outside the lock. */
    uint8_t *src = t->chunks[t->head] + t->head_pos;
    pthread_mutex_unlock(&t->mu);
    memcpy(buf, src, n);
    pthread_mutex_lock(&t->mu);
    t->head_pos += n;
    if (t->head_pos == t->lens[t->head]) {
      t->head = (t->head + 1) % t->nchunks;
      t->count--;
      t->head_pos = 0;
      pthread_cond_broadcast(&t->cv);
    }
    rc = (int64_t)n;
  }
  pthread_mutex_unlock(&t->mu);
  return rc;
}

const char *layer_tar_error(layer_tar *t) { return t->msg; }

void layer_tar_get_info(layer_tar *t, layer_tar_info *out) {
  memset(out, 0, sizeof *out);
  out->blob_size = obd_file_size(t->file);
  out->blob_bytes = atomic_load(&t->blob_bytes);
  out->tar_bytes = atomic_load(&t->tar_bytes);
  out->compression = t->compression;
  pthread_mutex_lock(&t->mu);
  out->done = t->finished && t->err == 0;
  if (out->done) {
    memcpy(out->blob_sha256, t->blob_sha256, DIGEST_SHA256_SIZE);
    memcpy(out->tar_sha256, t->tar_sha256, DIGEST_SHA256_SIZE);
  }
  pthread_mutex_unlock(&t->mu);
}

/* ---- lifecycle ---- */

static uint32_t detect(obd_file *f) {
  uint8_t head[4] = {0};
  int64_t n = obd_file_pread(f, head, sizeof head, 0);
  if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) return LAYER_TAR_GZIP;
  if (n >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
    return LAYER_TAR_ZSTD;
  return LAYER_TAR_PLAIN;
}

static int alloc_state(layer_tar *t, size_t ahead) {
  const char *name = t->file->name;
  size_t n = (ahead + LAYER_TAR_CHUNK - 1) / LAYER_TAR_CHUNK;
  t->nchunks = n < 2 ? 2 : n;
  t->chunks = obd_calloc(t->nchunks, sizeof *t->chunks);
  t->lens = obd_calloc(t->nchunks, sizeof *t->lens);
  if (!t->chunks || !t->lens) return obd_fail(OBD_E_NOMEM, "%s: decode queue", name);
  for (size_t i = 0; i < t->nchunks; i++)
    if (!(t->chunks[i] = obd_malloc(LAYER_TAR_CHUNK)))
      return obd_fail(OBD_E_NOMEM, "%s: decode queue", name);
  OBD_TRY(digest_sha256_new(&t->blob_hash));
  OBD_TRY(digest_sha256_new(&t->tar_hash));
  t->mapped = obd_file_map(t->file, 0, (size_t)obd_file_size(t->file));
  if (!t->mapped && !(t->in_buf = obd_malloc(IN_PIECE)))
    return obd_fail(OBD_E_NOMEM, "%s: read buffer", name);
  if (t->compression == LAYER_TAR_GZIP && !(t->inflate = obd_malloc(sizeof *t->inflate)))
    return obd_fail(OBD_E_NOMEM, "%s: inflate state", name);
  if (t->compression == LAYER_TAR_ZSTD && !(t->zstd = ZSTD_createDStream()))
    return obd_fail(OBD_E_NOMEM, "%s: zstd state", name);
  return 0;
}

static void free_state(layer_tar *t) {
  for (size_t i = 0; t->chunks && i < t->nchunks; i++) obd_free(t->chunks[i]);
  obd_free(t->chunks);
  obd_free(t->lens);
  digest_sha256_free(t->blob_hash);
  digest_sha256_free(t->tar_hash);
  obd_free(t->in_buf);
  obd_free(t->inflate);
  ZSTD_freeDStream(t->zstd);
  obd_file_close(t->file);
  pthread_cond_destroy(&t->cv);
  pthread_mutex_destroy(&t->mu);
  obd_free(t);
}

int layer_tar_open(const char *path, size_t ahead, layer_tar **out) {
  layer_tar *t = obd_calloc(1, sizeof *t);
  if (!t) return obd_fail(OBD_E_NOMEM, "%s: decoder", path);
  pthread_mutex_init(&t->mu, NULL);
  pthread_cond_init(&t->cv, NULL);
  int rc = obd_file_open_path(path, &t->file);
  if (rc == 0) {
    t->compression = detect(t->file);
    rc = alloc_state(t, ahead);
  }
  if (rc == 0 && pthread_create(&t->thread, NULL, decoder_main, t) != 0)
    rc = obd_fail(OBD_E_NOMEM, "%s: cannot start the decoder thread", path);
  if (rc < 0) {
    free_state(t);
    return rc;
  }
  t->started = 1;
  *out = t;
  return 0;
}

void layer_tar_close(layer_tar *t) {
  if (!t) return;
  pthread_mutex_lock(&t->mu);
  t->cancel = 1;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
  if (t->started) pthread_join(t->thread, NULL);
  free_state(t);
}

/* ffi/layer_tar.ts reads layer_tar_info at these offsets. */
_Static_assert(offsetof(layer_tar_info, blob_bytes) == 8, "ffi layout");
_Static_assert(offsetof(layer_tar_info, tar_bytes) == 16, "ffi layout");
_Static_assert(offsetof(layer_tar_info, compression) == 24, "ffi layout");
_Static_assert(offsetof(layer_tar_info, done) == 28, "ffi layout");
_Static_assert(offsetof(layer_tar_info, blob_sha256) == 32, "ffi layout");
_Static_assert(offsetof(layer_tar_info, tar_sha256) == 64, "ffi layout");
_Static_assert(sizeof(layer_tar_info) == 96, "ffi layout");
