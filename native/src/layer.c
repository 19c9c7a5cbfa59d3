/* Opening a committed layer blob: tar wrapper → ZFile → LSMT (spec §4.2). */
#include "layer.h"

#include <string.h>

#include "error.h"
#include "tar.h"
#include "zfile.h"

/* Prefixes "<name>: " unless the detail already starts with it: the lower
 * modules name the file themselves, and saying it twice helps nobody. */
static int with_name(int rc, const char *name) {
  if (strncmp(obd_last_error(), name, strlen(name)) == 0) return rc;
  return obd_fail_wrap(rc, "%s", name);
}

int obd_layer_unwrap(obd_file *raw, int own, obd_file **out) {
  char name[sizeof raw->name];
  obd_file *inner = NULL, *z = NULL;
  memcpy(name, raw->name, sizeof name); /* raw may be closed on failure */
  int rc = tar_unwrap(raw, own, &inner);
  if (rc < 0) return with_name(rc, name);
  /* A window made by tar_unwrap is ours even when raw is not. */
  int owned = own || inner != raw;
  rc = zfile_detect(inner);
  if (rc == 0) {
    *out = inner;
    return 0;
  }
  if (rc > 0) rc = zfile_open(inner, owned, &z);
  else if (owned) obd_file_close(inner); /* zfile_detect failed */
  if (rc < 0) return with_name(rc, name);
  *out = z;
  return 0;
}

int obd_layer_open(obd_file *raw, int own, lsmt_ro **out) {
  char name[sizeof raw->name];
  obd_file *inner = NULL;
  memcpy(name, raw->name, sizeof name);
  OBD_TRY(obd_layer_unwrap(raw, own, &inner));
  /* lsmt_ro_open closes an owned source itself when it fails. */
  int rc = lsmt_ro_open(inner, own || inner != raw, out);
  return rc < 0 ? with_name(rc, name) : 0;
}

int obd_layer_open_path(const char *path, lsmt_ro **out) {
  obd_file *f = NULL;
  OBD_TRY(obd_file_open_path(path, &f));
  return obd_layer_open(f, 1, out);
}
