/*
 * BuildNet's JNI binding of SQLite, for the SQLite state backend (dev.buildnet.internal.state.
 * NativeSqlite is the Java side). SQLite itself (sqlite/sqlite3.c, the amalgamation) is compiled
 * into the same library by build.sh, its symbols hidden: it depends on no SQLite installed on the
 * machine, and cannot clash with another copy loaded in the process.
 *
 * Why it exists: through sqlite-jdbc a key read is six synchronized native calls plus copies, and
 * every bound value one more; here each statement run is ONE native call. Java writes all the
 * arguments into a direct buffer, step() binds them straight from it (SQLITE_STATIC: no copy),
 * steps, copies the row into a second direct buffer and resets. A 128-row upsert is one call.
 *
 * Buffer formats (native byte order, unaligned), one value: a tag byte (SQLite's type codes:
 * 1 INTEGER + 8 bytes, 2 FLOAT + 8 bytes, 3 TEXT or 4 BLOB + a 4-byte length and the bytes,
 * 5 NULL). Arguments are argCount values; a row is a 4-byte column count and then the columns.
 */
#include <jni.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

#include "sqlite3.h"

/* Modes of step(), as in NativeSqlite. */
#define MODE_BIND 1       /* bind argCount arguments from the argument buffer first */
#define MODE_RESET_ROW 2  /* reset after copying a row (queryRow); otherwise stay on it */
#define MODE_EXPECT_DONE 4 /* a statement without rows: return the changes, or -1 for a row */


static jclass sql_exception;       /* java.sql.SQLException, a global reference */
static jmethodID sql_exception_new; /* SQLException(String reason, String state, int code) */

EXPORT jint JNI_OnLoad(JavaVM *vm, void *reserved) {
  (void)reserved;
  JNIEnv *env;
  if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK) {
    return JNI_ERR;
  }
  jclass local = (*env)->FindClass(env, "java/sql/SQLException");
  if (local == NULL) {
    return JNI_ERR;
  }
  sql_exception = (*env)->NewGlobalRef(env, local);
  sql_exception_new = (*env)->GetMethodID(
      env, sql_exception, "<init>", "(Ljava/lang/String;Ljava/lang/String;I)V");
  return sql_exception_new == NULL ? JNI_ERR : JNI_VERSION_1_8;
}

/* SQLite's names of its primary result codes, for messages like sqlite-jdbc's "[SQLITE_FULL]". */
static const char *code_name(int code) {
  static const char *names[] = {"SQLITE_OK", "SQLITE_ERROR", "SQLITE_INTERNAL", "SQLITE_PERM",
      "SQLITE_ABORT", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_NOMEM", "SQLITE_READONLY",
      "SQLITE_INTERRUPT", "SQLITE_IOERR", "SQLITE_CORRUPT", "SQLITE_NOTFOUND", "SQLITE_FULL",
      "SQLITE_CANTOPEN", "SQLITE_PROTOCOL", "SQLITE_EMPTY", "SQLITE_SCHEMA", "SQLITE_TOOBIG",
      "SQLITE_CONSTRAINT", "SQLITE_MISMATCH", "SQLITE_MISUSE", "SQLITE_NOLFS", "SQLITE_AUTH",
      "SQLITE_FORMAT", "SQLITE_RANGE", "SQLITE_NOTADB"};
  int primary = code & 0xff;
  return primary < (int)(sizeof names / sizeof names[0]) ? names[primary] : "SQLITE_UNKNOWN";
}

/* Throws SQLException("[NAME] detail", null, extendedCode); the detail is made ASCII, since
 * NewStringUTF takes modified UTF-8 and SQLite's messages may quote any bytes (a path). */
static void throw_sql(JNIEnv *env, int code, const char *detail) {
  char message[512];
  snprintf(message, sizeof message, "[%s] %s", code_name(code), detail ? detail : "");
  for (char *c = message; *c; c++) {
    if ((unsigned char)*c >= 0x80) {
      *c = '?';
    }
  }
  jstring text = (*env)->NewStringUTF(env, message);
  if (text == NULL) {
    return; /* OutOfMemoryError pending */
  }
  jobject failure = (*env)->NewObject(env, sql_exception, sql_exception_new, text, NULL, code);
  if (failure != NULL) {
    (*env)->Throw(env, (jthrowable)failure);
  }
}

/* Throws the connection's current error; copies the message before reset() may change it. */
static void throw_db(JNIEnv *env, sqlite3 *db, sqlite3_stmt *stmt) {
  char detail[400];
  int code = sqlite3_extended_errcode(db);
  snprintf(detail, sizeof detail, "%s", sqlite3_errmsg(db));
  if (stmt != NULL) {
    sqlite3_reset(stmt);
  }
  throw_sql(env, code, detail);
}


