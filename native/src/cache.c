/* Local blob cache: sparse data file + persisted present-bitmap per blob,
 * LRU eviction across blobs, misses fetched through a fetch bridge. See
 * cache.h for the on-disk form and the rules. */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "io_priority.h"
#include "layer.h"
#include "le.h"

/* ---- bitmap file header (our own format, described in cache.h) ---- */

#define BITMAP_HEADER_SIZE 64
#define BITMAP_VERSION 1u
#define BM_OFF_MAGIC 0      /* 8 bytes "OBDCBMP\0" */
#define BM_OFF_VERSION 8    /* u32 */
#define BM_OFF_PAGE_SIZE 12 /* u32 */
#define BM_OFF_BLOB_SIZE 16 /* u64 */
#define BM_OFF_PAGES 24     /* u64 */
/* bytes 32..63 reserved, zero; then (pages + 63) / 64 u64 words, bit i of
 * word w set when page 64 * w + i is present. */
static const uint8_t bitmap_magic[8] = {'O', 'B', 'D', 'C', 'B', 'M', 'P', 0};

typedef struct bitmap_header {
  uint32_t version;
  uint32_t page_size;
  uint64_t blob_size;
  uint64_t pages;
} bitmap_header;

static int bitmap_header_decode(const uint8_t *buf, size_t len, bitmap_header *out) {
  if (len < BITMAP_HEADER_SIZE || memcmp(buf + BM_OFF_MAGIC, bitmap_magic, 8) != 0)
    return OBD_E_FORMAT;
  out->version = le32_get(buf + BM_OFF_VERSION);
  out->page_size = le32_get(buf + BM_OFF_PAGE_SIZE);
  out->blob_size = le64_get(buf + BM_OFF_BLOB_SIZE);
  out->pages = le64_get(buf + BM_OFF_PAGES);
  return out->version == BITMAP_VERSION ? 0 : OBD_E_FORMAT;
}

static int bitmap_header_encode(const bitmap_header *h, uint8_t *buf, size_t cap) {
  if (cap < BITMAP_HEADER_SIZE) return OBD_E_INVAL;
  memset(buf, 0, BITMAP_HEADER_SIZE);
  memcpy(buf + BM_OFF_MAGIC, bitmap_magic, 8);
  le32_put(buf + BM_OFF_VERSION, h->version);
  le32_put(buf + BM_OFF_PAGE_SIZE, h->page_size);
  le64_put(buf + BM_OFF_BLOB_SIZE, h->blob_size);
  le64_put(buf + BM_OFF_PAGES, h->pages);
  return BITMAP_HEADER_SIZE;
}

/* ---- in-memory state ---- */

enum page_state { PAGE_ABSENT = 0, PAGE_FETCHING, PAGE_PRESENT };

typedef struct cache_blob cache_blob;

typedef struct cache_page {
  /* All guarded by blob_cache.lock. */
  struct cache_page *prev, *next; /* LRU links while PRESENT */
  cache_blob *blob;
  uint32_t pins;  /* reads copying from this page's bytes in the data file */
  uint8_t state;
  uint8_t prefetched; /* fetched by a background read, no demand read since */
} cache_page;

/* A blob known to the cache: open (refs > 0, in `open`) or dormant (files on
 * disk only, in `dormant`). All fields guarded by blob_cache.lock, except
 * that the fds are only closed when refs drops to 0. */
struct cache_blob {
  char hex[65];
  uint64_t size;
  uint64_t npages;
  uint64_t cached; /* bytes of present pages */
  int64_t age;     /* dormant order: bitmap mtime or close time, ns */
  cache_blob *prev, *next;
  uint32_t refs;
  int data_fd, bitmap_fd;
  uint64_t *bits; /* host-order copy of the on-disk words */
  cache_page *pages;
  cache_stats stats;
};

typedef struct cache_file {
  obd_file base;
  blob_cache *cache;
  cache_blob *blob;
  fetch_bridge *bridge;
  uint32_t blob_id;
} cache_file;

typedef struct blob_list {
  cache_blob *head, *tail; /* dormant: oldest first */
} blob_list;

