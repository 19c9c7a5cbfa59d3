/* List prefetch (spec §8.5): paths → the device ranges holding their data,
 * as read records on the merged image. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "error.h"
#include "ext4_apply.h"
#include "prefetch.h"

#define PATH_MAX_BYTES 4096u
#define DIR_DEPTH_MAX 64u  /* directories below a listed one, deeper ones skipped */
#define NAMES_START 4096u  /* first size of the buffer for one directory's names */

typedef struct builder {
  ext4_fs *fs;
  obd_trace_record *recs;
  size_t n, cap;
  uint64_t unresolved;
  ext4_stat st; /* of the file being added, filled before its first run */
  int nomem;
} builder;

static int push(builder *b, uint64_t offset, uint64_t count) {
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    obd_trace_record *r = obd_realloc(b->recs, cap * sizeof *r);
    if (!r) {
      b->nomem = 1;
      return obd_fail(OBD_E_NOMEM, "prefetch list: %zu records", cap);
    }
    b->recs = r;
    b->cap = cap;
  }
  b->recs[b->n++] = (obd_trace_record){OBD_TRACE_OP_READ, 0, count, (int64_t)offset};
  return 0;
}

/* One data run of the file: the part below the size limit, in slices. */
static int on_run(void *ctx, uint64_t logical, uint64_t physical, uint64_t length) {
  builder *b = ctx;
  uint64_t limit = (b->st.size + 511) / 512 * 512;
  if (logical >= limit) return 0;
  if (length > limit - logical) length = limit - logical;
  for (uint64_t done = 0; done < length; done += OBD_PREFETCH_SLICE) {
    uint64_t n = length - done < OBD_PREFETCH_SLICE ? length - done : OBD_PREFETCH_SLICE;
    OBD_TRY(push(b, physical + done, n));
  }
  return 0;
}

static void add_file(builder *b, const char *path) {
  if (ext4_file_extents(b->fs, path, OBD_PREFETCH_MAX_RUNS, &b->st, on_run, b) < 0)
    b->unresolved++;
}

/* Every regular file below dir (which ends in '/'), depth first. */
static void add_dir(builder *b, char *dir, size_t len, unsigned depth) {
  size_t cap = NAMES_START;
  char *names = NULL;
  int64_t need = 0;
  for (;;) {
    char *t = obd_realloc(names, cap);
    if (!t) {
      b->nomem = 1;
      break;
    }
    names = t;
    need = ext4_list_dir(b->fs, dir, names, cap);
    if (need <= (int64_t)cap) break;
    cap = (size_t)need;
  }
  if (b->nomem || need < 0) {
    if (need < 0) b->unresolved++;
    obd_free(names);
    return;
  }
  for (int64_t off = 0; off < need && !b->nomem;) {
    const char *name = names + off;
    size_t nlen = strlen(name);
    off += (int64_t)nlen + 1;
    if (len + nlen + 2 > PATH_MAX_BYTES) {
      b->unresolved++;
      continue;
    }
    memcpy(dir + len, name, nlen + 1);
    ext4_stat st;
    if (ext4_lookup(b->fs, dir, &st) < 0) {
      b->unresolved++;
    } else if (S_ISDIR(st.mode)) {
      if (depth < DIR_DEPTH_MAX) {
        dir[len + nlen] = '/';
        dir[len + nlen + 1] = '\0';
        add_dir(b, dir, len + nlen + 1, depth + 1);
      }
    } else if (S_ISREG(st.mode)) {
      add_file(b, dir);
    }
    dir[len] = '\0';
  }
  obd_free(names);
}

int obd_prefetch_list_resolve(obd_image *img, const char *paths, size_t len,
                              obd_trace_record **out, size_t *count,
                              uint64_t *unresolved) {
  builder b;
  memset(&b, 0, sizeof b);
  *out = NULL;
  *count = 0;
  *unresolved = 0;
  OBD_TRY(ext4_open_readonly(img, &b.fs));
  char path[PATH_MAX_BYTES];
  for (size_t off = 0; off < len && !b.nomem;) {
    const char *p = paths + off;
    size_t plen = strnlen(p, len - off);
    off += plen + 1;
    if (plen == 0) continue;
    if (plen >= PATH_MAX_BYTES - 1) {
      b.unresolved++;
      continue;
    }
    memcpy(path, p, plen + 1);
    if (path[plen - 1] == '/') add_dir(&b, path, plen, 0);
    else add_file(&b, path);
  }
  ext4_close(b.fs);
  if (b.nomem) {
    obd_free(b.recs);
    return obd_fail(OBD_E_NOMEM, "prefetch list: resolving %zu bytes of paths", len);
  }
  *out = b.recs;
  *count = b.n;
  *unresolved = b.unresolved;
  return 0;
}

int64_t obd_prefetch_call_list_resolve(obd_image *img, const char *paths, size_t len,
                                       obd_trace_record *out, size_t cap,
                                       uint64_t *unresolved, char *detail,
                                       size_t detail_cap) {
  obd_trace_record *recs = NULL;
  size_t n = 0;
  int rc = len > OBD_PREFETCH_LIST_MAX || (len > 0 && paths[len - 1] != '\0')
               ? obd_fail(OBD_E_INVAL, "prefetch list: %zu bytes (at most %u, NUL-terminated)",
                          len, OBD_PREFETCH_LIST_MAX)
               : obd_prefetch_list_resolve(img, paths, len, &recs, &n, unresolved);
  if (rc < 0) {
    if (detail && detail_cap) snprintf(detail, detail_cap, "%s", obd_last_error());
    return rc;
  }
  if (n > 0 && out) memcpy(out, recs, (n < cap ? n : cap) * sizeof *recs);
  obd_free(recs);
  return (int64_t)n;
}
