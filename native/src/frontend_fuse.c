/* FUSE frontend: one file per device under one low-level libfuse session. */
#define FUSE_USE_VERSION 314
#include "frontend_fuse.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "lsmt.h"

/* Kernel attribute and name caching. Sizes never change while a file is
 * published and obdfuse_remove invalidates the name, so a short timeout only
 * bounds how long a removed name could linger if that notification failed. */
#define OBDFUSE_TIMEOUT 1.0
/* Worker threads: a few stay parked for bursts from the loop device's queue;
 * more than the cores is still useful once misses block on the network.
 * These three may be overridden with -D for tuning runs; on the 2-core test
 * machine 2..64 threads and 12..256 background requests measured within the
 * noise of each other (bench/device_read.ts). */
#ifndef OBDFUSE_IDLE_THREADS
#define OBDFUSE_IDLE_THREADS 8u
#endif
#ifndef OBDFUSE_MAX_THREADS
#define OBDFUSE_MAX_THREADS 32u
#endif
/* Asynchronous direct I/O from the loop device counts as background
 * requests; the kernel default of 12 in flight caps queue depth. */
#ifndef OBDFUSE_MAX_BACKGROUND
#define OBDFUSE_MAX_BACKGROUND 64u
#endif
/* Per-thread buffer: the largest request plus a sector each side, since an
 * unaligned request is widened to whole sectors. */
#define OBDFUSE_BUF_SIZE (OBDFUSE_MAX_IO + 2u * LSMT_SECTOR)
#define OBDFUSE_NAME_MAX 255u
/* Looked up by obdfuse_stop to wake a worker blocked reading /dev/fuse. */
#define OBDFUSE_WAKE_NAME ".overlaybd-stop"

typedef struct entry {
  struct entry *next; /* guarded by obdfuse.lock */
  fuse_ino_t ino;     /* never reused, so a stale handle never finds another file */
  obd_image *img;     /* borrowed */
  uint64_t size;
  int writable;
  time_t created;
  unsigned refs; /* requests using img; guarded by obdfuse.lock */
  int removed;   /* unlinked, remover waiting for refs == 0; guarded by lock */
  /* Writable files only: image.h lets reads run together but not beside a
   * write or discard. */
  pthread_rwlock_t io;
  char name[];
} entry;

struct obdfuse {
  struct fuse_session *se;
  struct fuse_loop_config *loop_cfg;
  pthread_t thread;
  int serving;     /* thread was started */
  int mounted;
  int loop_rc;     /* written by the thread, read after join */
  pthread_key_t buf_key; /* per-thread I/O buffer, freed at thread exit */
  int key_made;
  pthread_mutex_t lock;
  pthread_cond_t idle;   /* a removed entry's refs reached 0 */
  entry *head;           /* ascending ino; guarded by lock */
  fuse_ino_t next_ino;   /* guarded by lock */
  size_t count;          /* guarded by lock */
  uint64_t total_size;   /* guarded by lock */
  uid_t uid;
  gid_t gid;
  time_t started;
  char *mountpoint;
};

/* ---- entries ---- */

static entry *entry_get(obdfuse *fs, fuse_ino_t ino) {
  pthread_mutex_lock(&fs->lock);
  entry *e = fs->head;
  while (e && e->ino != ino) e = e->next;
  if (e) e->refs++;
  pthread_mutex_unlock(&fs->lock);
  return e;
}

static void entry_put(obdfuse *fs, entry *e) {
  pthread_mutex_lock(&fs->lock);
  if (--e->refs == 0 && e->removed) pthread_cond_broadcast(&fs->idle);
  pthread_mutex_unlock(&fs->lock);
}

static void entry_free(entry *e) {
  pthread_rwlock_destroy(&e->io);
  obd_free(e);
}

static void file_attr(const obdfuse *fs, const entry *e, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_ino = e->ino;
  st->st_mode = S_IFREG | (e->writable ? 0644 : 0444);
  st->st_nlink = 1;
  st->st_uid = fs->uid;
  st->st_gid = fs->gid;
  st->st_size = (off_t)e->size;
  st->st_blksize = 4096;
  st->st_blocks = (blkcnt_t)((e->size + 511) / 512);
  st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = e->created;
}

