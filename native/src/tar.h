/* The one-file tar wrapper around a layer blob (spec §3).
 *
 * A wrapped blob is a valid tar holding one file, overlaybd.commit; the data
 * plane reads the payload at a fixed offset: 1536 when the archive starts with
 * a PAX header, else 512. */
#ifndef OBD_TAR_H
#define OBD_TAR_H

#include <stdint.h>

#include "file.h"

#define TAR_BLOCK 512

typedef struct tar_payload {
  uint64_t offset; /* 512 or 1536 (§3.2 step 3) */
  uint64_t size;   /* PAX size if present and > 0, else the header size */
  uint8_t pax;     /* 1 if a PAX header was present */
  char name[101];  /* name of the file entry (normally overlaybd.commit) */
} tar_payload;

/* 1 and *out filled if f starts with a ustar header whose checksum verifies
 * (signed or unsigned sum), 0 if f is not a tar, OBD_E_CORRUPT if the headers
 * are inconsistent (payload past the end of f, bad PAX record, a later header
 * with a bad checksum or size), OBD_E_UNSUPPORTED for a PAX header over 8 KiB
 * (the fixed payload offset of §3.2 could not be right), or an I/O error. */
int tar_detect(obd_file *f, tar_payload *out);

/* If f is wrapped, returns a window onto the payload (owning f when own);
 * otherwise returns f itself in *out. On failure f is closed when own. */
int tar_unwrap(obd_file *f, int own, obd_file **out);

/* Returns a sink that wraps what is written into the PAX form of §3.1: the
 * placeholder headers are written now and replaced at close, with the final
 * size and `mode` (st_mode including the file-type bits, e.g. 0100644).
 * `out` must be able to rewrite (else OBD_E_UNSUPPORTED). Closing closes
 * `out` if own_out; so does a failure here. After a failed write every later
 * call returns that error, and close only releases resources. */
int tar_writer_open(obd_sink *out, int own_out, uint32_t mode,
                    obd_sink **writer);

#endif
