package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.hash.Hasher;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression test for recording a half-written output under the right key: an output that changes
 * while it is being stored fails its target and nothing is recorded.
 */
class OutputCaptureTest {
  private static final long WAIT = 60;

  @TempDir Path ws;

  /**
   * xxh64, except that while {@code armed}, the first bytes hashed once {@code file} exists are
   * followed by an append to it: a writer that outlived the target, at the worst moment, every
   * time rather than by chance.
   */
  private static final class WriterDuringCapture implements HashProvider {
    private final HashProvider real = HashProvider.xxh64();
    private final Path file;
    final AtomicBoolean armed = new AtomicBoolean(true);

    WriterDuringCapture(Path file) {
      this.file = file;
    }

    private void maybeWrite() {
      if (Files.exists(file) && armed.getAndSet(false)) {
        try {
          Files.writeString(file, "a late line\n", StandardOpenOption.APPEND);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }

    @Override
    public String algorithm() {
      return real.algorithm();
    }

    @Override
    public Hasher newHasher() {
      Hasher h = real.newHasher();
      return new Hasher() {
        @Override
        public Hasher update(byte[] bytes, int offset, int length) {
          maybeWrite();
          h.update(bytes, offset, length);
          return this;
        }

        @Override
        public Hasher update(ByteBuffer buffer) {
          maybeWrite();
          h.update(buffer);
          return this;
        }

        @Override
        public Digest digest() {
          return h.digest();
        }
      };
    }

    @Override
    public Digest hash(InputStream in) throws IOException {
      maybeWrite();
      return real.hash(in);
    }

    @Override
    public Digest hash(Path p) throws IOException {
      maybeWrite();
      return real.hash(p);
    }
  }

  @Test
  void anOutputThatChangesWhileItIsStoredFailsTheTargetAndIsNotRecorded() throws Exception {
    Files.createDirectories(ws.resolve("out"));
    WriterDuringCapture hashes = new WriterDuringCapture(ws.resolve("out/t0.txt"));
    try (BuildNet net = BuildNet.builder().workspace(ws).hashes(hashes)
        .targets(List.of(Target.builder("t0")
            .command("sh", "-c", "head -c 20021 /dev/zero > out/t0.txt").outputs("out/t0.txt")
            .build()))
        .start()) {
      TargetOutcome o = net.build("t0").result().get(WAIT, TimeUnit.SECONDS).target("t0").orElseThrow();
      assertEquals(Status.FAILED, o.status(), o.toString());
      assertTrue(o.reason().contains("output 'out/t0.txt' changed while it was being stored"),
          o.reason());
      assertTrue(!hashes.armed.get(), "the writer never ran: the test proves nothing");

      // Nothing was recorded: the next build runs the target instead of restoring a bad copy.
      TargetOutcome again =
          net.build("t0").result().get(WAIT, TimeUnit.SECONDS).target("t0").orElseThrow();
      assertEquals(Status.BUILT, again.status(), again.toString());
      assertEquals(20021, Files.size(ws.resolve("out/t0.txt")));
    }
  }

  @Test
  void aDirectoryThatGainsAFileWhileItIsStoredFailsTheTarget() throws Exception {
    Files.createDirectories(ws.resolve("out"));
    HashProvider hashes = HashProvider.xxh64();
    Path late = ws.resolve("out/d/b.txt");
    HashProvider adding = new HashProvider() {
      final AtomicBoolean once = new AtomicBoolean(true);

      private void add() {
        if (Files.exists(ws.resolve("out/d/a.txt")) && once.getAndSet(false)) {
          try {
            Files.writeString(late, "late");
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      }

      @Override
      public String algorithm() {
        return hashes.algorithm();
      }

      @Override
      public Hasher newHasher() {
        add();
        return hashes.newHasher();
      }

      @Override
      public Digest hash(InputStream in) throws IOException {
        add();
        return hashes.hash(in);
      }

      @Override
      public Digest hash(Path p) throws IOException {
        add();
        return hashes.hash(p);
      }
    };
    try (BuildNet net = BuildNet.builder().workspace(ws).hashes(adding)
        .targets(List.of(Target.builder("t0")
            .command("sh", "-c", "mkdir -p out/d && printf a > out/d/a.txt").outputs("out/d")
            .build()))
        .start()) {
      TargetOutcome o = net.build("t0").result().get(WAIT, TimeUnit.SECONDS).target("t0").orElseThrow();
      assertEquals(Status.FAILED, o.status(), o.toString());
      assertTrue(o.reason().contains("output 'out/d' changed while it was being stored"),
          o.reason());
    }
  }
}