static void root_attr(const obdfuse *fs, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_ino = FUSE_ROOT_ID;
  st->st_mode = S_IFDIR | 0755;
  st->st_nlink = 2;
  st->st_uid = fs->uid;
  st->st_gid = fs->gid;
  st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = fs->started;
}

/* ---- the errno edge ---- */

/* The only place native codes become errno. Every EIO leaves one log line,
 * the data plane's record of which device lost which bytes. */
static int edge_errno(const entry *e, const char *what, uint64_t off,
                      uint64_t n, int64_t code) {
  int err;
  switch (code) {
  case OBD_E_NOMEM: err = ENOMEM; break;
  case OBD_E_INVAL: err = EINVAL; break;
  case OBD_E_RANGE: err = EFBIG; break;
  case OBD_E_READONLY: err = EROFS; break;
  default: err = EIO; break; /* IO, FORMAT, CORRUPT, TRUNCATED, ... */
  }
  if (err == EIO)
    fprintf(stderr, "overlaybd: %s %s at offset %llu (%llu bytes): %s\n", what,
            e->name, (unsigned long long)off, (unsigned long long)n,
            obd_last_error());
  return err;
}

/* Bytes of [off, off+n) that lie inside a file of `size` bytes. */
static uint64_t clamp_io(uint64_t size, uint64_t off, uint64_t n) {
  if (off >= size) return 0;
  return n < size - off ? n : size - off;
}

static uint64_t sector_down(uint64_t x) { return x / LSMT_SECTOR * LSMT_SECTOR; }
static uint64_t sector_up(uint64_t x) {
  return (x + LSMT_SECTOR - 1) / LSMT_SECTOR * LSMT_SECTOR;
}

/* The calling thread's buffer when `need` fits it, else a one-off buffer
 * handed back in *owned for the caller to free. */
static uint8_t *io_buffer(obdfuse *fs, uint64_t need, uint8_t **owned) {
  *owned = NULL;
  if (need > OBDFUSE_BUF_SIZE) return *owned = obd_malloc((size_t)need);
  uint8_t *b = pthread_getspecific(fs->buf_key);
  if (b) return b;
  b = obd_malloc(OBDFUSE_BUF_SIZE);
  if (b && pthread_setspecific(fs->buf_key, b) != 0) {
    obd_free(b);
    b = NULL;
  }
  return b;
}

static void io_lock_shared(entry *e) {
  if (e->writable) pthread_rwlock_rdlock(&e->io);
}
static void io_lock_exclusive(entry *e) {
  if (e->writable) pthread_rwlock_wrlock(&e->io);
}
static void io_unlock(entry *e) {
  if (e->writable) pthread_rwlock_unlock(&e->io);
}

/* ---- request helpers: each returns 0 or an errno, the handler replies ---- */

typedef struct span {
  const uint8_t *data;
  size_t len;
  uint8_t *owned; /* one-off buffer to free after the reply */
} span;

/* The image only reads whole sectors: widen, read, reply with the middle. */
static int do_read(obdfuse *fs, entry *e, size_t size, off_t off, span *out) {
  if (off < 0) return EINVAL;
  uint64_t o = (uint64_t)off, n = clamp_io(e->size, o, size);
  if (n == 0) return 0;
  uint64_t a = sector_down(o), b = sector_up(o + n);
  uint8_t *buf = io_buffer(fs, b - a, &out->owned);
  if (!buf) return ENOMEM;
  io_lock_shared(e);
  int64_t got = obd_image_pread(e->img, buf, (size_t)(b - a), a);
  io_unlock(e);
  if (got < 0) return edge_errno(e, "read", o, n, got);
  uint64_t head = o - a;
  out->data = buf + head;
  out->len = (uint64_t)got > head ? (size_t)((uint64_t)got - head) : 0;
  if (out->len > n) out->len = (size_t)n;
  return 0;
}

static int write_aligned(entry *e, const void *buf, uint64_t n, uint64_t off) {
  int64_t rc = obd_image_pwrite(e->img, buf, (size_t)n, off);
  return rc < 0 ? edge_errno(e, "write", off, n, rc) : 0;
}

