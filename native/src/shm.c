/*
 * Shared memory between processes for trgwd (relay worker processes, media.workerMode: process).
 *
 * Worker threads share counters through SharedArrayBuffers; child processes cannot. This part maps
 * one anonymous memory file (memfd) into several processes:
 *
 *   shm.create(bytes)          -> { fd, buffer }   memfd_create(MFD_CLOEXEC), ftruncate, mmap MAP_SHARED.
 *                                                 `buffer` is an ArrayBuffer over the mapping; the fd
 *                                                 stays open (other processes open it through /proc)
 *                                                 until the buffer is collected: then munmap + close.
 *   shm.open(pid, fd, bytes)   -> ArrayBuffer      maps /proc/<pid>/fd/<fd> (the creator's memfd), read
 *                                                 and write; the fd opened for it is closed at once,
 *                                                 the mapping is unmapped when the buffer is collected.
 *
 * The memfd is close-on-exec: a child started by child_process (fork = spawn + exec) does not inherit
 * it, it opens it by the creator's pid and fd number (same user, or CAP_SYS_PTRACE: the /proc magic
 * link checks ptrace access). The memory is zero-filled; what one process writes the others see
 * (same pages). No locking: the users write aligned doubles, one writer per slot.
 *
 * Not on the packet path: errors are thrown as Error with `code` ERR_SHM_PARAM (bad arguments),
 * ERR_SHM_CREATE (memfd_create/ftruncate), ERR_SHM_OPEN (open of /proc/<pid>/fd/<fd>), ERR_SHM_SIZE
 * (the file is smaller than asked: mapping it would fault), ERR_SHM_MAP (mmap or the ArrayBuffer),
 * ERR_SHM_UNSUPPORTED (not Linux).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "addon.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

/* Largest mapping accepted (1 GiB): far above what the counters need, a guard against nonsense. */
#define SHM_MAX_BYTES ((double)(1u << 30))

static napi_value throw_code(napi_env env, const char *code, const char *what, int err)
{
  char msg[256];
  if (err != 0)
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  else
    snprintf(msg, sizeof msg, "%s", what);
  napi_throw_error(env, code, msg);
  return NULL;
}

/* An integer argument in [min, max]; false (and a pending ERR_SHM_PARAM) otherwise. */
static bool int_arg(napi_env env, napi_value v, const char *name, double min, double max, double *out)
{
  napi_valuetype t;
  double d;
  char msg[128];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
      d != d || d < min || d > max || d != (double)(int64_t)d) {
    snprintf(msg, sizeof msg, "shm: %s must be an integer in %.0f..%.0f", name, min, max);
    napi_throw_error(env, "ERR_SHM_PARAM", msg);
    return false;
  }
  *out = d;
  return true;
}

#ifdef __linux__

struct mapping {
  void *addr;
  size_t len;
  int fd; /* the creator's memfd (closed with the mapping), or -1 */
};

static void finalize_mapping(napi_env env, void *data, void *hint)
{
  struct mapping *m = hint;
  (void)env;
  (void)data;
  if (m == NULL) return;
  munmap(m->addr, m->len);
  if (m->fd >= 0) close(m->fd);
  free(m);
}

/* An ArrayBuffer over [addr, addr+len) that unmaps (and closes fd) when collected; NULL + exception. */
static napi_value external_buffer(napi_env env, void *addr, size_t len, int fd)
{
  struct mapping *m = malloc(sizeof *m);
  napi_value ab;
  napi_status st;
  if (m == NULL) {
    munmap(addr, len);
    if (fd >= 0) close(fd);
    return throw_code(env, "ERR_SHM_MAP", "shm: out of memory", 0);
  }
  m->addr = addr;
  m->len = len;
  m->fd = fd;
  st = napi_create_external_arraybuffer(env, addr, len, finalize_mapping, m, &ab);
  if (st != napi_ok) {
    finalize_mapping(env, addr, m);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) throw_code(env, "ERR_SHM_MAP", "shm: this runtime does not allow external ArrayBuffers", 0);
    return NULL;
  }
  return ab;
}

