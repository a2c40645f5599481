package dev.buildnet.internal.exec;

import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.ShellProvider;
import java.io.IOException;
import java.nio.channels.spi.AbstractInterruptibleChannel;
import java.util.Objects;

/**
 * How {@link TargetStep} has the provider's {@code ProcessShellProvider} start a command whose
 * loop ({@link CommandLoop}) the calling thread then runs itself, as {@code run} does, while it
 * can still be cancelled from elsewhere: {@code start} would hand the loop to a thread of the
 * provider's pool, which then wakes for the command and hands its result back. That method is not
 * public; {@code ProcessShellProvider} registers the accessor when its class initializes.
 */
public final class CallerDriven {
  private CallerDriven() {}

  /** Implemented once, by {@code ProcessShellProvider}. */
  public interface Access {
    /**
     * Starts {@code spec} as {@code start} does, but with its loop left for the caller ({@link
     * ProcessRun#driveOnCaller()}) where it gets one and the caller is not a virtual thread; null
     * if {@code shell} is not a provider of that kind.
     */
    ProcessRun start(ShellProvider shell, CommandSpec spec, OutputListener listener);
  }

  private static volatile Access access;

  /** Called by {@code ProcessShellProvider}'s static initializer; a second call is refused. */
  public static synchronized void register(Access a) {
    if (access != null) {
      throw new IllegalStateException("caller-driven start is already registered");
    }
    access = Objects.requireNonNull(a, "access");
  }

  /**
   * {@code spec} started with its loop left for the caller, or null if {@code shell} cannot do
   * that (another provider: use its {@code start}). Until its class has initialized no provider
   * of the kind exists, so a missing accessor means another provider.
   */
  static ProcessRun start(ShellProvider shell, CommandSpec spec, OutputListener listener) {
    Access a = access;
    return a == null ? null : a.start(shell, spec, listener);
  }

  /**
   * Runs {@code run}'s loop on the calling thread; an interrupt of the thread meanwhile cancels
   * the command, which ends the loop once the tree is stopped. The loop blocks in {@code poll(2)},
   * which an interrupt does not wake: a channel's interruptor is the JDK's public hook that runs
   * on {@link Thread#interrupt()}, and here it cancels the command instead of closing a file.
   * An interrupt that came before this call cancels at once. The interrupt status is left set.
   */
  static void drive(ProcessRun run) {
    CancelOnInterrupt hook = new CancelOnInterrupt(run);
    hook.enter();
    try {
      run.driveOnCaller();
    } finally {
      hook.leave();
    }
  }

  /** A channel with nothing to read: only its interruptor is used. */
  private static final class CancelOnInterrupt extends AbstractInterruptibleChannel {
    private final ProcessRun run;

    CancelOnInterrupt(ProcessRun run) {
      this.run = run;
    }

    void enter() {
      begin(); // runs implCloseChannel at once if the thread is interrupted already
    }

    void leave() {
      try {
        end(true);
      } catch (IOException e) {
        // ClosedByInterruptException: the interrupt that cancelled the command. end() took the
        // hook off this thread either way, and the interrupt status stays set for the caller.
      }
    }

    @Override
    protected void implCloseChannel() {
      // On the interrupting thread: cancel() only hands the stop to the provider's scheduler.
      try {
        run.cancel();
      } catch (RuntimeException e) {
        // Not the interrupter's to handle (no scheduler thread could be had, say); the caller
        // still ends once the command does, and a timeout in its spec still applies.
      }
    }
  }
}