static int read_sector(entry *e, uint8_t *dst, uint64_t off) {
  int64_t got = obd_image_pread(e->img, dst, LSMT_SECTOR, off);
  if (got < 0) return edge_errno(e, "read-modify-write", off, LSMT_SECTOR, got);
  memset(dst + got, 0, LSMT_SECTOR - (size_t)got);
  return 0;
}

/* A write that does not cover whole sectors: merge it into the sectors it
 * touches. Runs under the exclusive lock, so no other write interleaves. */
static int write_partial(obdfuse *fs, entry *e, const char *data, uint64_t n,
                         uint64_t o) {
  uint64_t a = sector_down(o), b = sector_up(o + n);
  uint8_t *owned;
  uint8_t *buf = io_buffer(fs, b - a, &owned);
  if (!buf) return ENOMEM;
  int err = 0;
  if (o != a) err = read_sector(e, buf, a);
  int tail_read = o != a && b - LSMT_SECTOR == a; /* one sector, read above */
  if (!err && o + n != b && !tail_read)
    err = read_sector(e, buf + (b - LSMT_SECTOR - a), b - LSMT_SECTOR);
  if (!err) {
    memcpy(buf + (o - a), data, (size_t)n);
    err = write_aligned(e, buf, b - a, a);
  }
  obd_free(owned);
  return err;
}

static int do_write(obdfuse *fs, entry *e, const char *data, size_t size,
                    off_t off, size_t *written) {
  if (!e->writable) return EROFS;
  if (off < 0) return EINVAL;
  uint64_t o = (uint64_t)off, n = clamp_io(e->size, o, size);
  *written = 0;
  if (n == 0) return size == 0 ? 0 : EFBIG;
  int aligned = o % LSMT_SECTOR == 0 && n % LSMT_SECTOR == 0;
  io_lock_exclusive(e);
  int err = aligned ? write_aligned(e, data, n, o)
                    : write_partial(fs, e, data, n, o);
  io_unlock(e);
  if (err == 0) *written = (size_t)n;
  return err;
}

/* Only punching holes maps onto the image (a discarded range reads as
 * zeros); partial sectors would need a write, which the loop driver never
 * asks for. */
static int do_fallocate(entry *e, int mode, off_t off, off_t len) {
  if (!e->writable) return EROFS;
  if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) return EOPNOTSUPP;
  if (off < 0 || len <= 0) return EINVAL;
  uint64_t o = (uint64_t)off, n = clamp_io(e->size, o, (uint64_t)len);
  if (n == 0) return 0;
  if (o % LSMT_SECTOR != 0 || n % LSMT_SECTOR != 0) return EINVAL;
  io_lock_exclusive(e);
  int rc = obd_image_discard(e->img, o, n);
  io_unlock(e);
  return rc < 0 ? edge_errno(e, "discard", o, n, rc) : 0;
}

/* SEEK_DATA/SEEK_HOLE over the image's data runs: holes and zeroed ranges
 * are holes, so tools can skip the empty bulk of a 64 GiB device. */
static int do_lseek(entry *e, off_t off, int whence, off_t *res) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return EINVAL;
  if (off < 0 || (uint64_t)off >= e->size) return ENXIO;
  uint64_t o = (uint64_t)off, start = 0, end = 0;
  io_lock_shared(e);
  int found = obd_image_next_data(e->img, o, &start, &end);
  io_unlock(e);
  if (whence == SEEK_DATA) {
    if (!found) return ENXIO;
    *res = (off_t)(start > o ? start : o);
  } else {
    uint64_t hole = !found || start > o ? o : end;
    *res = (off_t)(hole < e->size ? hole : e->size);
  }
  return 0;
}

static int fill_dir(obdfuse *fs, fuse_req_t req, char *buf, size_t cap,
                    off_t off, size_t *used) {
  /* Cookies: "." 1, ".." 2, a file ino + 1 (inos start at 2, ascend). */
  struct stat st;
  memset(&st, 0, sizeof st);
  st.st_mode = S_IFDIR;
  st.st_ino = FUSE_ROOT_ID;
  const char *dots[2] = {".", ".."};
  for (off_t i = off; i < 2; i++) {
    size_t len = fuse_add_direntry(req, buf + *used, cap - *used, dots[i], &st,
                                   i + 1);
    if (len > cap - *used) return 0;
    *used += len;
  }
  st.st_mode = S_IFREG;
  pthread_mutex_lock(&fs->lock);
  for (entry *e = fs->head; e; e = e->next) {
    if ((off_t)e->ino + 1 <= off) continue;
    st.st_ino = e->ino;
    size_t len = fuse_add_direntry(req, buf + *used, cap - *used, e->name, &st,
                                   (off_t)e->ino + 1);
    if (len > cap - *used) break;
    *used += len;
  }
  pthread_mutex_unlock(&fs->lock);
  return 0;
}

