/* Struct layouts that the ffi/ modules reads field by field. If a struct changes,
 * compilation stops here: update the offsets in the named ffi file too. */
#include <stddef.h>

#include "lsmt.h"
#include "prefetch.h"
#include "tar.h"
#include "trace.h"
#include "zfile.h"

/* ffi/zfile.ts RECORD */
_Static_assert(offsetof(zfile_record, digest) == 0, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_record, flags) == 8, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_record, index_offset) == 16, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_record, index_size) == 24, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_record, original_file_size) == 32, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_record, index_crc) == 40, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_record, block_size) == 44, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_record, algo) == 48, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_record, verify) == 51, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_record, dict_size) == 52, "ffi/zfile.ts");
_Static_assert(sizeof(zfile_record) == 56, "ffi/zfile.ts");
/* ffi/zfile.ts INFO */
_Static_assert(offsetof(zfile_info, header) == 0, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_info, trailer) == 56, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_info, has_trailer) == 112, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_info, blocks) == 120, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_info, data_offset) == 128, "ffi/zfile.ts");
_Static_assert(sizeof(zfile_info) == 136, "ffi/zfile.ts");
/* ffi/zfile.ts OPTIONS */
_Static_assert(offsetof(zfile_options, algo) == 0, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_options, block_size) == 4, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_options, verify) == 8, "ffi/zfile.ts");
_Static_assert(offsetof(zfile_options, overwrite_header) == 9, "ffi/zfile.ts");
_Static_assert(sizeof(zfile_options) == 12, "ffi/zfile.ts");
/* ffi/tar.ts PAYLOAD */
_Static_assert(offsetof(tar_payload, offset) == 0, "ffi/tar.ts");
_Static_assert(offsetof(tar_payload, size) == 8, "ffi/tar.ts");
_Static_assert(offsetof(tar_payload, pax) == 16, "ffi/tar.ts");
_Static_assert(offsetof(tar_payload, name) == 17, "ffi/tar.ts");
_Static_assert(sizeof(tar_payload) == 120, "ffi/tar.ts");
/* ffi/lsmt.ts HEADER */
_Static_assert(offsetof(lsmt_header, flags) == 0, "ffi/lsmt.ts");
_Static_assert(offsetof(lsmt_header, index_offset) == 8, "ffi/lsmt.ts");
_Static_assert(offsetof(lsmt_header, index_size) == 16, "ffi/lsmt.ts");
_Static_assert(offsetof(lsmt_header, virtual_size) == 24, "ffi/lsmt.ts");
_Static_assert(offsetof(lsmt_header, uuid) == 32, "ffi/lsmt.ts");
_Static_assert(offsetof(lsmt_header, parent_uuid) == 69, "ffi/lsmt.ts");
_Static_assert(offsetof(lsmt_header, version) == 106, "ffi/lsmt.ts");
_Static_assert(offsetof(lsmt_header, sub_version) == 107, "ffi/lsmt.ts");
_Static_assert(offsetof(lsmt_header, user_tag) == 108, "ffi/lsmt.ts");
_Static_assert(sizeof(lsmt_header) == 368, "ffi/lsmt.ts");
/* ffi/lsmt.ts RW_OPTIONS: u64 + int + pad + two pointers */
_Static_assert(offsetof(lsmt_rw_options, virtual_size) == 0, "ffi/lsmt.ts");
_Static_assert(offsetof(lsmt_rw_options, sparse) == 8, "ffi/lsmt.ts");
_Static_assert(offsetof(lsmt_rw_options, uuid) == 16, "ffi/lsmt.ts");
_Static_assert(offsetof(lsmt_rw_options, parent_uuid) == 24, "ffi/lsmt.ts");
_Static_assert(sizeof(lsmt_rw_options) == 32, "ffi/lsmt.ts");
/* ffi/lsmt.ts COMMIT_OPTIONS: three pointers */
_Static_assert(sizeof(lsmt_commit_options) == 24, "ffi/lsmt.ts");
/* ffi/trace.ts RECORD */
_Static_assert(offsetof(obd_trace_record, op) == 0, "ffi/trace.ts");
_Static_assert(offsetof(obd_trace_record, layer_index) == 4, "ffi/trace.ts");
_Static_assert(offsetof(obd_trace_record, count) == 8, "ffi/trace.ts");
_Static_assert(offsetof(obd_trace_record, offset) == 16, "ffi/trace.ts");
_Static_assert(sizeof(obd_trace_record) == 24, "ffi/trace.ts");
/* ffi/prefetch.ts STATS */
_Static_assert(offsetof(obd_prefetch_stats, records) == 0, "ffi/prefetch.ts");
_Static_assert(offsetof(obd_prefetch_stats, replayed) == 8, "ffi/prefetch.ts");
_Static_assert(offsetof(obd_prefetch_stats, bytes) == 16, "ffi/prefetch.ts");
_Static_assert(offsetof(obd_prefetch_stats, failures) == 24, "ffi/prefetch.ts");
_Static_assert(offsetof(obd_prefetch_stats, skipped) == 32, "ffi/prefetch.ts");
_Static_assert(offsetof(obd_prefetch_stats, yield_ns) == 40, "ffi/prefetch.ts");
_Static_assert(offsetof(obd_prefetch_stats, done) == 48, "ffi/prefetch.ts");
_Static_assert(offsetof(obd_prefetch_stats, workers) == 52, "ffi/prefetch.ts");
_Static_assert(sizeof(obd_prefetch_stats) == 56, "ffi/prefetch.ts");
