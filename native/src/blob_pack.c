#include "blob_pack.h"

#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "file.h"
#include "tar.h"
#include "zfile.h"

/* st_mode of the wrapped file (§3.1): a regular file, 0644. */
#define PACK_MODE 0100644u
/* Bytes handed to the ZFile writer at a time. */
#define PACK_STEP (1u << 20)

/* file ← tar wrapper ← ZFile writer; each stage owns the one below. */
static int open_chain(const char *out_path, const zfile_options *opt, obd_sink **out) {
  obd_sink *file = NULL, *tar = NULL;
  OBD_TRY(obd_sink_open_scratch(out_path, 0644, &file));
  OBD_TRY(tar_writer_open(file, 1, PACK_MODE, &tar));
  return zfile_writer_open(tar, 1, opt, out);
}

/* Feeds the file to the sink straight from its mapping when it has one:
 * a layer is hundreds of megabytes, and obd_copy would copy each byte once
 * more through a buffer. */
static int copy_mapped(obd_file *in, obd_sink *sink) {
  uint64_t size = obd_file_size(in);
  const uint8_t *all = obd_file_map(in, 0, (size_t)size);
  if (!all) return obd_copy(in, sink);
  for (uint64_t off = 0; off < size; off += PACK_STEP) {
    size_t n = size - off < PACK_STEP ? (size_t)(size - off) : PACK_STEP;
    OBD_TRY(obd_sink_write(sink, all + off, n));
  }
  return 0;
}

static int pack(const char *in_path, const char *out_path, const zfile_options *opt) {
  obd_file *in = NULL;
  obd_sink *sink = NULL;
  OBD_TRY(obd_file_open_path(in_path, &in));
  int rc = open_chain(out_path, opt, &sink);
  if (rc == 0) rc = copy_mapped(in, sink);
  if (sink) {
    int closed = obd_sink_close(sink);
    if (rc == 0) rc = closed;
  }
  obd_file_close(in);
  return rc;
}

/* Records a failure of the current thread for a caller on another one. */
static int report(int rc, const char *out_path, char *detail, size_t cap) {
  if (detail && cap) snprintf(detail, cap, "%s", obd_last_error());
  remove(out_path);
  return rc;
}

static int commit(lsmt_rw *l, const char *out_path, const lsmt_commit_options *opt) {
  obd_sink *sink = NULL;
  OBD_TRY(obd_sink_open_scratch(out_path, 0644, &sink));
  int rc = lsmt_commit(l, sink, opt);
  int closed = obd_sink_close(sink);
  return rc < 0 ? rc : closed;
}

int blob_commit(lsmt_rw *l, const char *out_path, const char *uuid,
                const char *parent_uuid, char *detail, size_t cap) {
  lsmt_commit_options opt = {.uuid = uuid, .parent_uuid = parent_uuid};
  int rc = commit(l, out_path, &opt);
  return rc < 0 ? report(rc, out_path, detail, cap) : 0;
}

int blob_pack(const char *in_path, const char *out_path, uint8_t algo,
              uint32_t block_size, blob_pack_result *out, char *detail,
              size_t cap) {
  zfile_options opt;
  zfile_options_default(&opt);
  opt.algo = algo;
  opt.block_size = block_size;
  int rc = pack(in_path, out_path, &opt);
  if (rc == 0) rc = digest_sha256_file(out_path, out->sha256, &out->size, NULL, 0);
  if (rc < 0) {
    obd_fail_wrap(rc, "pack %s into %s", in_path, out_path);
    return report(rc, out_path, detail, cap);
  }
  return 0;
}

/* ffi/blob_pack.ts reads blob_pack_result at these offsets. */
_Static_assert(offsetof(blob_pack_result, sha256) == 8, "ffi layout");
_Static_assert(sizeof(blob_pack_result) == 40, "ffi layout");