/* ---- handlers: one reply each ---- */

static obdfuse *fs_of(fuse_req_t req) { return fuse_req_userdata(req); }

static void op_init(void *userdata, struct fuse_conn_info *conn) {
  (void)userdata;
  conn->max_write = OBDFUSE_MAX_IO;
  conn->max_read = OBDFUSE_MAX_IO; /* must equal the max_read mount option */
  conn->max_background = OBDFUSE_MAX_BACKGROUND;
  conn->congestion_threshold = OBDFUSE_MAX_BACKGROUND * 3 / 4;
  /* The loop driver's direct I/O is asynchronous; without this the kernel
   * serialises it. */
  if (conn->capable & FUSE_CAP_ASYNC_DIO) conn->want |= FUSE_CAP_ASYNC_DIO;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  obdfuse *fs = fs_of(req);
  struct fuse_entry_param ep;
  memset(&ep, 0, sizeof ep);
  int err = ENOENT;
  if (parent == FUSE_ROOT_ID) {
    pthread_mutex_lock(&fs->lock);
    for (entry *e = fs->head; e; e = e->next) {
      if (strcmp(e->name, name) != 0) continue;
      ep.ino = e->ino;
      file_attr(fs, e, &ep.attr);
      err = 0;
      break;
    }
    pthread_mutex_unlock(&fs->lock);
  }
  if (err) {
    fuse_reply_err(req, err); /* no negative entry: an add shows at once */
    return;
  }
  ep.attr_timeout = ep.entry_timeout = OBDFUSE_TIMEOUT;
  fuse_reply_entry(req, &ep);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  (void)ino;
  (void)nlookup;
  fuse_reply_none(req); /* inos are never reused, nothing to count */
}

/* Every request on a file ino the table no longer has is on a removed file:
 * the kernel only knows inos it was given. */
static void op_getattr(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi) {
  (void)fi;
  obdfuse *fs = fs_of(req);
  struct stat st;
  if (ino == FUSE_ROOT_ID) {
    root_attr(fs, &st);
  } else {
    entry *e = entry_get(fs, ino);
    if (!e) {
      fuse_reply_err(req, ESTALE);
      return;
    }
    file_attr(fs, e, &st);
    entry_put(fs, e);
  }
  fuse_reply_attr(req, &st, OBDFUSE_TIMEOUT);
}

