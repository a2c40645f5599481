package dev.buildnet.exec;

/**
 * The two ways the provider starts a command, for tests that must hold on both: {@code
 * posix_spawn} through JNA where it can be had (Linux, glibc 2.34+, pidfds; elsewhere the same as
 * the other), and {@link ProcessBuilder}, the fallback.
 */
enum Launch {
  POSIX_SPAWN,
  PROCESS_BUILDER;

  ProcessShellProvider.Builder builder() {
    ProcessShellProvider.Builder b = ProcessShellProvider.builder();
    return this == PROCESS_BUILDER ? b.withoutPosixSpawn() : b;
  }
}
