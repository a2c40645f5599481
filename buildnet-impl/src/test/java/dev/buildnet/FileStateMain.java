package dev.buildnet;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.hash.Hasher;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * Run by {@link FileStateAcrossProcessesTest} in a child JVM, as a fresh process: builds every
 * target of {@link #targets()} in the workspace {@code args[0]} and prints, one per line, each
 * file whose content was read ({@code read=<path>}) and each target's status
 * ({@code status=<target>:<status>}).
 */
public final class FileStateMain {
  private FileStateMain() {}

  static List<Target> targets() {
    return List.of(
        Target.builder("a").command("cp", "src/a.txt", "out/a.txt").inputs("src/a.txt")
            .outputs("out/a.txt").build(),
        Target.builder("b").command("cp", "src/lib/b.txt", "out/b.txt").inputs("src/lib/b.txt")
            .outputs("out/b.txt").build(),
        Target.builder("all").command("true").inputs("src/**").build());
  }

  /** Counts what a build reads: every file content read goes through {@link #hash(Path)}. */
  static final class ReadRecorder implements HashProvider {
    private final HashProvider delegate = HashProvider.xxh64();
    private final Path root;
    final ConcurrentLinkedQueue<String> reads = new ConcurrentLinkedQueue<>();

    ReadRecorder(Path root) {
      this.root = root.toAbsolutePath().normalize();
    }

    @Override
    public String algorithm() {
      return delegate.algorithm();
    }

    @Override
    public Hasher newHasher() {
      return delegate.newHasher();
    }

    @Override
    public Digest hash(InputStream in) throws IOException {
      return delegate.hash(in);
    }

    @Override
    public Digest hash(Path file) throws IOException {
      Path p = file.toAbsolutePath().normalize();
      reads.add(p.startsWith(root) ? root.relativize(p).toString().replace('\\', '/')
          : p.toString());
      return delegate.hash(file);
    }
  }

  public static void main(String[] args) throws Exception {
    Path ws = Path.of(args[0]);
    ReadRecorder recorder = new ReadRecorder(ws);
    BuildResult r;
    try (BuildNet net = BuildNet.builder().workspace(ws).targets(targets()).hashes(recorder)
        .localSlots(1).start()) {
      r = net.buildAll().get(60, TimeUnit.SECONDS);
    }
    for (String read : recorder.reads) {
      System.out.println("read=" + read);
    }
    for (TargetOutcome o : r.targets()) {
      System.out.println("status=" + o.target() + ":" + o.status());
    }
    System.exit(r.success() ? 0 : 1);
  }
}
