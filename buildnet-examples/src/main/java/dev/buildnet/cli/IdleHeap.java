package dev.buildnet.cli;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

/**
 * The daemon's heap between builds and during one. A build allocates far more than the daemon
 * keeps (at 1,000 targets tens of MiB of garbage around ~20 MiB kept), so it runs with room to
 * spare (the launcher's {@code -XX:MinHeapFreeRatio=20 -XX:MaxHeapFreeRatio=40}: fewer young
 * collections than at 10/20, whose heap a null build outgrew over and over); once idle, {@link
 * #idle} tightens the ratios to {@link #IDLE_MIN}/{@link #IDLE_MAX} (both are manageable flags) and
 * collects in full, which hands the heap back down to what the daemon keeps (the serial collector
 * shrinks the heap only in a full collection, and at once with the launcher's {@code
 * -XX:-ShrinkHeapInSteps}); {@link #busy} gives the build its room back before it starts.
 *
 * <p>Where the JVM has no such flags (another VM) or refuses them (ratios set otherwise through
 * {@code BUILDNET_DAEMON_OPTS} that the idle ones would not fit), the ratios stay as started and
 * {@link #idle} only collects. Used from the daemon's accept thread ({@link #idle}) and its
 * connection threads ({@link #busy}): both are synchronized and idempotent.
 */
final class IdleHeap {
  // 5/10 rather than 10/20: at 5,000 packages the daemon keeps ~100 MB, and the looser pair left
  // ~12 MB more of it committed (and touched) while idle; the next build gets its room back anyway.
  static final int IDLE_MIN = 5;
  static final int IDLE_MAX = 10;
  private static final String MIN = "MinHeapFreeRatio";
  private static final String MAX = "MaxHeapFreeRatio";

  private final HotSpotDiagnosticMXBean vm;
  /** The ratios the JVM started with: those of a build. */
  private final int buildMin;
  private final int buildMax;
  private boolean tight;

  private IdleHeap(HotSpotDiagnosticMXBean vm, int buildMin, int buildMax) {
    this.vm = vm;
    this.buildMin = buildMin;
    this.buildMax = buildMax;
  }

  /** For this JVM; its current ratios are the build's. */
  static IdleHeap ofThisJvm() {
    try {
      HotSpotDiagnosticMXBean vm =
          ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      int min = Integer.parseInt(vm.getVMOption(MIN).getValue());
      int max = Integer.parseInt(vm.getVMOption(MAX).getValue());
      // Tightening only ever lowers them: ratios already at or below the idle ones stay.
      return new IdleHeap(min > IDLE_MIN || max > IDLE_MAX ? vm : null, min, max);
    } catch (RuntimeException | LinkageError e) { // no such bean or flag on this VM
      return new IdleHeap(null, -1, -1);
    }
  }

  /** Tightens the ratios (if it can) and collects in full, so the heap shrinks to what is kept. */
  synchronized void idle() {
    if (vm != null && !tight) {
      // Min first: the JVM refuses a max below the current min.
      set(MIN, Math.min(buildMin, IDLE_MIN));
      set(MAX, Math.min(buildMax, IDLE_MAX));
      tight = true;
    }
    System.gc();
  }

  /** Gives a build the ratios the JVM started with. */
  synchronized void busy() {
    if (vm != null && tight) {
      // Max first, for the same reason the other way round.
      set(MAX, buildMax);
      set(MIN, buildMin);
      tight = false;
    }
  }

  /** The current value of the ratio {@code name} (for tests and the daemon's timing log). */
  int ratio(String name) {
    HotSpotDiagnosticMXBean bean = vm != null ? vm
        : ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    return Integer.parseInt(bean.getVMOption(name).getValue());
  }

  private void set(String flag, int value) {
    try {
      vm.setVMOption(flag, Integer.toString(value));
    } catch (RuntimeException e) {
      // refused (not manageable, or the other ratio is in the way): it keeps its value
    }
  }
}
