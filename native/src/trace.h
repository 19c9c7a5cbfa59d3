/* Trace files (spec §8.3) and the recorder that makes them (§8.2).
 *
 * Vocabulary: a *trace* is the list of reads a container made while it
 * started, as (op, layer_index, count, offset) *records*; layer_index is the
 * position of a lower layer in the device config (0 = bottom) and offset,
 * count are bytes of that layer's uncompressed LSMT file (after the tar
 * wrapper and ZFile), its header and index included. Replaying a trace on
 * a new host fetches those bytes before the container asks (prefetch.h).
 *
 * File: a 24-byte header (magic, data size, CRC32C of the records) and
 * 24-byte records, little-endian, padding zero when written.
 *
 * Recording: a *recorder* collects records from any number of threads. A
 * lower layer is opened through obd_trace_layer_open, which puts a thin
 * obd_file between its ZFile (or plain file) and its LSMT reader; every
 * successful pread through it appends a record in completion order.
 * Layers opened the normal way (layer.h) carry no such file, so a device
 * that does not record pays nothing.
 *
 * Lifecycle:
 *   obd_trace_recorder_create(&r);
 *   obd_trace_layer_open(raw, 1, r, 0, &layer);   // one per lower
 *   ... obd_image_open, reads ...
 *   obd_trace_recorder_stop(r);                    // later reads not kept
 *   n = obd_trace_recorder_encode(r, NULL, 0);     // bytes needed
 *   obd_trace_recorder_encode(r, buf, n);          // the trace file
 *   obd_trace_recorder_release(r);                 // layers hold their own refs
 *
 * Thread-safety: the codec functions are pure. Recorder functions may be
 * called from any thread at once; the recorder is freed when the creator's
 * reference and every wrapping file are gone. */
#ifndef OBD_TRACE_H
#define OBD_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "file.h"
#include "lsmt.h"

#define OBD_TRACE_MAGIC 0xC2EF1820u  /* §8.3: zlib CRC-32 of the format name */
#define OBD_TRACE_HEADER_SIZE 24u    /* §8.3 */
#define OBD_TRACE_RECORD_SIZE 24u    /* §8.3 */
#define OBD_TRACE_OP_READ 0x52u      /* 'R' */
#define OBD_TRACE_OP_WRITE 0x57u     /* 'W', never produced or replayed */
/* Records one recorder keeps (96 MiB); reads past it are counted, not kept. */
#define OBD_TRACE_MAX_RECORDS (1u << 22)

/* One record, decoded. The layout is also the FFI's (ffi_layout.c). */
typedef struct obd_trace_record {
  uint8_t op;
  uint32_t layer_index;
  uint64_t count;  /* bytes */
  int64_t offset;  /* bytes */
} obd_trace_record;

/* The header fields a reader uses (§8.3). */
typedef struct obd_trace_header {
  uint64_t data_size; /* bytes of records after the header */
  uint32_t checksum;  /* raw CRC32C, seed 0, over those bytes */
} obd_trace_header;

/* Writes the 24-byte header (magic, zero padding) into buf. Returns 24, or
 * OBD_E_INVAL when cap < 24. */
int obd_trace_encode_header(const obd_trace_header *h, uint8_t *buf, size_t cap);

/* Reads the header from the first 24 bytes of buf. OBD_E_TRUNCATED when len
 * < 24, OBD_E_FORMAT when the magic is wrong; padding is ignored. */
int obd_trace_decode_header(const uint8_t *buf, size_t len, obd_trace_header *out);

/* Writes one 24-byte record (padding zero). Returns 24 or OBD_E_INVAL. */
int obd_trace_encode_record(const obd_trace_record *r, uint8_t *buf, size_t cap);

/* Reads one record from the first 24 bytes of buf; any op value is kept
 * (replay skips what is not a read). OBD_E_TRUNCATED when len < 24. */
int obd_trace_decode_record(const uint8_t *buf, size_t len, obd_trace_record *out);

/* 1 when buf starts with a trace header's magic (spec §8.1: otherwise the
 * file is a prefetch list), else 0. */
int obd_trace_has_magic(const uint8_t *buf, size_t len);

/* Validates a whole trace file of len bytes as a reader must (§8.3) and
 * returns its record count; the first min(count, cap) records are decoded
 * into out (which may be NULL when cap is 0). Errors, with a detail naming
 * the offending value: OBD_E_TRUNCATED (shorter than its header says),
 * OBD_E_FORMAT (bad magic), OBD_E_CORRUPT (longer than its header says, a
 * data size that is not whole records, checksum mismatch). */
int64_t obd_trace_decode(const uint8_t *buf, size_t len, obd_trace_record *out,
                         size_t cap);

/* Encodes n records as a trace file into buf. Returns its size, 24 + 24n,
 * or OBD_E_RANGE when cap is smaller (nothing is written then). */
int64_t obd_trace_encode(const obd_trace_record *recs, size_t n, uint8_t *buf,
                         size_t cap);

/* ---- recording ---- */

typedef struct obd_trace_recorder obd_trace_recorder;

/* A new, recording recorder holding one reference (the caller's). */
int obd_trace_recorder_create(obd_trace_recorder **out);

/* Appends a read record (what the wrapping files call). Records past
 * OBD_TRACE_MAX_RECORDS, or whose storage cannot be allocated, are dropped
 * and counted; reads after stop are ignored. Allocates one 96 KiB chunk
 * every 4096 records, under the recorder's lock. */
void obd_trace_recorder_add(obd_trace_recorder *r, uint32_t layer_index,
                            uint64_t count, uint64_t offset);

/* Stops recording; later reads are not kept. Idempotent. */
void obd_trace_recorder_stop(obd_trace_recorder *r);

/* Records kept so far, and reads dropped (see add). */
uint64_t obd_trace_recorder_count(obd_trace_recorder *r);
uint64_t obd_trace_recorder_dropped(obd_trace_recorder *r);

/* Encodes the records kept so far as a trace file. Returns the bytes the
 * whole file needs; buf is written only when cap is at least that (so call
 * with cap 0 to size it, and again: while recording, the size may grow in
 * between, which the second return value shows). */
int64_t obd_trace_recorder_encode(obd_trace_recorder *r, uint8_t *buf, size_t cap);

/* Drops the caller's reference (NULL is allowed). */
void obd_trace_recorder_release(obd_trace_recorder *r);

/* An obd_file over inner whose successful preads are recorded as reads of
 * layer_index. Takes a reference on r, dropped when the file closes; if
 * own, closing it closes inner (and a failed call closes inner too). It
 * forwards invalidate and never offers map, so every byte read is seen. */
int obd_trace_wrap(obd_file *inner, int own, obd_trace_recorder *r,
                   uint32_t layer_index, obd_file **out);

/* obd_layer_open whose LSMT reads (the open's own header, index and
 * trailer reads first) are recorded as layer_index. Same ownership of raw
 * as obd_layer_open. */
int obd_trace_layer_open(obd_file *raw, int own, obd_trace_recorder *r,
                         uint32_t layer_index, lsmt_ro **out);

/* obd_trace_layer_open of the local file at path. */
int obd_trace_layer_open_path(const char *path, obd_trace_recorder *r,
                              uint32_t layer_index, lsmt_ro **out);

/* obd_trace_layer_open (taking raw) for Deno's nonblocking FFI: on failure
 * the detail is copied into detail[0..cap), as cache_call_layer_open does. */
int obd_trace_call_layer_open(obd_file *raw, obd_trace_recorder *r,
                              uint32_t layer_index, lsmt_ro **out, char *detail,
                              size_t cap);

#endif
