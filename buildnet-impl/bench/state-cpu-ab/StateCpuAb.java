import java.lang.management.*; import java.net.*; import java.nio.file.*; import java.util.*;
/**
 * Two builds of the SQLite state backend in one JVM, each jar in its own class loader, timed in
 * alternating CPU slices of each operation, so that both see the same machine load (on a shared,
 * loaded machine runs of one jar minutes apart differ by 10-20%). Counts the calling thread and
 * the backends' maintenance threads, as StateCpuHarness does. Prints, per operation, min / median
 * / max CPU us per call of each jar and the median of the per-pair ratios new / base.
 * Usage: see run.sh.
 */
public class StateCpuAb {
  static ThreadMXBean T = ManagementFactory.getThreadMXBean();
  @SuppressWarnings("unchecked")
  public static void main(String[] a) throws Exception {
    String[] names = {"base", "new"}; String[] jars = {a[0], a[1]};
    Map<String, Runnable>[] ops = new Map[2];
    for (int i = 0; i < 2; i++) {
      URLClassLoader l = new URLClassLoader(new URL[] {Path.of(System.getProperty("ops")).toUri().toURL(), Path.of(jars[i]).toUri().toURL()}, ClassLoader.getPlatformClassLoader());
      ops[i] = (Map<String, Runnable>) l.loadClass("Ops").getMethod("make", Path.class).invoke(null, Files.createTempDirectory("state-cpu-ab" + i));
    }
    double slice = Double.parseDouble(System.getProperty("slice", "0.3")); int n = Integer.getInteger("slices", 10);
    for (String op : a[2].split(",")) {
      for (int w = 0; w < 3; w++) for (int i = 0; i < 2; i++) run(ops[i].get(op), slice);
      double[][] r = new double[2][n];
      for (int k = 0; k < n; k++) for (int i0 = 0; i0 < 2; i0++) { int i = (k % 2 == 0) ? i0 : 1 - i0; r[i][k] = run(ops[i].get(op), slice); }
      StringBuilder sb = new StringBuilder(op);
      for (int i = 0; i < 2; i++) { double[] x = r[i].clone(); Arrays.sort(x); sb.append(String.format("  %s %.2f/%.2f/%.2f", names[i], x[0], x[n / 2], x[n - 1])); }
      double[] ratio = new double[n]; for (int k = 0; k < n; k++) ratio[k] = r[1][k] / r[0][k]; Arrays.sort(ratio);
      sb.append(String.format("  new/base median %.3f (%.3f-%.3f)", ratio[n / 2], ratio[0], ratio[n - 1]));
      System.out.println(sb);
    }
    System.exit(0);
  }
  static double run(Runnable op, double seconds) {
    long budget = (long) (seconds * 1e9), start = cpu(), own = T.getCurrentThreadCpuTime(), calls = 0;
    while (T.getCurrentThreadCpuTime() - own < budget) { for (int i = 0; i < 16; i++) op.run(); calls += 16; }
    return (cpu() - start) / 1e3 / calls;
  }
  static long cpu() { long x = T.getCurrentThreadCpuTime(); for (Thread t : Thread.getAllStackTraces().keySet()) if (t.getName().equals("buildnet-state-sweeper")) x += Math.max(0, T.getThreadCpuTime(t.getId())); return x; }
}