/* Sizes and modes are fixed by the image; times are accepted and dropped so
 * that `touch` and cp -p do not fail. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                       int to_set, struct fuse_file_info *fi) {
  obdfuse *fs = fs_of(req);
  struct stat st;
  int err = 0;
  entry *e = NULL;
  if (ino == FUSE_ROOT_ID) {
    root_attr(fs, &st);
  } else if (!(e = entry_get(fs, ino))) {
    err = ESTALE;
  } else {
    file_attr(fs, e, &st);
    entry_put(fs, e);
  }
  if (!err && (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
                         FUSE_SET_ATTR_GID)))
    err = EPERM;
  if (!err && (to_set & FUSE_SET_ATTR_SIZE) && attr->st_size != st.st_size)
    err = ino == FUSE_ROOT_ID ? EISDIR : EPERM;
  (void)fi;
  if (err)
    fuse_reply_err(req, err);
  else
    fuse_reply_attr(req, &st, OBDFUSE_TIMEOUT);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  obdfuse *fs = fs_of(req);
  entry *e = entry_get(fs, ino);
  if (!e) {
    fuse_reply_err(req, ESTALE);
    return;
  }
  /* Root passes default_permissions' mode check, so enforce it here. */
  int err = (fi->flags & O_ACCMODE) != O_RDONLY && !e->writable ? EROFS : 0;
  entry_put(fs, e);
  if (err) {
    fuse_reply_err(req, err);
    return;
  }
  /* The loop device above caches blocks; a second cache here would only
   * double memory and serialise reads into 128 KiB pieces. libfuse 3.14
   * cannot set FOPEN_PARALLEL_DIRECT_WRITES, so writes to one file are
   * serialised by the kernel. */
  fi->direct_io = 1;
  fi->keep_cache = 0;
  /* flush has nothing to do; skipping it also keeps a process that holds
   * one of our files from hanging in close(2) while it exits, when its own
   * session threads are already gone. */
  fi->noflush = 1;
  fi->fh = ino;
  fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi) {
  (void)fi;
  obdfuse *fs = fs_of(req);
  entry *e = entry_get(fs, ino);
  if (!e) {
    fuse_reply_err(req, ESTALE);
    return;
  }
  span r = {NULL, 0, NULL};
  int err = do_read(fs, e, size, off, &r);
  entry_put(fs, e); /* the bytes are in our buffer now, not the image's */
  if (err)
    fuse_reply_err(req, err);
  else
    fuse_reply_buf(req, (const char *)r.data, r.len);
  obd_free(r.owned);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                     size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  obdfuse *fs = fs_of(req);
  entry *e = entry_get(fs, ino);
  if (!e) {
    fuse_reply_err(req, ESTALE);
    return;
  }
  size_t written = 0;
  int err = do_write(fs, e, buf, size, off, &written);
  entry_put(fs, e);
  if (err)
    fuse_reply_err(req, err);
  else
    fuse_reply_write(req, written);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
                         off_t len, struct fuse_file_info *fi) {
  (void)fi;
  obdfuse *fs = fs_of(req);
  entry *e = entry_get(fs, ino);
  if (!e) {
    fuse_reply_err(req, ESTALE);
    return;
  }
  int err = do_fallocate(e, mode, off, len);
  entry_put(fs, e);
  fuse_reply_err(req, err);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
                     struct fuse_file_info *fi) {
  (void)fi;
  obdfuse *fs = fs_of(req);
  entry *e = entry_get(fs, ino);
  if (!e) {
    fuse_reply_err(req, ESTALE);
    return;
  }
  off_t res = 0;
  int err = do_lseek(e, off, whence, &res);
  entry_put(fs, e);
  if (err)
    fuse_reply_err(req, err);
  else
    fuse_reply_lseek(req, res);
}

/* Writes reach the layer files with pwrite as they come; the image has no
 * sync call yet, so flush and fsync have nothing more to do. */
static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  (void)fi;
  fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
                     struct fuse_file_info *fi) {
  (void)ino;
  (void)datasync;
  (void)fi;
  fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi) {
  (void)ino;
  (void)fi;
  fuse_reply_err(req, 0);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi) {
  if (ino != FUSE_ROOT_ID) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  fuse_reply_open(req, fi);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi) {
  (void)fi;
  if (ino != FUSE_ROOT_ID) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  char *buf = obd_malloc(size ? size : 1);
  size_t used = 0;
  int err = buf ? fill_dir(fs_of(req), req, buf, size, off, &used) : ENOMEM;
  if (err)
    fuse_reply_err(req, err);
  else
    fuse_reply_buf(req, buf, used);
  obd_free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
                          struct fuse_file_info *fi) {
  (void)ino;
  (void)fi;
  fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino) {
  (void)ino;
  obdfuse *fs = fs_of(req);
  struct statvfs st;
  memset(&st, 0, sizeof st);
  st.f_bsize = 4096;
  st.f_frsize = LSMT_SECTOR;
  st.f_namemax = OBDFUSE_NAME_MAX;
  pthread_mutex_lock(&fs->lock);
  st.f_blocks = fs->total_size / LSMT_SECTOR;
  st.f_files = fs->count + 1;
  pthread_mutex_unlock(&fs->lock);
  fuse_reply_statfs(req, &st);
}

static const struct fuse_lowlevel_ops obdfuse_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .release = op_release,
    .fsync = op_fsync,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
    .statfs = op_statfs,
    .fallocate = op_fallocate,
    .lseek = op_lseek,
};

/* ---- lifecycle ---- */

