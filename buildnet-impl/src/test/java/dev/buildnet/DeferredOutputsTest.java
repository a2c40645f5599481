package dev.buildnet;

import dev.buildnet.client.RemoteBlobs;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.Artifact;
import dev.buildnet.api.build.BuildListener;
import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.graph.Target;
import dev.buildnet.worker.Worker;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deferred materialization ({@link BuildNet.Builder#deferOutputs}): a master dispatching a
 * three-level chain to in-process workers over real sockets.
 */
class DeferredOutputsTest {
  private static final byte[] SECRET = MasterWorkers.SECRET;
  private static final long WAIT = 60;

  @TempDir Path tmp;
  private MasterWorkers cluster;

  @BeforeEach
  void setUp() {
    cluster = new MasterWorkers(tmp, WAIT);
  }

  @AfterEach
  void closeAll() throws Exception {
    cluster.close();
  }

  /** a -> b -> c; each reads its dependency's output from the sandbox (no input globs over it). */
  private List<Target> chain(String aOn, String bOn, String cOn) {
    // a also counts its runs in a file outside every sandbox, so a test can tell it ran again.
    return List.of(
        Target.builder("a").command("sh", "-c", "mkdir -p out && tr a-z A-Z < src/in.txt > out/a.txt"
                + " && echo run >> \"$0\"", tmp.resolve("a-runs").toString())
            .inputs("src/in.txt").outputs("out/a.txt").requires(aOn).build(),
        Target.builder("b").command("sh", "-c", "cat out/a.txt > out/b.txt && echo b >> out/b.txt")
            .outputs("out/b.txt").dependsOn("a").requires(bOn).build(),
        Target.builder("c").command("sh", "-c", "cat out/b.txt > out/c.txt && echo c >> out/c.txt")
            .outputs("out/c.txt").dependsOn("b").requires(cOn).build());
  }

  private Path workspace(String name) throws IOException {
    Path ws = tmp.resolve(name);
    Files.createDirectories(ws.resolve("src"));
    Files.writeString(ws.resolve("src/in.txt"), "hello\n");
    return ws;
  }

  private BuildNet master(Path ws, List<Target> targets, BuildListener listener) {
    return master(ws, targets, listener, BuildNet.builder().localSlots(0));
  }

  private BuildNet master(Path ws, List<Target> targets, BuildListener listener,
      BuildNet.Builder b) {
    b.workspace(ws).targets(targets).deferOutputs(true);
    if (listener != null) {
      b.listener(listener);
    }
    return cluster.master(b);
  }

  private Worker worker(BuildNet net, String id, String... caps) throws Exception {
    return cluster.worker(net, id, caps);
  }

  /** Whether the master's blob store (the workspace's .buildnet/cas) holds a file named by d. */
  private static boolean inMasterStore(Path ws, Digest d) throws IOException {
    try (Stream<Path> files = Files.walk(ws.resolve(".buildnet/cas"))) {
      return files.anyMatch(p -> p.getFileName().toString().equals(d.hex()));
    }
  }

  private static Digest digestOf(BuildResult r, String target) {
    TargetOutcome o = r.targets().stream().filter(t -> t.target().equals(target)).findFirst()
        .orElseThrow();
    List<Artifact> a = o.artifacts();
    assertEquals(1, a.size(), o.toString());
    return a.get(0).digest();
  }

  private static Status status(BuildResult r, String target) {
    return r.targets().stream().filter(t -> t.target().equals(target)).findFirst().orElseThrow()
        .status();
  }

  private String localBuild() throws Exception {
    Path ws = workspace("local");
    List<Target> plain = new ArrayList<>();
    for (Target t : chain("x", "x", "x")) {
      plain.add(Target.builder(t.name()).command(t.command()).inputs(t.inputs())
          .outputs(t.outputs()).dependsOn(t.dependencies()).build());
    }
    try (BuildNet here = BuildNet.builder().workspace(ws).targets(plain).start()) {
      BuildResult r = here.build("c").get(WAIT, TimeUnit.SECONDS);
      assertTrue(r.success(), r.toString());
    }
    return Files.readString(ws.resolve("out/c.txt"));
  }

  @Test
  void intermediateOutputsStayOnTheirWorkerAndOnlyTheRequestedOnesReachTheWorkspace()
      throws Exception {
    Path ws = workspace("remote");
    BuildNet net = master(ws, chain("one", "one", "two"), null);
    worker(net, "w1", "one");
    worker(net, "w2", "two");

    BuildResult r = net.build("c").get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    assertEquals(localBuild(), Files.readString(ws.resolve("out/c.txt")));
    assertEquals("HELLO\nb\nc\n", Files.readString(ws.resolve("out/c.txt")));
    // a's output was consumed on its own worker: it never reached the master.
    assertFalse(inMasterStore(ws, digestOf(r, "a")));
    assertFalse(Files.exists(ws.resolve("out/a.txt")));
    // b's was needed on the other worker: fetched into the master's store, not the workspace.
    assertTrue(inMasterStore(ws, digestOf(r, "b")));
    assertFalse(Files.exists(ws.resolve("out/b.txt")));
    assertTrue(inMasterStore(ws, digestOf(r, "c")));

    // A null build: every target is a hit, a's while its worker still holds its output.
    Files.delete(ws.resolve("out/c.txt"));
    BuildResult again = net.build("c").get(WAIT, TimeUnit.SECONDS);
    assertTrue(again.success(), again.toString());
    for (TargetOutcome o : again.targets()) {
      assertEquals(Status.CACHED, o.status(), o.toString());
    }
    assertEquals(0, again.metrics().cache().misses(), again.toString());
    assertEquals("HELLO\nb\nc\n", Files.readString(ws.resolve("out/c.txt")));
    assertFalse(inMasterStore(ws, digestOf(again, "a")));
  }

  @Test
  void aProducerWhoseWorkerDiedBeforeItsOutputWasFetchedRunsAgain() throws Exception {
    Path ws = workspace("died");
    Worker[] first = new Worker[1];
    List<Throwable> listenerFailures = new java.util.concurrent.CopyOnWriteArrayList<>();
    BuildNet[] holder = new BuildNet[1];
    BuildNet net = master(ws, chain("any", "any", "any"), new BuildListener() {
      @Override
      public void targetFinished(String buildId, TargetOutcome o) {
        if (o.target().equals("a") && first[0] != null) {
          try {
            // The worker holding a's output goes away before b (placed after this event) needs
            // it; another worker joins to run the rest.
            first[0].close();
            first[0] = null;
            worker(holder[0], "w2", "any");
          } catch (Exception e) {
            listenerFailures.add(e);
          }
        }
      }
    });
    holder[0] = net;
    first[0] = worker(net, "w1", "any");

    BuildResult r = net.build("c").get(WAIT, TimeUnit.SECONDS);
    assertTrue(listenerFailures.isEmpty(), listenerFailures.toString());
    assertTrue(r.success(), r.toString());
    assertEquals(2, Files.readAllLines(tmp.resolve("a-runs")).size(), "a ran again on w2");
    assertEquals("HELLO\nb\nc\n", Files.readString(ws.resolve("out/c.txt")));
    assertEquals(localBuild(), Files.readString(ws.resolve("out/c.txt")));

    // The next build: a's first record died with w1; its re-run on w2 is what is cached now.
    BuildResult again = net.build("c").get(WAIT, TimeUnit.SECONDS);
    assertTrue(again.success(), again.toString());
    Map<String, Status> statuses = new TreeMap<>();
    for (TargetOutcome o : again.targets()) {
      statuses.put(o.target(), o.status());
    }
    assertEquals(Map.of("a", Status.CACHED, "b", Status.CACHED, "c", Status.CACHED), statuses);
    assertEquals(Status.CACHED, status(again, "c"));
  }

  @Test
  void aTargetRunningOnTheMasterGetsItsDependencysKeptOutputsInTheWorkspace() throws Exception {
    Path ws = workspace("local-consumer");
    BuildNet net = master(ws, chain("one", "one", "here"), null,
        BuildNet.builder().localSlots(1).capabilities("here"));
    worker(net, "w1", "one");

    BuildResult r = net.build("c").get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    assertEquals("HELLO\nb\nc\n", Files.readString(ws.resolve("out/c.txt")));
    assertEquals("HELLO\nb\n", Files.readString(ws.resolve("out/b.txt")));
    assertTrue(inMasterStore(ws, digestOf(r, "b")));
    assertFalse(inMasterStore(ws, digestOf(r, "a")));
    assertFalse(Files.exists(ws.resolve("out/a.txt")));
  }

  @Test
  void withoutTheOptionEveryOutputIsUploadedAsBefore() throws Exception {
    Path ws = workspace("eager");
    BuildNet net = BuildNet.builder().workspace(ws).targets(chain("one", "one", "one"))
        .localSlots(0).listen(new InetSocketAddress("127.0.0.1", 0)).transport(TransportSettings.ofSecret(SECRET)).start();
    cluster.track(net);
    worker(net, "w1", "one");
    BuildResult r = net.build("c").get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    for (String t : List.of("a", "b", "c")) {
      assertTrue(inMasterStore(ws, digestOf(r, t)), t);
    }
    assertEquals("HELLO\n", Files.readString(ws.resolve("out/a.txt")));
  }

  @Test
  void aConsumerIsPlacedOnTheWorkerThatKeptItsInputsWhenThatWorkerIsFree() throws Exception {
    Path ws = workspace("prefer");
    BuildNet net = master(ws, chain("one", "any", "any"), null);
    worker(net, "w2", "any");
    worker(net, "w1", "one", "any");

    BuildResult r = net.build("c").get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    for (TargetOutcome o : r.targets()) {
      assertTrue(o.reason().contains("worker 'w1'"), o.toString());
    }
    assertFalse(inMasterStore(ws, digestOf(r, "a")));
    assertFalse(inMasterStore(ws, digestOf(r, "b")));
    assertEquals("HELLO\nb\nc\n", Files.readString(ws.resolve("out/c.txt")));
  }

  @Test
  void aWorkerWithoutTheCapabilityIsNeverAskedToKeepItsOutputsAndUploadsThem() throws Exception {
    Path ws = workspace("no-capability");
    BuildNet net = master(ws, chain("raw", "raw", "raw"), null);
    InetSocketAddress at = net.master().orElseThrow().localAddress();
    List<Boolean> keepFlags = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.ExecutorService replies = java.util.concurrent.Executors.newSingleThreadExecutor();
    cluster.track(replies::shutdownNow);
    // A worker speaking the protocol by hand, as a worker of another implementation would: it
    // advertises no keep-outputs and always uploads. Each target writes its name to its output.
    dev.buildnet.internal.transport.TcpTransport transport = dev.buildnet.internal.transport.TcpTransport.builder()
        .transport(TransportSettings.ofSecret(SECRET)).localId("raw").asWorker(List.of("raw"), 1, 512).build();
    cluster.track(transport::close);
    dev.buildnet.internal.transport.PeerConnection[] conn = new dev.buildnet.internal.transport.PeerConnection[1];
    conn[0] = transport.connect(at, Duration.ofSeconds(WAIT),
        new dev.buildnet.api.transport.Transport.Connection.Handler() {
          @Override
          public void onMessage(dev.buildnet.api.transport.Transport.Connection c,
              dev.buildnet.api.transport.Message m) {
            if (m.payload() instanceof dev.buildnet.internal.protocol.Payloads.TargetRun run) {
              keepFlags.add(run.keepOutputs());
              replies.execute(() -> answer(conn[0], m.id(), run));
            }
          }

          @Override
          public void onClose(dev.buildnet.api.transport.Transport.Connection c, Throwable t) {}
        });
    cluster.awaitRegistered(net, "raw");

    BuildResult r = net.build("c").get(WAIT, TimeUnit.SECONDS);
    assertTrue(r.success(), r.toString());
    assertEquals(3, keepFlags.size(), keepFlags.toString());
    assertTrue(keepFlags.stream().allMatch(k -> k == null), keepFlags.toString());
    for (String t : List.of("a", "b", "c")) {
      assertTrue(inMasterStore(ws, digestOf(r, t)), t);
    }
    assertEquals("a", Files.readString(ws.resolve("out/a.txt")));
    assertEquals("c", Files.readString(ws.resolve("out/c.txt")));
  }

  private void answer(dev.buildnet.internal.transport.PeerConnection c, String replyTo,
      dev.buildnet.internal.protocol.Payloads.TargetRun run) {
    try {
      c.send(new dev.buildnet.internal.protocol.Payloads.BuildStarted(replyTo, run.buildId(), run.target(),
          run.attempt(), "raw"));
      Path file = Files.createTempFile(tmp, "raw-", ".out");
      Files.writeString(file, run.target());
      Digest d = dev.buildnet.client.RemoteBlobs.over(c, dev.buildnet.api.hash.HashProvider.xxh64(),
          Duration.ofSeconds(WAIT), Duration.ofSeconds(WAIT)).upload(file);
      c.send(new dev.buildnet.internal.protocol.Payloads.BuildCompleted(run.buildId(), run.target(),
          run.attempt(), 1L, List.of(new dev.buildnet.internal.protocol.Payloads.Output(
              run.outputs().get(0), d.toString(), Files.size(file), null)), 0L, 1L));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
