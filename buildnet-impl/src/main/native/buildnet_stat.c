/*
 * BuildNet's batched file check (dev.buildnet.internal.hash.StatBatch): one JNI call stats a
 * batch of remembered files and compares each with the fields its digest was remembered at.
 *
 * Why: a null build confirms every remembered input and output with one statx. From the JVM each
 * call cost 0.5-0.8 us more than the same statx in a C loop (JNA's per-call work, the transition,
 * the Java code between calls); a target's inputs in one call take that away.
 *
 * The comparison is exactly NativeStat.isRegularFileAt's: a regular file (after following links
 * or not, as asked) whose size, mtime and ctime in nanoseconds (saturated as the JDK does),
 * device (encoded as glibc's makedev) and inode equal the remembered ones. Whatever that method
 * would leave to the JDK (an error but "no such file", a field the file system does not report)
 * is reported as unknown, and the Java side takes the JDK's path for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <jni.h>
#include <stdint.h>
#include <sys/stat.h>

#define EXPORT __attribute__((visibility("default")))

/* One entry, as StatBatch writes it: the remembered fields, where its path is, how to stat it. */
#define ENTRY_BYTES 56
#define OFF_SIZE 0
#define OFF_MTIME 8
#define OFF_CTIME 16
#define OFF_DEV 24
#define OFF_INO 32
#define OFF_PATH 40   /* int32: the NUL-terminated path's offset from the buffer's start */
#define OFF_FOLLOW 44 /* int32: 1 = stat, 0 = lstat */
#define OFF_RESULT 48 /* int32, written here: 1 same, 0 changed or missing, -1 unknown */

#define SAME 1
#define CHANGED 0
#define UNKNOWN (-1)

#define WANTED (STATX_TYPE | STATX_MODE | STATX_MTIME | STATX_CTIME | STATX_INO | STATX_SIZE)

/* Nanoseconds since the epoch, saturated where they do not fit (FileTime.to(NANOSECONDS)). */
static int64_t nanos(struct statx_timestamp t) {
  int64_t ns;
  if (__builtin_mul_overflow((int64_t)t.tv_sec, (int64_t)1000000000, &ns)
      || __builtin_add_overflow(ns, (int64_t)t.tv_nsec, &ns)) {
    return t.tv_sec < 0 ? INT64_MIN : INT64_MAX;
  }
  return ns;
}

/* glibc's makedev, which is how st_dev (and so the JDK's "unix:dev") encodes. */
static int64_t device(uint32_t major, uint32_t minor) {
  uint64_t ma = major, mi = minor;
  return (int64_t)(((ma & 0xfffff000ULL) << 32) | ((ma & 0x00000fffULL) << 8)
      | ((mi & 0xffffff00ULL) << 12) | (mi & 0x000000ffULL));
}

static int32_t check_one(const char *base, const char *entry) {
  const int64_t *remembered = (const int64_t *)entry;
  const int32_t *where = (const int32_t *)(entry + OFF_PATH);
  int flags = where[1] ? 0 : AT_SYMLINK_NOFOLLOW;
  struct statx st;
  int rc;
  do {
    rc = statx(AT_FDCWD, base + where[0], flags, WANTED, &st);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    return errno == ENOENT ? CHANGED : UNKNOWN;
  }
  if ((st.stx_mask & WANTED) != WANTED) {
    return UNKNOWN;
  }
  return S_ISREG(st.stx_mode) && (int64_t)st.stx_size == remembered[OFF_SIZE / 8]
      && nanos(st.stx_mtime) == remembered[OFF_MTIME / 8]
      && nanos(st.stx_ctime) == remembered[OFF_CTIME / 8]
      && device(st.stx_dev_major, st.stx_dev_minor) == remembered[OFF_DEV / 8]
      && (int64_t)st.stx_ino == remembered[OFF_INO / 8] ? SAME : CHANGED;
}

/* Checks the count entries at buffer (a direct buffer's address); returns how many are SAME. */
EXPORT jint JNICALL Java_dev_buildnet_internal_hash_StatBatch_check(JNIEnv *env, jclass type,
    jlong buffer, jint count) {
  (void)env;
  (void)type;
  char *base = (char *)(intptr_t)buffer;
  jint same = 0;
  for (jint i = 0; i < count; i++) {
    char *entry = base + (size_t)i * ENTRY_BYTES;
    int32_t result = check_one(base, entry);
    *(int32_t *)(entry + OFF_RESULT) = result;
    same += result == SAME;
  }
  return same;
}

EXPORT jlong JNICALL Java_dev_buildnet_internal_hash_StatBatch_address(JNIEnv *env, jclass type,
    jobject buffer) {
  (void)type;
  return (jlong)(intptr_t)(*env)->GetDirectBufferAddress(env, buffer);
}
