package dev.buildnet.internal.hash;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * What one remembered file's check costs from the JVM: {@code EngineBenchmark}'s 60,000
 * remembered files (5 inputs and 1 output per target, 10,000 targets), checked one {@link
 * NativeStat} call per file (JNA) and in {@link StatBatch} batches of 1, 6 (a target's files) and
 * all, in CPU microseconds per file of this thread. Compare with a plain C loop of {@code statx}
 * over the same paths to see what the JVM adds. In package {@code dev.buildnet.internal.hash} for
 * the package-private classes; run from the class path: {@code java -cp benchmarks.jar
 * dev.buildnet.internal.hash.StatCostHarness [rounds]}.
 */
public final class StatCostHarness {
  private static final int TARGETS = 10_000;

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    if (!StatBatch.available()) {
      throw new IllegalStateException("the batched check is off here");
    }
    Path root = Files.createTempDirectory("buildnet-stat-cost");
    try {
      run(root, rounds);
    } finally {
      try (Stream<Path> all = Files.walk(root)) {
        for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
          Files.delete(p);
        }
      }
    }
  }

  private static void run(Path root, int rounds) throws Exception {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < TARGETS; i++) {
      for (int k = 0; k < 5; k++) {
        names.add(root.resolve("src/" + (i / 100) + "/" + i + "-" + k + ".txt").toString());
      }
      names.add(root.resolve("out/" + i + ".txt").toString());
    }
    int n = names.size();
    byte[][] paths = new byte[n][];
    long[][] fields = new long[n][];
    boolean[] follow = new boolean[n];
    for (int i = 0; i < n; i++) {
      Path p = Path.of(names.get(i));
      Files.createDirectories(p.getParent());
      Files.writeString(p, names.get(i));
      paths[i] = NativeStat.encode(names.get(i));
      FileStat s = NativeStat.read(names.get(i), true);
      fields[i] = new long[] {s.size(), s.mtimeNanos(), s.ctimeNanos(), s.dev(), s.ino()};
      follow[i] = i % 6 != 5; // inputs are stat'ed, outputs lstat'ed
    }
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    int[] sizes = {1, 6, n};
    for (int round = 0; round < rounds; round++) {
      long cpu = threads.getCurrentThreadCpuTime();
      int same = 0;
      for (int i = 0; i < n; i++) {
        long[] f = fields[i];
        if (NativeStat.isRegularFileAt(paths[i], names.get(i), follow[i], f[0], f[1], f[2], f[3],
            f[4]) == NativeStat.SAME) {
          same++;
        }
      }
      StringBuilder line = new StringBuilder(String.format("round %d: per file (JNA) %.2f us",
          round, (threads.getCurrentThreadCpuTime() - cpu) / 1e3 / n));
      check(same, n);
      for (int size : sizes) {
        cpu = threads.getCurrentThreadCpuTime();
        same = 0;
        for (int from = 0; from < n; from += size) {
          int count = Math.min(size, n - from);
          int bytes = 0;
          for (int j = 0; j < count; j++) {
            bytes += paths[from + j].length;
          }
          StatBatch.Batch batch = StatBatch.batch(count, bytes);
          for (int j = 0; j < count; j++) {
            long[] f = fields[from + j];
            batch.put(j, paths[from + j], follow[from + j], f[0], f[1], f[2], f[3], f[4]);
          }
          batch.run(count);
          for (int j = 0; j < count; j++) {
            same += batch.result(j) == NativeStat.SAME ? 1 : 0;
          }
        }
        check(same, n);
        line.append(String.format(", batches of %d %.2f us", size,
            (threads.getCurrentThreadCpuTime() - cpu) / 1e3 / n));
      }
      System.out.println(line + " CPU per file");
    }
  }

  private static void check(int same, int n) {
    if (same != n) {
      throw new IllegalStateException(same + " of " + n + " files held");
    }
  }
}
