package dev.buildnet.internal.protocol;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The checks the generated {@link Payloads} constructors call: the per-field limits that {@code
 * docs/protocol/schema.json} declares ({@code non_empty}, {@code min}, {@code length}, ...) and the
 * cross-field rules it names (hand-written here because they are code; the schema says where each
 * runs). Python has the same checks in {@code buildnet/protocol/_checks.py}, with the same
 * messages, so both sides accept and reject the same payloads.
 */
final class PayloadRules {
  private PayloadRules() {}

  // ---- per-field limits ----------------------------------------------------------------------

  static void nonEmpty(String name, String value) {
    Objects.requireNonNull(value, name);
    if (value.isEmpty()) {
      throw new IllegalArgumentException(name + " must not be empty");
    }
  }

  static void nonEmpty(String name, List<?> value) {
    if (value != null && value.isEmpty()) {
      throw new IllegalArgumentException(name + " must not be empty");
    }
  }

  static void nonNegative(String name, Long value) {
    if (value != null && value < 0) {
      throw new IllegalArgumentException(name + " must not be negative but was " + value);
    }
  }

  static void positive(String name, Long value) {
    if (value != null) {
      positive(name, value.longValue());
    }
  }

  static void positive(String name, long value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be at least 1 but was " + value);
    }
  }

  static void range(String name, Long value, long min, long max) {
    if (value != null && (value < min || value > max)) {
      throw new IllegalArgumentException(
          name + " must be " + min + ".." + max + " but was " + value);
    }
  }

  static void length(String name, byte[] value, int expected) {
    if (value != null && value.length != expected) {
      throw new IllegalArgumentException(
          name + " must be " + expected + " bytes but was " + value.length);
    }
  }

  static void maxLength(String name, byte[] value, int max) {
    if (value != null && value.length > max) {
      throw new IllegalArgumentException(
          name + " must be at most " + max + " bytes but was " + value.length);
    }
  }

  static void oneOf(String name, String value, List<String> allowed) {
    if (value != null && !allowed.contains(value)) {
      StringBuilder b = new StringBuilder(name).append(" must be ");
      for (int i = 0; i < allowed.size(); i++) {
        if (i > 0) {
          b.append(i == allowed.size() - 1 ? " or " : ", ");
        }
        b.append('\'').append(allowed.get(i)).append('\'');
      }
      throw new IllegalArgumentException(b.append(" but was '").append(value).append('\'').toString());
    }
  }

  static <T> List<T> copy(List<T> list) {
    return list == null ? null : List.copyOf(list);
  }

  static <K, V> Map<K, V> copy(Map<K, V> map) {
    return map == null ? null : Map.copyOf(map);
  }

  // ---- cross-field rules (named in the schema's "rules") -------------------------------------

  /** HELLO: a worker states its resources. */
  static void workerResources(String role, Long cpuSlots, Long memoryMb) {
    if (role.equals(Payloads.Hello.WORKER) && (cpuSlots == null || memoryMb == null)) {
      throw new IllegalArgumentException("a worker's HELLO must state cpu_slots and memory_mb");
    }
  }

  /** HELLO_ACK: accepting needs the listener's proof, refusing an error code and reason. */
  static void acceptedOrRefused(boolean accepted, byte[] proof, Long errorCode, String reason) {
    if (accepted) {
      Objects.requireNonNull(proof, "an accepting HELLO_ACK needs the listener's proof");
      length("proof", proof, Payloads.NONCE_BYTES);
    } else if (errorCode == null || reason == null) {
      throw new IllegalArgumentException("a refusing HELLO_ACK needs error_code and reason");
    }
  }

  /** TARGET_RUN: the bundler fields come together, and only with a bundler. */
  static void bundlerFields(
      String bundler, List<String> entrypoints, String outDir, Map<String, String> bundlerOptions) {
    if (bundler != null) {
      if (entrypoints == null || entrypoints.isEmpty() || outDir == null) {
        throw new IllegalArgumentException(
            "a bundler TARGET_RUN needs entrypoints (at least one) and out_dir");
      }
    } else if (entrypoints != null || outDir != null || bundlerOptions != null) {
      throw new IllegalArgumentException(
          "entrypoints, out_dir and bundler_options belong to a bundler TARGET_RUN");
    }
  }

  /** STATE_SET: a compare-and-set is neither if-absent nor expiring. */
  static void conditionalWrite(Long ttlMs, Boolean ifAbsent, byte[] expected) {
    if (expected != null && Boolean.TRUE.equals(ifAbsent)) {
      throw new IllegalArgumentException("if_absent and expected exclude each other");
    }
    if (expected != null && ttlMs != null) {
      throw new IllegalArgumentException("a compare-and-set (expected) takes no ttl_ms");
    }
  }

  /** BLOB_PUT, BLOB_CHUNK: the last chunk names the whole blob, and its size adds up. */
  static void lastChunk(long offset, byte[] data, boolean last, String digest, Long size) {
    if (last) {
      if (digest == null || size == null) {
        throw new IllegalArgumentException("the last chunk needs digest and size");
      }
      if (size != offset + data.length) {
        throw new IllegalArgumentException(
            "the last chunk ends at " + (offset + data.length) + " but size says " + size);
      }
    }
  }

  /** SUBSCRIBE: {@code since} counts one build's events. */
  static void sinceNeedsBuild(String buildId, Long since) {
    if (since != null && buildId == null) {
      throw new IllegalArgumentException("since needs build_id: it counts one build's events");
    }
  }

  /** EVENT: a log event carries its stream and line. */
  static void logLine(String kind, String stream, String line) {
    if (kind.equals("log") && (line == null || stream == null)) {
      throw new IllegalArgumentException("a log event needs stream and line");
    }
  }
}
