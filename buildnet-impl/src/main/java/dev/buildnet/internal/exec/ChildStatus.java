package dev.buildnet.internal.exec;

import com.sun.jna.Memory;

/**
 * A child's exit status as {@code waitid(P_PIDFD, ...)} reports it: the flags and the {@code
 * siginfo_t} decoding that {@link CommandLoop} (reading a root's status) and {@link
 * SpawnedProcess} (reaping its own child) share.
 */
final class ChildStatus {
  // The one number every architecture shares: pidfd_open came after the syscall tables merged.
  static final long SYS_PIDFD_OPEN = 434;
  static final int SIGINFO_BYTES = 128;
  static final int P_PIDFD = 3;
  static final int WEXITED = 4;
  static final int WNOWAIT = 0x01000000;
  private static final int CLD_EXITED = 1;
  private static final int CLD_KILLED = 2;
  private static final int CLD_DUMPED = 3;

  private ChildStatus() {}

  /**
   * The exit code (a signal's death as {@code 0x80 + signal}, as a shell reports it) from a
   * {@code siginfo_t} that {@code waitid} filled, or {@code otherwise} when it reported nothing
   * or a state that is not an end. 64-bit Linux layout (not MIPS): si_code at 8, si_pid at 16,
   * si_status at 24.
   */
  static int exitCode(Memory siginfo, int otherwise) {
    if (siginfo.getInt(16) == 0) {
      return otherwise;
    }
    int code = siginfo.getInt(8);
    int status = siginfo.getInt(24);
    if (code == CLD_EXITED) {
      return status;
    }
    return code == CLD_KILLED || code == CLD_DUMPED ? 0x80 + status : otherwise;
  }
}