struct blob_cache {
  /* Fixed at open. */
  int dir_fd;
  int lock_fd;
  uint64_t cap;
  uint32_t page_size;
  uint32_t page_shift;
  uint64_t max_pages; /* pages per fetch request */
  atomic_uint timeout_ms;
  pthread_mutex_t lock;
  /* Broadcast whenever a page leaves FETCHING or loses its last pin. */
  pthread_cond_t page_cond;
  /* Guarded by lock: */
  cache_page lru; /* sentinel: lru.next is the most recently used page */
  blob_list open;
  blob_list dormant;
  uint64_t used; /* bytes of present pages of all blobs, open or dormant */
  cache_stats stats;
  uint32_t handles;
  int closed;
};

static const obd_file_ops cache_file_ops;

/* cache_stats crosses the FFI boundary as nine u64 (ffi/cache.ts). */
_Static_assert(sizeof(cache_stats) == 72, "cache_stats layout");

/* ---- small helpers ---- */

static uint64_t page_len(const blob_cache *c, const cache_blob *b, uint64_t i) {
  uint64_t at = i << c->page_shift;
  uint64_t left = b->size - at;
  return left < c->page_size ? left : c->page_size;
}

static uint64_t words_for(uint64_t pages) { return (pages + 63) / 64; }

static void list_remove(blob_list *l, cache_blob *b) {
  if (b->prev) b->prev->next = b->next;
  else l->head = b->next;
  if (b->next) b->next->prev = b->prev;
  else l->tail = b->prev;
  b->prev = b->next = NULL;
}

/* Inserts keeping the list ordered by age (oldest first). */
static void list_insert_by_age(blob_list *l, cache_blob *b) {
  cache_blob *after = l->tail;
  while (after && after->age > b->age) after = after->prev;
  b->prev = after;
  b->next = after ? after->next : l->head;
  if (b->next) b->next->prev = b;
  else l->tail = b;
  if (after) after->next = b;
  else l->head = b;
}

static cache_blob *list_find(const blob_list *l, const char *hex) {
  for (cache_blob *b = l->head; b; b = b->next)
    if (strcmp(b->hex, hex) == 0) return b;
  return NULL;
}

static void lru_unlink(cache_page *p) {
  p->prev->next = p->next;
  p->next->prev = p->prev;
  p->prev = p->next = NULL;
}

static void lru_push_front(blob_cache *c, cache_page *p) {
  p->prev = &c->lru;
  p->next = c->lru.next;
  c->lru.next->prev = p;
  c->lru.next = p;
}

static void lru_push_back(blob_cache *c, cache_page *p) {
  p->next = &c->lru;
  p->prev = c->lru.prev;
  c->lru.prev->next = p;
  c->lru.prev = p;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void file_names(const char *hex, char data[80], char bitmap[80]) {
  snprintf(data, 80, "%s.data", hex);
  snprintf(bitmap, 80, "%s.bitmap", hex);
}

static int is_hex64(const char *s, size_t n) {
  if (n != 64) return 0;
  for (size_t i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
  return 1;
}

static int pread_full(int fd, void *buf, size_t n, uint64_t off) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) return -EIO; /* shorter than it must be */
    done += (size_t)r;
  }
  return 0;
}

static int pwrite_full(int fd, const void *buf, size_t n, uint64_t off) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    done += (size_t)r;
  }
  return 0;
}

static const char *errstr(int neg_errno) {
  return neg_errno == -EIO ? "unexpected end of file" : strerror(-neg_errno);
}

/* ---- bitmap persistence (lock held) ---- */

/* Writes the words holding pages [first, end) to the bitmap file. */
static int persist_words(const cache_blob *b, uint64_t first, uint64_t end) {
  uint8_t buf[32 * 8];
  uint64_t w = first / 64, wend = (end - 1) / 64 + 1;
  while (w < wend) {
    size_t cnt = wend - w < 32 ? (size_t)(wend - w) : 32;
    for (size_t k = 0; k < cnt; k++) le64_put(buf + 8 * k, b->bits[w + k]);
    int rc = pwrite_full(b->bitmap_fd, buf, cnt * 8, BITMAP_HEADER_SIZE + w * 8);
    if (rc < 0) return rc;
    w += cnt;
  }
  return 0;
}

static void set_bit(cache_blob *b, uint64_t i) { b->bits[i / 64] |= 1ull << (i % 64); }
static void clear_bit(cache_blob *b, uint64_t i) { b->bits[i / 64] &= ~(1ull << (i % 64)); }
static int test_bit(const uint64_t *bits, uint64_t i) { return (bits[i / 64] >> (i % 64)) & 1; }

/* ---- eviction (lock held) ---- */