/* create(bytes) -> { fd, buffer } */
static napi_value shm_create(napi_env env, napi_callback_info info)
{
  size_t argc = 1;
  napi_value argv[1], out, fdv, ab;
  double bytes;
  int fd, err;
  void *addr;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) return throw_code(env, "ERR_SHM_PARAM", "shm.create(bytes): bytes is missing", 0);
  if (!int_arg(env, argv[0], "bytes", 1, SHM_MAX_BYTES, &bytes)) return NULL;

  fd = memfd_create("trgwd-shm", MFD_CLOEXEC);
  if (fd < 0) return throw_code(env, "ERR_SHM_CREATE", "shm: memfd_create failed", errno);
  if (ftruncate(fd, (off_t)bytes) != 0) {
    err = errno;
    close(fd);
    return throw_code(env, "ERR_SHM_CREATE", "shm: ftruncate failed", err);
  }
  addr = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) {
    err = errno;
    close(fd);
    return throw_code(env, "ERR_SHM_MAP", "shm: mmap failed", err);
  }
  if ((ab = external_buffer(env, addr, (size_t)bytes, fd)) == NULL) return NULL;
  if (napi_create_object(env, &out) != napi_ok) return NULL;
  if (napi_create_int32(env, fd, &fdv) != napi_ok) return NULL;
  napi_set_named_property(env, out, "fd", fdv);
  napi_set_named_property(env, out, "buffer", ab);
  return out;
}

/* open(pid, fd, bytes) -> ArrayBuffer over /proc/<pid>/fd/<fd> */
static napi_value shm_open_fn(napi_env env, napi_callback_info info)
{
  size_t argc = 3;
  napi_value argv[3];
  double pid, theirs, bytes;
  char path[64], what[128];
  struct stat st;
  int fd, err;
  void *addr;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3) return throw_code(env, "ERR_SHM_PARAM", "shm.open(pid, fd, bytes): arguments missing", 0);
  if (!int_arg(env, argv[0], "pid", 1, 4194304, &pid)) return NULL;
  if (!int_arg(env, argv[1], "fd", 0, 2147483647.0, &theirs)) return NULL;
  if (!int_arg(env, argv[2], "bytes", 1, SHM_MAX_BYTES, &bytes)) return NULL;

  snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, (int)theirs);
  fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    snprintf(what, sizeof what, "shm: cannot open %s", path);
    return throw_code(env, "ERR_SHM_OPEN", what, err);
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (double)st.st_size < bytes) {
    close(fd);
    snprintf(what, sizeof what, "shm: %s is not a shared memory file of at least %.0f bytes", path, bytes);
    return throw_code(env, "ERR_SHM_SIZE", what, 0);
  }
  addr = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  err = errno;
  close(fd); /* the mapping keeps the memory; no descriptor per mapping in this process */
  if (addr == MAP_FAILED) return throw_code(env, "ERR_SHM_MAP", "shm: mmap failed", err);
  return external_buffer(env, addr, (size_t)bytes, -1);
}

#else /* !__linux__ */

static napi_value shm_create(napi_env env, napi_callback_info info)
{
  return throw_code(env, "ERR_SHM_UNSUPPORTED", "shm: shared memory between processes needs Linux (memfd)", 0);
}

static napi_value shm_open_fn(napi_env env, napi_callback_info info)
{
  return throw_code(env, "ERR_SHM_UNSUPPORTED", "shm: shared memory between processes needs Linux (memfd)", 0);
}

#endif

napi_status trgwd_shm_register(napi_env env, napi_value exports)
{
  static const trgwd_named_fn fns[] = { { "create", shm_create }, { "open", shm_open_fn } };
  napi_value shm, max;
  napi_status st;
  if ((st = napi_create_object(env, &shm)) != napi_ok) return st;
  if ((st = trgwd_set_fns(env, shm, fns, TRGWD_COUNT(fns))) != napi_ok) return st;
  if ((st = napi_create_double(env, SHM_MAX_BYTES, &max)) != napi_ok) return st;
  if ((st = napi_set_named_property(env, shm, "maxBytes", max)) != napi_ok) return st;
  return napi_set_named_property(env, exports, "shm", shm);
}
