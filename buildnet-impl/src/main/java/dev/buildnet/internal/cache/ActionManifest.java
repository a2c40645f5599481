package dev.buildnet.internal.cache;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.buildnet.api.hash.Digest;
import java.util.List;
import java.util.Objects;

/**
 * What a successful target run produced, as the action cache records it: its output files by
 * digest, its logs by digest, and what the run cost. Stored as JSON in the {@code StateBackend}
 * under the target's cache key; the bytes themselves live in the {@link DiskBlobStore}.
 *
 * @param version format version of this record
 * @param target the target's name when it was recorded (informational)
 * @param outputs every output file, relative to the workspace, sorted by path
 * @param directories declared output directories, relative to the workspace (restored as a unit)
 * @param stdout digest of the captured standard output, or null if it was empty
 * @param stderr digest of the captured standard error, or null if it was empty
 * @param exitCode the run's exit code (always 0: only successes are cached)
 * @param durationMillis how long the run took: the time a hit saves
 * @param createdAtMillis when it was recorded, epoch milliseconds
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record ActionManifest(
    int version,
    String target,
    List<Output> outputs,
    List<String> directories,
    String stdout,
    String stderr,
    int exitCode,
    long durationMillis,
    long createdAtMillis) {

  public static final int VERSION = 1;

  public ActionManifest {
    Objects.requireNonNull(target, "target");
    outputs = List.copyOf(outputs);
    directories = List.copyOf(directories);
  }

  /**
   * One output file.
   *
   * @param path relative to the workspace, '/'-separated
   * @param digest its content digest, {@code algorithm:hex}
   * @param size its length in bytes
   * @param executable whether it had the owner-execute bit
   */
  public record Output(String path, String digest, long size, boolean executable) {
    public Digest parsedDigest() {
      return Digest.parse(digest);
    }
  }

  /** Every blob this manifest names: outputs and logs. */
  public List<Digest> blobs() {
    var all = new java.util.ArrayList<Digest>(outputs.size() + 2);
    for (Output o : outputs) {
      all.add(o.parsedDigest());
    }
    if (stdout != null) {
      all.add(Digest.parse(stdout));
    }
    if (stderr != null) {
      all.add(Digest.parse(stderr));
    }
    return all;
  }
}
