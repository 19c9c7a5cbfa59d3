/* FUSE frontend: one FUSE mount whose root directory holds one regular file
 * per device, each file the merged block view of an obd_image. A loop device
 * attached to such a file (with direct I/O, see ARCHITECTURE.md) turns the
 * image into a block device; the kernel's reads become obd_image_pread calls
 * on the session's worker threads, which never call back into the caller.
 *
 * Lifecycle: obdfuse_start mounts and serves on a background thread;
 * obdfuse_add / obdfuse_remove publish and withdraw files while it runs;
 * obdfuse_stop unmounts and frees everything. Images are borrowed: the
 * caller keeps ownership and closes an image only after obdfuse_remove (or
 * obdfuse_stop) returned.
 *
 * Errors from the image are mapped to errno only at this edge: damaged or
 * unreadable data becomes EIO and logs one line to stderr naming the file,
 * the offset and the native detail; a missing writable layer is EROFS.
 *
 * Thread-safety: add, remove and stop may be called from any thread, but not
 * from inside a FUSE request (remove waits for requests on that file, stop
 * joins the session's threads) and stop not concurrently with the others.
 * Requests on different files, and reads on one file, run in parallel;
 * writes and discards on a writable file exclude its reads. */
#ifndef OBD_FRONTEND_FUSE_H
#define OBD_FRONTEND_FUSE_H

#include "image.h"

/* Largest read or write the kernel is asked to send in one request; larger
 * requests are still served (with a one-off buffer). */
#define OBDFUSE_MAX_IO (1u << 20)

typedef struct obdfuse obdfuse;

/* Mounts an empty directory-only filesystem (fsname "overlaybd",
 * default_permissions, accessible to the mounting user only) on
 * `mountpoint`, an existing directory, and serves it on a background thread
 * with the multi-threaded loop. Returns 0 and sets *out, or a negative
 * obd_err (OBD_E_IO with the reason when /dev/fuse or mount(2) fails,
 * OBD_E_NOMEM); nothing is left mounted on failure. */
int obdfuse_start(const char *mountpoint, obdfuse **out);

/* Publishes `img` as the regular file `name` (1..255 bytes, no '/', not "."
 * or "..") of size obd_image_size(img), mode 0444, or 0644 when `writable`
 * (writes and punch-hole fallocate then reach obd_image_pwrite/discard).
 * OBD_E_INVAL for a bad name or NULL image, OBD_E_EXISTS when the name is
 * taken, OBD_E_NOMEM. The image is borrowed until obdfuse_remove returns. */
int obdfuse_add(obdfuse *fs, const char *name, obd_image *img, int writable);

/* Withdraws the file `name`: new requests on it fail (ESTALE on open file
 * descriptors, ENOENT for the name), then waits until no request still uses
 * the image. OBD_E_NOTFOUND when there is no such file. */
int obdfuse_remove(obdfuse *fs, const char *name);

/* Ends the session, unmounts (lazily, if a loop device still holds a file
 * open), joins the threads and frees fs and every file entry (not the
 * images). NULL is allowed, so it is safe after a failed start. Returns 0,
 * or the session loop's error as OBD_E_IO after cleaning up anyway. */
int obdfuse_stop(obdfuse *fs);

/* The mountpoint given to obdfuse_start (owned by fs). */
const char *obdfuse_mountpoint(const obdfuse *fs);

#endif
