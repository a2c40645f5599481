package dev.buildnet.bench;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@link SpawnCostHarness}'s {@code run()} of {@code /bin/true}, for two builds of BuildNet in one
 * JVM, alternating short batches, so that a shared machine's load, which changes from one second
 * to the next, falls on both alike. Each build's benchmarks jar is loaded in a class loader of its
 * own (its JNA included). Prints, per side, the medians over the batches of wall time, process CPU
 * time and voluntary context switches per command, and the median of the per-pair wall ratios
 * (B/A). Linux only. {@code java -cp benchmarks.jar dev.buildnet.bench.SpawnAbHarness A.jar B.jar
 * [pairs] [commands per batch] [run|step]}: {@code step} runs each command as the engine runs a
 * target's, through {@code TargetStep.run} (an internal class, public in both builds).
 */
public final class SpawnAbHarness {
  private SpawnAbHarness() {}

  public static void main(String[] args) throws Throwable {
    Path[] jars = {Path.of(args[0]), Path.of(args[1])};
    int pairs = args.length > 2 ? Integer.parseInt(args[2]) : 40;
    int perBatch = args.length > 3 ? Integer.parseInt(args[3]) : 50;
    boolean step = args.length > 4 && args[4].equals("step");
    SpawnCostHarness.CLib libc = Native.load("c", SpawnCostHarness.CLib.class);
    MethodHandle[] runs = new MethodHandle[2];
    for (int side = 0; side < 2; side++) {
      runs[side] = step ? stepRunner(jars[side]) : runner(jars[side]);
    }
    for (int i = 0; i < 2000; i++) {
      check((int) runs[i % 2].invokeExact());
    }
    double[][] wall = new double[2][pairs];
    double[][] cpu = new double[2][pairs];
    double[][] switches = new double[2][pairs];
    double[] ratio = new double[pairs];
    for (int p = 0; p < pairs; p++) {
      for (int k = 0; k < 2; k++) {
        int side = (p + k) % 2; // A first in even pairs, B first in odd ones
        long[] before = usage(libc);
        long t0 = System.nanoTime();
        for (int i = 0; i < perBatch; i++) {
          check((int) runs[side].invokeExact());
        }
        long t1 = System.nanoTime();
        long[] after = usage(libc);
        wall[side][p] = (t1 - t0) / 1e3 / perBatch;
        cpu[side][p] = (after[0] - before[0]) / (double) perBatch;
        switches[side][p] = (after[1] - before[1]) / (double) perBatch;
      }
      ratio[p] = wall[1][p] / wall[0][p];
    }
    String load = Files.readString(Path.of("/proc/loadavg")).trim();
    for (int side = 0; side < 2; side++) {
      System.out.printf("%s %s: wall %.0f us, process CPU %.0f us, voluntary switches %.2f per command"
              + " (medians of %d batches of %d)%n",
          side == 0 ? "A" : "B", jars[side], median(wall[side]), median(cpu[side]),
          median(switches[side]), pairs, perBatch);
    }
    System.out.printf("B/A wall: median %.3f, quartiles %.3f-%.3f (load %s)%n", median(ratio),
        quantile(ratio, 0.25), quantile(ratio, 0.75), load);
  }

