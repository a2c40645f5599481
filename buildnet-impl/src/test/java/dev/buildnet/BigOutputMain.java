package dev.buildnet;

import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.internal.events.BuildHistory;
import dev.buildnet.graph.Target;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Run by {@link BigOutputTest} in a child JVM with a small heap: builds one target that prints
 * {@code args[1]} bytes without a newline, twice (the second time from the cache), and prints what
 * was kept, one {@code key=value} per line.
 */
public final class BigOutputMain {
  private BigOutputMain() {}

  public static void main(String[] args) throws Exception {
    Path ws = Path.of(args[0]);
    long bytes = Long.parseLong(args[1]);
    AtomicLong streamed = new AtomicLong();
    AtomicLong replayed = new AtomicLong();
    StringBuilder replayedMarkers = new StringBuilder();
    BuildListener counter = new BuildListener() {
      @Override
      public void logLine(String buildId, String target, OutputListener.Stream stream, String line,
          boolean fromCache) {
        if (fromCache) {
          replayed.addAndGet(line.length() + 1);
          if (line.startsWith("[buildnet:")) {
            replayedMarkers.append(line);
          }
        } else if (stream == OutputListener.Stream.STDOUT) {
          streamed.addAndGet(line.length());
        }
      }
    };
    // A constant script, no interpolation: the byte count is an argument of head.
    Target loud = Target.builder("loud")
        .command("sh", "-c", "head -c \"$0\" /dev/zero | tr '\\0' x", Long.toString(bytes))
        .build();
    try (BuildNet net = BuildNet.builder().workspace(ws).targets(List.of(loud)).listener(counter)
        .localSlots(1).start()) {
      BuildResult first = net.build("loud").get(5, TimeUnit.MINUTES);
      TargetOutcome o = first.targets().get(0);
      System.out.println("status=" + o.status());
      System.out.println("reason=" + o.reason());
      System.out.println("streamed=" + streamed.get());
      List<BuildHistory.LogLine> kept = net.history().log(first.buildId(), "loud");
      long keptChars = kept.stream().mapToLong(l -> l.line().length()).sum();
      System.out.println("keptLines=" + kept.size());
      System.out.println("keptChars=" + keptChars);
      System.out.println("historyBytes=" + net.history().logBytes());
      kept.stream().filter(l -> l.line().startsWith("[buildnet:"))
          .forEach(l -> System.out.println("historyMarker=" + l.line()));
      BuildResult second = net.build("loud").get(5, TimeUnit.MINUTES);
      System.out.println("second=" + second.targets().get(0).status());
      System.out.println("replayed=" + replayed.get());
      System.out.println("replayedMarker=" + replayedMarkers);
    }
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    System.out.println("peakHeap=" + peak);
  }
}