EXPORT jstring JNICALL Java_dev_buildnet_internal_state_NativeSqlite_version(
    JNIEnv *env, jclass type) {
  (void)type;
  return (*env)->NewStringUTF(env, sqlite3_libversion());
}

/* path: NUL-terminated UTF-8. Returns the connection, or throws. */
EXPORT jlong JNICALL Java_dev_buildnet_internal_state_NativeSqlite_open(
    JNIEnv *env, jclass type, jbyteArray path, jint flags, jint busy_millis) {
  (void)type;
  jbyte *bytes = (*env)->GetByteArrayElements(env, path, NULL);
  if (bytes == NULL) {
    return 0;
  }
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2((const char *)bytes, &db, flags, NULL);
  (*env)->ReleaseByteArrayElements(env, path, bytes, JNI_ABORT);
  if (rc == 0) {
    rc = sqlite3_busy_timeout(db, busy_millis);
  }
  if (rc != 0) {
    if (db == NULL) {
      throw_sql(env, rc, sqlite3_errstr(rc));
    } else {
      throw_db(env, db, NULL);
      sqlite3_close(db);
    }
    return 0;
  }
  return (jlong)(intptr_t)db;
}

EXPORT void JNICALL Java_dev_buildnet_internal_state_NativeSqlite_close(
    JNIEnv *env, jclass type, jlong handle) {
  (void)type;
  sqlite3 *db = (sqlite3 *)(intptr_t)handle;
  if (sqlite3_close(db) != 0) {
    throw_db(env, db, NULL);
  }
}

/* sql: UTF-8 without terminator. Returns the statement, or throws. */
EXPORT jlong JNICALL Java_dev_buildnet_internal_state_NativeSqlite_prepare(
    JNIEnv *env, jclass type, jlong handle, jbyteArray sql, jint persistent) {
  (void)type;
  sqlite3 *db = (sqlite3 *)(intptr_t)handle;
  jsize length = (*env)->GetArrayLength(env, sql);
  jbyte *bytes = (*env)->GetByteArrayElements(env, sql, NULL);
  if (bytes == NULL) {
    return 0;
  }
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v3(db, (const char *)bytes, length,
      persistent ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, NULL);
  (*env)->ReleaseByteArrayElements(env, sql, bytes, JNI_ABORT);
  if (rc != 0) {
    throw_db(env, db, NULL);
    return 0;
  }
  if (stmt == NULL) {
    throw_sql(env, 21, "no SQL statement in the text"); /* SQLITE_MISUSE */
  }
  return (jlong)(intptr_t)stmt;
}

EXPORT void JNICALL Java_dev_buildnet_internal_state_NativeSqlite_finalizeStatement(
    JNIEnv *env, jclass type, jlong statement) {
  (void)env;
  (void)type;
  /* Its result repeats the statement's last error, which was reported when it happened. */
  sqlite3_finalize((sqlite3_stmt *)(intptr_t)statement);
}

EXPORT jlong JNICALL Java_dev_buildnet_internal_state_NativeSqlite_address(
    JNIEnv *env, jclass type, jobject buffer) {
  (void)type;
  return (jlong)(intptr_t)(*env)->GetDirectBufferAddress(env, buffer);
}

/* Binds count values from args; returns SQLite's code of the first failure, or 0. */
static int bind(sqlite3_stmt *stmt, const unsigned char *args, int count) {
  for (int i = 1; i <= count; i++) {
    int tag = *args++;
    int rc;
    int32_t length;
    switch (tag) {
      case SQLITE_INTEGER: {
        sqlite3_int64 value;
        memcpy(&value, args, 8);
        args += 8;
        rc = sqlite3_bind_int64(stmt, i, value);
        break;
      }
      case SQLITE_FLOAT: {
        double value;
        memcpy(&value, args, 8);
        args += 8;
        rc = sqlite3_bind_double(stmt, i, value);
        break;
      }
      case SQLITE_TEXT:
      case SQLITE_BLOB:
        memcpy(&length, args, 4);
        args += 4;
        /* STATIC: the buffer holds the bytes until the next run rebinds them. A zero-length BLOB
         * stays a BLOB because the pointer is never NULL. */
        rc = tag == SQLITE_TEXT ? sqlite3_bind_text(stmt, i, (const char *)args, length, SQLITE_STATIC)
                                : sqlite3_bind_blob(stmt, i, args, length, SQLITE_STATIC);
        args += length;
        break;
      default:
        rc = sqlite3_bind_null(stmt, i);
        break;
    }
    if (rc != 0) {
      return rc;
    }
  }
  return 0;
}