/* Clears the bit on disk before punching, so a crash in between leaves a
 * page that is merely fetched again. If the hole cannot be punched (a file
 * system without it) the page is still forgotten; only the space stays. */
static void evict_page(blob_cache *c, cache_page *p) {
  cache_blob *b = p->blob;
  uint64_t i = (uint64_t)(p - b->pages);
  uint64_t len = page_len(c, b, i);
  clear_bit(b, i);
  (void)persist_words(b, i, i + 1);
  (void)fallocate(b->data_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  (off_t)(i << c->page_shift), (off_t)len);
  lru_unlink(p);
  p->state = PAGE_ABSENT;
  p->prefetched = 0;
  b->cached -= len;
  c->used -= len;
  b->stats.evictions++;
  c->stats.evictions++;
}

static void drop_dormant(blob_cache *c, cache_blob *b) {
  char data[80], bitmap[80];
  file_names(b->hex, data, bitmap);
  /* The bitmap first: without it the data file is an orphan the next scan
   * deletes; the other order could leave bits for a missing file. */
  unlinkat(c->dir_fd, bitmap, 0);
  unlinkat(c->dir_fd, data, 0);
  c->used -= b->cached;
  c->stats.evictions += (b->cached + c->page_size - 1) >> c->page_shift;
  list_remove(&c->dormant, b);
  obd_free(b);
}

static void evict_to_cap(blob_cache *c) {
  while (c->used > c->cap) {
    if (c->dormant.head) {
      drop_dormant(c, c->dormant.head);
      continue;
    }
    cache_page *p = c->lru.prev;
    while (p != &c->lru && p->pins > 0) p = p->prev;
    if (p == &c->lru) return; /* everything in use: over the cap for now */
    evict_page(c, p);
  }
}

/* ---- the read path ---- */

/* Copies [max(off, page i), min(end, page j)) from the data file. */
static int read_present(cache_file *h, uint8_t *dst, uint64_t off, uint64_t end,
                        uint64_t i, uint64_t j) {
  blob_cache *c = h->cache;
  uint64_t from = i << c->page_shift, to = j << c->page_shift;
  if (from < off) from = off;
  if (to > end) to = end;
  int rc = pread_full(h->blob->data_fd, dst + (from - off), (size_t)(to - from), from);
  if (rc < 0)
    return obd_fail(OBD_E_IO, "%s: cache data file read at offset %llu: %s",
                    h->base.name, (unsigned long long)from, errstr(rc));
  return 0;
}

/* Lock held on entry and on return. Pages [i, j) are FETCHING and ours. */
static int fetch_pages(cache_file *h, uint8_t *dst, uint64_t off, uint64_t end,
                       uint64_t i, uint64_t j) {
  blob_cache *c = h->cache;
  cache_blob *b = h->blob;
  uint64_t foff = i << c->page_shift;
  uint64_t fend = j << c->page_shift;
  if (fend > b->size) fend = b->size;
  uint64_t flen = fend - foff;
  uint32_t timeout = atomic_load(&c->timeout_ms);
  const uint8_t *data = NULL;
  uint32_t lease = 0;
  pthread_mutex_unlock(&c->lock);

  int64_t got = fetch_bridge_borrow(h->bridge, h->blob_id, foff, flen, timeout,
                                    &data, &lease);
  int rc = got < 0 ? obd_fail_wrap((int)got, "%s", h->base.name) : 0;
  if (rc == 0) {
    int w = pwrite_full(b->data_fd, data, (size_t)flen, foff);
    if (w < 0)
      rc = obd_fail(OBD_E_IO, "%s: cache data file write [%llu,+%llu): %s",
                    h->base.name, (unsigned long long)foff,
                    (unsigned long long)flen, strerror(-w));
  }
  if (rc == 0) {
    uint64_t from = foff > off ? foff : off;
    uint64_t to = fend < end ? fend : end;
    memcpy(dst + (from - off), data + (from - foff), (size_t)(to - from));
  }
  if (got >= 0) fetch_bridge_release(h->bridge, lease);

  pthread_mutex_lock(&c->lock);
  b->stats.fetch_requests++;
  c->stats.fetch_requests++;
  if (rc < 0) {
    b->stats.fetch_errors++;
    c->stats.fetch_errors++;
    for (uint64_t k = i; k < j; k++) b->pages[k].state = PAGE_ABSENT;
  } else {
    int background = io_priority_background();
    b->stats.bytes_fetched += flen;
    c->stats.bytes_fetched += flen;
    if (background) {
      b->stats.prefetch_bytes += flen;
      c->stats.prefetch_bytes += flen;
    }
    for (uint64_t k = i; k < j; k++) {
      b->pages[k].state = PAGE_PRESENT;
      b->pages[k].prefetched = (uint8_t)background;
      set_bit(b, k);
      lru_push_front(c, &b->pages[k]);
    }
    b->cached += flen;
    c->used += flen;
    /* Bits are written after the data (the pwrite above). A failed bitmap
     * write only costs a refetch after a restart, so the read goes on. */
    (void)persist_words(b, i, j);
    evict_to_cap(c);
  }
  pthread_cond_broadcast(&c->page_cond);
  return rc;
}

