package dev.buildnet.cli;

import java.lang.ref.Reference;

/**
 * Run by {@link IdleHeapTest} in a JVM of its own (the heap's flags are the JVM's): grows the old
 * generation well past what it keeps, lets most of it go, collects under the build's ratios, then
 * goes idle and busy again. Prints {@code roomy tight idleMin idleMax busyMin busyMax}: the committed
 * heap after the plain collection and after {@link IdleHeap#idle}, and the ratios in each state.
 */
public final class IdleHeapMain {
  private IdleHeapMain() {}

  public static void main(String[] args) {
    IdleHeap heap = IdleHeap.ofThisJvm();
    byte[][] kept = new byte[64][];
    byte[][] dropped = new byte[160][];
    for (int i = 0; i < dropped.length; i++) { // survives collections: lands in the old generation
      dropped[i] = new byte[1 << 20];
      if (i < kept.length) {
        kept[i] = new byte[1 << 20];
      }
    }
    System.gc();
    dropped = null;
    System.gc(); // what a build's own full collection would leave: the build's ratios
    long roomy = Runtime.getRuntime().totalMemory();
    heap.idle();
    long tight = Runtime.getRuntime().totalMemory();
    int idleMin = heap.ratio("MinHeapFreeRatio");
    int idleMax = heap.ratio("MaxHeapFreeRatio");
    heap.busy();
    System.out.println(roomy + " " + tight + " " + idleMin + " " + idleMax + " "
        + heap.ratio("MinHeapFreeRatio") + " " + heap.ratio("MaxHeapFreeRatio"));
    Reference.reachabilityFence(kept);
  }
}