  /** A handle that runs /bin/true through that jar's ProcessShellProvider.run, to its exit code. */
  private static MethodHandle runner(Path jar) throws Throwable {
    URLClassLoader loader =
        new URLClassLoader(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
    Class<?> specClass = loader.loadClass("dev.buildnet.api.exec.CommandSpec");
    Class<?> providerClass = loader.loadClass("dev.buildnet.exec.ProcessShellProvider");
    Class<?> resultClass = loader.loadClass("dev.buildnet.api.exec.CommandResult");
    Object spec =
        specClass.getMethod("of", List.class, Path.class, Map.class)
            .invoke(null, List.of("/bin/true"), Path.of("/"), Map.of());
    Object provider = providerClass.getMethod("create").invoke(null);
    MethodHandles.Lookup lookup = MethodHandles.publicLookup();
    MethodHandle run =
        lookup.findVirtual(providerClass, "run", MethodType.methodType(resultClass, specClass));
    MethodHandle exitCode =
        lookup.findVirtual(resultClass, "exitCode", MethodType.methodType(int.class));
    MethodHandle bound = MethodHandles.filterReturnValue(run.bindTo(provider), exitCode);
    return MethodHandles.insertArguments(bound, 0, spec).asType(MethodType.methodType(int.class));
  }

  /**
   * A handle that runs /bin/true through that jar's {@code TargetStep.run} over its default
   * ProcessShellProvider, as the engine runs a target's command, to 0 if it succeeded.
   */
  private static MethodHandle stepRunner(Path jar) throws Throwable {
    URLClassLoader loader =
        new URLClassLoader(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
    Class<?> shellClass = loader.loadClass("dev.buildnet.api.exec.ShellProvider");
    Class<?> stepClass = loader.loadClass("dev.buildnet.internal.exec.TargetStep");
    Class<?> specClass = loader.loadClass("dev.buildnet.internal.exec.TargetStep$Spec");
    Class<?> linesClass = loader.loadClass("dev.buildnet.internal.exec.TargetStep$Lines");
    Class<?> cancelClass = loader.loadClass("dev.buildnet.internal.exec.TargetStep$Cancel");
    Class<?> resultClass = loader.loadClass("dev.buildnet.internal.exec.TargetStep$Result");
    Object provider =
        loader.loadClass("dev.buildnet.exec.ProcessShellProvider").getMethod("create").invoke(null);
    Object targetStep = stepClass.getConstructor(shellClass, Map.class).newInstance(provider, Map.of());
    Object spec = specClass.getConstructors()[0].newInstance("b", "t", Path.of("/"), Path.of("/"),
        List.of("/bin/true"), Map.of(), null, null, null);
    Object lines = java.lang.reflect.Proxy.newProxyInstance(loader, new Class<?>[] {linesClass},
        (proxy, method, margs) -> method.getName().equals("hashCode") ? 0
            : method.getName().equals("equals") ? proxy == margs[0] : null);
    MethodHandles.Lookup lookup = MethodHandles.publicLookup();
    MethodHandle run = lookup.findVirtual(stepClass, "run",
        MethodType.methodType(resultClass, specClass, linesClass, cancelClass));
    MethodHandle newCancel = lookup.findConstructor(cancelClass, MethodType.methodType(void.class));
    MethodHandle exitCode = lookup.findVirtual(resultClass, "exitCode", MethodType.methodType(int.class));
    // run(step, spec, lines, new Cancel()) -> exitCode
    MethodHandle bound = MethodHandles.insertArguments(run, 0, targetStep, spec, lines);
    MethodHandle withCancel = MethodHandles.foldArguments(bound, newCancel);
    MethodHandle code = MethodHandles.filterReturnValue(withCancel, exitCode);
    return code.asType(MethodType.methodType(int.class));
  }

  private static void check(int exitCode) {
    if (exitCode != 0) {
      throw new IllegalStateException("/bin/true exited with " + exitCode);
    }
  }

  /** Process CPU microseconds (user + system) and voluntary context switches. */
  private static long[] usage(SpawnCostHarness.CLib libc) {
    Memory m = new Memory(144);
    if (libc.getrusage(0, m) != 0) {
      throw new IllegalStateException("getrusage failed");
    }
    long cpu = (m.getLong(0) + m.getLong(16)) * 1_000_000 + m.getLong(8) + m.getLong(24);
    return new long[] {cpu, m.getLong(128)};
  }

  private static double median(double[] values) {
    return quantile(values, 0.5);
  }

  private static double quantile(double[] values, double q) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    double at = q * (sorted.length - 1);
    int lo = (int) Math.floor(at);
    int hi = (int) Math.ceil(at);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
  }
}