static int64_t cache_pread(obd_file *f, void *buf, size_t n, uint64_t off) {
  cache_file *h = (cache_file *)f;
  blob_cache *c = h->cache;
  cache_blob *b = h->blob;
  uint8_t *dst = buf;
  if (off >= f->size || n == 0) return 0;
  if (n > f->size - off) n = (size_t)(f->size - off);
  uint64_t end = off + n;
  uint64_t last = (end - 1) >> c->page_shift;
  int rc = 0;

  pthread_mutex_lock(&c->lock);
  for (uint64_t i = off >> c->page_shift; i <= last && rc == 0;) {
    uint8_t state = b->pages[i].state;
    /* Someone else fetches it: wait, look again. A demand read waits here
     * too when prefetch fetches what it needs: still a waiting container,
     * so the other background reads hold back and leave it the bandwidth. */
    if (state == PAGE_FETCHING) {
      io_priority_demand_wait_begin();
      pthread_cond_wait(&c->page_cond, &c->lock);
      io_priority_demand_wait_end();
      continue;
    }
    uint64_t j = i + 1;
    if (state == PAGE_PRESENT) {
      while (j <= last && b->pages[j].state == PAGE_PRESENT) j++;
      int demand = !io_priority_background();
      for (uint64_t k = i; k < j; k++) {
        cache_page *p = &b->pages[k];
        p->pins++;
        lru_unlink(p);
        lru_push_front(c, p);
        if (demand && p->prefetched) {
          p->prefetched = 0;
          b->stats.prefetch_hits++;
          c->stats.prefetch_hits++;
        }
      }
      b->stats.hits += j - i;
      c->stats.hits += j - i;
      pthread_mutex_unlock(&c->lock);
      rc = read_present(h, dst, off, end, i, j);
      pthread_mutex_lock(&c->lock);
      for (uint64_t k = i; k < j; k++) b->pages[k].pins--;
      pthread_cond_broadcast(&c->page_cond);
    } else {
      while (j <= last && j - i < c->max_pages && b->pages[j].state == PAGE_ABSENT) j++;
      for (uint64_t k = i; k < j; k++) b->pages[k].state = PAGE_FETCHING;
      b->stats.misses += j - i;
      c->stats.misses += j - i;
      io_priority_demand_wait_begin();
      rc = fetch_pages(h, dst, off, end, i, j);
      io_priority_demand_wait_end();
    }
    i = j;
  }
  pthread_mutex_unlock(&c->lock);
  return rc < 0 ? rc : (int64_t)n;
}

static int cache_invalidate(obd_file *f, uint64_t off, uint64_t n) {
  cache_file *h = (cache_file *)f;
  blob_cache *c = h->cache;
  cache_blob *b = h->blob;
  if (off >= f->size || n == 0) return 1;
  if (n > f->size - off) n = f->size - off;
  uint64_t last = (off + n - 1) >> c->page_shift;
  pthread_mutex_lock(&c->lock);
  for (uint64_t i = off >> c->page_shift; i <= last;) {
    cache_page *p = &b->pages[i];
    if (p->state == PAGE_PRESENT && p->pins > 0) {
      pthread_cond_wait(&c->page_cond, &c->lock);
      continue;
    }
    /* A page being fetched now will hold fresh bytes: leave it. */
    if (p->state == PAGE_PRESENT) evict_page(c, p);
    i++;
  }
  pthread_mutex_unlock(&c->lock);
  return 1;
}

/* ---- blob open and close ---- */

