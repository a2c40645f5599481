package dev.buildnet.bench;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.exec.ProcessShellProvider;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The provider's two start paths in one JVM, so that the machine's load falls on both alike:
 * {@code posix_spawn} (the default on Linux) and {@link ProcessBuilder} (the fallback, which the
 * builder's test-only {@code withoutPosixSpawn()} forces; reached by reflection). Alternates
 * blocks of {@code /bin/true}, swapping which path goes first every pair, and prints per path the
 * quartiles of wall time, JVM CPU and voluntary context switches per command ({@code getrusage}).
 * Linux only. {@code java [-Djdk.lang.Process.launchMechanism=VFORK] -cp benchmarks.jar
 * dev.buildnet.bench.SpawnPathsHarness [block] [pairs]}.
 */
public final class SpawnPathsHarness {
  /** The C library's getrusage, as JNA binds it. */
  public interface CLib extends Library {
    int getrusage(int who, Memory usage);
  }

  public static void main(String[] args) throws Exception {
    int block = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    int pairs = args.length > 1 ? Integer.parseInt(args[1]) : 16;
    CLib libc = Native.load("c", CLib.class);
    ProcessShellProvider.Builder jdkBuilder = ProcessShellProvider.builder();
    Method force = jdkBuilder.getClass().getDeclaredMethod("withoutPosixSpawn");
    force.setAccessible(true);
    force.invoke(jdkBuilder);
    ProcessShellProvider[] shells = {ProcessShellProvider.builder().build(), jdkBuilder.build()};
    String[] names = {"posix_spawn", "ProcessBuilder"};
    CommandSpec spec = CommandSpec.of(List.of("/bin/true"), Path.of("/"), Map.of());
    for (int i = 0; i < 1500; i++) { // warm-up: JIT, thread pools
      shells[0].run(spec);
      shells[1].run(spec);
    }
    List<List<double[]>> results = List.of(new ArrayList<>(), new ArrayList<>());
    int firstWins = 0;
    for (int p = 0; p < pairs; p++) {
      double[] wall = new double[2];
      for (int turn = 0; turn < 2; turn++) {
        int k = p % 2 == 0 ? turn : 1 - turn;
        long[] before = usage(libc);
        long t0 = System.nanoTime();
        for (int i = 0; i < block; i++) {
          if (shells[k].run(spec).exitCode() != 0) {
            throw new IllegalStateException("/bin/true failed");
          }
        }
        long t1 = System.nanoTime();
        long[] after = usage(libc);
        wall[k] = (t1 - t0) / 1e3 / block;
        results.get(k).add(new double[] {
            wall[k], (after[0] - before[0]) / (double) block, (after[1] - before[1]) / (double) block});
      }
      if (wall[0] < wall[1]) {
        firstWins++;
      }
    }
    String[] measures = {"wall us", "JVM CPU us", "voluntary switches"};
    for (int k = 0; k < 2; k++) {
      for (int m = 0; m < 3; m++) {
        int f = m;
        double[] v = results.get(k).stream().mapToDouble(x -> x[f]).sorted().toArray();
        System.out.printf("%s %s: min %.1f q1 %.1f median %.1f q3 %.1f max %.1f per command%n",
            names[k], measures[m], v[0], v[v.length / 4], v[v.length / 2], v[3 * v.length / 4],
            v[v.length - 1]);
      }
    }
    System.out.println("posix_spawn faster in " + firstWins + " of " + pairs + " pairs");
  }

  /** CPU microseconds (user + system) and voluntary context switches of this JVM. */
  private static long[] usage(CLib libc) {
    // struct rusage on 64-bit Linux: two timevals, then 14 longs; nvcsw is the second to last.
    Memory m = new Memory(144);
    if (libc.getrusage(0, m) != 0) {
      throw new IllegalStateException("getrusage failed");
    }
    return new long[] {(m.getLong(0) + m.getLong(16)) * 1_000_000 + m.getLong(8) + m.getLong(24),
        m.getLong(128)};
  }
}
