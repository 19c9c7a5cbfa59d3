/* Opening a committed layer blob whatever its wrapping (spec §4):
 * [tar wrapper] → [ZFile] → LSMT. Each step is detected, never assumed. */
#ifndef OBD_LAYER_H
#define OBD_LAYER_H

#include "file.h"
#include "lsmt.h"

/* Strips the tar wrapper and decodes ZFile when present; returns the inner
 * LSMT bytes as an obd_file (raw itself if neither). Takes ownership of raw
 * when own, also on failure. */
int obd_layer_unwrap(obd_file *raw, int own, obd_file **out);

/* obd_layer_unwrap + lsmt_ro_open. */
int obd_layer_open(obd_file *raw, int own, lsmt_ro **out);

/* Opens the file at path as a layer. */
int obd_layer_open_path(const char *path, lsmt_ro **out);

#endif