static void blob_release_open_state(cache_blob *b) {
  if (b->data_fd >= 0) close(b->data_fd);
  if (b->bitmap_fd >= 0) close(b->bitmap_fd);
  b->data_fd = b->bitmap_fd = -1;
  obd_free(b->bits);
  obd_free(b->pages);
  b->bits = NULL;
  b->pages = NULL;
}

/* Empties the blob's files: data sized to the blob, bitmap all zero. */
static int reset_files(blob_cache *c, cache_blob *b) {
  uint8_t hdr[BITMAP_HEADER_SIZE];
  bitmap_header h = {BITMAP_VERSION, c->page_size, b->size, b->npages};
  bitmap_header_encode(&h, hdr, sizeof hdr);
  memset(b->bits, 0, words_for(b->npages) * 8);
  if (ftruncate(b->data_fd, 0) != 0 || ftruncate(b->data_fd, (off_t)b->size) != 0 ||
      ftruncate(b->bitmap_fd, 0) != 0 ||
      ftruncate(b->bitmap_fd, (off_t)(BITMAP_HEADER_SIZE + words_for(b->npages) * 8)) != 0 ||
      pwrite_full(b->bitmap_fd, hdr, sizeof hdr, 0) != 0)
    return obd_fail(OBD_E_IO, "sha256:%s: reset cache files: %s", b->hex, strerror(errno));
  return 0;
}

/* Loads the bitmap if it describes this blob with this page size and the
 * data file has the blob's size; otherwise resets both. */
static int load_bits(blob_cache *c, cache_blob *b) {
  uint8_t hdr[BITMAP_HEADER_SIZE];
  bitmap_header h;
  struct stat st;
  uint64_t words = words_for(b->npages);
  if (pread_full(b->bitmap_fd, hdr, sizeof hdr, 0) != 0 ||
      bitmap_header_decode(hdr, sizeof hdr, &h) != 0 || h.page_size != c->page_size ||
      h.blob_size != b->size || h.pages != b->npages || fstat(b->data_fd, &st) != 0 ||
      (uint64_t)st.st_size != b->size)
    return reset_files(c, b);
  for (uint64_t w = 0; w < words;) {
    uint8_t chunk[512 * 8];
    size_t cnt = words - w < 512 ? (size_t)(words - w) : 512;
    if (pread_full(b->bitmap_fd, chunk, cnt * 8, BITMAP_HEADER_SIZE + w * 8) != 0)
      return reset_files(c, b);
    for (size_t k = 0; k < cnt; k++) b->bits[w + k] = le64_get(chunk + 8 * k);
    w += cnt;
  }
  /* Bits past the last page would count bytes that do not exist. */
  if (b->npages % 64) b->bits[words - 1] &= (1ull << (b->npages % 64)) - 1;
  return 0;
}