static void *serve(void *arg) {
  obdfuse *fs = arg;
  fs->loop_rc = fuse_session_loop_mt(fs->se, fs->loop_cfg);
  return NULL;
}

static int make_session(obdfuse *fs) {
  char opts[160];
  snprintf(opts, sizeof opts,
           "fsname=overlaybd,subtype=overlaybd,default_permissions,max_read=%u",
           OBDFUSE_MAX_IO);
  char *argv[] = {(char *)"overlaybd", (char *)"-o", opts, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, argv);
  fs->se = fuse_session_new(&args, &obdfuse_ops, sizeof obdfuse_ops, fs);
  fuse_opt_free_args(&args);
  if (!fs->se) return obd_fail(OBD_E_IO, "fuse: cannot create a session");
  if (fuse_session_mount(fs->se, fs->mountpoint) != 0)
    return obd_fail(OBD_E_IO, "fuse: cannot mount on %s (see the libfuse message)",
                    fs->mountpoint);
  fs->mounted = 1;
  fs->loop_cfg = fuse_loop_cfg_create();
  if (!fs->loop_cfg) return obd_fail(OBD_E_NOMEM, "fuse: loop config");
  fuse_loop_cfg_set_clone_fd(fs->loop_cfg, 1);
  fuse_loop_cfg_set_idle_threads(fs->loop_cfg, OBDFUSE_IDLE_THREADS);
  fuse_loop_cfg_set_max_threads(fs->loop_cfg, OBDFUSE_MAX_THREADS);
  int rc = pthread_create(&fs->thread, NULL, serve, fs);
  if (rc != 0)
    return obd_fail(OBD_E_IO, "fuse: cannot start the session thread: %s",
                    strerror(rc));
  fs->serving = 1;
  return 0;
}

int obdfuse_start(const char *mountpoint, obdfuse **out) {
  if (!mountpoint || !out) return obd_fail(OBD_E_INVAL, "fuse: no mountpoint");
  obdfuse *fs = obd_calloc(1, sizeof *fs);
  size_t len = strlen(mountpoint);
  char *mp = fs ? obd_malloc(len + 1) : NULL;
  if (!mp) {
    obd_free(fs);
    return obd_fail(OBD_E_NOMEM, "fuse: state for %s", mountpoint);
  }
  memcpy(mp, mountpoint, len + 1);
  fs->mountpoint = mp;
  fs->next_ino = FUSE_ROOT_ID + 1;
  fs->uid = getuid();
  fs->gid = getgid();
  fs->started = time(NULL);
  pthread_mutex_init(&fs->lock, NULL);
  pthread_cond_init(&fs->idle, NULL);
  int rc = pthread_key_create(&fs->buf_key, obd_free);
  if (rc != 0) {
    rc = obd_fail(OBD_E_NOMEM, "fuse: thread key: %s", strerror(rc));
  } else {
    fs->key_made = 1;
    rc = make_session(fs);
  }
  if (rc < 0) {
    obdfuse_stop(fs);
    return rc;
  }
  *out = fs;
  return 0;
}

static int name_ok(const char *name) {
  size_t len = name ? strnlen(name, OBDFUSE_NAME_MAX + 1) : 0;
  return len > 0 && len <= OBDFUSE_NAME_MAX && !strchr(name, '/') &&
         strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
         strcmp(name, OBDFUSE_WAKE_NAME) != 0;
}

int obdfuse_add(obdfuse *fs, const char *name, obd_image *img, int writable) {
  if (!fs || !img || !name_ok(name))
    return obd_fail(OBD_E_INVAL, "fuse: cannot add file '%s'", name ? name : "");
  size_t len = strlen(name);
  entry *e = obd_calloc(1, sizeof *e + len + 1);
  if (!e) return obd_fail(OBD_E_NOMEM, "fuse: entry for %s", name);
  memcpy(e->name, name, len + 1);
  e->img = img;
  e->size = obd_image_size(img);
  e->writable = writable ? 1 : 0;
  e->created = time(NULL);
  pthread_rwlock_init(&e->io, NULL);
  pthread_mutex_lock(&fs->lock);
  entry **tail = &fs->head;
  int taken = 0;
  for (; *tail; tail = &(*tail)->next) taken |= strcmp((*tail)->name, name) == 0;
  if (!taken) {
    e->ino = fs->next_ino++;
    *tail = e;
    fs->count++;
    fs->total_size += e->size;
  }
  pthread_mutex_unlock(&fs->lock);
  if (taken) {
    entry_free(e);
    return obd_fail(OBD_E_EXISTS, "fuse: %s/%s already exists", fs->mountpoint,
                    name);
  }
  return 0;
}