/* Copies the current row into row; returns its size, or minus the size it needs. */
static jint copy_row(sqlite3_stmt *stmt, unsigned char *row, jint capacity) {
  int32_t columns = sqlite3_column_count(stmt);
  int64_t size = 4;
  unsigned char *out = row + 4;
  int fits = capacity >= 4;
  if (fits) {
    memcpy(row, &columns, 4);
  }
  for (int i = 0; i < columns; i++) {
    int type = sqlite3_column_type(stmt, i);
    if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
      size += 9;
      if (fits && size <= capacity) {
        *out++ = (unsigned char)type;
        if (type == SQLITE_INTEGER) {
          sqlite3_int64 value = sqlite3_column_int64(stmt, i);
          memcpy(out, &value, 8);
        } else {
          double value = sqlite3_column_double(stmt, i);
          memcpy(out, &value, 8);
        }
        out += 8;
      }
    } else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
      /* The pointer first, then its length: SQLite's documented order. */
      const void *bytes = type == SQLITE_TEXT ? (const void *)sqlite3_column_text(stmt, i)
                                              : sqlite3_column_blob(stmt, i);
      int32_t length = sqlite3_column_bytes(stmt, i);
      size += 5 + (int64_t)length;
      if (fits && size <= capacity) {
        *out++ = (unsigned char)type;
        memcpy(out, &length, 4);
        out += 4;
        if (length > 0) {
          memcpy(out, bytes, (size_t)length);
        }
        out += length;
      }
    } else {
      size += 1;
      if (fits && size <= capacity) {
        *out++ = SQLITE_NULL;
      }
    }
  }
  return size <= capacity ? (jint)size : (jint)-size;
}

/*
 * One run of a statement: binds (MODE_BIND), steps once, and
 * - with MODE_EXPECT_DONE returns the changes, or -1 (after a reset) if a row came back;
 * - otherwise returns 0 when there is no row (reset), or the row's size once copied into row
 *   (reset if MODE_RESET_ROW), or minus the size it needs (not reset: readRow copies it).
 * Throws SQLException, after a reset, when SQLite fails.
 */
EXPORT jint JNICALL Java_dev_buildnet_internal_state_NativeSqlite_step(JNIEnv *env, jclass type,
    jlong handle, jlong statement, jlong args, jint arg_count, jlong row, jint capacity,
    jint mode) {
  (void)type;
  sqlite3 *db = (sqlite3 *)(intptr_t)handle;
  sqlite3_stmt *stmt = (sqlite3_stmt *)(intptr_t)statement;
  if (mode & MODE_BIND) {
    /*
     * Every parameter is bound on every run. A parameter left out would keep its last binding,
     * and text and BLOBs are bound SQLITE_STATIC: a pointer into an argument buffer Java may have
     * replaced (and freed) since.
     */
    int parameters = sqlite3_bind_parameter_count(stmt);
    if (parameters != arg_count) {
      char detail[96];
      snprintf(detail, sizeof detail, "%d arguments for %d parameters", (int)arg_count, parameters);
      throw_sql(env, 25, detail); /* SQLITE_RANGE */
      return 0;
    }
    int rc = bind(stmt, (const unsigned char *)(intptr_t)args, arg_count);
    if (rc != 0) {
      throw_db(env, db, stmt);
      return 0;
    }
  }
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(stmt);
    return mode & MODE_EXPECT_DONE ? sqlite3_changes(db) : 0;
  }
  if (rc != SQLITE_ROW) {
    throw_db(env, db, stmt);
    return 0;
  }
  if (mode & MODE_EXPECT_DONE) {
    sqlite3_reset(stmt);
    return -1;
  }
  jint size = copy_row(stmt, (unsigned char *)(intptr_t)row, capacity);
  if (size > 0 && (mode & MODE_RESET_ROW)) {
    sqlite3_reset(stmt);
  }
  return size;
}

/* Copies the current row again, into a larger buffer; resets after it if reset is set. */
EXPORT jint JNICALL Java_dev_buildnet_internal_state_NativeSqlite_readRow(JNIEnv *env,
    jclass type, jlong statement, jlong row, jint capacity, jboolean reset) {
  (void)env;
  (void)type;
  sqlite3_stmt *stmt = (sqlite3_stmt *)(intptr_t)statement;
  jint size = copy_row(stmt, (unsigned char *)(intptr_t)row, capacity);
  if (size > 0 && reset) {
    sqlite3_reset(stmt);
  }
  return size;
}

/* Resets a statement left on a row (forEachRow stopped early, or failed while reading). */
EXPORT void JNICALL Java_dev_buildnet_internal_state_NativeSqlite_reset(
    JNIEnv *env, jclass type, jlong statement) {
  (void)env;
  (void)type;
  sqlite3_reset((sqlite3_stmt *)(intptr_t)statement);
}