static int open_blob_files(blob_cache *c, cache_blob *b) {
  char data[80], bitmap[80];
  file_names(b->hex, data, bitmap);
  b->data_fd = openat(c->dir_fd, data, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (b->data_fd < 0)
    return obd_fail(OBD_E_IO, "sha256:%s: open cache file %s: %s", b->hex, data,
                    strerror(errno));
  b->bitmap_fd = openat(c->dir_fd, bitmap, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (b->bitmap_fd < 0)
    return obd_fail(OBD_E_IO, "sha256:%s: open cache file %s: %s", b->hex, bitmap,
                    strerror(errno));
  b->bits = obd_calloc(words_for(b->npages) ? (size_t)words_for(b->npages) : 1, 8);
  b->pages = obd_calloc(b->npages ? (size_t)b->npages : 1, sizeof *b->pages);
  if (!b->bits || !b->pages)
    return obd_fail(OBD_E_NOMEM, "sha256:%s: cache state for %llu pages", b->hex,
                    (unsigned long long)b->npages);
  OBD_TRY(load_bits(c, b));
  b->cached = 0;
  for (uint64_t i = 0; i < b->npages; i++) {
    b->pages[i].blob = b;
    if (!test_bit(b->bits, i)) continue;
    b->pages[i].state = PAGE_PRESENT;
    lru_push_back(c, &b->pages[i]); /* age unknown: coldest */
    b->cached += page_len(c, b, i);
  }
  return 0;
}

/* Makes the open state of b (lock held). A dormant b stays accounted under
 * its old size on failure. */
static int activate(blob_cache *c, cache_blob *b, uint64_t size) {
  uint64_t old_cached = b->cached;
  b->size = size;
  b->npages = (size + c->page_size - 1) >> c->page_shift;
  b->data_fd = b->bitmap_fd = -1;
  int rc = open_blob_files(c, b);
  if (rc < 0) {
    for (uint64_t i = 0; b->pages && i < b->npages; i++)
      if (b->pages[i].state == PAGE_PRESENT) lru_unlink(&b->pages[i]);
    blob_release_open_state(b);
    b->cached = old_cached;
    return rc;
  }
  c->used = c->used - old_cached + b->cached;
  memset(&b->stats, 0, sizeof b->stats);
  b->refs = 1;
  return 0;
}

static int valid_digest(const char *digest) {
  return digest && strncmp(digest, "sha256:", 7) == 0 && is_hex64(digest + 7, strlen(digest + 7));
}

int cache_open_blob(blob_cache *c, const char *digest, uint64_t size,
                    fetch_bridge *bridge, uint32_t blob_id, obd_file **out) {
  if (!valid_digest(digest) || !bridge)
    return obd_fail(OBD_E_INVAL, "cache: blob digest '%s' is not sha256:<64 hex digits>"
                    " or no fetch bridge", digest ? digest : "(null)");
  cache_file *h = obd_calloc(1, sizeof *h);
  if (!h) return obd_fail(OBD_E_NOMEM, "%s: open cached blob", digest);
  const char *hex = digest + 7;
  int rc = 0;
  pthread_mutex_lock(&c->lock);
  cache_blob *b = list_find(&c->open, hex);
  if (b && b->size != size) {
    rc = obd_fail(OBD_E_INVAL, "%s: opened with size %llu, already open with %llu",
                  digest, (unsigned long long)size, (unsigned long long)b->size);
  } else if (b) {
    b->refs++;
  } else {
    b = list_find(&c->dormant, hex);
    if (b) {
      list_remove(&c->dormant, b);
    } else if (!(b = obd_calloc(1, sizeof *b))) {
      rc = obd_fail(OBD_E_NOMEM, "%s: open cached blob", digest);
    } else {
      memcpy(b->hex, hex, 65);
    }
    if (rc == 0) rc = activate(c, b, size);
    if (rc == 0) {
      list_insert_by_age(&c->open, b);
      evict_to_cap(c);
    } else if (b && b->cached > 0) {
      list_insert_by_age(&c->dormant, b);
    } else if (b) {
      obd_free(b);
    }
  }
  if (rc == 0) c->handles++;
  pthread_mutex_unlock(&c->lock);
  if (rc < 0) {
    obd_free(h);
    return rc;
  }
  obd_file_init(&h->base, &cache_file_ops, size, digest);
  h->cache = c;
  h->blob = b;
  h->bridge = bridge;
  h->blob_id = blob_id;
  *out = &h->base;
  return 0;
}

static void cache_free(blob_cache *c) {
  while (c->dormant.head) {
    cache_blob *b = c->dormant.head;
    list_remove(&c->dormant, b);
    obd_free(b);
  }
  pthread_cond_destroy(&c->page_cond);
  pthread_mutex_destroy(&c->lock);
  if (c->lock_fd >= 0) close(c->lock_fd); /* releases the flock */
  if (c->dir_fd >= 0) close(c->dir_fd);
  obd_free(c);
}

static void cache_file_close(obd_file *f) {
  cache_file *h = (cache_file *)f;
  blob_cache *c = h->cache;
  cache_blob *b = h->blob;
  pthread_mutex_lock(&c->lock);
  if (--b->refs == 0) {
    for (uint64_t i = 0; i < b->npages; i++)
      if (b->pages[i].state == PAGE_PRESENT) lru_unlink(&b->pages[i]);
    blob_release_open_state(b);
    list_remove(&c->open, b);
    b->age = now_ns();
    list_insert_by_age(&c->dormant, b);
  }
  int last = --c->handles == 0 && c->closed;
  pthread_mutex_unlock(&c->lock);
  obd_free(h);
  if (last) cache_free(c);
}

static const obd_file_ops cache_file_ops = {
    .pread = cache_pread,
    .close = cache_file_close,
    .invalidate = cache_invalidate,
};

/* ---- stats ---- */

int cache_blob_stats(obd_file *f, cache_stats *out) {
  if (!f || f->ops != &cache_file_ops)
    return obd_fail(OBD_E_INVAL, "%s: not a cached blob", f ? f->name : "(null)");
  cache_file *h = (cache_file *)f;
  pthread_mutex_lock(&h->cache->lock);
  *out = h->blob->stats;
  out->cached_bytes = h->blob->cached;
  pthread_mutex_unlock(&h->cache->lock);
  return 0;
}

void cache_get_stats(blob_cache *c, cache_stats *out) {
  pthread_mutex_lock(&c->lock);
  *out = c->stats;
  out->cached_bytes = c->used;
  pthread_mutex_unlock(&c->lock);
}

void cache_set_fetch_timeout(blob_cache *c, uint32_t timeout_ms) {
  atomic_store(&c->timeout_ms, timeout_ms);
}

/* ---- cache open: directory scan ---- */

/* Reads a dormant blob's bitmap: 1 and *cached when it is one of ours with
 * this page size, 0 when it should be deleted. */
static int account_bitmap(blob_cache *c, const char *name, uint64_t *cached,
                          int64_t *age) {
  uint8_t hdr[BITMAP_HEADER_SIZE];
  bitmap_header h;
  struct stat st;
  int ok = 0;
  int fd = openat(c->dir_fd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  *cached = 0;
  uint64_t words = 0;
  if (fstat(fd, &st) == 0 && pread_full(fd, hdr, sizeof hdr, 0) == 0 &&
      bitmap_header_decode(hdr, sizeof hdr, &h) == 0 && h.page_size == c->page_size &&
      h.pages == (h.blob_size + c->page_size - 1) >> c->page_shift) {
    words = words_for(h.pages);
    ok = (uint64_t)st.st_size >= BITMAP_HEADER_SIZE + words * 8;
  }
  for (uint64_t w = 0; ok && w < words;) {
    uint8_t chunk[512 * 8];
    size_t cnt = words - w < 512 ? (size_t)(words - w) : 512;
    ok = pread_full(fd, chunk, cnt * 8, BITMAP_HEADER_SIZE + w * 8) == 0;
    for (size_t k = 0; ok && k < cnt; k++) {
      uint64_t v = le64_get(chunk + 8 * k);
      for (int bit = 0; v && bit < 64; bit++, v >>= 1) {
        uint64_t page = (w + k) * 64 + (uint64_t)bit;
        if (!(v & 1) || page >= h.pages) continue;
        uint64_t at = page << c->page_shift;
        *cached += h.blob_size - at < c->page_size ? h.blob_size - at : c->page_size;
      }
    }
    w += cnt;
  }
  *age = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  close(fd);
  return ok;
}

static int scan_bitmaps(blob_cache *c, DIR *d) {
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len != 64 + 7 || strcmp(e->d_name + 64, ".bitmap") != 0 ||
        !is_hex64(e->d_name, 64))
      continue;
    uint64_t cached;
    int64_t age;
    if (!account_bitmap(c, e->d_name, &cached, &age)) {
      char hex[65], data[80], bitmap[80];
      memcpy(hex, e->d_name, 64);
      hex[64] = '\0';
      file_names(hex, data, bitmap);
      unlinkat(c->dir_fd, bitmap, 0);
      unlinkat(c->dir_fd, data, 0);
      continue;
    }
    cache_blob *b = obd_calloc(1, sizeof *b);
    if (!b) return obd_fail(OBD_E_NOMEM, "cache: blob list");
    memcpy(b->hex, e->d_name, 64);
    b->hex[64] = '\0';
    b->cached = cached;
    b->age = age;
    b->data_fd = b->bitmap_fd = -1;
    list_insert_by_age(&c->dormant, b);
    c->used += cached;
  }
  return 0;
}

/* Data files without a bitmap hold bytes nobody can vouch for. */
static void remove_orphans(blob_cache *c, DIR *d) {
  struct dirent *e;
  rewinddir(d);
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len != 64 + 5 || strcmp(e->d_name + 64, ".data") != 0 || !is_hex64(e->d_name, 64))
      continue;
    char hex[65];
    memcpy(hex, e->d_name, 64);
    hex[64] = '\0';
    if (!list_find(&c->dormant, hex)) unlinkat(c->dir_fd, e->d_name, 0);
  }
}