int obdfuse_remove(obdfuse *fs, const char *name) {
  if (!fs || !name) return obd_fail(OBD_E_INVAL, "fuse: remove without a name");
  pthread_mutex_lock(&fs->lock);
  entry **link = &fs->head;
  while (*link && strcmp((*link)->name, name) != 0) link = &(*link)->next;
  entry *e = *link;
  if (e) {
    *link = e->next;
    e->removed = 1;
    fs->count--;
    fs->total_size -= e->size;
    while (e->refs > 0) pthread_cond_wait(&fs->idle, &fs->lock);
  }
  pthread_mutex_unlock(&fs->lock);
  if (!e)
    return obd_fail(OBD_E_NOTFOUND, "fuse: no file %s/%s", fs->mountpoint, name);
  /* Drop the kernel's cached name so a lookup asks us again. Fails
   * harmlessly when the kernel never cached it. */
  fuse_lowlevel_notify_inval_entry(fs->se, FUSE_ROOT_ID, e->name, strlen(e->name));
  entry_free(e);
  return 0;
}

/* fuse_session_exit only sets a flag that workers test between requests,
 * and they sit in read(2) on /dev/fuse: one lookup makes a worker finish a
 * request and leave the loop, which then cancels the rest. A lookup, not a
 * stat of the root, because the kernel may answer that from its cache.
 *
 * The lookup runs on its own thread because it may never be answered: a
 * request that reaches a worker after another one already ended the loop is
 * dropped, and the caller would wait until the session's fds close. That
 * happens in obdfuse_stop after the join, which then frees this thread. */
static void *wake_session(void *arg) {
  struct stat st;
  (void)stat(arg, &st);
  return NULL;
}

static int start_wake(obdfuse *fs, pthread_t *t, char **path) {
  size_t n = strlen(fs->mountpoint) + sizeof "/" OBDFUSE_WAKE_NAME;
  *path = obd_malloc(n);
  if (!*path) return -1;
  snprintf(*path, n, "%s/%s", fs->mountpoint, OBDFUSE_WAKE_NAME);
  if (pthread_create(t, NULL, wake_session, *path) == 0) return 0;
  obd_free(*path);
  *path = NULL;
  return -1;
}

int obdfuse_stop(obdfuse *fs) {
  if (!fs) return 0;
  int rc = 0, waking = 0;
  pthread_t waker;
  char *wake_path = NULL;
  if (fs->serving) {
    fuse_session_exit(fs->se);
    waking = start_wake(fs, &waker, &wake_path) == 0;
    /* Without a waker thread, the loop still ends at the next request. */
    pthread_join(fs->thread, NULL);
    if (fs->loop_rc != 0)
      rc = obd_fail(OBD_E_IO, "fuse: session on %s ended with %d", fs->mountpoint,
                    fs->loop_rc);
  }
  /* As root this is a lazy unmount: a loop device still holding a file
   * keeps the superblock, and its reads fail once the session fd closes. */
  if (fs->mounted) fuse_session_unmount(fs->se);
  if (fs->se) fuse_session_destroy(fs->se);
  /* Every /dev/fuse fd is closed now, so the kernel has failed any request
   * still waiting, the waker's included. */
  if (waking) pthread_join(waker, NULL);
  obd_free(wake_path);
  if (fs->loop_cfg) fuse_loop_cfg_destroy(fs->loop_cfg);
  for (entry *e = fs->head, *next; e; e = next) {
    next = e->next;
    entry_free(e);
  }
  /* The workers have exited, so every per-thread buffer is already freed. */
  if (fs->key_made) pthread_key_delete(fs->buf_key);
  pthread_cond_destroy(&fs->idle);
  pthread_mutex_destroy(&fs->lock);
  obd_free(fs->mountpoint);
  obd_free(fs);
  return rc;
}

const char *obdfuse_mountpoint(const obdfuse *fs) { return fs->mountpoint; }
