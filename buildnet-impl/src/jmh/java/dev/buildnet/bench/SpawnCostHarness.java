package dev.buildnet.bench;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.exec.ProcessShellProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@link SpawnBenchmark}'s start-and-wait of {@code /bin/true}, reporting per command what does not
 * depend on how much of a shared machine this process got: the JVM's CPU time and its voluntary and
 * involuntary context switches (thread wake-ups), from {@code getrusage}, which counts every thread,
 * ended ones included. Linux only. {@code java -Djdk.lang.Process.launchMechanism=VFORK -cp
 * benchmarks.jar dev.buildnet.bench.SpawnCostHarness embedded|subreaper|start|bare [commands]
 * [rounds]}: {@code embedded} and {@code subreaper} wait with {@code run(spec)} (the calling thread
 * runs the command's loop), {@code start} with {@code start(spec, listener).result().join()} (a
 * thread of the provider's runs it and hands the result back), {@code bare} is {@link
 * ProcessBuilder} alone. Each round's line ends with the 1-minute load average.
 */
public final class SpawnCostHarness {
  private static final int RUSAGE_SELF = 0;

  /** The C library's getrusage, as JNA binds it. */
  public interface CLib extends Library {
    int getrusage(int who, Memory usage);
  }

  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "embedded";
    int commands = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    CLib libc = Native.load("c", CLib.class);
    ProcessShellProvider shell =
        ProcessShellProvider.builder().subreaper(mode.equals("subreaper")).build();
    CommandSpec spec = CommandSpec.of(List.of("/bin/true"), Path.of("/"), Map.of());
    Runnable one =
        mode.equals("bare")
            ? () -> {
              try {
                new ProcessBuilder("/bin/true").start().waitFor();
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            }
            : mode.equals("start")
                ? () -> {
                  if (shell.start(spec, OutputListener.discard()).result().join().exitCode() != 0) {
                    throw new IllegalStateException("/bin/true failed");
                  }
                }
                : () -> {
                  if (shell.run(spec).exitCode() != 0) {
                    throw new IllegalStateException("/bin/true failed");
                  }
                };
    for (int i = 0; i < 2000; i++) {
      one.run(); // warm-up: JIT, thread pools
    }
    for (int r = 0; r < rounds; r++) {
      measure(libc, mode, "command", commands, () -> {
        for (int i = 0; i < commands; i++) {
          one.run();
        }
      });
    }
  }

  /**
   * Runs {@code body} (which does {@code n} units of work) once and prints its wall time, this
   * JVM's CPU time and context switches per unit, and the 1-minute load average.
   */
  static void measure(CLib libc, String label, String unit, int n, Runnable body)
      throws java.io.IOException {
    long[] before = usage(libc);
    long t0 = System.nanoTime();
    body.run();
    long t1 = System.nanoTime();
    long[] after = usage(libc);
    System.out.printf(
        "%s: wall %.0f us, JVM CPU %.0f us, voluntary switches %.2f, involuntary %.2f per %s"
            + " (load %s)%n",
        label,
        (t1 - t0) / 1e3 / n,
        (after[0] - before[0]) / (double) n,
        (after[1] - before[1]) / (double) n,
        (after[2] - before[2]) / (double) n,
        unit,
        Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
  }

  /** CPU microseconds (user + system), voluntary and involuntary context switches. */
  private static long[] usage(CLib libc) {
    // struct rusage on 64-bit Linux: two timevals, then 14 longs; nvcsw and nivcsw are the last two.
    Memory m = new Memory(144);
    if (libc.getrusage(RUSAGE_SELF, m) != 0) {
      throw new IllegalStateException("getrusage failed");
    }
    long cpu = (m.getLong(0) + m.getLong(16)) * 1_000_000 + m.getLong(8) + m.getLong(24);
    return new long[] {cpu, m.getLong(128), m.getLong(136)};
  }
}