static int scan_dir(blob_cache *c, const char *dir) {
  int fd = dup(c->dir_fd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0) close(fd);
    return obd_fail(OBD_E_IO, "cache %s: read directory: %s", dir, strerror(errno));
  }
  int rc = scan_bitmaps(c, d);
  if (rc == 0) remove_orphans(c, d);
  closedir(d);
  return rc;
}

static int make_dirs(const char *dir) {
  char path[4096];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof path) return -1;
  memcpy(path, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (path[i] != '/' && path[i] != '\0') continue;
    char keep = path[i];
    path[i] = '\0';
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
    path[i] = keep;
  }
  return 0;
}

static int open_dir(blob_cache *c, const char *dir) {
  if (make_dirs(dir) != 0)
    return obd_fail(OBD_E_IO, "cache %s: create directory: %s", dir, strerror(errno));
  c->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->dir_fd < 0)
    return obd_fail(OBD_E_IO, "cache %s: open directory: %s", dir, strerror(errno));
  c->lock_fd = openat(c->dir_fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (c->lock_fd < 0)
    return obd_fail(OBD_E_IO, "cache %s: open lock file: %s", dir, strerror(errno));
  if (flock(c->lock_fd, LOCK_EX | LOCK_NB) != 0)
    return obd_fail(OBD_E_IO, "cache %s: in use by another open cache (%s)", dir,
                    strerror(errno));
  return 0;
}

