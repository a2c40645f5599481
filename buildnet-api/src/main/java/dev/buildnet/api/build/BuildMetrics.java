package dev.buildnet.api.build;

import java.time.Duration;
import java.util.Objects;

/**
 * What one build (of a target, or of a whole request) cost and how much the cache saved.
 *
 * @param queueWait from submission until work started
 * @param totalDuration from start to finish
 * @param phases the pre-build / build / post-build split of {@code totalDuration}
 * @param cache what the cache checked and saved
 * @param resources what the work consumed
 * @since 0.1
 */
public record BuildMetrics(
    Duration queueWait, Duration totalDuration, Phases phases, Cache cache, Resources resources) {

  public static final BuildMetrics EMPTY =
      new BuildMetrics(Duration.ZERO, Duration.ZERO, Phases.ZERO, Cache.ZERO, Resources.ZERO);

  public BuildMetrics {
    Objects.requireNonNull(queueWait, "queueWait");
    Objects.requireNonNull(totalDuration, "totalDuration");
    Objects.requireNonNull(phases, "phases");
    Objects.requireNonNull(cache, "cache");
    Objects.requireNonNull(resources, "resources");
  }

  /**
   * Phase durations.
   *
   * @param preBuild key computation, input staging, cache lookup
   * @param build running the command or bundler
   * @param postBuild hashing and storing outputs
   */
  public record Phases(Duration preBuild, Duration build, Duration postBuild) {
    public static final Phases ZERO = new Phases(Duration.ZERO, Duration.ZERO, Duration.ZERO);

    public Phases {
      Objects.requireNonNull(preBuild, "preBuild");
      Objects.requireNonNull(build, "build");
      Objects.requireNonNull(postBuild, "postBuild");
    }
  }

  /**
   * Cache effectiveness.
   *
   * @param filesChecked input files whose digests were checked
   * @param hits targets served from the cache
   * @param misses targets that had to run
   * @param timeSaved the recorded run time of the targets served from the cache
   */
  public record Cache(long filesChecked, long hits, long misses, Duration timeSaved) {
    public static final Cache ZERO = new Cache(0, 0, 0, Duration.ZERO);

    public Cache {
      Objects.requireNonNull(timeSaved, "timeSaved");
      if (filesChecked < 0 || hits < 0 || misses < 0) {
        throw new IllegalArgumentException("cache counters must not be negative");
      }
    }

    /** hits / (hits + misses), or 0 when nothing was looked up. */
    public double hitRatio() {
      long total = hits + misses;
      return total == 0 ? 0.0 : (double) hits / total;
    }
  }

  /**
   * Resources consumed.
   *
   * @param peakMemoryBytes the largest resident set seen
   * @param averageCpuPercent CPU time / wall time × 100 (above 100 when several cores were busy)
   * @param ioReadBytes bytes read from storage
   * @param ioWriteBytes bytes written to storage
   */
  public record Resources(
      long peakMemoryBytes, double averageCpuPercent, long ioReadBytes, long ioWriteBytes) {
    public static final Resources ZERO = new Resources(0, 0, 0, 0);
  }
}