static int valid_page_size(uint32_t p) {
  return p >= 4096 && (p & (p - 1)) == 0 && p <= CACHE_MAX_REQUEST;
}

int cache_open(const char *dir, uint64_t cap_bytes, uint32_t page_size,
               blob_cache **out) {
  if (page_size == 0) page_size = CACHE_DEFAULT_PAGE_SIZE;
  if (!dir || cap_bytes == 0 || !valid_page_size(page_size))
    return obd_fail(OBD_E_INVAL,
                    "cache %s: capacity %llu, page size %u (want > 0, and a power "
                    "of two from 4096 to %u)",
                    dir ? dir : "(null)", (unsigned long long)cap_bytes, page_size,
                    CACHE_MAX_REQUEST);
  blob_cache *c = obd_calloc(1, sizeof *c);
  if (!c) return obd_fail(OBD_E_NOMEM, "cache %s", dir);
  c->dir_fd = c->lock_fd = -1;
  c->cap = cap_bytes;
  c->page_size = page_size;
  c->page_shift = (uint32_t)__builtin_ctz(page_size);
  c->max_pages = CACHE_MAX_REQUEST / page_size;
  atomic_init(&c->timeout_ms, CACHE_DEFAULT_TIMEOUT_MS);
  c->lru.prev = c->lru.next = &c->lru;
  if (pthread_mutex_init(&c->lock, NULL) != 0) {
    obd_free(c);
    return obd_fail(OBD_E_NOMEM, "cache %s: lock", dir);
  }
  if (pthread_cond_init(&c->page_cond, NULL) != 0) {
    pthread_mutex_destroy(&c->lock);
    obd_free(c);
    return obd_fail(OBD_E_NOMEM, "cache %s: lock", dir);
  }
  int rc = open_dir(c, dir);
  if (rc == 0) rc = scan_dir(c, dir);
  if (rc < 0) {
    cache_free(c);
    return rc;
  }
  evict_to_cap(c);
  *out = c;
  return 0;
}

void cache_close(blob_cache *c) {
  if (!c) return;
  pthread_mutex_lock(&c->lock);
  c->closed = 1;
  int last = c->handles == 0;
  pthread_mutex_unlock(&c->lock);
  if (last) cache_free(c);
}

/* ---- calls from other threads (Deno nonblocking FFI) ---- */

static void copy_detail(char *detail, size_t cap) {
  if (detail && cap) snprintf(detail, cap, "%s", obd_last_error());
}

int cache_call_layer_open(obd_file *raw, lsmt_ro **out, char *detail, size_t cap) {
  int rc = obd_layer_open(raw, 1, out);
  if (rc < 0) copy_detail(detail, cap);
  return rc;
}

int64_t cache_call_file_pread(obd_file *f, void *buf, size_t n, uint64_t off,
                              char *detail, size_t cap) {
  int64_t rc = obd_file_pread(f, buf, n, off);
  if (rc < 0) copy_detail(detail, cap);
  return rc;
}

int64_t cache_call_image_pread(obd_image *img, void *buf, size_t n, uint64_t off,
                               char *detail, size_t cap) {
  int64_t rc = obd_image_pread(img, buf, n, off);
  if (rc < 0) copy_detail(detail, cap);
  return rc;
}
